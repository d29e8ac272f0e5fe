"""Rekognition's five default landmark types from the iBUG 300-W 68-point layout.

Index numbers are 0-based points of the 68-point model. "Left" and "right" follow Rekognition's
output, where ``eyeLeft`` is the eye on the image's left (the person's right eye). All 30 types
(with ``ALL``) come from the Face Mesh instead: see ``vision/attributes/landmarks.py``.
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
}


def rekognition_landmarks(
    points: np.ndarray, types: tuple[str, ...] = DEFAULT_LANDMARKS
) -> list[tuple[str, float, float]]:
    """Return ``(type, x, y)`` in pixels for each requested type, from a ``(68, 2)`` point array."""
    result = []
    for name in types:
        x, y = points[list(_POINTS[name])].mean(axis=0)
        result.append((name, float(x), float(y)))
    return result
