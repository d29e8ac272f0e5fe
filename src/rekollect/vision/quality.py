"""Image quality of a face region, measured from pixels, on Rekognition's 0–100 scales.

- ``Brightness``: mean luma (ITU-R BT.601) of the face box, as a percentage of 255.
- ``Sharpness``: variance of the Laplacian (Pech-Pacheco et al., 2000) of the face box resized
  to 128 px wide grey, mapped by ``100 * (1 - exp(-variance / 300))``. On the shared photos the
  faces' 5th/50th/95th percentiles are 42/81/99, and the same faces Gaussian-blurred (σ = width/64)
  score 2–5 (docs/models.md).
"""

from __future__ import annotations

import cv2
import numpy as np

_SHARPNESS_SCALE = 300.0
_SHARPNESS_WIDTH = 128


def face_region(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Return the part of ``image`` inside ``box`` (pixels), clipped to the image; may be empty."""
    height, width = image.shape[:2]
    left, top, right, bottom = box
    x0, y0 = max(0, int(left)), max(0, int(top))
    x1, y1 = min(width, int(np.ceil(right))), min(height, int(np.ceil(bottom)))
    return image[y0:y1, x0:x1]


def brightness(region: np.ndarray) -> float:
    """Mean luma of an RGB region, 0–100."""
    if region.size == 0:
        return 0.0
    grey = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    return float(grey.mean() / 255.0 * 100.0)


def sharpness(region: np.ndarray) -> float:
    """Laplacian-variance sharpness of an RGB region, 0–100."""
    if region.shape[0] < 3 or region.shape[1] < 3:
        return 0.0
    grey = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    height = max(3, round(grey.shape[0] * _SHARPNESS_WIDTH / grey.shape[1]))
    grey = cv2.resize(grey, (_SHARPNESS_WIDTH, height), interpolation=cv2.INTER_AREA)
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return float(100.0 * (1.0 - np.exp(-variance / _SHARPNESS_SCALE)))
