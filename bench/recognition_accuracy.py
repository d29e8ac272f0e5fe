"""Face verification on LFW View-2 (folds 2–10 in ``../shared/data/lfw-dev``), face models 1.0, 2.0 and
2.1 side by side in one run (2.1 reads 2.0's vectors on its false-match-rate scale; for 1:N numbers
see ``bench/search_1n.py``).

Each image's labelled face is the detected face nearest the image centre (LFW's faces are
centred); a pair with an image where a model finds no face counts as "different". Model 2.0's
fusion weight and its Similarity map were chosen on the calibration folds (2–5) only; the numbers
printed per model are on the test folds (6–10), which share no identity with them.

Printed per model, on the test folds: accuracy at Similarity 80 (the default threshold, through
the model's own map), the false-accept rate there, the best accuracy over all thresholds (an
oracle cut, for comparison with published numbers), and the true-accept rate at a false-accept
rate of 0.1 % and of zero (operating points of the test folds' own curve). Then a sweep of 2.0's
SFace weight: the cut at zero false accepts on the calibration folds, the true-accept rate there,
and the test-fold numbers at that cut.

Usage: .venv/bin/python bench/recognition_accuracy.py [--cache embeddings.npz] [--processes 2]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np

LFW = Path(os.environ.get("REKOLLECT_LFW_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-dev"))
CALIBRATION_FOLDS = {2, 3, 4, 5}
TEST_FOLDS = {6, 7, 8, 9, 10}

_packs = None


def _load_packs():
    global _packs
    if _packs is None:
        from rekollect.vision.dlib_pack import DlibFaceAnalyzer
        from rekollect.vision.sface import SFaceEmbedder, align
        from rekollect.vision.zoo_pack import ZooFaceAnalyzer

        dlib_pack = DlibFaceAnalyzer(threads=1)
        _packs = (dlib_pack, ZooFaceAnalyzer(dlib_pack, threads=1), SFaceEmbedder(1), align)
    return _packs


def _central(faces, image):
    centre = np.array([image.shape[1] / 2, image.shape[0] / 2])
    boxes = [np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2]) for f in faces]
    return faces[int(np.argmin([np.linalg.norm(b - centre) for b in boxes]))] if faces else None


def embed_image(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dlib 1.0 vector, SFace unit vector, dlib unit vector from 2.0's landmarks); NaN where no face."""
    from PIL import Image

    dlib_pack, zoo_pack, sface, align = _load_packs()
    image = np.asarray(Image.open(LFW / path).convert("RGB"))
    nan = np.full(128, np.nan, dtype=np.float32)
    face = _central(dlib_pack.detect(image), image)
    version1 = dlib_pack.embed(image, [face])[0] if face else nan
    face = _central(zoo_pack.detect(image), image)
    if face is None:
        return version1, nan, nan
    unit_sface = sface(align(image, face.keypoints)[np.newaxis])[0]
    resnet = dlib_pack.embed(image, [face])[0]
    return version1, unit_sface, resnet / np.linalg.norm(resnet)


def pairs() -> list[tuple[str, str, bool, int]]:
    with open(LFW / "pairs.tsv", newline="") as handle:
        return [
            (r["path_a"], r["path_b"], r["same"] == "1", int(r["fold"])) for r in csv.DictReader(handle, delimiter="\t")
        ]


def embeddings(paths: list[str], cache: Path | None, processes: int) -> dict[str, np.ndarray]:
    if cache and cache.is_file():
        stored = np.load(cache)
        return {name: stored[name] for name in stored.files}
    with Pool(processes) as pool:
        rows = pool.map(embed_image, paths, chunksize=32)
    result = {
        "paths": np.array(paths),
        "v1": np.stack([r[0] for r in rows]),
        "sface": np.stack([r[1] for r in rows]),
        "dlib": np.stack([r[2] for r in rows]),
    }
    if cache:
        np.savez(cache, **result)
    return result


