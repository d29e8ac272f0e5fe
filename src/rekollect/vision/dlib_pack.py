"""The default model pack: dlib's HOG detector, 68-point shape predictor and ResNet embedder.

Weights come from the ``face_recognition_models`` package (public domain, Davis King):

- detector: dlib's HOG + linear SVM frontal face detector (``get_frontal_face_detector``);
- landmarks: ``shape_predictor_68_face_landmarks.dat`` (ensemble of regression trees,
  Kazemi & Sullivan 2014, trained on iBUG 300-W);
- embedding: ``dlib_face_recognition_resnet_model_v1.dat``, a 29-layer ResNet giving 128-d
  vectors (99.38 % on LFW per dlib), aligned with the 68 landmarks.

Mappings to Rekognition's scales (see ``docs/models.md``):

- ``Confidence = 100 / (1 + exp(-3 * margin))`` where ``margin`` is the HOG SVM score; the
  detector's own decision boundary (margin 0) maps to 50, a clear frontal face (margin ≥ 1.5) to
  ≥ 98.9.
- ``Similarity = 100 / (1 + exp((d - 0.689) / 0.05))`` for Euclidean distance ``d``; it maps
  ``d = 0.62`` to 80, the distance that best separates same from different people on the shared
  ``pairs.tsv`` (99.4 % of 332 pairs), so the default ``FaceMatchThreshold`` of 80 is that cut.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path

import dlib
import numpy as np
from PIL import Image

from .analyzer import DetectedFace

_CONFIDENCE_SLOPE = 3.0
_SIMILARITY_MIDPOINT = 0.689
_SIMILARITY_SCALE = 0.05


class DlibFaceAnalyzer:
    """``FaceAnalyzer`` over dlib. Each thread gets its own model instances (dlib nets are not re-entrant).

    ``max_detect_side`` (pixels): larger images are downscaled to this long side for detection
    only; landmarks and embeddings are computed on the full image. ``upsample`` is the number of
    2× pyramid-up steps the HOG detector runs (1 finds faces down to about 40 px).
    ``min_margin`` is the SVM score a detection needs (Confidence ≈ 64.6 at 0.2): at 0.2 the
    detector keeps every face in the shared group photos and drops a background false positive
    it finds at 0.12 in ``astronaut.png``.
    """

    model_version = "rekollect-dlib-resnet-v1"
    embedding_size = 128

    def __init__(self, *, max_detect_side: int = 1024, upsample: int = 1, min_margin: float = 0.2) -> None:
        self.max_detect_side = max_detect_side
        self.upsample = upsample
        self.min_margin = min_margin
        self._local = threading.local()

    def _models(self) -> threading.local:
        local = self._local
        if not hasattr(local, "detector"):
            local.detector = dlib.get_frontal_face_detector()
            local.predictor = dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))
            local.encoder = dlib.face_recognition_model_v1(str(model_file("dlib_face_recognition_resnet_model_v1.dat")))
        return local

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in an ``(H, W, 3)`` uint8 RGB image; largest first, boxes in its pixels."""
        models = self._models()
        height, width = image.shape[:2]
        scale = min(1.0, self.max_detect_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        rectangles, scores, _ = models.detector.run(small, self.upsample, self.min_margin)
        faces = []
        for rectangle, score in zip(rectangles, scores, strict=True):
            box = (
                rectangle.left() / scale,
                rectangle.top() / scale,
                (rectangle.right() + 1) / scale,
                (rectangle.bottom() + 1) / scale,
            )
            shape = models.predictor(image, _rectangle(box))
            landmarks = np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)
            confidence = 100.0 / (1.0 + np.exp(-_CONFIDENCE_SLOPE * score))
            faces.append(DetectedFace(box=box, confidence=float(confidence), landmarks=landmarks))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def embed(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """128-d ResNet descriptors, one row per face, aligned on the face's 68 landmarks."""
        models = self._models()
        rows = np.zeros((len(faces), self.embedding_size), dtype=np.float32)
        for row, face in enumerate(faces):
            points = dlib.points([dlib.point(round(x), round(y)) for x, y in face.landmarks])
            shape = dlib.full_object_detection(_rectangle(face.box), points)
            rows[row] = np.asarray(models.encoder.compute_face_descriptor(image, shape, 0), dtype=np.float32)
        return rows

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """Logistic map of Euclidean distance to 0–100 (80 at d = 0.62, 50 at d = 0.689)."""
        return 100.0 / (1.0 + np.exp((np.asarray(distances) - _SIMILARITY_MIDPOINT) / _SIMILARITY_SCALE))

    def distance_at(self, similarity: float) -> float:
        """Inverse of ``similarity``: ``d = 0.689 + 0.05 * ln(100 / s - 1)``; every distance for s ≤ 0."""
        if similarity <= 0.0:
            return float("inf")
        if similarity >= 100.0:
            return 0.0
        return max(0.0, _SIMILARITY_MIDPOINT + _SIMILARITY_SCALE * math.log(100.0 / similarity - 1.0))


def model_file(name: str) -> Path:
    """Path of a weights file inside the installed ``face_recognition_models`` package.

    The package is located without importing it (its ``__init__`` needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def _rectangle(box: tuple[float, float, float, float]) -> dlib.rectangle:
    left, top, right, bottom = (round(value) for value in box)
    return dlib.rectangle(left, top, right - 1, bottom - 1)
