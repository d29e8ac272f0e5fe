"""The default model pack: dlib's HOG detector, 68-point shape predictor and ResNet embedder.

Weights come from the ``face_recognition_models`` package (public domain, Davis King):

- detector: dlib's HOG + linear SVM frontal face detector (``get_frontal_face_detector``), run
  only around the faces that MediaPipe's BlazeFace proposes (``blazeface``): each proposal is cut
  out with a margin and scaled so the face is about 100 px wide, and HOG scans that crop; a face
  counts when HOG finds it there. This gives HOG's boxes and scores down to AWS's 40-px minimum
  face for a fraction of a full upsampled HOG scan. On the shared photos it finds the same 108
  faces as full-image HOG (upsampled once, long side ≤ 1024 px; box IoU median 0.81, least 0.58)
  and drops HOG's one false positive there, a blue blur in ``img67.jpg``;
- landmarks: ``shape_predictor_68_face_landmarks.dat`` (ensemble of regression trees,
  Kazemi & Sullivan 2014, trained on iBUG 300-W), started from HOG's box;
- the face box reported (``BoundingBox``) is set by the 68 landmarks, placed and sized as HOG's box
  is on average (``boxes.landmark_box``): HOG's own box comes from a pyramid with 20 % steps and jumps a
  step between near-identical images (a photo and its mirror image: 267 against 325 px), while the
  landmarks fitted inside it move a few pixels, so the box, the order of faces by size and the
  attribute models' crops follow the face rather than the pyramid;
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

import functools
import importlib.util
import math
import threading
from pathlib import Path

import cv2
import dlib
import numpy as np

from ..cores import available_cores
from .analyzer import DetectedFace, mean_vector
from .blazeface import BlazeFaceProposer, Proposal
from .boxes import Box, landmark_box, overlap
from .dlib_resnet_weights import CHIP_SIZE
from .resnet_onnx import ResNetOnnx
from .similarity import LogisticSimilarity

_CONFIDENCE_SLOPE = 3.0
_SIMILARITY = LogisticSimilarity(midpoint=0.689, scale=0.05)
_CROP_MARGIN = 2.6
"""Side of the square cut around a proposal, in proposal widths (HOG needs the face's surroundings)."""
_VERIFY_FACE_SIZE = 100.0
"""Proposal width, pixels, the crop is scaled to about (HOG's window is 80 px): the scale is the one
nearest to it among ``2 · (5/6)^m``, the scales a full-image HOG scan upsampled once samples, so the
crop's windows are that scan's windows (its boxes, not boxes between its pyramid steps)."""


class DlibFaceAnalyzer:
    """``FaceAnalyzer`` over dlib. Models load once, on first use. One lock serialises calls into
    dlib's detector and shape predictor (dlib's Python calls hold the GIL anyway, so the lock costs
    no parallelism). Embeddings run outside it: cutting chips is a pure function, and the ONNX
    Runtime session is safe to share and releases the GIL, so one request's embedding overlaps
    another's detection.

    ``min_margin`` is the SVM score a detection needs (Confidence ≈ 64.6 at 0.2): at 0.2 the
    detector keeps every face in the shared group photos and drops a background false positive
    it finds at 0.12 in ``astronaut.png``. ``threads`` is the CPU thread count of each neural
    network run, BlazeFace's (in ``proposer``) and the embedding's (default: every core this
    process may use).
    """

    model_version = "1.0"
    embedding_size = 128
    embedding_norm = (0.5, 3.0)
    """dlib's descriptors are not unit vectors: their norms were 1.17 to 1.67 over 7,139 faces (the
    shared photos and all of LFW's View-2 folds 2-10; 1st-99th percentile 1.27-1.61, mean 1.43), so
    half the least and nearly twice the most is a wide margin that still refuses junk (NaN, zeros, 1e30)."""
    user_vector_norm = (0.0, embedding_norm[1])
    """A user's vector is the mean of its faces' (``user_vector``): no longer than the longest of them."""

    def __init__(
        self,
        *,
        min_margin: float = 0.2,
        threads: int | None = None,
    ) -> None:
        self.min_margin = min_margin
        self.threads = threads or available_cores()
        self.proposer = BlazeFaceProposer(threads=self.threads)
        self._lock = threading.Lock()
        self._detector: dlib.fhog_object_detector | None = None
        self._predictor: dlib.shape_predictor | None = None
        self._encoder: ResNetOnnx | None = None

    def _load(self) -> None:
        """Load the detector and the shape predictor (called with the lock held)."""
        if self._predictor is None:
            self._detector = dlib.get_frontal_face_detector()
            self._predictor = shape_predictor()

    def _load_encoder(self) -> ResNetOnnx:
        """The embedding network, loaded on first use; ``RuntimeError`` if it was never installed.

        Once loaded it is returned without the lock, so an embedding never waits for a detection.
        """
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = ResNetOnnx(self.threads)
        return self._encoder

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in an ``(H, W, 3)`` uint8 RGB image; largest first, boxes in its pixels."""
        proposals = self.proposer.propose(image)
        with self._lock:
            self._load()
            found = _distinct([hit for proposal in proposals for hit in self._verify(image, proposal)])
            shapes = [self._predictor(image, _rectangle(box)) for box, _ in found]
        faces = []
        for (_, score), shape in zip(found, shapes, strict=True):
            landmarks = np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)
            confidence = 100.0 / (1.0 + np.exp(-_CONFIDENCE_SLOPE * score))
            faces.append(DetectedFace(box=landmark_box(landmarks), confidence=float(confidence), landmarks=landmarks))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _verify(self, image: np.ndarray, proposal: Proposal) -> list[tuple[Box, float]]:
        """HOG detections (image-pixel box, SVM margin) centred inside ``proposal``'s box, found in
        a crop of ``_CROP_MARGIN`` face widths around it scaled to about a ``_VERIFY_FACE_SIZE`` face."""
        left, top, right, bottom = proposal.box
        side = max(right - left, bottom - top)
        centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
        reach = _CROP_MARGIN * side / 2
        height, width = image.shape[:2]
        x0, y0 = max(0, int(centre_x - reach)), max(0, int(centre_y - reach))
        x1, y1 = min(width, int(centre_x + reach) + 1), min(height, int(centre_y + reach) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        scale = 2 * (5 / 6) ** max(0, round(math.log(2 * side / _VERIFY_FACE_SIZE) / math.log(6 / 5)))
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(image[y0:y1, x0:x1]), size, interpolation=interpolation)
        rectangles, scores, _ = self._detector.run(crop, 0, self.min_margin)
        hits = []
        for rectangle, score in zip(rectangles, scores, strict=True):
            box = (
                x0 + rectangle.left() / scale,
                y0 + rectangle.top() / scale,
                x0 + (rectangle.right() + 1) / scale,
                y0 + (rectangle.bottom() + 1) / scale,
            )
            if left <= (box[0] + box[2]) / 2 <= right and top <= (box[1] + box[3]) / 2 <= bottom:
                hits.append((box, float(score)))
        return hits

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
        return _SIMILARITY.similarity(distances)

    def distance_at(self, similarity: float) -> float:
        """Inverse of ``similarity``: ``d = 0.689 + 0.05 * ln(100 / s - 1)``; every distance for s ≤ 0."""
        return _SIMILARITY.distance_at(similarity)

    @staticmethod
    def user_vector(embeddings: np.ndarray) -> np.ndarray:
        """The mean of the user's ``(k, d)`` face embeddings (``mean_vector``)."""
        return mean_vector(embeddings)


@functools.cache
def shape_predictor() -> dlib.shape_predictor:
    """dlib's 68-point shape predictor, loaded once per process (both model packs use it)."""
    return dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))


def model_file(name: str) -> Path:
    """Path of a weights file inside the installed ``face_recognition_models`` package.

    The package is located without importing it (its ``__init__`` needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def _distinct(hits: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """``hits`` without duplicates: of boxes overlapping by more than 0.4 IoU, the best margin stays."""
    kept: list[tuple[Box, float]] = []
    for box, score in sorted(hits, key=lambda hit: -hit[1]):
        if all(overlap(box, other) <= 0.4 for other, _ in kept):
            kept.append((box, score))
    return kept


def face_shape(face: DetectedFace) -> dlib.full_object_detection:
    """A face's box and 68 landmarks (rounded to whole pixels) as dlib's detection object."""
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in face.landmarks])
    return dlib.full_object_detection(_rectangle(face.box), points)


def _rectangle(box: Box) -> dlib.rectangle:
    left, top, right, bottom = (round(value) for value in box)
    return dlib.rectangle(left, top, right - 1, bottom - 1)
