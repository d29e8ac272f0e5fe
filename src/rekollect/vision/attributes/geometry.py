"""``EyesOpen``, ``MouthOpen``, ``Smile`` and ``EyeDirection`` measured on the Face Mesh.

Each binary attribute is a ratio of mesh distances compared with a threshold calibrated on the
labelled photos in ``tests/data/attribute_labels.tsv``; ``Confidence`` grows with the distance
from that threshold: ``100 / (1 + exp(-|m - threshold| / scale))`` (50 at the threshold).

- ``EyesOpen``: eyelid gap / eye width (mesh 159–145 over 33–133, and 386–374 over 362–263), the
  smaller of the two eyes; open above 0.15. The labelled open eyes measure 0.196–0.401; no labelled
  photo has closed eyes, so the threshold sits between that minimum and the ~0.05 of a closed lid.
- ``MouthOpen``: inner-lip gap / mouth width (13–14 over 61–291); open above 0.07 (3 of 80
  labelled faces on the wrong side).
- ``Smile``: ``(w - 0.61) / 0.05 + (lift - 0.04) / 0.04`` > 0, where ``w`` is mouth width / outer
  eye-corner distance and ``lift`` how far the mouth corners sit above the lip centre line, over
  the same distance, measured with the eyes levelled (1 of 75 labelled faces wrong).
- ``EyeDirection``: gaze relative to the head (as Rekognition defines it, independent of head
  pose). In the frame levelled on the eye corners, the iris centre's offset from the corners'
  midpoint, over an eyeball radius of 0.4 × the corner distance (≈12 mm of a ≈30 mm eye), gives
  ``yaw = asin(dx / r)`` (positive toward the image's right) and ``pitch = asin(-dy / r)``
  (positive up), averaged over both eyes, in degrees. ``Confidence`` is the mesh model's
  face-presence probability × 100.
"""

from __future__ import annotations

import numpy as np

from .mesh import IMAGE_LEFT_EYE_CORNERS, IMAGE_RIGHT_EYE_CORNERS, FaceMesh

EYES_OPEN_THRESHOLD, EYES_OPEN_SCALE = 0.15, 0.03
MOUTH_OPEN_THRESHOLD, MOUTH_OPEN_SCALE = 0.07, 0.015
SMILE_WIDTH, SMILE_WIDTH_SCALE = 0.61, 0.05
SMILE_LIFT, SMILE_LIFT_SCALE = 0.04, 0.04
SMILE_SCALE = 0.5
EYEBALL_RADIUS = 0.4


def _distance(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def _binary(measure: float, threshold: float, scale: float) -> tuple[bool, float]:
    """``(value, confidence 0–100)`` of ``measure > threshold``."""
    return bool(measure > threshold), float(100.0 / (1.0 + np.exp(-abs(measure - threshold) / scale)))


def _levelling(points: np.ndarray) -> np.ndarray:
    """2×2 rotation that puts the mesh's outer eye corners on a horizontal line (apply as ``xy @ R.T``)."""
    left, right = points[IMAGE_LEFT_EYE_CORNERS[0], :2], points[IMAGE_RIGHT_EYE_CORNERS[0], :2]
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])
    return np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])


def eyes_open(mesh: FaceMesh) -> tuple[bool, float]:
    """Both eyes open: ``(value, confidence)``."""
    p = mesh.points
    ratio = min(_distance(p, 159, 145) / _distance(p, 33, 133), _distance(p, 386, 374) / _distance(p, 362, 263))
    return _binary(ratio, EYES_OPEN_THRESHOLD, EYES_OPEN_SCALE)


def mouth_open(mesh: FaceMesh) -> tuple[bool, float]:
    """Lips apart: ``(value, confidence)``."""
    p = mesh.points
    return _binary(_distance(p, 13, 14) / _distance(p, 61, 291), MOUTH_OPEN_THRESHOLD, MOUTH_OPEN_SCALE)


def smile(mesh: FaceMesh) -> tuple[bool, float]:
    """Smiling: ``(value, confidence)``."""
    p = mesh.points
    span = _distance(p, IMAGE_LEFT_EYE_CORNERS[0], IMAGE_RIGHT_EYE_CORNERS[0])
    q = p[:, :2] @ _levelling(p).T
    lift = ((q[13, 1] + q[14, 1]) / 2.0 - (q[61, 1] + q[291, 1]) / 2.0) / span
    width = _distance(p, 61, 291) / span
    score = (width - SMILE_WIDTH) / SMILE_WIDTH_SCALE + (lift - SMILE_LIFT) / SMILE_LIFT_SCALE
    return _binary(score, 0.0, SMILE_SCALE)


def eye_direction(mesh: FaceMesh) -> tuple[float, float, float]:
    """Gaze ``(yaw, pitch, confidence)``: degrees relative to the head, confidence 0–100."""
    p = mesh.points
    rotation = _levelling(p)
    levelled_points = p[:, :2] @ rotation.T
    levelled_irises = np.vstack([mesh.iris_left[0], mesh.iris_right[0]]) @ rotation.T
    yaws, pitches = [], []
    for corners, iris in ((IMAGE_LEFT_EYE_CORNERS, levelled_irises[0]), (IMAGE_RIGHT_EYE_CORNERS, levelled_irises[1])):
        radius = EYEBALL_RADIUS * _distance(p, *corners)
        dx, dy = (iris - levelled_points[list(corners)].mean(axis=0)) / radius
        yaws.append(np.degrees(np.arcsin(np.clip(dx, -1.0, 1.0))))
        pitches.append(np.degrees(np.arcsin(np.clip(-dy, -1.0, 1.0))))
    return float(np.mean(yaws)), float(np.mean(pitches)), mesh.presence * 100.0
