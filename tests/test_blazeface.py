"""BlazeFace proposals: the tile pyramid follows AWS's minimum face size, and faces that small are found."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from support import manifest

from rekollect.vision.blazeface import tile_sides
from rekollect.vision.boxes import min_face_size
from rekollect.vision.dlib_pack import DlibFaceAnalyzer


@pytest.mark.parametrize(
    ("width", "height", "smallest", "sides"),
    [
        (640, 427, 40.0, [640, 480]),
        (1920, 1080, 40.0, [1920, 960, 480]),
        (3840, 2160, 80.0, [3840, 1920, 960]),
        (300, 200, 40.0, [300]),
    ],
)
def test_tiles_reach_the_minimum_face(width, height, smallest, sides):
    assert min_face_size(width, height) == smallest
    assert tile_sides(width, height) == sides


@pytest.fixture(scope="module")
def analyzer():
    return DlibFaceAnalyzer()


def _portraits(analyzer: DlibFaceAnalyzer, count: int) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Person photos with exactly one detected face, with that face's box."""
    found = []
    for row in manifest():
        if row.kind != "person" or row.file.suffix.lower() not in {".jpg", ".jpeg"}:
            continue
        try:
            pixels = np.asarray(ImageOps.exif_transpose(Image.open(row.file)).convert("RGB"))
        except OSError:
            continue
        faces = analyzer.detect(pixels)
        if len(faces) == 1:
            found.append((pixels, faces[0].box))
        if len(found) == count:
            break
    return found


def test_faces_of_the_aws_minimum_size_are_detected(analyzer):
    """Rekognition detects faces down to 40 × 40 px in images up to 1920 × 1080: shrink real
    portraits until the face is 40 px wide, on a 640 × 480 canvas, and look for it."""
    portraits = _portraits(analyzer, 12)
    found = 0
    for pixels, (left, top, right, bottom) in portraits:
        scale = 40.0 / (right - left)
        small = cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), cv2.INTER_AREA)
        canvas = np.full((480, 640, 3), 128, dtype=np.uint8)
        x, y = round(320 - (left + right) / 2 * scale), round(240 - (top + bottom) / 2 * scale)
        source = small[max(0, -y) : max(0, -y) + 480 - max(0, y), max(0, -x) : max(0, -x) + 640 - max(0, x)]
        canvas[max(0, y) : max(0, y) + source.shape[0], max(0, x) : max(0, x) + source.shape[1]] = source
        faces = analyzer.detect(canvas)
        found += len(faces) == 1 and 30 <= faces[0].box[2] - faces[0].box[0] <= 55
    assert len(portraits) == 12
    assert found >= 11, f"{found} of 12 faces 40 px wide found"
