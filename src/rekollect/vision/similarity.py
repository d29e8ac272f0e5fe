"""Maps from embedding distance to Rekognition's 0–100 ``Similarity``.

Face models 1.0 and 2.0 use a logistic map (``LogisticSimilarity``) fitted to verification pairs.
Face model 2.1 uses ``FalseMatchSimilarity``: Similarity is a fixed function of the per-pair
false-match rate (FMR) of the distance, so a threshold says how many strangers a search of N faces
returns (about N × FMR), the measure NIST's FRVT 1:N reports use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_DECADES = np.array([0.0, 5.0, 6.0, 8.0])
_SIMILARITIES = np.array([0.0, 80.0, 90.0, 99.0])


def similarity_of_decades(decades: np.ndarray | float) -> np.ndarray:
    """Similarity for ``decades`` = −log10(FMR) (float64).

    16 per decade up to FMR 1e-5 (Similarity 80, Rekognition's default threshold), 10 per decade up
    to 1e-6 (90), 4.5 per decade up to 1e-8 (99, AWS's advice where a false match is costly), then
    ``100 − 10^(−(decades − 8) / 2)``: 99.9 at 1e-10, 99.99 at 1e-12, never 100.
    """
    x = np.asarray(decades, dtype=np.float64)
    beyond = 100.0 - 10.0 ** (-(np.maximum(x, 8.0) - 8.0) / 2.0)
    return np.where(x <= 8.0, np.interp(x, _DECADES, _SIMILARITIES), beyond)


def decades_of_similarity(similarity: float) -> float:
    """Inverse of ``similarity_of_decades`` for 0 ≤ ``similarity`` < 100."""
    if similarity <= 99.0:
        return float(np.interp(similarity, _SIMILARITIES, _DECADES))
    return 8.0 - 2.0 * math.log10(100.0 - similarity)


@dataclass(frozen=True)
class FalseMatchSimilarity:
    """``Similarity = similarity_of_decades(−log10 FMR(d))`` for Euclidean distance ``d``.

    ``knots`` are the distances at which the FMR is 1e-1, 1e-2, …, 1e-8 (decreasing). FMR(d) is
    log-linear between knots (−log10 FMR linear in ``d``), falls to 1 (0 decades) at ``d = 2`` (the
    largest distance of unit vectors), and below the last knot keeps falling by ``tail_slope``
    decades per unit of distance. Where the knots come from (measured quantiles, a fitted tail) is
    the caller's to document. Strictly decreasing in ``d`` on [0, 2]; 100 is never reached, so two
    different vectors never score 100; computed in float64, never rounded.
    """

    knots: tuple[float, ...]
    tail_slope: float

    def decades(self, distances: np.ndarray | float) -> np.ndarray:
        """−log10 FMR of each distance (float64)."""
        d = np.asarray(distances, dtype=np.float64)
        count = len(self.knots)
        inside = np.interp(d, [*reversed(self.knots), 2.0], [*range(count, 0, -1), 0.0])
        return np.where(d < self.knots[-1], count + self.tail_slope * (self.knots[-1] - d), inside)

    def false_match_rate(self, similarity: float) -> float:
        """The per-pair false-match rate at which ``similarity`` (0 < s < 100) sits."""
        return 10.0 ** -decades_of_similarity(similarity)

    def similarity(self, distances: np.ndarray | float) -> np.ndarray:
        """0–100 Similarity of each distance (float64)."""
        return similarity_of_decades(self.decades(distances))

    def distance_at(self, similarity: float) -> float:
        """Largest distance whose Similarity is still ≥ ``similarity``: every distance for s ≤ 0,
        0 when no distance reaches it."""
        if similarity <= 0.0:
            return float("inf")
        if similarity >= 100.0:
            return 0.0
        x = decades_of_similarity(similarity)
        count = len(self.knots)
        if x > count:
            return max(0.0, self.knots[-1] - (x - count) / self.tail_slope)
        return float(np.interp(x, [0.0, *range(1, count + 1)], [2.0, *self.knots]))


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
