"""Face detection with the OpenCV Zoo's YuNet (``cv2.FaceDetectorYN``), verified by re-detection.

Model: ``face_detection_yunet_2023mar`` (int8 block-quantized, from ``zoo_install``): an anchor-free
detector that gives, per face, a box, five keypoints (the eyes, the nose tip and the mouth
corners, image-left first) and a score in 0–1.

Scale. Rekognition detects faces down to 40 × 40 pixels in images up to 1920 × 1080, and
proportionally larger faces beyond ("Guidelines and quotas in Amazon Rekognition"). The image is
scanned once, scaled (never enlarged) so that this smallest face is ``SMALLEST_FACE_AT_INPUT``
pixels wide at YuNet's input. Measured on the shared group photos and Hamilton frames, 24 px finds
the same faces as the full-resolution scan at a third to a sixth of its time.

Verification. YuNet alone fires on some non-faces (galaxies in the Hubble deep field at 0.59, a
motorcycle headlight at 0.74). Each candidate is therefore detected twice more, in a crop around
it scaled so the face is ``_RECHECK_FACE`` pixels wide, once as is and once mirrored left to right
(test-time augmentation: a face stays a face in the mirror, and YuNet was trained with mirrored
faces, while the structures that fool it are seldom symmetric in the way it expects: the headlight
scores 0.74 and 0.73, then 0.30 mirrored). The face's ``score`` is the geometric mean of the three
scores, and a face counts at ``MIN_SCORE`` and above. Measured on the shared photos, the Hamilton
clip's frames and 27 non-face images (``nonfaces/`` and scikit-image's sample images), the highest
non-face scores 0.55 and the lowest real face kept 0.70; no face a person sees in the group photos
is lost but one small, half-hidden face in ``selfie-many-people.jpg``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .attributes.model_files import model_path
from .boxes import Box, min_face_size
from .zoo_install import YUNET_MODEL

SMALLEST_FACE_AT_INPUT = 24.0
"""Width, pixels of YuNet's input, that the smallest face AWS promises is scaled to."""
MIN_SCORE = 0.6
"""Verified score (geometric mean of the three detections) a face needs."""
_CANDIDATE_SCORE = 0.5
"""YuNet score a candidate needs in the whole-image scan to be verified at all."""
_RECHECK_FACE = 64.0
"""Face width, pixels, in the verification crops."""
_RECHECK_MARGIN = 2.2
"""Side of the verification crop, in face widths."""
_SUPPRESSION_IOU = 0.3
"""Overlap above which YuNet's non-maximum suppression drops the lower-scoring box."""


@dataclass(frozen=True)
class YuNetFace:
    """One verified face: ``box`` ``(left, top, right, bottom)`` and ``keypoints`` ``(5, 2)`` in image
    pixels (image-left eye, image-right eye, nose tip, image-left and image-right mouth corner);
    ``score`` 0–1, the geometric mean of the three detections."""

    box: Box
    keypoints: np.ndarray
    score: float


class YuNetDetector:
    """Finds and verifies faces. One ``cv2.FaceDetectorYN`` per thread (it is not re-entrant)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _net(self) -> cv2.FaceDetectorYN:
        if not hasattr(self._local, "net"):
            self._local.net = cv2.FaceDetectorYN.create(
                str(model_path(YUNET_MODEL)), "", (320, 320), _CANDIDATE_SCORE, _SUPPRESSION_IOU, 5000
            )
        return self._local.net

    def _scan(self, image: np.ndarray, score: float) -> np.ndarray:
        """Raw YuNet rows ``(n, 15)`` for an RGB image: x, y, w, h, 5 keypoints (x, y), score."""
        net = self._net()
        net.setInputSize((image.shape[1], image.shape[0]))
        net.setScoreThreshold(score)
        _, rows = net.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        return np.zeros((0, 15), dtype=np.float32) if rows is None else rows

    def detect(self, image: np.ndarray) -> list[YuNetFace]:
        """Verified faces in an ``(H, W, 3)`` uint8 RGB image, best score first."""
        height, width = image.shape[:2]
        scale = min(1.0, SMALLEST_FACE_AT_INPUT / min_face_size(width, height))
        scanned = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            scanned = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        faces = []
        for row in self._scan(scanned, _CANDIDATE_SCORE):
            left, top = row[0] / scale, row[1] / scale
            box = (float(left), float(top), float(left + row[2] / scale), float(top + row[3] / scale))
            score = float(row[14]) * self._recheck(image, box, mirror=False) * self._recheck(image, box, mirror=True)
            verified = float(np.cbrt(score))
            if verified >= MIN_SCORE:
                faces.append(
                    YuNetFace(box=box, keypoints=(row[4:14].reshape(5, 2) / scale).astype(np.float32), score=verified)
                )
        faces.sort(key=lambda face: -face.score)
        return faces

    def _recheck(self, image: np.ndarray, box: Box, *, mirror: bool) -> float:
        """Best YuNet score of a face centred inside ``box`` in a crop scaled so it is ``_RECHECK_FACE`` wide."""
        left, top, right, bottom = box
        side = max(right - left, bottom - top)
        zoom = _RECHECK_FACE / side
        crop_side = max(1, round(_RECHECK_MARGIN * side * zoom))
        centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
        flip = -1.0 if mirror else 1.0
        matrix = np.array(
            [[flip * zoom, 0.0, crop_side / 2 - flip * zoom * centre_x], [0.0, zoom, crop_side / 2 - zoom * centre_y]]
        )
        crop = cv2.warpAffine(
            image, matrix, (crop_side, crop_side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        best = 0.0
        reach = _RECHECK_FACE / 2
        for row in self._scan(crop, 0.05):
            centre = row[0] + row[2] / 2, row[1] + row[3] / 2
            if abs(centre[0] - crop_side / 2) < reach and abs(centre[1] - crop_side / 2) < reach:
                best = max(best, float(row[14]))
        return best
