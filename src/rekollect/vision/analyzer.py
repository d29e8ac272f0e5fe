"""The interface between the face service and any face model pack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class DetectedFace:
    """One face found in an upright RGB image.

    ``box`` is ``(left, top, right, bottom)`` in pixels of that image (it may extend past the
    image edges when a face is cut by them). ``confidence`` is 0–100. ``landmarks`` is a
    ``(68, 2)`` float array of pixel ``(x, y)`` points in the iBUG 300-W 68-point order.
    """

    FRAME_SCALE = 1.07
    """Width of ``frame`` over the landmarks' width: the median ratio of dlib's HOG box to it on the
    shared photos (5th–95th percentile 0.96–1.21), so ``frame`` matches such a box on average."""

    FRAME_RAISE = 0.10
    """How far ``frame``'s centre sits above the landmarks' centre, in landmark widths (the median
    for dlib's HOG box on the shared photos: 0.10, 5th–95th percentile 0.04–0.18)."""

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        """Box area in square pixels (used to order faces largest first)."""
        left, top, right, bottom = self.box
        return max(0.0, right - left) * max(0.0, bottom - top)

    @property
    def frame(self) -> tuple[float, float, float, float]:
        """A square ``(left, top, right, bottom)`` pixel box set by the landmarks alone: centred on
        their extent raised by ``FRAME_RAISE``, ``FRAME_SCALE`` × their width wide. The attribute
        models crop by it rather than by ``box``: a sliding-window detector's box can jump by a whole
        pyramid step (20 %) between two nearly identical images (a photo and its mirror image), while
        the landmarks fitted inside it move a few pixels."""
        low, high = self.landmarks.min(axis=0), self.landmarks.max(axis=0)
        width = float(high[0] - low[0])
        centre_x, centre_y = float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2 - self.FRAME_RAISE * width
        half = self.FRAME_SCALE * width / 2
        return (centre_x - half, centre_y - half, centre_x + half, centre_y + half)


class FaceAnalyzer(Protocol):
    """A face model pack: finds faces and turns each into an embedding.

    Implementations are loaded once per process and must be safe to call from several threads.
    """

    model_version: str
    """Reported as ``FaceModelVersion``."""

    embedding_size: int
    """Length of the vectors ``embed`` returns."""

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
