"""``RegionsOfInterest``: which faces of a frame a stream processor reports.

AWS's ``RegionOfInterest`` reference: "A word, face, or label is included in the region if it is
more than half in that region. If there is more than one region, [it] is compared with all regions
of the screen. Any object of interest that is more than half in a region is kept in the results."
A region is a ``BoundingBox`` or a ``Polygon`` of ``Point``s, all in ratios of the frame. The share
of a face's box inside a polygon is computed exactly: the polygon is clipped to the box
(Sutherland–Hodgman, which is exact for any simple polygon clipped by a convex window) and the
clipped area measured with the shoelace formula. No regions: every face is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]
Box = tuple[float, float, float, float]
"""``(width, height, left, top)`` in ratios of the frame (``FaceMeasurement.box``)."""


def region_polygon(region: dict[str, Any]) -> list[Point]:
    """A ``RegionOfInterest`` as a polygon (its ``BoundingBox``'s four corners, or its ``Polygon``)."""
    if "BoundingBox" in region:
        box = region["BoundingBox"]
        left, top = box.get("Left", 0.0), box.get("Top", 0.0)
        right, bottom = left + box.get("Width", 0.0), top + box.get("Height", 0.0)
        return [(left, top), (right, top), (right, bottom), (left, bottom)]
    return [(point.get("X", 0.0), point.get("Y", 0.0)) for point in region.get("Polygon", [])]


def share_inside(box: Box, polygon: Sequence[Point]) -> float:
    """The share (0–1) of ``box``'s area that lies inside ``polygon``."""
    width, height, left, top = box
    if width <= 0 or height <= 0:
        return 0.0
    clipped = list(polygon)
    for inside, cross in _box_edges(left, top, left + width, top + height):
        if not clipped:
            break
        kept = []
        for index, current in enumerate(clipped):
            previous = clipped[index - 1]
            if inside(current):
                if not inside(previous):
                    kept.append(cross(previous, current))
                kept.append(current)
            elif inside(previous):
                kept.append(cross(previous, current))
        clipped = kept
    return _area(clipped) / (width * height)


def kept(box: Box, polygons: Sequence[Sequence[Point]]) -> bool:
    """Whether a face with ``box`` is reported: more than half of it in one of ``polygons``, or no polygons."""
    return not polygons or any(share_inside(box, polygon) > 0.5 for polygon in polygons)


def _area(polygon: Sequence[Point]) -> float:
    return (
        abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, [*polygon[1:], *polygon[:1]], strict=True)))
        / 2
    )


def _box_edges(left: float, top: float, right: float, bottom: float) -> list[tuple[Any, Any]]:
    """For each side of the box: a test for points on its inner side, and the crossing of a segment with it."""

    def at_x(x: float):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def at_y(y: float):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    return [
        (lambda p: p[0] >= left, at_x(left)),
        (lambda p: p[0] <= right, at_x(right)),
        (lambda p: p[1] >= top, at_y(top)),
        (lambda p: p[1] <= bottom, at_y(bottom)),
    ]
