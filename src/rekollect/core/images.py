"""Decoding request images the way Rekognition accepts them.

Rekognition takes JPEG and PNG only, at most 5 MB as ``Image.Bytes`` and 15 MB from S3
(AWS Rekognition Developer Guide, "Guidelines and quotas"). EXIF orientation is applied first, so
boxes and landmarks are ratios of the upright image (Rekognition then leaves
``OrientationCorrection`` out, which we do too).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageTooLargeException, InvalidImageFormatException

MAX_BYTES_INLINE = 5 * 1024 * 1024
MAX_BYTES_S3 = 15 * 1024 * 1024
MAX_PIXELS = 10_000 * 10_000
"""Larger pixel counts are refused before decoding (decompression bombs)."""

_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image: ``pixels`` is ``(height, width, 3)`` uint8; ``sha256`` of the bytes."""

    pixels: np.ndarray
    sha256: str

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES_INLINE) -> DecodedImage:
    """Decode JPEG/PNG ``data``, apply EXIF orientation and convert to RGB.

    Raises ``ImageTooLargeException`` above ``max_bytes`` or ``MAX_PIXELS``, and
    ``InvalidImageFormatException`` for anything that is not a decodable JPEG or PNG.
    """
    if len(data) > max_bytes:
        raise ImageTooLargeException(f"Image size is too large: {len(data)} bytes exceeds {max_bytes}")
    if not data.startswith(_SIGNATURES):
        raise InvalidImageFormatException("Request has invalid image format: only JPEG and PNG are supported")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ImageTooLargeException(
                        f"Image dimensions {image.width}x{image.height} exceed {MAX_PIXELS} pixels"
                    )
                upright = ImageOps.exif_transpose(image)
                pixels = np.asarray(upright.convert("RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeException("Image dimensions are too large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise InvalidImageFormatException(f"Request has invalid image format: {error}") from None
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 1:
        raise InvalidImageFormatException("Request has invalid image format: empty image")
    return DecodedImage(pixels=np.ascontiguousarray(pixels), sha256=hashlib.sha256(data).hexdigest())
