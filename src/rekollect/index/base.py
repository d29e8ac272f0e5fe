"""The vector index interface (after FAISS's ``add_with_ids`` / ``search`` / ``remove_ids``).

Vectors live in named spaces (one per collection and kind, e.g. ``faces/<CollectionId>``) and are
keyed by string ids. The metadata store holds the vectors durably; an index may be rebuilt from it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    """Nearest-neighbour search by Euclidean distance."""

    def add(self, space: str, keys: list[str], vectors: np.ndarray) -> None:
        """Add or replace ``(n, d)`` float32 ``vectors`` under ``keys`` in ``space``."""
        ...

    def remove(self, space: str, keys: list[str]) -> None:
        """Remove ``keys`` from ``space``; unknown keys are ignored."""
        ...

    def drop(self, space: str) -> None:
        """Forget a whole space."""
        ...

    def search(self, space: str, query: np.ndarray, k: int, max_distance: float) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, distance)`` pairs with distance ≤ ``max_distance``, nearest first."""
        ...

    def get(self, space: str, key: str) -> np.ndarray | None:
        """The vector stored under ``key``, or ``None``."""
        ...
