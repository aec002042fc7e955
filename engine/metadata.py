"""What a photo file says about its pixels, kept or dropped when a result is saved: EXIF (orientation, camera
settings, GPS location), ICC colour profile and pixel density (DPI).

EXIF travels as bytes starting with b"Exif" (Pillow's ``Image.Exif.tobytes``); DPI as (x, y) dots per inch.
"""

from __future__ import annotations

import warnings

from PIL import Image, ImageOps

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
_PIXEL_X_DIMENSION = 0xA002
_PIXEL_Y_DIMENSION = 0xA003
# In a TIFF, Pillow's EXIF view is the TIFF directory itself (strip offsets, bit depth, ...). Only these
# descriptive tags are worth carrying to another file.
_TIFF_DESCRIPTIVE_TAGS = frozenset(
    {
        0x010E,  # ImageDescription
        0x010F,  # Make
        0x0110,  # Model
        ORIENTATION,
        0x0131,  # Software
        0x0132,  # DateTime
        0x013B,  # Artist
        0x8298,  # Copyright
        0xA420,  # ImageUniqueID
        0x9C9B,  # XPTitle
        0x9C9C,  # XPComment
        0x9C9D,  # XPAuthor
        0x9C9E,  # XPKeywords
        0x9C9F,  # XPSubject
        EXIF_IFD,
        GPS_IFD,
    }
)
JPEG_MAX_EXIF_BYTES = 65533
"""The largest EXIF block a JPEG can hold (one APP1 segment), bytes."""
MAX_DPI = 65535
"""The largest pixel density kept from a file (a JPEG stores up to 65,535 dpi); a larger one is absurd and would
make the PNG and BMP writers fail after the work."""


def apply_orientation(im: Image.Image) -> tuple[Image.Image, int]:
    """Return (image with its EXIF orientation applied, the orientation value 1..8 that was applied)."""
    try:
        orientation = int(im.getexif().get(ORIENTATION, 1))
    except Exception:  # unreadable EXIF: keep the pixels as stored
        return im, 1
    if orientation not in range(2, 9):
        return im, 1
    transposed = ImageOps.exif_transpose(im)
    return (transposed if transposed is not None else im), orientation


def kept_exif(im: Image.Image, fmt: str, size_wh: tuple[int, int]) -> bytes | None:
    """EXIF bytes of `im` (a file of format `fmt`) for saving: orientation reset to 1, pixel dimensions set to
    `size_wh` (width, height), or None when it has none.

    From a TIFF only the descriptive tags and the Exif and GPS sub-blocks are taken (its other tags describe the
    file's own layout). An unreadable block is dropped with a warning (it becomes one of the photo's notes).
    """
    try:
        source = im.getexif()
        sub_blocks: dict[int, dict] = {}
        if fmt == "TIFF":
            exif = Image.Exif()
            for tag in source:
                if tag in _TIFF_DESCRIPTIVE_TAGS:
                    exif[tag] = source[tag]
            sub_blocks = {tag: dict(source.get_ifd(tag)) for tag in (EXIF_IFD, GPS_IFD) if tag in source}
            camera = sub_blocks.get(EXIF_IFD)
        else:
            exif = source
            camera = exif.get_ifd(EXIF_IFD) if EXIF_IFD in exif else None  # edited in place, written by tobytes
        if ORIENTATION in exif:
            exif[ORIENTATION] = 1
        if camera is not None:
            if _PIXEL_X_DIMENSION in camera:
                camera[_PIXEL_X_DIMENSION] = size_wh[0]
            if _PIXEL_Y_DIMENSION in camera:
                camera[_PIXEL_Y_DIMENSION] = size_wh[1]
        for tag, block in sub_blocks.items():
            exif[tag] = block
        if len(exif) == 0:
            return None
        return exif.tobytes()
    except Exception:  # a damaged EXIF block is dropped rather than failing the whole photo
        warnings.warn("its EXIF data is damaged and is not kept", UserWarning, stacklevel=1)
        return None


def dpi_of(im: Image.Image, orientation: int) -> tuple[float, float] | None:
    """The pixel density of the file `im` was read from in dots per inch, as (x, y) in the orientation of the
    pixels after `orientation` (1..8) is applied, or None when it has none or an implausible one (outside
    1..MAX_DPI, which every format can store)."""
    dpi = im.info.get("dpi")
    if dpi is None:
        return None
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (1 <= x <= MAX_DPI and 1 <= y <= MAX_DPI):
        return None
    return (y, x) if orientation >= 5 else (x, y)  # orientations 5..8 swap width and height


def icc_matches(icc: bytes, mode: str) -> bool:
    """True when the ICC profile's colour space (header bytes 16..20) fits an image of Pillow `mode`."""
    space = icc[16:20]
    return space == (b"GRAY" if mode in ("L", "LA") else b"RGB ")


def has_sub_blocks(exif: bytes) -> bool:
    """True when the EXIF bytes point to an Exif or GPS sub-block (camera settings, location)."""
    parsed = Image.Exif()
    try:
        parsed.load(exif)
    except Exception:
        return False
    return EXIF_IFD in parsed or GPS_IFD in parsed


def without_gps(exif: bytes | None) -> bytes | None:
    """EXIF bytes without the GPS block (None when nothing else is left or the block cannot be parsed)."""
    if not exif:
        return exif
    parsed = Image.Exif()
    try:
        parsed.load(exif)
        if GPS_IFD not in parsed:
            return exif
        del parsed[GPS_IFD]
        return parsed.tobytes() if len(parsed) else None
    except Exception:  # an unreadable block is not written at all rather than risk keeping the location
        return None
