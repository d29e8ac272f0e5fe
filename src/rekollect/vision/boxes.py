"""Axis-aligned face boxes: ``(left, top, right, bottom)`` in pixels."""

from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]

AWS_MIN_FACE = 40.0
"""Smallest detectable face in images up to 1920 × 1080, pixels (AWS, "Guidelines and quotas in Amazon
Rekognition"); larger images need proportionally larger faces."""

BOX_SCALE = 1.07
"""Box width over the 68 landmarks' width: the median ratio of HOG's box to it on the shared photos
(5th–95th percentile 0.96–1.21)."""
BOX_RAISE = 0.10
"""How far the box centre sits above the landmarks' centre, in landmark widths (HOG's box, median
over the shared photos; 5th–95th percentile 0.04–0.18)."""


def min_face_size(width: int, height: int) -> float:
    """Smallest face to detect, pixels: 40, scaled up for images beyond 1920 × 1080 (AWS's rule)."""
    return AWS_MIN_FACE * max(1.0, width / 1920, height / 1080)


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0–1 (0 when they are disjoint or either is empty)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0


def landmark_box(landmarks: np.ndarray) -> Box:
    """The square face box of ``(68, 2)`` landmarks: centred on their extent raised by ``BOX_RAISE``
    of their width, ``BOX_SCALE`` × their width wide (pixels)."""
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    width = float(high[0] - low[0])
    centre_x, centre_y = float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2 - BOX_RAISE * width
    half = BOX_SCALE * width / 2
    return (centre_x - half, centre_y - half, centre_x + half, centre_y + half)
