"""Synthetic face embeddings for the scale benchmarks and the load script (not real faces).

Model (documented, deterministic by seed): ``identities`` centres drawn from a zero-mean Gaussian
whose per-dimension variances decay as ``exp(-i / 32)`` (an anisotropic cloud, like learned
embeddings), scaled so two centres lie about 0.85 apart, dlib's typical distance between different
people; each face is its identity's centre plus isotropic noise of 0.025 per dimension, so two faces
of one identity lie about 0.4 apart, dlib's typical same-person distance. Faces of identity ``i``
are rows ``i * per_identity .. (i + 1) * per_identity - 1``.

``dimension`` (default 128, dlib's and face model 1.0's; 256 is face model 2.0's fused vector)
keeps those distances: the variances decay as ``exp(-i / (dimension / 4))`` and the noise is
``0.025 · √(128 / dimension)`` per dimension, so only the vectors' length (memory, work per
distance) changes, not how far apart faces lie. At 128 the vectors are exactly those above.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

DIMENSION = 128
PER_IDENTITY = 5
_NOISE = 0.025
_CENTRE_SPREAD = 0.85


def _scales(dimension: int) -> np.ndarray:
    variances = np.exp(-np.arange(dimension) / (dimension / 4))
    return np.sqrt(variances * (_CENTRE_SPREAD**2 / 2) / variances.sum()).astype(np.float32)


def _noise(dimension: int) -> np.float32:
    """Noise per dimension that puts two faces of one identity about 0.4 apart at any ``dimension``."""
    return np.float32(_NOISE * math.sqrt(DIMENSION / dimension))


_CENTRE_BLOCK = 4096


def centres(identities: np.ndarray, seed: int = 0, dimension: int = DIMENSION) -> np.ndarray:
    """``(len(identities), dimension)`` float32 centres of the given identity numbers (seeded per block of 4096)."""
    identities = np.asarray(identities, dtype=np.int64)
    out = np.zeros((len(identities), dimension), dtype=np.float32)
    for block in np.unique(identities // _CENTRE_BLOCK):
        rows = np.random.default_rng([seed, int(block)]).standard_normal((_CENTRE_BLOCK, dimension), dtype=np.float32)
        mask = identities // _CENTRE_BLOCK == block
        out[mask] = rows[identities[mask] % _CENTRE_BLOCK] * _scales(dimension)
    return out


def faces(first: int, count: int, seed: int = 0, dimension: int = DIMENSION) -> np.ndarray:
    """``(count, dimension)`` float32 face embeddings ``first .. first + count - 1``."""
    noise = np.random.default_rng([seed, 1_000_000_007, first]).standard_normal((count, dimension), dtype=np.float32)
    return centres(np.arange(first, first + count) // PER_IDENTITY, seed, dimension) + noise * _noise(dimension)


def chunks(
    total: int, size: int = 65_536, seed: int = 0, dimension: int = DIMENSION
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first, (n, dimension) faces)`` for faces ``0 .. total - 1`` in chunks of ``size``."""
    for first in range(0, total, size):
        yield first, faces(first, min(size, total - first), seed, dimension)


def queries(total: int, count: int, seed: int = 0, dimension: int = DIMENSION) -> np.ndarray:
    """``(count, dimension)`` new faces of random identities among the first ``total`` faces' (fresh noise)."""
    rng = np.random.default_rng([seed, 424242])
    identities = rng.integers(0, max(1, total // PER_IDENTITY), count)
    noise = rng.standard_normal((count, dimension), dtype=np.float32)
    return centres(identities, seed, dimension) + noise * _noise(dimension)
