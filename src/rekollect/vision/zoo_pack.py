"""Face model version 2.0: YuNet detection, dlib's 68 landmarks, SFace fused with dlib's ResNet.

- Detection: YuNet with re-detection as verification (``yunet``), which finds three-quarter and
  profile faces and faces in dim, small video frames that the 1.0 pack's HOG stage rejects.
- Landmarks: dlib's 68-point shape predictor (as in 1.0), started from a box placed where dlib's
  HOG box sits relative to YuNet's box (``_HOG_*``: medians over the 111 faces both packs find in
  the shared photos), so the attribute models, pose and quality work as before. The predictor runs
  on the face and on its mirror image and the two fits are averaged (mirrored back, left and right
  points swapped): the regression trees' fit depends on the start box by a few pixels, and the
  average makes the landmarks of a mirrored photo the mirror of the photo's (the gaze of
  ``obama2.jpg`` and its mirror image: Yaw −25.5° and 17.0° from one fit).
- ``BoundingBox`` is YuNet's box; ``Confidence`` is ``100 / (1 + exp(-_CONFIDENCE_SLOPE · (s - 0.6)))``
  for the verified score ``s`` (``yunet.MIN_SCORE``, the acceptance threshold, maps to 50; s = 0.9
  to 99).
- Embedding: SFace on the five-point ArcFace alignment and dlib's ResNet descriptor, each made unit
  length and weighted by ``SFACE_WEIGHT`` and ``DLIB_WEIGHT`` (squares sum to 1), concatenated
  into one 256-d unit vector. The squared Euclidean distance of two such vectors is the weighted
  sum of the two models' cosine distances, so one vector search computes the fused score.
- ``Similarity = 100 / (1 + exp((d - 0.898) / 0.036))`` (``LogisticSimilarity``), calibrated on
  LFW View-2 folds 2–5 (``_DISTANCE_AT_80``, ``_DISTANCE_AT_50``): the default threshold 80 admitted
  no false accept there, and 2 of 1,500 different-person pairs on folds 6–10 (2 of 2,700 on the
  whole dev set, 0.07 %) while accepting 99.40 % of the same-person pairs of folds 6–10
  (``bench/recognition_accuracy.py``; see ``docs/models.md``).
"""

from __future__ import annotations

import math
import threading

import dlib
import numpy as np

from ..cores import available_cores
from .analyzer import DetectedFace, mean_vector
from .dlib_pack import DlibFaceAnalyzer, shape_predictor
from .sface import SFaceEmbedder, align
from .similarity import LogisticSimilarity
from .yunet import MIN_SCORE, YuNetDetector

MODEL_VERSION = "2.0"
SFACE_WEIGHT = 0.7
"""Weight of SFace's unit vector in the fused embedding (dlib's gets ``DLIB_WEIGHT``). Chosen on LFW
View-2 folds 2–5: the true-accept rate at zero false accepts rises from 97.50 % with SFace alone to
98.08 % at 0.7; lower weights gain at most 0.17 point more there while handing the older model the
larger share."""
DLIB_WEIGHT = math.sqrt(1.0 - SFACE_WEIGHT**2)
_DISTANCE_AT_80 = 0.848
"""Fused distance that maps to Similarity 80: just below the smallest different-person distance on
folds 2–5 (0.8487)."""
_DISTANCE_AT_50 = 0.898
"""Fused distance that maps to Similarity 50: the cut of best accuracy on folds 2–5."""
_SIMILARITY = LogisticSimilarity(midpoint=_DISTANCE_AT_50, scale=(_DISTANCE_AT_50 - _DISTANCE_AT_80) / math.log(4.0))
_CONFIDENCE_SLOPE = math.log(99.0) / (0.9 - MIN_SCORE)
_HOG_SIDE = 1.079
"""dlib HOG box side over YuNet box width (median; 5th–95th percentile 0.95–1.24)."""
_HOG_DROP = 0.084
"""How far the HOG box centre sits below YuNet's, in YuNet box widths (median; 0.01–0.17)."""
MIRRORED_POINTS = np.array(
    [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, *range(35, 30, -1), 45, 44, 43, 42, 47, 46,
     39, 38, 37, 36, 41, 40, *range(54, 47, -1), *range(59, 54, -1), *range(64, 59, -1), 67, 66, 65]
)
"""For each of the 68 iBUG 300-W points, the point that takes its place in the mirror image."""


