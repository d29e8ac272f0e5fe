"""``QualityFilter``: which detected faces are good enough to index or search, and why not.

Levels ``NONE`` (keep every face), ``LOW``, ``MEDIUM``, ``HIGH``; ``AUTO`` is ``MEDIUM``. A face
is rejected with every reason whose measured quantity is past that level's limit:

================== ========================================================= ===== ====== =====
reason             measured quantity                                         LOW   MEDIUM HIGH
================== ========================================================= ===== ====== =====
LOW_CONFIDENCE     detector ``Confidence`` (0–100) below                     55    65     90
EXTREME_POSE       largest of ``|Pose.Yaw|``, ``|Pose.Pitch|`` (deg) above   85    75     40
LOW_BRIGHTNESS     ``Quality.Brightness`` (0–100) below                      5     10     25
LOW_SHARPNESS      ``Quality.Sharpness`` (0–100) below                       5     10     40
SMALL_BOUNDING_BOX shorter side of the face box (decoded pixels, *) below   20    32     64
LOW_FACE_QUALITY   share of the face box inside the image (0–1) below        0.3   0.5    0.9
================== ========================================================= ===== ====== =====

(*) of the decoded image, which is reduced when larger than 1920x1080 (``images.py``): as AWS asks
for proportionally larger faces in larger images, the limit is then relative to the image size.

The quantities are a face's ``FaceMeasurement`` (``measurement.py``), so ``Confidence``, ``Pose``
and ``Quality`` are the values ``FaceDetail`` reports. ``MEDIUM`` keeps every real face the detector finds in the shared photo set
(their lowest values: Confidence 77.6, Brightness 34.0, Sharpness 17.0, 63 px, 77 % inside; pose
estimates reach 70° on turned faces in ``t1.jpg``) and drops the one background false positive
(``img67.jpg``: Sharpness 0.8, Brightness 13.3), as well as blurred and darkened copies; ``HIGH``
asks for the near-frontal, sharp, large, whole faces an ID-photo check would. ``LOW`` drops only
what is barely a face. ``EXCEEDS_MAX_FACES`` and ``FACE_NOT_LARGEST`` are not quality
reasons: the operations add them (``MaxFaces``, largest-face-only searches).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vision.analyzer import DetectedFace
from .images import DecodedImage
from .measurement import FaceMeasurement, measure_all

INDEX_DEFAULT = "AUTO"
"""IndexFaces' default ``QualityFilter``."""
SEARCH_DEFAULT = "NONE"
"""Default of SearchFacesByImage, SearchUsersByImage and CompareFaces."""


@dataclass(frozen=True)
class Limits:
    """One level's limits (units as in the module table)."""

    min_confidence: float
    max_angle: float
    min_brightness: float
    min_sharpness: float
    min_side: float
    min_inside: float


LEVELS: dict[str, Limits] = {
    "LOW": Limits(55.0, 85.0, 5.0, 5.0, 20.0, 0.3),
    "MEDIUM": Limits(65.0, 75.0, 10.0, 10.0, 32.0, 0.5),
    "HIGH": Limits(90.0, 40.0, 25.0, 40.0, 64.0, 0.9),
}
LEVELS["AUTO"] = LEVELS["MEDIUM"]


def quality_reasons(measured: FaceMeasurement, quality_filter: str) -> list[str]:
    """Every quality reason the face fails at ``quality_filter`` (empty for ``NONE`` or a good face)."""
    limits = LEVELS.get(quality_filter)
    if limits is None:
        return []
    _, yaw, pitch = measured.pose
    checks = (
        ("EXTREME_POSE", max(abs(yaw), abs(pitch)) > limits.max_angle),
        ("LOW_BRIGHTNESS", measured.brightness < limits.min_brightness),
        ("LOW_SHARPNESS", measured.sharpness < limits.min_sharpness),
        ("LOW_CONFIDENCE", measured.confidence < limits.min_confidence),
        ("SMALL_BOUNDING_BOX", measured.shorter_side < limits.min_side),
        ("LOW_FACE_QUALITY", measured.inside < limits.min_inside),
    )
    return [reason for reason, failed in checks if failed]


def filter_faces(
    faces: list[DetectedFace], image: DecodedImage, quality_filter: str
) -> tuple[list[FaceMeasurement], list[tuple[FaceMeasurement, list[str]]]]:
    """Measure ``faces`` (found in ``image``) and split them into those that pass ``quality_filter``
    and ``(face, reasons)`` for the rest.

    Both lists keep the input order (largest first, as the detector returns faces).
    """
    kept: list[FaceMeasurement] = []
    rejected: list[tuple[FaceMeasurement, list[str]]] = []
    for measured in measure_all(faces, image):
        reasons = quality_reasons(measured, quality_filter)
        if reasons:
            rejected.append((measured, reasons))
        else:
            kept.append(measured)
    return kept, rejected
