"""Synthetic face embeddings for the scale benchmarks and the load script (not real faces).

Model (documented, deterministic by seed): ``identities`` centres drawn from a zero-mean Gaussian
whose per-dimension variances decay as ``exp(-i / 32)`` (an anisotropic cloud, like learned
embeddings), scaled so two centres lie about 0.85 apart, dlib's typical distance between different
people; each face is its identity's centre plus isotropic noise of 0.025 per dimension, so two faces
of one identity lie about 0.4 apart, dlib's typical same-person distance. Faces of identity ``i``
are rows ``i * per_identity .. (i + 1) * per_identity - 1``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

DIMENSION = 128
PER_IDENTITY = 5
_NOISE = 0.025
_CENTRE_SPREAD = 0.85


def _scales() -> np.ndarray:
    variances = np.exp(-np.arange(DIMENSION) / 32.0)
    return np.sqrt(variances * (_CENTRE_SPREAD**2 / 2) / variances.sum()).astype(np.float32)


_CENTRE_BLOCK = 4096


def centres(identities: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(len(identities), 128)`` float32 centres of the given identity numbers (seeded per block of 4096)."""
    identities = np.asarray(identities, dtype=np.int64)
    out = np.zeros((len(identities), DIMENSION), dtype=np.float32)
    for block in np.unique(identities // _CENTRE_BLOCK):
        rows = np.random.default_rng([seed, int(block)]).standard_normal((_CENTRE_BLOCK, DIMENSION), dtype=np.float32)
        mask = identities // _CENTRE_BLOCK == block
        out[mask] = rows[identities[mask] % _CENTRE_BLOCK] * _scales()
    return out


def faces(first: int, count: int, seed: int = 0) -> np.ndarray:
    """``(count, 128)`` float32 face embeddings ``first .. first + count - 1``."""
    noise = np.random.default_rng([seed, 1_000_000_007, first]).standard_normal((count, DIMENSION), dtype=np.float32)
    return centres(np.arange(first, first + count) // PER_IDENTITY, seed) + noise * np.float32(_NOISE)


def chunks(total: int, size: int = 65_536, seed: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """``(first, (n, 128) faces)`` for faces ``0 .. total - 1`` in chunks of ``size``."""
    for first in range(0, total, size):
        yield first, faces(first, min(size, total - first), seed)


def queries(total: int, count: int, seed: int = 0) -> np.ndarray:
    """``(count, 128)`` new faces of random identities among the first ``total`` faces' (fresh noise)."""
    rng = np.random.default_rng([seed, 424242])
    identities = rng.integers(0, max(1, total // PER_IDENTITY), count)
    return centres(identities, seed) + rng.standard_normal((count, DIMENSION), dtype=np.float32) * np.float32(_NOISE)
