"""Rekognition's ``FaceDetail``, ``BoundingBox`` and ``Face`` members, written from what the core measured.

``face_detail`` writes a ``FaceMeasurement`` (``core.measurement``: box, landmarks, pose, quality,
measured once per face, also for ``QualityFilter``) and the ``FaceAttributes`` a request selected
(``core.face_attributes``) in the API's shape; ``face_member`` a stored face. Attributes no model
here computes (beard, glasses...) are left out rather than invented, and named in a notice.
"""

from __future__ import annotations

from typing import Any

from ..core.face_attributes import FaceAttributes, measure_attributes
from ..core.images import DecodedImage
from ..core.measurement import FaceMeasurement
from ..storage.base import FaceRecord
from ..vision.packs import ModelPacks


def bounding_box(box: tuple[float, float, float, float]) -> dict[str, float]:
    """``BoundingBox`` of a ``(width, height, left, top)`` box in ratios of the image (may reach past 0..1)."""
    width, height, left, top = box
    return {"Width": width, "Height": height, "Left": left, "Top": top}


def face_detail(measured: FaceMeasurement, image: DecodedImage, attributes: list[str] | None = None) -> dict[str, Any]:
    """A ``FaceDetail``: the default attributes (BoundingBox, Confidence, five Landmarks, Pose, Quality)
    plus those ``attributes`` selects, measured now on ``image`` (``ALL`` also gives all 30 landmarks)."""
    return detail_of(measured, measure_attributes(measured.face, image, attributes))


def detail_of(measured: FaceMeasurement, attributes: FaceAttributes) -> dict[str, Any]:
    """The ``FaceDetail`` of a measured face with its measured ``attributes``."""
    roll, yaw, pitch = measured.pose
    detail: dict[str, Any] = {
        "BoundingBox": bounding_box(measured.box),
        "Confidence": measured.confidence,
        "Landmarks": [{"Type": name, "X": x, "Y": y} for name, x, y in measured.landmarks],
        "Pose": {"Roll": roll, "Yaw": yaw, "Pitch": pitch},
        "Quality": {"Brightness": measured.brightness, "Sharpness": measured.sharpness},
    }
    for member, value in (
        ("EyesOpen", attributes.eyes_open),
        ("MouthOpen", attributes.mouth_open),
        ("Smile", attributes.smile),
    ):
        if value is not None:
            detail[member] = {"Value": value[0], "Confidence": value[1]}
    if attributes.eye_direction is not None:
        yaw, pitch, confidence = attributes.eye_direction
        detail["EyeDirection"] = {"Yaw": yaw, "Pitch": pitch, "Confidence": confidence}
    if attributes.landmarks is not None:
        detail["Landmarks"] = [{"Type": name, "X": x, "Y": y} for name, x, y in attributes.landmarks]
    if attributes.age_range is not None:
        detail["AgeRange"] = {"Low": attributes.age_range[0], "High": attributes.age_range[1]}
    if attributes.male_probability is not None:
        male = attributes.male_probability >= 0.5
        probability = attributes.male_probability if male else 1.0 - attributes.male_probability
        detail["Gender"] = {"Value": "Male" if male else "Female", "Confidence": probability * 100.0}
    if attributes.emotions is not None:
        detail["Emotions"] = [{"Type": name, "Confidence": confidence} for name, confidence in attributes.emotions]
    return detail


def face_member(record: FaceRecord) -> dict[str, Any]:
    """The API's ``Face`` for a stored face."""
    return {
        "FaceId": record.face_id,
        "BoundingBox": bounding_box(record.box),
        "ImageId": record.image_id,
        "ExternalImageId": record.external_image_id,
        "Confidence": record.confidence,
        "IndexFacesModelVersion": ModelPacks.canonical(record.model_version),
        "UserId": record.user_id,
    }
