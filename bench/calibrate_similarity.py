"""Calibrate face model 2.1's Similarity map and user-vector scale on LFW, and check them on held-out people.

Reads ``../shared/data/lfw-dev`` through ``tests/lfw.py`` (aliases merged, mislabelled images left
out; calibration identities = folds 2–5, report identities = folds 6–10). Every image's centred
face is embedded with the 2.0/2.1 networks (``--cache`` keeps the vectors).

Calibration (on the calibration identities only; 3,003 images, about 4.5 M different-person pairs):

- ``knots``: the distance at which a fraction 10^-k of the different-person pairs lie, for
  k = 1..5 (measured quantiles; 1e-5 is 45 pairs); below that the data thin out, so −log10 FMR
  is fitted as a straight line in the distance over FMR 1e-3 … 1e-5 (the measured quantiles at
  every half decade) and its slope carries the knots on to 1e-8 and beyond (``tail_slope``).
- ``user scale``: a user vector is the unit mean of its k faces times ``1 + c·(1 − 1/k)``; ``c``
  is chosen so that the FMR of user-vs-face pairs at the face knots 1e-3, 1e-4 and 1e-5 matches
  the faces' (least squares in decades, users of 2–6 faces).

Then, on the report identities (no choice was made on them): the FMR measured at Similarity 80, 90
and 99 for faces and for users of 1–5 faces, against the 1e-5, 1e-6 and 1e-8 they stand for.

Usage: .venv/bin/python bench/calibrate_similarity.py [--cache lfw-vectors.npz] [--processes 2]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import lfw

from rekollect.vision.calibrated_pack import SIMILARITY, user_scale
from rekollect.vision.similarity import FalseMatchSimilarity

FIT_DECADES = (3.0, 3.5, 4.0, 4.5, 5.0)
MEASURED_KNOTS = 5


def knots_from(impostors: np.ndarray) -> FalseMatchSimilarity:
    """Measured knots at 1e-1 … 1e-5 and the fitted tail (module docstring)."""
    n = len(impostors)

    def quantile(decades: float) -> float:
        return float(impostors[max(1, round(10.0**-decades * n)) - 1])

    measured = [quantile(k) for k in range(1, MEASURED_KNOTS + 1)]
    distances = np.array([quantile(x) for x in FIT_DECADES])
    slope = -float(np.polyfit(distances, np.array(FIT_DECADES), 1)[0])
    fitted = [measured[-1] - (k - MEASURED_KNOTS) / slope for k in range(MEASURED_KNOTS + 1, 9)]
    return FalseMatchSimilarity(knots=tuple(measured + fitted), tail_slope=slope)


def users_by_size(vectors: np.ndarray, names: list[str], sizes: range, scale) -> dict[int, tuple[np.ndarray, list[str]]]:
    """For each size k, the user vectors (first k images, sorted by path) of every person with ≥ k images."""
    by_name: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        by_name[name].append(row)
    result = {}
    for k in sizes:
        chosen = [(name, rows[:k]) for name, rows in sorted(by_name.items()) if len(rows) >= k]
        users = np.stack([scale(vectors[rows]) for _, rows in chosen])
        result[k] = (users, [name for name, _ in chosen])
    return result


def user_impostor_cosines(users: np.ndarray, user_names: list[str], faces: np.ndarray, names: list[str]) -> np.ndarray:
    """Cosines between unit user directions and faces of other people (float64, descending)."""
    directions = users / np.linalg.norm(users, axis=1, keepdims=True)
    cosines = faces.astype(np.float64) @ directions.T.astype(np.float64)
    different = np.array(names)[:, None] != np.array(user_names)[None, :]
    return np.sort(cosines[different])[::-1]


def fmr_at(distances_sorted: np.ndarray, cut: float) -> float:
    """Fraction of sorted distances ≤ ``cut``."""
    return float(np.searchsorted(distances_sorted, cut, side="right")) / len(distances_sorted)


def scaled_distances(cosines: np.ndarray, scale: float) -> np.ndarray:
    """Distances from unit faces to a vector ``scale`` × a unit direction, for the given cosines (ascending)."""
    return np.sqrt(np.maximum(1.0 + scale * scale - 2.0 * scale * cosines, 0.0))


def fit_user_constant(user_sets, faces, names, face_map: FalseMatchSimilarity) -> float:
    """``c`` of ``1 + c·(1 − 1/k)`` matching user FMR to face FMR at 1e-3, 1e-4, 1e-5 (least squares in decades)."""
    cosines = {k: user_impostor_cosines(users, user_names, faces, names) for k, (users, user_names) in user_sets.items()}
    cuts = {x: face_map.knots[x - 1] for x in (3, 4, 5)}

    def error(c: float) -> float:
        total = 0.0
        for k, values in cosines.items():
            distances = scaled_distances(values, 1.0 + c * (1.0 - 1.0 / k))
            for x, cut in cuts.items():
                total += (math.log10(max(fmr_at(distances, cut), 1e-12)) + x) ** 2
        return total

    return min(np.arange(0.0, 0.3, 0.0005), key=error)


def report_fmr(label: str, distances: np.ndarray, face_map: FalseMatchSimilarity) -> None:
    cells = []
    for similarity in (80.0, 90.0, 99.0):
        cut = face_map.distance_at(similarity)
        count = int(np.searchsorted(distances, cut, side="right"))
        cells.append(f"S{similarity:.0f}: {count / len(distances):.2e} ({count} pairs, stands for {face_map.false_match_rate(similarity):.0e})")
    print(f"  {label:24s} {len(distances):>9,} pairs   " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    images = lfw.images()
    vectors = lfw.embeddings([image.path for image in images], args.processes, args.cache)
    if np.isnan(vectors).any(axis=1).any():
        print(f"no face in {int(np.isnan(vectors).any(axis=1).sum())} images: left out")
    found = ~np.isnan(vectors).any(axis=1)
    calibration = np.array([image.calibration for image in images]) & found
    report = ~np.array([image.calibration for image in images]) & found
    names = [image.identity for image in images]

    def subset(mask: np.ndarray) -> tuple[np.ndarray, list[str]]:
        return vectors[mask], [name for name, keep in zip(names, mask, strict=True) if keep]

    cal_vectors, cal_names = subset(calibration)
    impostors = lfw.impostor_distances(cal_vectors, cal_names)
    calibrated = knots_from(impostors)
    print(f"calibration identities: {len(set(cal_names))} people, {len(cal_names)} images, {len(impostors):,} pairs")
    print(f"knots (FMR 1e-1 … 1e-8): {tuple(round(k, 4) for k in calibrated.knots)}")
    print(f"tail slope: {calibrated.tail_slope:.2f} decades of FMR per unit of distance")
    mean_direction = lambda rows: np.mean(rows, axis=0) / np.linalg.norm(np.mean(rows, axis=0))  # noqa: E731
    user_sets = users_by_size(cal_vectors, cal_names, range(2, 7), mean_direction)
    constant = fit_user_constant(user_sets, cal_vectors, cal_names, calibrated)
    print(f"user scale: 1 + {constant:.4f} · (1 − 1/k)")

    print("\nshipped face model 2.1 (vision/calibrated_pack.py):")
    print(f"  knots {tuple(round(k, 4) for k in SIMILARITY.knots)}, tail slope {SIMILARITY.tail_slope:.2f}")
    rep_vectors, rep_names = subset(report)
    print(f"report identities (folds 6-10): {len(set(rep_names))} people, {len(rep_names)} images")
    report_fmr("faces", lfw.impostor_distances(rep_vectors, rep_names), SIMILARITY)
    for k in range(1, 6):
        users, user_names = users_by_size(rep_vectors, rep_names, range(k, k + 1), mean_direction)[k]
        cosines = user_impostor_cosines(users, user_names, rep_vectors, rep_names)
        report_fmr(f"users of {k} face(s)", np.sort(scaled_distances(cosines, user_scale(k))), SIMILARITY)
        plain = np.sort(scaled_distances(cosines, 1.0))
        report_fmr("  (unit length, unscaled)", plain, SIMILARITY)


if __name__ == "__main__":
    main()
