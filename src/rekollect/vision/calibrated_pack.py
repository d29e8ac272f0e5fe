"""Face model version 2.1: face model 2.0's networks, with Similarity on the false-match-rate scale.

- **Detection and embedding** are exactly face model 2.0's (the ``ZooFaceAnalyzer`` instance is
  shared): YuNet, dlib's landmarks, SFace fused with dlib's ResNet, 256-d unit vectors. So a 2.0
  collection becomes a 2.1 collection without re-indexing (``rekollect collection upgrade``).
  Better vectors were looked for and not found (``docs/models.md``, "Face model 2.1").
- **Similarity** is ``FalseMatchSimilarity``: Similarity 80 sits at a per-pair false-match rate
  (FMR) of 1e-5, 90 at 1e-6 and 99 at 1e-8 (``similarity_of_decades``). ``SIMILARITY``'s knots are
  the distances at FMR 1e-1 … 1e-5 measured on the 4.5 M different-person pairs of the LFW
  calibration identities (View-2 folds 2–5, ``tests/lfw.py``), and from 1e-6 on a straight line
  in −log10 FMR fitted over 1e-3 … 1e-5 there (fewer than 5 pairs lie below 1e-6: what lies
  beyond 1e-6 is a fitted tail, not a measurement). ``bench/calibrate_similarity.py`` computes them
  and checks them on the held-out identities of folds 6–10.
- **User vectors** are the unit-length mean of the user's face vectors times ``user_scale(k)``
  for k faces. A unit mean of k faces lies closer to strangers than one face does (at the face
  cut for FMR 1e-5, users of 5 faces matched strangers at about 1.7e-4); the scale, fitted on the
  calibration identities, puts user-vs-face pairs back on the faces' FMR at every threshold, so
  ``UserMatchThreshold`` means what ``FaceMatchThreshold`` means. Plain means (face model 2.0's
  users) shrink below unit length and match strangers more still.
"""

from __future__ import annotations

import numpy as np

from .analyzer import DetectedFace
from .similarity import FalseMatchSimilarity
from .zoo_pack import ZooFaceAnalyzer

MODEL_VERSION = "2.1"
SIMILARITY = FalseMatchSimilarity(
    knots=(0.9614, 0.9023, 0.8557, 0.8149, 0.7761, 0.7366, 0.6970, 0.6575),
    tail_slope=25.29,
)
"""Distances at FMR 1e-1 … 1e-8 and the tail's slope (decades per unit of distance): see the module docstring."""
USER_SCALE_CONSTANT = 0.1205
"""``c`` of ``user_scale`` (``bench/calibrate_similarity.py``, users of 2–6 faces of the calibration identities)."""


def user_scale(face_count: int) -> float:
    """Length of the vector of a user with ``face_count`` ≥ 1 faces: ``1 + c·(1 − 1/k)``."""
    return 1.0 + USER_SCALE_CONSTANT * (1.0 - 1.0 / face_count)


def user_vector(embeddings: np.ndarray) -> np.ndarray:
    """``(256,)`` float32: the unit mean of ``(k, 256)`` face vectors times ``user_scale(k)``."""
    mean = embeddings.astype(np.float64).mean(axis=0)
    return (user_scale(len(embeddings)) * mean / np.linalg.norm(mean)).astype(np.float32)


class CalibratedFaceAnalyzer:
    """``FaceAnalyzer`` for face model 2.1 over face model 2.0's ``networks`` (shared, thread-safe)."""

    model_version = MODEL_VERSION
    embedding_size = ZooFaceAnalyzer.embedding_size
    embedding_norm = ZooFaceAnalyzer.embedding_norm
    """Face model 2.0's unit vectors."""
    user_vector_norm = (0.999, 1.0 + USER_SCALE_CONSTANT + 0.001)
    """``user_scale(k)`` long: 1 for one face, approaching ``1 + c`` (float32 rounding within 0.001)."""

    def __init__(self, networks: ZooFaceAnalyzer) -> None:
        self._networks = networks

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Face model 2.0's faces in an ``(H, W, 3)`` uint8 RGB image, largest first."""
        return self._networks.detect(image)

    def embed(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """Face model 2.0's ``(len(faces), 256)`` float32 unit vectors."""
        return self._networks.embed(image, faces)

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """0–100 Similarity on the false-match-rate scale (``SIMILARITY``)."""
        return SIMILARITY.similarity(distances)

    def distance_at(self, similarity: float) -> float:
        """Inverse of ``similarity``; every distance for s ≤ 0."""
        return SIMILARITY.distance_at(similarity)

    @staticmethod
    def user_vector(embeddings: np.ndarray) -> np.ndarray:
        """The unit mean of the user's ``(k, 256)`` face vectors times ``user_scale(k)`` (``user_vector``)."""
        return user_vector(embeddings)
