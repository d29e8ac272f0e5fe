"""Axis-aligned face boxes: ``(left, top, right, bottom)`` in pixels."""

from __future__ import annotations

Box = tuple[float, float, float, float]


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0–1 (0 when they are disjoint or either is empty)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0
