"""Rekognition ``FaceDetail`` and ``BoundingBox`` values from a detected face.

Every value is measured: the box and ``Confidence`` from the detector, landmarks from the
68-point model, ``Pose`` from a PnP fit, ``Quality`` from the face's pixels. Attributes no model
here computes (age, emotions, glasses...) are left out rather than invented.
"""

from __future__ import annotations

from typing import Any

from ..vision.analyzer import DetectedFace
from ..vision.landmarks import ALL_LANDMARKS, DEFAULT_LANDMARKS, rekognition_landmarks
from ..vision.pose import head_pose
from ..vision.quality import brightness, face_region, sharpness
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


def wants_all(attributes: list[str] | None) -> bool:
    """True when ``Attributes``/``DetectionAttributes`` ask for more than ``DEFAULT``."""
    return bool(attributes) and any(name != "DEFAULT" for name in attributes or [])


def face_detail(face: DetectedFace, image: DecodedImage, attributes: list[str] | None = None) -> dict[str, Any]:
    """A ``FaceDetail`` with the default attributes (BoundingBox, Confidence, Landmarks, Pose, Quality).

    ``DEFAULT`` gives Rekognition's five default landmarks; anything more gives every landmark type
    the 68-point model locates.
    """
    types = ALL_LANDMARKS if wants_all(attributes) else DEFAULT_LANDMARKS
    roll, yaw, pitch = head_pose(face.landmarks, image.width, image.height)
    region = face_region(image.pixels, face.box)
    return {
        "BoundingBox": bounding_box(face, image),
        "Confidence": face.confidence,
        "Landmarks": [
            {"Type": name, "X": x / image.width, "Y": y / image.height}
            for name, x, y in rekognition_landmarks(face.landmarks, types)
        ],
        "Pose": {"Roll": roll, "Yaw": yaw, "Pitch": pitch},
        "Quality": {"Brightness": brightness(region), "Sharpness": sharpness(region)},
    }
