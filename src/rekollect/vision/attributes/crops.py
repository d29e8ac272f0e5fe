"""Square-ish face crops for the attribute classifiers."""

from __future__ import annotations

import cv2
import numpy as np


def face_crop(image: np.ndarray, box: tuple[float, float, float, float], margin: float, size: int) -> np.ndarray:
    """The face ``box`` (pixels) grown by ``margin`` × its width/height on each side, clipped to the
    image and resized (area interpolation) to ``size``×``size``; ``(size, size, C)`` uint8."""
    height, width = image.shape[:2]
    left, top, right, bottom = box
    dx, dy = margin * (right - left), margin * (bottom - top)
    x0, y0 = max(0, int(left - dx)), max(0, int(top - dy))
    x1, y1 = min(width, int(np.ceil(right + dx))), min(height, int(np.ceil(bottom + dy)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        x0, y0, x1, y1 = 0, 0, width, height
    return cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
