"""Decoding request images the way Rekognition accepts them.

Rekognition takes JPEG and PNG only, at most 5 MB as ``Image.Bytes`` and 15 MB from S3
(AWS Rekognition Developer Guide, "Guidelines and quotas"). EXIF orientation is applied first, so
boxes and landmarks are ratios of the upright image (Rekognition then leaves
``OrientationCorrection`` out, which we do too); EXIF that cannot be parsed is ignored, as a viewer
ignores it. Every PIL mode becomes 8-bit RGB as ``pixels.py`` describes.

Large images are decoded reduced. AWS finds faces of at least 40x40 pixels in a 1920x1080 image
and asks for proportionally larger faces in larger images ("Guidelines and quotas"), so an image
is reduced by the largest integer factor that keeps it at least ``DETECTION_SIZE`` (long side x
short side): every face AWS promises to find is still 40 pixels or more. JPEGs are reduced by the
decoder itself (1/2, 1/4, 1/8: Pillow's ``draft``), so their full size is never in memory; other
images after decoding. Boxes and landmarks are ratios, so they do not change; pixel measures
(``QualityFilter``'s face size, sharpness) are those of the reduced image, which is AWS's
normalisation too.

Decoding holds a share of ``DECODE_BUDGET`` (``memory_budget.py``), an estimate of its working
memory, so that concurrent requests with large images queue instead of exhausting memory.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image

from ..errors import ImageTooLargeException, InvalidImageFormatException, RekognitionError
from .memory_budget import MemoryBudget
from .pixels import to_rgb

MAX_BYTES_INLINE = 5 * 1024 * 1024
MAX_BYTES_S3 = 15 * 1024 * 1024
MAX_PIXELS = 10_000 * 10_000
"""Larger pixel counts are refused before decoding (decompression bombs)."""
DETECTION_SIZE = (1920, 1080)
"""Images are not reduced below this (long side, short side)."""
WORKING_BYTES_PER_PIXEL = 16
"""Peak decoding memory per decoded pixel, an upper estimate (source bands, 16-bit scaling, RGB
copy, the returned array)."""
DECODE_BUDGET = MemoryBudget(capacity=1024**3, wait_seconds=30.0)
"""1 GiB of decoding at once per server process; a request waits up to 30 s for its share, then
gets ``ThrottlingException``."""

_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF ``Orientation`` value -> the transposition that makes the image upright (EXIF 2.32, 4.6.4)."""


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


def reduction(width: int, height: int) -> int:
    """The largest integer factor that keeps a ``width`` x ``height`` image at least ``DETECTION_SIZE``."""
    long_side, short_side = DETECTION_SIZE
    return max(1, min(max(width, height) // long_side, min(width, height) // short_side))


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES_INLINE) -> DecodedImage:
    """Decode JPEG/PNG ``data`` (reduced when large), apply EXIF orientation and convert to RGB.

    Raises ``ImageTooLargeException`` above ``max_bytes`` or ``MAX_PIXELS``,
    ``InvalidImageFormatException`` for anything that is not a decodable JPEG or PNG, and
    ``ThrottlingException`` when the decoding budget stays full.
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
                _draft(image)
                with DECODE_BUDGET.reserve(image.width * image.height * WORKING_BYTES_PER_PIXEL):
                    pixels = _upright_rgb(image)
    except RekognitionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeException("Image dimensions are too large") from None
    except MemoryError:
        raise
    except Exception as error:  # Pillow's decoders raise many types on malformed data (struct.error, ...)
        raise InvalidImageFormatException(f"Request has invalid image format: {error}") from None
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 1:
        raise InvalidImageFormatException("Request has invalid image format: empty image")
    return DecodedImage(pixels=np.ascontiguousarray(pixels), sha256=hashlib.sha256(data).hexdigest())


def _draft(image: Image.Image) -> None:
    """Have a JPEG decoder reduce by 2, 4 or 8 where ``reduction`` allows (other formats ignore it)."""
    if reduction(image.width, image.height) > 1:
        long_side, short_side = DETECTION_SIZE
        image.draft(None, (long_side, short_side) if image.width >= image.height else (short_side, long_side))


def _upright_rgb(image: Image.Image) -> np.ndarray:
    image.load()
    rgb = to_rgb(image, reduction(image.width, image.height))
    method = _orientation(image)
    return np.asarray(rgb if method is None else rgb.transpose(method))


def _orientation(image: Image.Image) -> Image.Transpose | None:
    """The transposition EXIF asks for; ``None`` without one, or when the EXIF cannot be parsed."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # malformed EXIF: Pillow's parser raises struct.error, TypeError, ...
        return None
    return _TRANSPOSE.get(value) if isinstance(value, int) else None
