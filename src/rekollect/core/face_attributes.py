"""The face attributes selected by ``Attributes`` (DetectFaces) or ``DetectionAttributes`` (IndexFaces), measured.

Selection follows the AWS API Reference: ``DEFAULT`` (or nothing) gives BoundingBox, Confidence,
Pose, Quality and five Landmarks; ``ALL`` gives every attribute and all 30 landmarks (``["ALL",
"DEFAULT"]`` is ``ALL``); a single attribute name adds that attribute to the default ones.

Computed here (see ``docs/models.md``): AgeRange, Gender, Emotions, EyesOpen, MouthOpen, Smile,
EyeDirection and the 30 landmarks. ``Beard``, ``Mustache``, ``Eyeglasses``, ``Sunglasses`` and
``FaceOccluded`` are never returned: no model in a registry package this project installs computes
them, and an invented value would be worse than none; nor is the ``CONFUSED`` emotion (the emotion
model has no such class). When a request selects any of them (by name or with ``ALL``) and a face
is returned, the response says so: the notice ``unsupported-attributes`` (the wire layer's header
``x-rekollect-unsupported-attributes``) lists them by ``FaceDetail`` member, e.g.
``Beard,Mustache,Emotions.CONFUSED``. ``measure_attributes`` gives the values as ``FaceAttributes``;
``operations/face_details.py`` writes them as ``FaceDetail`` members.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..notices import notice
from ..vision.analyzer import DetectedFace
from ..vision.attributes import attribute_models
from ..vision.attributes.geometry import eye_direction, eyes_open, mouth_open, smile
from ..vision.attributes.landmarks import mesh_landmarks
from .images import DecodedImage

SINGLE_ATTRIBUTES = frozenset(
    {
        "AGE_RANGE",
        "BEARD",
        "EMOTIONS",
        "EYE_DIRECTION",
        "EYEGLASSES",
        "EYES_OPEN",
        "GENDER",
        "MOUTH_OPEN",
        "MUSTACHE",
        "FACE_OCCLUDED",
        "SMILE",
        "SUNGLASSES",
    }
)
UNSUPPORTED_MEMBERS = {
    "BEARD": "Beard",
    "MUSTACHE": "Mustache",
    "EYEGLASSES": "Eyeglasses",
    "SUNGLASSES": "Sunglasses",
    "FACE_OCCLUDED": "FaceOccluded",
}
"""Attributes never computed -> their ``FaceDetail`` member."""
UNSUPPORTED_ATTRIBUTES = frozenset(UNSUPPORTED_MEMBERS)
UNSUPPORTED_EMOTION = "Emotions.CONFUSED"
"""How the notice names the emotion type ``Emotions`` never holds."""
UNSUPPORTED_NOTICE = "unsupported-attributes"
_MESH_ATTRIBUTES = frozenset({"EYES_OPEN", "MOUTH_OPEN", "SMILE", "EYE_DIRECTION"})


def selected(attributes: list[str] | None) -> frozenset[str]:
    """The single attribute names a request selects (``ALL`` means every one)."""
    names = set(attributes or ())
    return SINGLE_ATTRIBUTES if "ALL" in names else frozenset(names & SINGLE_ATTRIBUTES)


def unsupported(attributes: list[str] | None) -> list[str]:
    """What the selection asks for that is never returned, by ``FaceDetail`` member (and
    ``Emotions.CONFUSED``), in the API Reference's attribute order."""
    chosen = selected(attributes)
    left_out = [member for name, member in UNSUPPORTED_MEMBERS.items() if name in chosen]
    return [*left_out, UNSUPPORTED_EMOTION] if "EMOTIONS" in chosen else left_out


@dataclass(frozen=True)
class FaceAttributes:
    """The attributes a selection asked for, measured (``None``: not asked for).

    ``eyes_open``, ``mouth_open`` and ``smile`` are ``(value, confidence)``; ``eye_direction``
    ``(yaw, pitch, confidence)`` in degrees; ``landmarks`` all 30, ``(Type, x, y)`` as ratios of the
    image (with ``ALL`` only); ``age_range`` ``(low, high)`` years; ``male_probability`` 0–1;
    ``emotions`` ``(Type, confidence)``. Confidences are 0–100.
    """

    eyes_open: tuple[bool, float] | None = None
    mouth_open: tuple[bool, float] | None = None
    smile: tuple[bool, float] | None = None
    eye_direction: tuple[float, float, float] | None = None
    landmarks: list[tuple[str, float, float]] | None = None
    age_range: tuple[int, int] | None = None
    male_probability: float | None = None
    emotions: list[tuple[str, float]] | None = None


def measure_attributes(face: DetectedFace, image: DecodedImage, attributes: list[str] | None) -> FaceAttributes:
    """The attributes ``attributes`` selects, measured on ``face`` (only the models they need run).
    Records the ``unsupported-attributes`` notice."""
    notice(UNSUPPORTED_NOTICE, *unsupported(attributes))
    wanted = selected(attributes) - UNSUPPORTED_ATTRIBUTES
    every = bool(attributes) and "ALL" in attributes
    models = attribute_models()
    measured: dict[str, object] = {}
    if every or wanted & _MESH_ATTRIBUTES:
        mesh = models.mesh.analyze(image.pixels, face)
        for name, field, measure in (
            ("EYES_OPEN", "eyes_open", eyes_open),
            ("MOUTH_OPEN", "mouth_open", mouth_open),
            ("SMILE", "smile", smile),
            ("EYE_DIRECTION", "eye_direction", eye_direction),
        ):
            if name in wanted:
                measured[field] = measure(mesh)
        if every:
            measured["landmarks"] = [(name, x / image.width, y / image.height) for name, x, y in mesh_landmarks(mesh)]
    if wanted & {"AGE_RANGE", "GENDER"}:
        demographics = models.demographics.predict(image.pixels, face)
        if "AGE_RANGE" in wanted:
            measured["age_range"] = (demographics.age_low, demographics.age_high)
        if "GENDER" in wanted:
            measured["male_probability"] = demographics.male_probability
    if "EMOTIONS" in wanted:
        measured["emotions"] = models.emotions.predict(image.pixels, face)
    return FaceAttributes(**measured)