def distances(vectors: np.ndarray, index: dict[str, int], rows) -> np.ndarray:
    a = vectors[[index[r[0]] for r in rows]]
    b = vectors[[index[r[1]] for r in rows]]
    d = np.linalg.norm(a - b, axis=1)
    return np.where(np.isnan(d), np.inf, d)


def threshold_at_far(d: np.ndarray, same: np.ndarray, far: float) -> float:
    """Largest distance cut (accept d < cut) whose false-accept rate is at most ``far``."""
    impostor = np.sort(d[~same])
    allowed = math.floor(far * len(impostor))
    return float(impostor[allowed]) if allowed < len(impostor) else float("inf")


def report(name: str, d: np.ndarray, same: np.ndarray, test: np.ndarray, cut80: float) -> None:
    dt, st = d[test], same[test]
    accept = dt < cut80
    accuracy80 = float((accept == st).mean())
    far80 = float(accept[~st].mean())
    cuts = np.unique(dt[np.isfinite(dt)])
    best = max(float(((dt < c + 1e-9) == st).mean()) for c in cuts)
    tar = {far: float((dt[st] < threshold_at_far(dt, st, far)).mean()) for far in (0.001, 0.0)}
    print(
        f"{name:28s} acc@80 {100 * accuracy80:6.2f} %  FAR@80 {100 * far80:5.2f} %  best acc {100 * best:6.2f} %"
        f"  TAR@FAR0.1% {100 * tar[0.001]:6.2f} %  TAR@FAR0 {100 * tar[0.0]:6.2f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    rows = pairs()
    paths = sorted({p for r in rows for p in r[:2]})
    stored = embeddings(paths, args.cache, args.processes)
    index = {str(p): i for i, p in enumerate(stored["paths"])}
    same = np.array([r[2] for r in rows])
    folds = np.array([r[3] for r in rows])
    calibration, test = np.isin(folds, list(CALIBRATION_FOLDS)), np.isin(folds, list(TEST_FOLDS))
    for pack, vectors in (("1.0", stored["v1"]), ("2.0", stored["sface"])):
        missing = int(np.isnan(vectors[:, 0]).sum())
        print(f"{pack}: no face in {missing} of {len(vectors)} images")
    from rekollect.vision.calibrated_pack import SIMILARITY as CALIBRATED_2_1
    from rekollect.vision.dlib_pack import DlibFaceAnalyzer
    from rekollect.vision.zoo_pack import DLIB_WEIGHT, SFACE_WEIGHT, ZooFaceAnalyzer

    print(f"test folds {sorted(TEST_FOLDS)}, {int(test.sum())} pairs; each model through its shipped Similarity map:")
    version1 = DlibFaceAnalyzer()
    report("1.0 (dlib ResNet)", distances(stored["v1"], index, rows), same, test, version1.distance_at(80.0))
    shipped = np.hstack([SFACE_WEIGHT * stored["sface"], DLIB_WEIGHT * stored["dlib"]])
    fused = distances(shipped, index, rows)
    report(f"2.0 (SFace weight {SFACE_WEIGHT:.2f})", fused, same, test, ZooFaceAnalyzer(version1).distance_at(80.0))
    report("2.1 (2.0's vectors)", fused, same, test, CALIBRATED_2_1.distance_at(80.0))
    false_accepts = int((fused[~same] < ZooFaceAnalyzer(version1).distance_at(80.0)).sum())
    print(f"2.0 false accepts at Similarity 80 on all folds: {false_accepts} of {int((~same).sum())}")
    print("2.0 SFace weight sweep: cut = smallest different-person distance on the calibration folds")
    for weight in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
        vectors = np.hstack([weight * stored["sface"], math.sqrt(1 - weight**2) * stored["dlib"]])
        d = distances(vectors, index, rows)
        cut = threshold_at_far(d[calibration], same[calibration], 0.0)
        accepted = float((d[calibration & same] < cut).mean())
        print(f"  weight {weight:.2f}: calibration cut {cut:.4f}, calibration TAR@FAR0 {100 * accepted:6.2f} %")
        report("    on the test folds", d, same, test, cut)


if __name__ == "__main__":
    main()
