"""``VectorIndex`` by exhaustive search over a NumPy matrix per space (exact distances).

Adds append rows; removals compact the matrix, O(n·d); a search is one pass over all rows, O(n·d).
"""

from __future__ import annotations

import threading

import numpy as np


class _Space:
    def __init__(self, dimension: int) -> None:
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.keys: list[str] = []
        self.rows: dict[str, int] = {}


class ExactIndex:
    """Exact Euclidean search; thread-safe."""

    def __init__(self) -> None:
        self._spaces: dict[str, _Space] = {}
        self._lock = threading.Lock()

    def add(self, space: str, keys: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), -1)
        with self._lock:
            entry = self._spaces.setdefault(space, _Space(vectors.shape[1]))
            self._remove_keys(entry, [key for key in keys if key in entry.rows])
            start = len(entry.keys)
            entry.vectors = np.concatenate([entry.vectors, vectors])
            entry.keys.extend(keys)
            entry.rows.update({key: start + offset for offset, key in enumerate(keys)})

    def remove(self, space: str, keys: list[str]) -> None:
        with self._lock:
            entry = self._spaces.get(space)
            if entry is not None:
                self._remove_keys(entry, [key for key in keys if key in entry.rows])

    def drop(self, space: str) -> None:
        with self._lock:
            self._spaces.pop(space, None)

    def get(self, space: str, key: str) -> np.ndarray | None:
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or key not in entry.rows:
                return None
            return entry.vectors[entry.rows[key]].copy()

    def search(self, space: str, query: np.ndarray, k: int, max_distance: float) -> list[tuple[str, float]]:
        with self._lock:
            entry = self._spaces.get(space)
            if entry is None or not entry.keys:
                return []
            distances = np.linalg.norm(entry.vectors - np.asarray(query, dtype=np.float32), axis=1)
            keys = list(entry.keys)
        order = np.argsort(distances, kind="stable")[:k]
        return [(keys[row], float(distances[row])) for row in order if distances[row] <= max_distance]

    @staticmethod
    def _remove_keys(entry: _Space, keys: list[str]) -> None:
        if not keys:
            return
        keep = np.ones(len(entry.keys), dtype=bool)
        keep[[entry.rows[key] for key in keys]] = False
        entry.vectors = entry.vectors[keep]
        entry.keys = [key for key, kept in zip(entry.keys, keep, strict=True) if kept]
        entry.rows = {key: row for row, key in enumerate(entry.keys)}
