"""Rekognition landmark types from the iBUG 300-W 68-point layout.

Index numbers are 0-based points of the 68-point model. "Left" and "right" follow Rekognition's
output, where ``eyeLeft`` is the eye on the image's left (the person's right eye). Pupils
(``leftPupil``/``rightPupil``) are not in the 68-point layout and are not produced here.
"""

from __future__ import annotations

import numpy as np

DEFAULT_LANDMARKS = ("eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose")
"""The five landmarks Rekognition returns with ``DEFAULT`` attributes."""

_POINTS: dict[str, tuple[int, ...]] = {
    "eyeLeft": (36, 37, 38, 39, 40, 41),
    "eyeRight": (42, 43, 44, 45, 46, 47),
    "mouthLeft": (48,),
    "mouthRight": (54,),
    "nose": (30,),
    "leftEyeBrowLeft": (17,),
    "leftEyeBrowRight": (21,),
    "leftEyeBrowUp": (19,),
    "rightEyeBrowLeft": (22,),
    "rightEyeBrowRight": (26,),
    "rightEyeBrowUp": (24,),
    "leftEyeLeft": (36,),
    "leftEyeRight": (39,),
    "leftEyeUp": (37, 38),
    "leftEyeDown": (40, 41),
    "rightEyeLeft": (42,),
    "rightEyeRight": (45,),
    "rightEyeUp": (43, 44),
    "rightEyeDown": (46, 47),
    "noseLeft": (31,),
    "noseRight": (35,),
    "mouthUp": (51,),
    "mouthDown": (57,),
    "upperJawlineLeft": (0,),
    "midJawlineLeft": (4,),
    "chinBottom": (8,),
    "midJawlineRight": (12,),
    "upperJawlineRight": (16,),
}

ALL_LANDMARKS = tuple(_POINTS)
"""Every landmark type computed from 68 points (28 of Rekognition's 30; no pupils)."""


def rekognition_landmarks(
    points: np.ndarray, types: tuple[str, ...] = DEFAULT_LANDMARKS
) -> list[tuple[str, float, float]]:
    """Return ``(type, x, y)`` in pixels for each requested type, from a ``(68, 2)`` point array."""
    result = []
    for name in types:
        x, y = points[list(_POINTS[name])].mean(axis=0)
        result.append((name, float(x), float(y)))
    return result
