"""What is measured of a detected face, once: its box, landmarks, pose and image quality.

``measure`` turns a ``DetectedFace`` and its image into a ``FaceMeasurement``; ``QualityFilter``
(``quality_filter.py``) decides on it and ``FaceDetail`` (``operations/face_details.py``) reports
it, so every value a response shows is the one the filter used. Sources: the box and
``Confidence`` are the detector's, the five default landmarks come from the 68-point model
(``vision.landmarks``), the pose from a PnP fit of them (``vision.pose``), brightness and sharpness
from the face's pixels (``vision.quality``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vision.analyzer import DetectedFace
from ..vision.landmarks import rekognition_landmarks
from ..vision.pose import head_pose
from ..vision.quality import brightness, face_region, sharpness
from .images import DecodedImage


@dataclass(frozen=True)
class FaceMeasurement:
    """One face measured in one image.

    ``box`` is ``(width, height, left, top)`` as ratios of the image's width and height (as stored:
    ``FaceRecord.box``; past 0..1 where the face is cut by an edge); ``landmarks`` the five default
    ones, ``(Type, x, y)`` as ratios; ``pose`` ``(roll, yaw, pitch)`` in degrees; ``brightness`` and
    ``sharpness`` 0–100; ``shorter_side`` the box's shorter side in pixels of the decoded image;
    ``inside`` the share (0–1) of the box's area inside the image.
    """

    face: DetectedFace
    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[str, float, float], ...]
    pose: tuple[float, float, float]
    brightness: float
    sharpness: float
    shorter_side: float
    inside: float

    @property
    def confidence(self) -> float:
        """The detector's ``Confidence``, 0–100."""
        return self.face.confidence


def measure(face: DetectedFace, image: DecodedImage) -> FaceMeasurement:
    """Measure ``face`` (found in ``image``'s pixels)."""
    left, top, right, bottom = face.box
    width, height = image.width, image.height
    region = face_region(image.pixels, face.box)
    return FaceMeasurement(
        face=face,
        box=((right - left) / width, (bottom - top) / height, left / width, top / height),
        landmarks=tuple((name, x / width, y / height) for name, x, y in rekognition_landmarks(face.landmarks)),
        pose=head_pose(face.landmarks, width, height),
        brightness=brightness(region),
        sharpness=sharpness(region),
        shorter_side=min(right - left, bottom - top),
        inside=_inside_fraction(face, image),
    )


def measure_all(faces: list[DetectedFace], image: DecodedImage) -> list[FaceMeasurement]:
    """``measure`` each of ``faces``, in their order."""
    return [measure(face, image) for face in faces]


def _inside_fraction(face: DetectedFace, image: DecodedImage) -> float:
    """Share (0–1) of the face box's area that lies inside the image."""
    left, top, right, bottom = face.box
    inner = max(0.0, min(right, image.width) - max(left, 0.0)) * max(0.0, min(bottom, image.height) - max(top, 0.0))
    return inner / face.area if face.area > 0 else 0.0
