"""The default model pack: dlib's HOG detector, 68-point shape predictor and ResNet embedder.

Weights come from the ``face_recognition_models`` package (public domain, Davis King):

- detector: dlib's HOG + linear SVM frontal face detector (``get_frontal_face_detector``);
- landmarks: ``shape_predictor_68_face_landmarks.dat`` (ensemble of regression trees,
  Kazemi & Sullivan 2014, trained on iBUG 300-W);
- embedding: ``dlib_face_recognition_resnet_model_v1.dat``, a 29-layer ResNet giving 128-d
  vectors (99.38 % on LFW per dlib), aligned with the 68 landmarks; run by ONNX Runtime from the
  model ``resnet_convert`` makes of those weights at install time (``resnet_onnx``), equal to
  dlib's ``compute_face_descriptor`` within ``resnet_convert.TOLERANCE``.

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
from .dlib_resnet_weights import CHIP_SIZE
from .resnet_onnx import ResNetOnnx

_CONFIDENCE_SLOPE = 3.0
_SIMILARITY_MIDPOINT = 0.689
_SIMILARITY_SCALE = 0.05


class DlibFaceAnalyzer:
    """``FaceAnalyzer`` over dlib. Models load once, on first use. One lock serialises calls into
    dlib's detector and shape predictor (dlib's Python calls hold the GIL anyway, so the lock costs
    no parallelism). Embeddings run outside it: cutting chips is a pure function, and the ONNX
    Runtime session is safe to share and releases the GIL, so one request's embedding overlaps
    another's detection.

    ``max_detect_side`` (pixels): larger images are downscaled to this long side for detection
    only; landmarks and embeddings are computed on the full image. ``upsample`` is the number of
    2× pyramid-up steps the HOG detector runs (1 finds faces down to about 40 px).
    ``min_margin`` is the SVM score a detection needs (Confidence ≈ 64.6 at 0.2): at 0.2 the
    detector keeps every face in the shared group photos and drops a background false positive
    it finds at 0.12 in ``astronaut.png``. ``embed_threads`` is ONNX Runtime's intra-op thread
    count for the embedding network (default: every core this process may use).
    """

    model_version = "rekollect-dlib-resnet-v1"
    embedding_size = 128

    def __init__(
        self,
        *,
        max_detect_side: int = 1024,
        upsample: int = 1,
        min_margin: float = 0.2,
        embed_threads: int | None = None,
    ) -> None:
        self.max_detect_side = max_detect_side
        self.upsample = upsample
        self.min_margin = min_margin
        self.embed_threads = embed_threads
        self._lock = threading.Lock()
        self._detector: dlib.fhog_object_detector | None = None
        self._predictor: dlib.shape_predictor | None = None
        self._encoder: ResNetOnnx | None = None

    def _load(self) -> None:
        """Load the detector and the shape predictor (called with the lock held)."""
        if self._predictor is None:
            self._detector = dlib.get_frontal_face_detector()
            self._predictor = dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))

    def _load_encoder(self) -> ResNetOnnx:
        """The embedding network, loaded on first use; ``RuntimeError`` if it was never installed.

        Once loaded it is returned without the lock, so an embedding never waits for a detection.
        """
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = ResNetOnnx(self.embed_threads)
        return self._encoder

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in an ``(H, W, 3)`` uint8 RGB image; largest first, boxes in its pixels."""
        height, width = image.shape[:2]
        scale = min(1.0, self.max_detect_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        with self._lock:
            self._load()
            rectangles, scores, _ = self._detector.run(small, self.upsample, self.min_margin)
            shapes = [self._predictor(image, _rectangle(_box(rectangle, scale))) for rectangle in rectangles]
        faces = []
        for rectangle, score, shape in zip(rectangles, scores, shapes, strict=True):
            landmarks = np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)
            confidence = 100.0 / (1.0 + np.exp(-_CONFIDENCE_SLOPE * score))
            faces.append(DetectedFace(box=_box(rectangle, scale), confidence=float(confidence), landmarks=landmarks))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def embed(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """``(len(faces), 128)`` float32 ResNet descriptors of faces in an ``(H, W, 3)`` uint8 RGB image.

        Each face is cut alone, as dlib's ``compute_face_descriptor(image, face)`` cuts it: a 150×150
        chip aligned on its 68 landmarks, padding 0.25 (``dlib.get_face_chips`` would not do: it
        builds its anti-aliasing pyramid over the union of all the faces, so a face's chip would
        depend on the other faces). All chips of the image go through the network in one run.
        """
        if not faces:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        chips = np.stack([dlib.get_face_chip(image, face_shape(face), size=CHIP_SIZE, padding=0.25) for face in faces])
        return self._load_encoder()(chips)

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


def _box(rectangle: dlib.rectangle, scale: float) -> tuple[float, float, float, float]:
    """A detection on the downscaled image as ``(left, top, right, bottom)`` full-image pixels."""
    return (
        rectangle.left() / scale,
        rectangle.top() / scale,
        (rectangle.right() + 1) / scale,
        (rectangle.bottom() + 1) / scale,
    )


def face_shape(face: DetectedFace) -> dlib.full_object_detection:
    """A face's box and 68 landmarks (rounded to whole pixels) as dlib's detection object."""
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in face.landmarks])
    return dlib.full_object_detection(_rectangle(face.box), points)


def _rectangle(box: tuple[float, float, float, float]) -> dlib.rectangle:
    left, top, right, bottom = (round(value) for value in box)
    return dlib.rectangle(left, top, right - 1, bottom - 1)
