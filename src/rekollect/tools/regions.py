"""Each face of a photo as an image of its own, so that every face can be searched.

SearchFacesByImage and SearchUsersByImage search the largest face of the image they are given
(AWS API Reference). To identify every face of a group photo with those operations alone (so it
works against Amazon Rekognition too), ``face_region`` cuts, around each face DetectFaces found, a
region of the upright photo ``MARGIN`` times the face's size wider on each side, paints the other
faces' boxes in that region grey (the face itself is kept whole, even where a neighbour's box
overlaps it), so the face is the largest there, scales the region so the face is at least
``MIN_FACE`` pixels wide (and the region at most ``MAX_SIDE``), and encodes it as a JPEG. The
console does the same in the browser (``console/static/regions.js``). ``same_face`` checks that the
face a search reports (``SearchedFaceBoundingBox``, in the region's ratios) is the one meant.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

MARGIN = 0.5
"""Context kept on each side of a face, as a share of the face box's width and height."""
MIN_FACE = 100
"""Smallest face width in a region, pixels (smaller faces are scaled up to it)."""
MAX_SIDE = 1600
"""Largest side of a region, pixels (larger regions are scaled down)."""
GREY = (128, 128, 128)

Box = tuple[float, float, float, float]
"""``(left, top, right, bottom)`` in pixels of the upright photo."""


def pixel_box(box: dict[str, float], width: float, height: float) -> Box:
    """A ``BoundingBox`` (ratios) in pixels of a ``width`` × ``height`` image."""
    left, top = box["Left"] * width, box["Top"] * height
    return left, top, left + box["Width"] * width, top + box["Height"] * height


def region_of(face: Box, width: int, height: int) -> Box:
    """The region cut around ``face``: ``MARGIN`` of its size on each side, inside the image."""
    left, top, right, bottom = face
    dx, dy = MARGIN * (right - left), MARGIN * (bottom - top)
    return max(0.0, left - dx), max(0.0, top - dy), min(float(width), right + dx), min(float(height), bottom + dy)


def face_region(image: Image.Image, faces: list[Box], index: int) -> tuple[bytes, Box, float]:
    """The JPEG of face ``index`` of ``faces`` (pixel boxes in the upright RGB ``image``), the region it
    was cut from (pixels of ``image``) and the scale applied to it."""
    region = tuple(round(value) for value in region_of(faces[index], *image.size))
    cut = image.crop(region)
    draw = ImageDraw.Draw(cut)
    x0, y0 = region[0], region[1]
    for number, (left, top, right, bottom) in enumerate(faces):
        if number != index:
            draw.rectangle((left - x0, top - y0, right - x0, bottom - y0), fill=GREY)
    own = tuple(round(value) for value in faces[index])
    cut.paste(image.crop(own), (own[0] - x0, own[1] - y0))
    face_width = max(1.0, faces[index][2] - faces[index][0])
    scale = max(1.0, MIN_FACE / face_width)
    scale = min(scale, MAX_SIDE / max(cut.size))
    if scale != 1.0:
        cut = cut.resize((max(1, round(cut.width * scale)), max(1, round(cut.height * scale))), Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    cut.save(encoded, format="JPEG", quality=95)
    return encoded.getvalue(), (float(region[0]), float(region[1]), float(region[2]), float(region[3])), scale


def same_face(searched: dict[str, float], region: Box, face: Box, at_least: float = 0.3) -> bool:
    """Whether ``searched`` (a ``BoundingBox`` in ratios of the region) lies on ``face`` (pixels of the
    photo): their intersection over union is at least ``at_least``."""
    width, height = region[2] - region[0], region[3] - region[1]
    left, top, right, bottom = pixel_box(searched, width, height)
    found = (left + region[0], top + region[1], right + region[0], bottom + region[1])
    overlap_w = min(found[2], face[2]) - max(found[0], face[0])
    overlap_h = min(found[3], face[3]) - max(found[1], face[1])
    if overlap_w <= 0 or overlap_h <= 0:
        return False
    inter = overlap_w * overlap_h
    union = (found[2] - found[0]) * (found[3] - found[1]) + (face[2] - face[0]) * (face[3] - face[1]) - inter
    return inter / union >= at_least


def face_regions(image: Image.Image, details: list[dict[str, Any]]) -> list[tuple[bytes, Box, Box]]:
    """``(JPEG, region, face box)`` for each ``FaceDetail`` of DetectFaces on ``image`` (pixels)."""
    boxes = [pixel_box(detail["BoundingBox"], *image.size) for detail in details]
    regions = []
    for index, box in enumerate(boxes):
        jpeg, region, _ = face_region(image, boxes, index)
        regions.append((jpeg, region, box))
    return regions
