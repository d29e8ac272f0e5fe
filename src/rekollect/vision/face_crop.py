"""A face's picture as the server keeps it when face crops are on (``--face-crops``).

The crop is aligned on the face's 68 landmarks as dlib's face chips are (``dlib.get_face_chip``:
eyes level, the face centred and scaled to a fixed share of the picture), with ``CROP_PADDING``
of context around the landmarks (hair, chin), ``CROP_SIZE`` pixels square, and encoded as a JPEG
of quality ``CROP_QUALITY``: about 4 to 7 KB a face. Every face model pack gives the 68 landmarks
(``DetectedFace.landmarks``), so crops look alike whichever model found the face.
"""

from __future__ import annotations

import cv2
import dlib
import numpy as np

from .analyzer import DetectedFace
from .dlib_pack import face_shape

CROP_SIZE = 128
"""Side of a crop, pixels."""
CROP_PADDING = 0.5
"""Context around the landmarks, as a share of the face's own size on each side (dlib's ``padding``)."""
CROP_QUALITY = 88
"""JPEG quality, 0–100."""


def face_crop(image: np.ndarray, face: DetectedFace) -> bytes:
    """The JPEG of ``face`` in an ``(H, W, 3)`` uint8 RGB image: aligned, ``CROP_SIZE`` pixels square."""
    chip = dlib.get_face_chip(image, face_shape(face), size=CROP_SIZE, padding=CROP_PADDING)
    encoded, data = cv2.imencode(".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, CROP_QUALITY])
    if not encoded:
        raise RuntimeError("OpenCV could not encode a face crop as JPEG")
    return data.tobytes()
