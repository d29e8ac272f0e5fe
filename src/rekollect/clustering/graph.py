"""Clustering of face embeddings: a k-nearest-neighbour graph (FAISS) cut at a distance, then
Chinese Whispers (``dlib.chinese_whispers``).

Why this pair: Chinese Whispers (Biemann, "Chinese Whispers: an efficient graph clustering
algorithm", 2006) needs no number of clusters, runs in time linear in the edges, and is what dlib's
own face-clustering example uses on these very embeddings; dlib is already a dependency. The graph
links each face to its ``NEIGHBOURS`` nearest faces that lie within ``max_distance`` (the distance
of the FaceMatchThreshold through the collection's Similarity map), so its size is at most
``n · NEIGHBOURS`` edges whatever ``n``. HDBSCAN (scikit-learn) would add a dependency and needs its
own core-distance graph of the same kind; it was not tried.

Neighbours are found exactly (``faiss.IndexFlatL2``) up to ``EXACT_LIMIT`` faces, and through an
IVF of ``√n`` lists scanning ``IVF_PROBES`` of them above it (``bench/clustering_speed.py`` gives the
times). Chinese Whispers is randomised; dlib seeds it the same way on every call, so one graph
always gives one clustering.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import dlib
import faiss
import numpy as np

NEIGHBOURS = 32
"""Nearest faces each face is linked to (before the distance cut)."""
EXACT_LIMIT = 20_000
"""Most faces whose neighbours are searched exhaustively; an IVF beyond."""
IVF_PROBES = 32
"""Lists of the IVF scanned per face above ``EXACT_LIMIT``."""
_BATCH = 2048
"""Faces searched per FAISS call (progress is reported after each)."""

Progress = Callable[[float], None]
"""Called with the share of the work done (0 to 1)."""


@dataclass(frozen=True)
class Cluster:
    """One group of faces: ``members`` are row numbers of the clustered vectors, the
    ``representative`` first and the others by increasing distance to it; ``distances`` are those
    distances (the representative's is 0). The representative is the member nearest the members' mean."""

    members: np.ndarray
    distances: np.ndarray

    @property
    def representative(self) -> int:
        """Row number of the representative face."""
        return int(self.members[0])


def cluster_vectors(
    vectors: np.ndarray,
    max_distance: float,
    *,
    min_size: int = 2,
    progress: Progress | None = None,
) -> list[Cluster]:
    """Cluster the ``(n, d)`` float32 ``vectors`` (Euclidean distance); return the clusters of at least
    ``min_size`` faces, largest first (ties: by smallest row number). Rows in no cluster are the unclustered faces.

    ``progress`` gets the share done while the neighbour graph is built (most of the time)."""
    n = len(vectors)
    if n == 0:
        return []
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rows, cols, distances = neighbour_edges(vectors, max_distance, progress)
    labels = _chinese_whispers(n, rows, cols, distances, max_distance)
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
    groups = [group for group in np.split(order, starts[1:]) if len(group) >= min_size]
    groups.sort(key=lambda group: (-len(group), int(group[0])))
    return [_ordered(vectors, group) for group in groups]


def neighbour_edges(
    vectors: np.ndarray, max_distance: float, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``(i, j, distance)`` with ``i < j``, ``j`` among ``i``'s ``NEIGHBOURS`` nearest (or ``i``
    among ``j``'s) and distance ≤ ``max_distance``; each pair once."""
    n = len(vectors)
    k = min(NEIGHBOURS + 1, n)
    index = _neighbour_index(vectors)
    found_rows, found_cols, found_distances = [], [], []
    for start in range(0, n, _BATCH):
        squared, neighbours = index.search(vectors[start : start + _BATCH], k)
        distance = np.sqrt(np.maximum(squared, 0.0))
        rows = np.repeat(np.arange(start, start + len(neighbours)), k).reshape(neighbours.shape)
        keep = (neighbours >= 0) & (neighbours != rows) & (distance <= max_distance)
        found_rows.append(rows[keep])
        found_cols.append(neighbours[keep])
        found_distances.append(distance[keep])
        if progress is not None:
            progress(min(1.0, (start + _BATCH) / n))
    rows, cols = np.concatenate(found_rows), np.concatenate(found_cols)
    low, high = np.minimum(rows, cols), np.maximum(rows, cols)
    pairs, first = np.unique(low.astype(np.int64) * n + high, return_index=True)
    return (pairs // n), (pairs % n), np.concatenate(found_distances)[first]


def _neighbour_index(vectors: np.ndarray) -> faiss.Index:
    n, d = vectors.shape
    if n <= EXACT_LIMIT:
        index = faiss.IndexFlatL2(d)
    else:
        lists = 1 << round(math.log2(math.sqrt(n)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, lists)
        sample = np.random.default_rng(0).choice(n, min(n, 64 * lists), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = IVF_PROBES
    index.add(vectors)
    return index


def _chinese_whispers(
    n: int, rows: np.ndarray, cols: np.ndarray, distances: np.ndarray, max_distance: float
) -> np.ndarray:
    """Labels of the ``n`` vertices; an edge weighs more the closer its faces (1 at distance 0, near 0 at the cut)."""
    weights = 1.0 - distances / max(max_distance, 1e-12) * 0.999
    edges = list(zip(rows.tolist(), cols.tolist(), weights.tolist(), strict=True))
    linked = np.zeros(n, dtype=bool)
    linked[rows] = True
    linked[cols] = True
    # A vertex with no edge gets its own label; dlib labels vertices 0 .. the largest one named.
    edges.extend((i, i, 1.0) for i in np.flatnonzero(~linked).tolist())
    return np.asarray(dlib.chinese_whispers(edges), dtype=np.int64)


def _ordered(vectors: np.ndarray, group: np.ndarray) -> Cluster:
    members = vectors[group]
    centre = members.mean(axis=0)
    representative = int(np.argmin(np.linalg.norm(members - centre, axis=1)))
    distances = np.linalg.norm(members - members[representative], axis=1)
    order = np.argsort(distances, kind="stable")
    return Cluster(members=group[order], distances=distances[order])
