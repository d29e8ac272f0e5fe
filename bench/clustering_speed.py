"""Face clustering speed at scale on synthetic faces (``bench/synthetic.py``: 5 faces per identity,
128-d, dlib-like distances: about 0.4 within an identity, 0.85 between).

Times ``rekollect.clustering.graph.cluster_vectors`` (what a StartFaceClustering job runs once the
faces are read) cut at distance 0.6 (dlib's usual same-person cut), split into the neighbour graph
(FAISS: exact up to ``EXACT_LIMIT`` faces, IVF above) and the rest (Chinese Whispers and ordering
the clusters), and scores the clusters against the synthetic identities (pairwise precision and
recall). ``--ivf`` forces the IVF path at any size, to compare it with the exact one.

Usage: .venv/bin/python bench/clustering_speed.py [--faces 100000] [--ivf]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from clustering_quality import scores
from synthetic import PER_IDENTITY, chunks

from rekollect.clustering import graph

CUT = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--ivf", action="store_true", help="use the IVF whatever the size")
    args = parser.parse_args()
    if args.ivf:
        graph.EXACT_LIMIT = 0
    vectors = np.concatenate([block for _, block in chunks(args.faces)])
    truth = np.arange(args.faces) // PER_IDENTITY

    started = time.perf_counter()
    rows, _, _ = graph.neighbour_edges(vectors, CUT)
    graph_seconds = time.perf_counter() - started
    started = time.perf_counter()
    clusters = graph.cluster_vectors(vectors, CUT)
    total = time.perf_counter() - started

    labels = np.arange(args.faces) + len(clusters)
    for number, cluster in enumerate(clusters):
        labels[cluster.members] = number
    s = scores(truth, labels)
    path = "IVF" if args.ivf or args.faces > graph.EXACT_LIMIT else "exact"
    print(
        f"{args.faces} faces ({path} neighbours): graph {graph_seconds:.1f} s ({len(rows)} edges), "
        f"whole clustering {total:.1f} s, {len(clusters)} clusters, pairwise P {s['P']:.4f} R {s['R']:.4f}, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
