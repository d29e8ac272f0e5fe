"""Face clustering quality on LFW (``../shared/data/lfw-dev/images``: 6,894 images, folds 2–10).

Each image's labelled face (the one nearest the centre) is embedded with face model 2.0's networks
(which 2.1 shares; ``tests/lfw.py``: aliases merged, mislabelled images left out; ``--cache``
keeps the vectors), clustered with the function StartFaceClustering runs
(``rekollect.clustering.graph.cluster_vectors``, cut at the distance of each FaceMatchThreshold
through the Similarity map of face model 2.0 and of 2.1, ``MinClusterSize`` 2), and scored
against the LFW names: pairwise precision / recall / F1 (over pairs of faces put in one cluster vs.
pairs of one person) and BCubed precision / recall / F1 (Amigó et al. 2009; a face left unclustered
counts as a cluster of its own). Split by identity: the calibration identities (those of the pairs
of folds 2–5, where the default thresholds are chosen) and the report identities (folds 6–10).
Images without a detected face are left out.

Usage: .venv/bin/python bench/clustering_quality.py [--cache lfw-vectors.npz] [--thresholds 70 80 ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import lfw

from rekollect.clustering.graph import cluster_vectors
from rekollect.vision.calibrated_pack import SIMILARITY as SIMILARITY_2_1
from rekollect.vision.zoo_pack import _SIMILARITY as SIMILARITY_2_0

MAPS = {"2.0": SIMILARITY_2_0, "2.1": SIMILARITY_2_1}


def scores(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Pairwise and BCubed precision / recall / F1 of cluster ``labels`` against identities ``truth``."""
    joint = Counter(zip(truth.tolist(), labels.tolist(), strict=True))
    by_truth, by_label = Counter(truth.tolist()), Counter(labels.tolist())
    same_both = sum(c * (c - 1) / 2 for c in joint.values())
    same_label = sum(c * (c - 1) / 2 for c in by_label.values())
    same_truth = sum(c * (c - 1) / 2 for c in by_truth.values())
    precision = same_both / same_label if same_label else 1.0
    recall = same_both / same_truth if same_truth else 1.0
    n = len(truth)
    b_precision = sum(c * c / by_label[label] for (_, label), c in joint.items()) / n
    b_recall = sum(c * c / by_truth[person] for (person, _), c in joint.items()) / n
    return {
        "P": precision,
        "R": recall,
        "F": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "BP": b_precision,
        "BR": b_recall,
        "BF": 2 * b_precision * b_recall / (b_precision + b_recall),
    }


def labels_at(vectors: np.ndarray, distance: float) -> tuple[np.ndarray, int, float]:
    """Cluster label per row (unclustered rows get their own) cut at ``distance``, the cluster count
    and the seconds taken."""
    started = time.perf_counter()
    clusters = cluster_vectors(vectors, distance, min_size=2)
    seconds = time.perf_counter() - started
    labels = np.arange(len(vectors)) + len(clusters)
    for number, cluster in enumerate(clusters):
        labels[cluster.members] = number
    return labels, len(clusters), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="vectors .npz (tests/lfw.py's embeddings cache)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[70, 75, 80, 85, 90, 95, 97, 98, 99])
    args = parser.parse_args()
    images = lfw.images()
    vectors = lfw.embeddings([image.path for image in images], args.processes, args.cache)
    found = ~np.isnan(vectors).any(axis=1)
    names = np.array([image.identity for image in images])
    calibration = np.array([image.calibration for image in images])
    for version, similarity in MAPS.items():
        for title, subset in (
            ("calibration identities (folds 2-5)", calibration),
            ("report identities (folds 6-10)", ~calibration),
        ):
            keep = subset & found
            truth = np.unique(names[keep], return_inverse=True)[1]
            print(
                f"face model {version}, {title}: {int(keep.sum())} faces, {truth.max() + 1} identities, "
                f"{int((subset & ~found).sum())} without a face"
            )
            print("  threshold  clusters   P      R      F     BCubed P  R      F     seconds")
            for threshold in args.thresholds:
                labels, count, seconds = labels_at(vectors[keep], similarity.distance_at(threshold))
                s = scores(truth, labels)
                print(
                    f"  {threshold:9.1f}  {count:8d}  {s['P']:.3f}  {s['R']:.3f}  {s['F']:.3f}  "
                    f"{s['BP']:.3f}     {s['BR']:.3f}  {s['BF']:.3f}  {seconds:.2f}"
                )


if __name__ == "__main__":
    main()
