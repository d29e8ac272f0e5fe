"""The logistic map from embedding distance to Rekognition's 0–100 ``Similarity`` that each face model uses."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogisticSimilarity:
    """``Similarity = 100 / (1 + exp((d - midpoint) / scale))`` for Euclidean distance ``d``.

    ``midpoint`` is the distance that maps to 50, ``scale`` how fast Similarity falls around it.
    Computed in float64 whatever the distances' type, so one pair gets one Similarity in every
    operation (CompareFaces, SearchFaces, users, video).
    """

    midpoint: float
    scale: float

    def similarity(self, distances: np.ndarray | float) -> np.ndarray:
        """0–100 Similarity of each distance (float64)."""
        return 100.0 / (1.0 + np.exp((np.asarray(distances, dtype=np.float64) - self.midpoint) / self.scale))

    def distance_at(self, similarity: float) -> float:
        """Largest distance whose Similarity is still ≥ ``similarity``: every distance for s ≤ 0, 0 for s ≥ 100."""
        if similarity <= 0.0:
            return float("inf")
        if similarity >= 100.0:
            return 0.0
        return max(0.0, self.midpoint + self.scale * math.log(100.0 / similarity - 1.0))
