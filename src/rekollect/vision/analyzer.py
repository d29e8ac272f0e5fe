"""The interface between the face service and any face model pack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .boxes import landmark_box


@dataclass(frozen=True)
class DetectedFace:
    """One face found in an upright RGB image.

    ``box`` is ``(left, top, right, bottom)`` in pixels of that image (it may extend past the
    image edges when a face is cut by them). ``confidence`` is 0–100. ``landmarks`` is a
    ``(68, 2)`` float array of pixel ``(x, y)`` points in the iBUG 300-W 68-point order.
    ``keypoints``, where the detector gives them, is a ``(5, 2)`` pixel array: the image-left and
    image-right eye, the nose tip, the image-left and image-right mouth corner (what face model 2.0
    aligns its embedding on).
    """

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray
    keypoints: np.ndarray | None = None

    @property
    def landmark_box(self) -> tuple[float, float, float, float]:
        """The square box the 68 landmarks set (``boxes.landmark_box``): what the attribute models crop,
        so they see the same framing whichever detector found the face."""
        return landmark_box(self.landmarks)

    @property
    def area(self) -> float:
        """Box area in square pixels (used to order faces largest first)."""
        left, top, right, bottom = self.box
        return max(0.0, right - left) * max(0.0, bottom - top)


class FaceAnalyzer(Protocol):
    """A face model pack: finds faces and turns each into an embedding.

    Implementations are loaded once per process and must be safe to call from several threads.
    """

    model_version: str
    """Reported as ``FaceModelVersion``."""

    embedding_size: int
    """Length of the vectors ``embed`` returns."""

    embedding_norm: tuple[float, float]
    """Range of the Euclidean norms of the vectors ``embed`` returns, tolerance included: a stored
    vector outside it is refused or quarantined, never searched (``core.rules.VectorRule``)."""

    user_vector_norm: tuple[float, float]
    """Range of the Euclidean norms of the vectors ``user_vector`` returns, tolerance included."""

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in an ``(H, W, 3)`` uint8 RGB image, largest first."""
        ...

    def embed(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """Return a ``(len(faces), embedding_size)`` float32 array, one row per face."""
        ...

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """Map Euclidean embedding distances to Rekognition's 0–100 ``Similarity``."""
        ...

    def distance_at(self, similarity: float) -> float:
        """Largest distance whose ``similarity`` is still ≥ the given 0–100 value (inverse map)."""
        ...

    @staticmethod
    def user_vector(embeddings: np.ndarray) -> np.ndarray:
        """The ``(embedding_size,)`` float32 search vector of a user whose faces have the
        ``(k, embedding_size)`` ``embeddings`` (k ≥ 1); a pure function of them (the import checks
        a backup's user vectors with it)."""
        ...


def mean_vector(embeddings: np.ndarray) -> np.ndarray:
    """The centroid of ``(k, d)`` embeddings as ``(d,)`` float32: the user vector of face models 1.0
    and 2.0 (for unit vectors its length shrinks below 1 as the faces differ)."""
    return np.mean(embeddings, axis=0).astype(np.float32)
