"""Rekognition ``FaceDetail`` and ``BoundingBox`` values from a detected face, and ``Face`` from a stored one.

Every value is measured: the box and ``Confidence`` from the detector, the five default landmarks
from the 68-point model, ``Pose`` from a PnP fit, ``Quality`` from the face's pixels. The other
attributes (and all 30 landmarks) come from ``face_attributes.py``; those no model here computes
(beard, glasses...) are left out rather than invented, and named in a notice.
"""

from __future__ import annotations

from typing import Any

from ..storage.base import FaceRecord
from ..vision.analyzer import DetectedFace
from ..vision.landmarks import rekognition_landmarks
from ..vision.packs import ModelPacks
from ..vision.pose import head_pose
from ..vision.quality import brightness, face_region, sharpness
from .face_attributes import attribute_members
from .images import DecodedImage


def bounding_box(face: DetectedFace, image: DecodedImage) -> dict[str, float]:
    """``BoundingBox`` as ratios of the image's width and height (may reach past 0..1 at the edges)."""
    left, top, right, bottom = face.box
    return {
        "Width": (right - left) / image.width,
        "Height": (bottom - top) / image.height,
        "Left": left / image.width,
        "Top": top / image.height,
    }


def face_detail(face: DetectedFace, image: DecodedImage, attributes: list[str] | None = None) -> dict[str, Any]:
    """A ``FaceDetail``: the default attributes (BoundingBox, Confidence, five Landmarks, Pose, Quality)
    plus those ``attributes`` selects (``ALL`` also gives all 30 landmarks).
    """
    roll, yaw, pitch = head_pose(face.landmarks, image.width, image.height)
    region = face_region(image.pixels, face.box)
    return {
        "BoundingBox": bounding_box(face, image),
        "Confidence": face.confidence,
        "Landmarks": [
            {"Type": name, "X": x / image.width, "Y": y / image.height}
            for name, x, y in rekognition_landmarks(face.landmarks)
        ],
        "Pose": {"Roll": roll, "Yaw": yaw, "Pitch": pitch},
        "Quality": {"Brightness": brightness(region), "Sharpness": sharpness(region)},
        **attribute_members(face, image, attributes),
    }


def face_member(record: FaceRecord) -> dict[str, Any]:
    """The API's ``Face`` for a stored face."""
    width, height, left, top = record.box
    return {
        "FaceId": record.face_id,
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "ImageId": record.image_id,
        "ExternalImageId": record.external_image_id,
        "Confidence": record.confidence,
        "IndexFacesModelVersion": ModelPacks.canonical(record.model_version),
        "UserId": record.user_id,
    }
