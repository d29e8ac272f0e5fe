"""Any decoded PIL image as 8-bit RGB, the form the face models take.

Pillow's own ``convert("RGB")`` is right for the 8-bit modes (``1``, ``L``, ``P``, ``RGB``,
``CMYK``, ``YCbCr``) but wrong for two kinds of PNG:

- 16-bit grayscale (Pillow's ``I;16``/``I;16B``, ``I`` in older Pillow): ``convert`` clips every
  value above 255 to white. Here the 0..65535 range is scaled to 0..255 (the high byte, as Pillow
  itself reduces 16-bit RGB PNGs). ``I`` and ``F`` are read the same way, clipped to that range.
- Transparency (an alpha band, or a ``tRNS`` colour or palette entry): ``convert`` keeps whatever
  colour the transparent pixels hold. Here the image is composited over white, as a viewer shows it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WIDE_GRAY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
"""Single-band modes with more than 8 bits a pixel, read as 0..65535."""
ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
BACKGROUND = (255, 255, 255)
"""What transparent pixels become."""


def to_rgb(image: Image.Image, factor: int = 1) -> Image.Image:
    """``image`` (loaded, any mode) as an ``RGB`` image, ``factor`` times smaller on each side.

    The reduction (a box average, Pillow's ``reduce``) happens at 8 bits a band and before
    grayscale becomes RGB, to keep large images small in memory. Raises ``ValueError`` for a mode
    Pillow cannot convert to RGB.
    """
    eight_bit = _eight_bit(image)
    if factor > 1:
        eight_bit = eight_bit.reduce(factor)
    return eight_bit if eight_bit.mode == "RGB" else eight_bit.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """``image`` as ``L`` or ``RGB``."""
    if image.mode in WIDE_GRAY_MODES:
        values = np.asarray(image)
        if values.dtype.kind != "u":  # I (int32), F (float32): clip to the 16-bit range first
            values = np.clip(values, 0, 65535).astype(np.uint16)
        high = np.right_shift(values, 8, out=np.empty(values.shape, np.uint8), casting="unsafe")
        return Image.fromarray(high, "L")
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image if image.mode in ("L", "RGB") else image.convert("RGB")