class ZooFaceAnalyzer:
    """``FaceAnalyzer`` for face model 2.0. ``dlib_pack`` lends its ResNet session (shared with the
    1.0 pack in one server); ``threads`` is the CPU thread count of the SFace runs. Thread-safe."""

    model_version = MODEL_VERSION
    embedding_size = 256
    embedding_norm = (0.999, 1.001)
    """Unit vectors by construction (two unit parts weighted by ``SFACE_WEIGHT`` and ``DLIB_WEIGHT``,
    whose squares sum to 1); float32 rounding leaves them within 1e-6 of 1 (8,321 faces of the shared
    photos and LFW's View-2 folds 2-10)."""
    user_vector_norm = (0.0, embedding_norm[1])
    """A user's vector is the mean of its faces' (``user_vector``): no longer than the longest of them."""

    def __init__(self, dlib_pack: DlibFaceAnalyzer, *, threads: int | None = None) -> None:
        self.threads = threads or available_cores()
        self.detector = YuNetDetector()
        self._dlib = dlib_pack
        self._lock = threading.Lock()
        self._sface: SFaceEmbedder | None = None

    def _embedder(self) -> SFaceEmbedder:
        if self._sface is None:
            with self._lock:
                if self._sface is None:
                    self._sface = SFaceEmbedder(self.threads)
        return self._sface

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Verified faces in an ``(H, W, 3)`` uint8 RGB image, largest first, boxes in its pixels."""
        predictor = shape_predictor()
        faces = []
        for found in self.detector.detect(image):
            left, top, right, bottom = found.box
            width = right - left
            centre_x, centre_y = (left + right) / 2, (top + bottom) / 2 + _HOG_DROP * width
            half = _HOG_SIDE * width / 2
            start = dlib.rectangle(
                round(centre_x - half), round(centre_y - half), round(centre_x + half) - 1, round(centre_y + half) - 1
            )
            landmarks = _mirror_averaged_fit(predictor, image, start)
            confidence = 100.0 / (1.0 + math.exp(-_CONFIDENCE_SLOPE * (found.score - MIN_SCORE)))
            faces.append(
                DetectedFace(box=found.box, confidence=confidence, landmarks=landmarks, keypoints=found.keypoints)
            )
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def embed(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """``(len(faces), 256)`` float32 unit vectors: weighted SFace and dlib parts (see module doc)."""
        if not faces:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        chips = np.stack([align(image, face.keypoints) for face in faces])
        sface = self._embedder()(chips)
        resnet = self._dlib.embed(image, faces)
        resnet = resnet / np.linalg.norm(resnet, axis=1, keepdims=True)
        return np.hstack([SFACE_WEIGHT * sface, DLIB_WEIGHT * resnet]).astype(np.float32)

    def similarity(self, distances: np.ndarray) -> np.ndarray:
        """Logistic map of Euclidean distance to 0–100 (see the module docstring)."""
        return _SIMILARITY.similarity(distances)

    def distance_at(self, similarity: float) -> float:
        """Inverse of ``similarity``; every distance for s ≤ 0."""
        return _SIMILARITY.distance_at(similarity)

    @staticmethod
    def user_vector(embeddings: np.ndarray) -> np.ndarray:
        """The mean of the user's ``(k, d)`` face embeddings (``mean_vector``)."""
        return mean_vector(embeddings)


def _mirror_averaged_fit(predictor: dlib.shape_predictor, image: np.ndarray, start: dlib.rectangle) -> np.ndarray:
    """``(68, 2)`` landmarks (pixels): the mean of the fit on the image and the fit on the mirrored crop
    around ``start`` (mirrored back, points renumbered by ``MIRRORED_POINTS``)."""
    direct = np.array([(p.x, p.y) for p in predictor(image, start).parts()], dtype=np.float32)
    height, width = image.shape[:2]
    side = start.width()
    x0, x1 = max(0, start.left() - side), min(width, start.right() + 1 + side)
    y0, y1 = max(0, start.top() - side), min(height, start.bottom() + 1 + side)
    mirrored = np.ascontiguousarray(image[y0:y1, x0:x1][:, ::-1])
    crop_width = x1 - x0
    flipped_start = dlib.rectangle(
        crop_width - 1 - (start.right() - x0), start.top() - y0, crop_width - 1 - (start.left() - x0), start.bottom() - y0
    )
    fit = np.array([(p.x, p.y) for p in predictor(mirrored, flipped_start).parts()], dtype=np.float32)
    back = np.column_stack([x0 + crop_width - 1 - fit[:, 0], y0 + fit[:, 1]])[MIRRORED_POINTS]
    return (direct + back) / 2
