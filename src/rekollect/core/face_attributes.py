"""The ``FaceDetail`` members selected by ``Attributes`` (DetectFaces) or ``DetectionAttributes`` (IndexFaces).

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
``Beard,Mustache,Emotions.CONFUSED``.
"""

from __future__ import annotations

from typing import Any

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


def attribute_members(face: DetectedFace, image: DecodedImage, attributes: list[str] | None) -> dict[str, Any]:
    """Extra ``FaceDetail`` members for the selection; with ``ALL`` also the 30-type ``Landmarks``
    (ratios of the image's width and height). Records the ``unsupported-attributes`` notice."""
    notice(UNSUPPORTED_NOTICE, *unsupported(attributes))
    wanted = selected(attributes) - UNSUPPORTED_ATTRIBUTES
    every = bool(attributes) and "ALL" in attributes
    models = attribute_models()
    members: dict[str, Any] = {}
    if every or wanted & _MESH_ATTRIBUTES:
        mesh = models.mesh.analyze(image.pixels, face)
        for name, member, measure in (
            ("EYES_OPEN", "EyesOpen", eyes_open),
            ("MOUTH_OPEN", "MouthOpen", mouth_open),
            ("SMILE", "Smile", smile),
        ):
            if name in wanted:
                value, confidence = measure(mesh)
                members[member] = {"Value": value, "Confidence": confidence}
        if "EYE_DIRECTION" in wanted:
            yaw, pitch, confidence = eye_direction(mesh)
            members["EyeDirection"] = {"Yaw": yaw, "Pitch": pitch, "Confidence": confidence}
        if every:
            members["Landmarks"] = [
                {"Type": name, "X": x / image.width, "Y": y / image.height} for name, x, y in mesh_landmarks(mesh)
            ]
    if wanted & {"AGE_RANGE", "GENDER"}:
        demographics = models.demographics.predict(image.pixels, face)
        if "AGE_RANGE" in wanted:
            members["AgeRange"] = {"Low": demographics.age_low, "High": demographics.age_high}
        if "GENDER" in wanted:
            male = demographics.male_probability >= 0.5
            probability = demographics.male_probability if male else 1.0 - demographics.male_probability
            members["Gender"] = {"Value": "Male" if male else "Female", "Confidence": probability * 100.0}
    if "EMOTIONS" in wanted:
        members["Emotions"] = [
            {"Type": name, "Confidence": confidence} for name, confidence in models.emotions.predict(image.pixels, face)
        ]
    return members
