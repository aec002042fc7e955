"""Reading and writing hole masks.

A hole mask is a numpy bool array of shape (H, W), True = pixel to fill. Any image file FusionPaint reads can be a
mask (`engine.codec` limits and messages apply); masks are written as 8-bit grayscale PNG, white = hole, atomically
(see `engine.files.atomic_write`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from engine.codec import decode_pixels, encode_to, read_image
from engine.errors import ImageError
from engine.files import atomic_write
from engine.metadata import apply_orientation


def load_mask(path: str | os.PathLike[str], size_hw: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Read a hole mask; returns (hole bool (H, W) C-contiguous with (H, W) = size_hw, warnings).

    A pixel is a hole when its gray level (luma for colour masks, 0..255) is above 127. For a mask with an
    alpha channel that is not fully opaque (RGBA, LA, palette transparency), alpha > 127 marks the hole
    instead. The EXIF orientation is applied. A mask of another size is resized (nearest neighbour) and a
    warning naming both sizes is returned. An empty mask is returned as it is. Raises ImageError like
    `engine.imageio.load_image`.
    """
    height, width = (int(v) for v in size_hw)
    if height <= 0 or width <= 0:
        raise ValueError(f"size_hw must be two positive integers, got {size_hw!r}")
    p = Path(path)
    (rgb, alpha), notes = read_image(p, lambda p, im: decode_pixels(apply_orientation(im)[0], p))
    if alpha is not None and int(alpha.min()) < 255:
        hole = alpha > 127
    else:
        hole = np.asarray(Image.fromarray(rgb).convert("L")) > 127
    warnings_out = list(notes)
    mask_h, mask_w = hole.shape
    if (mask_h, mask_w) != (height, width):
        as_image = Image.fromarray(hole.astype(np.uint8) * 255)
        hole = np.asarray(as_image.resize((width, height), Image.Resampling.NEAREST)) > 127
        warnings_out.append(
            f"mask {p.name} is {mask_w}x{mask_h} px but the image is {width}x{height} px; "
            f"it was resized to {width}x{height} px (nearest neighbour)"
        )
    return np.ascontiguousarray(hole, dtype=bool), warnings_out


def save_mask(path: str | os.PathLike[str], hole: np.ndarray) -> None:
    """Write a hole mask (bool (H, W), True = hole) atomically as an 8-bit grayscale PNG, white = hole.

    Raises ImageError when `path` does not end in .png, WriteError when the file cannot be written.
    """
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise ImageError(f"could not save {p}: masks are saved as PNG, use a .png file name")
    if not isinstance(hole, np.ndarray) or hole.dtype != np.bool_ or hole.ndim != 2:
        raise ValueError(f"hole must be a bool array of shape (H, W), got {getattr(hole, 'shape', hole)!r}")
    image = Image.fromarray(hole.astype(np.uint8) * 255)
    atomic_write(path, lambda temp: encode_to(temp, image, format="PNG", compress_level=6))
