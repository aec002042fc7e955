"""Reading and writing photos.

Images cross the engine boundary as numpy uint8 arrays of shape (H, W, 3), RGB, with the EXIF orientation
already applied. Everything the app needs to write a photo back the way it came (alpha channel, grayscale-ness,
EXIF, ICC profile, DPI) travels in a `Photo`. All output is 8 bits per channel.

Reading goes through `engine.codec` (Pillow's decompression-bomb limit, one-line ImageError messages that name the
file); the file types are those of `engine.formats`; what is kept of the metadata is decided in `engine.metadata`.
Saving is atomic: the file is written to a temporary file in the destination folder, flushed to disk and moved into
place, so an existing file is never left half-written. Hole masks are read and written by `engine.masks_io`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.codec import GRAY_MODES, decode_pixels, encode_to, one_line, read_image
from engine.errors import ImageError
from engine.files import atomic_write
from engine.formats import ALPHA_FORMATS, DPI_FORMATS, EXIF_FORMATS, ICC_FORMATS, save_format
from engine.metadata import (
    JPEG_MAX_EXIF_BYTES,
    apply_orientation,
    dpi_of,
    has_sub_blocks,
    icc_matches,
    kept_exif,
    without_gps,
)


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo plus what is needed to save a result like it.

    rgb: uint8 (H, W, 3), RGB, C-contiguous, EXIF orientation applied. Grayscale files are replicated to
        three equal channels; 16-bit files are reduced to 8 bits (round(value / 257)).
    alpha: uint8 (H, W), C-contiguous, 0 = transparent .. 255 = opaque, exactly as stored in the file
        (RGBA, LA, or a palette/tRNS transparency), or None when the file has no transparency.
    source_mode: Pillow mode of the file before conversion, e.g. "RGB", "L", "I;16", "RGBA", "P", "CMYK".
    format: "JPEG", "PNG", "WEBP", "TIFF" or "BMP" (decided by the file content, not its extension).
    exif: EXIF block (bytes starting with b"Exif") with the orientation tag reset to 1, or None.
    icc_profile: ICC profile bytes describing `rgb`, or None (sRGB assumed). A CMYK file is converted to sRGB
        and gets None.
    dpi: (x, y) dots per inch, in the orientation of `rgb`, or None.
    path: the file it was read from, or None.
    notes: what the reader warned about (corrupt EXIF data it skipped, pages of a TIFF it dropped, data far
        shorter than the declared size), one line each.
    lossless: True for a lossless WebP file, so that a WebP saved like it stays lossless (PNG, TIFF and BMP
        always are).

    The arrays belong to the Photo; comparison is by identity.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    source_mode: str
    format: str
    exif: bytes | None
    icc_profile: bytes | None
    dpi: tuple[float, float] | None
    path: Path | None
    notes: tuple[str, ...] = ()
    lossless: bool = False


def _is_lossless_webp(p: Path) -> bool:
    """True when the WebP file's image chunk is VP8L (lossless); walks the RIFF chunk headers only."""
    with open(p, "rb") as fh:
        if fh.read(12)[8:12] != b"WEBP":
            return False
        for _ in range(64):  # VP8X, ICCP, ANIM, ALPH, then the image chunk
            header = fh.read(8)
            if len(header) < 8:
                return False
            kind, size = header[:4], int.from_bytes(header[4:], "little")
            if kind in (b"VP8L", b"VP8 ", b"ANMF"):
                return kind == b"VP8L"
            fh.seek(size + (size & 1), os.SEEK_CUR)
    return False


def load_image(path: str | os.PathLike[str]) -> Photo:
    """Read a photo file into a `Photo` (uint8 RGB (H, W, 3) with the EXIF orientation applied).

    Grayscale files (1, L, LA, I, I;16) are replicated to RGB; 16-bit files become 8-bit by rounding
    value / 257 (output is always 8-bit; 16-bit colour files are reduced by Pillow itself, which keeps the
    high byte). Palette images become RGB, CMYK becomes sRGB. Transparency (RGBA,
    LA, palette or tRNS) is kept bit-exact in `Photo.alpha`. Raises ImageError for a missing file, a folder,
    corrupt or truncated data, an unsupported format, or an image over Pillow's decompression-bomb limit.
    """
    photo, notes = read_image(path, _photo_from)
    return dataclasses.replace(photo, notes=notes)


def _photo_from(p: Path, im: Image.Image) -> Photo:
    fmt = im.format or ""
    oriented, orientation = apply_orientation(im)
    rgb, alpha = decode_pixels(oriented, p)
    icc = im.info.get("icc_profile") or None
    if im.mode == "CMYK":
        icc = None  # the pixels are sRGB now
    return Photo(
        rgb=rgb,
        alpha=alpha,
        source_mode=im.mode,
        format=fmt,
        exif=kept_exif(im, fmt, oriented.size),
        icc_profile=bytes(icc) if icc else None,
        dpi=dpi_of(im, orientation),
        path=p,
        lossless=fmt == "WEBP" and _is_lossless_webp(p),
    )


def save_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    like: Photo | None = None,
    quality: int = 95,
    keep_gps: bool = False,
) -> tuple[str, ...]:
    """Write an 8-bit image atomically; the format comes from the extension of `path`. Return warnings for the
    user, one line each (transparency the format cannot hold).

    rgb: uint8 (H, W, 3) RGB. alpha: uint8 (H, W) written bit-exact to PNG, WEBP and TIFF and dropped for
    JPEG and BMP (with a warning when it holds any transparency). like: the Photo the image came from: its EXIF
    (orientation 1), ICC profile and DPI are
    written where the format can hold them, and a grayscale source is written as 8-bit grayscale (luma of
    `rgb`). The EXIF location (the GPS block) is dropped unless ``keep_gps``: a cleaned photo is often shared,
    and where it was taken should not travel with it by accident. A TIFF whose EXIF has sub-blocks (camera
    settings, location) is written uncompressed, since the LZW writer cannot store them. quality: 1..100 for
    JPEG (4:2:0 chroma subsampling) and WEBP; a WebP like a lossless WebP is written lossless (pixels bit-exact,
    colours under transparent pixels kept); PNG uses compress_level 6, TIFF LZW. The arrays are not modified.
    Raises ImageError for an unknown extension or data the encoder refuses, WriteError when the file cannot be
    written (disk full, ...; see `engine.files.atomic_write`): the destination is then unchanged and no temporary
    file remains.
    """
    p = Path(path)
    fmt = save_format(p)
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be a uint8 array of shape (H, W, 3), got {getattr(rgb, 'shape', rgb)!r}")
    if alpha is not None and (
        not isinstance(alpha, np.ndarray) or alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]
    ):
        got = getattr(alpha, "shape", alpha)
        raise ValueError(f"alpha must be a uint8 array of shape {rgb.shape[:2]}, got {got!r}")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")

    image = Image.fromarray(np.ascontiguousarray(rgb))
    gray = like is not None and like.source_mode in GRAY_MODES
    if gray:
        image = image.convert("L")
        if fmt == "WEBP":  # WebP has no grayscale mode: store the gray levels as RGB
            image = image.convert("RGB")
    if alpha is not None and fmt in ALPHA_FORMATS:
        image.putalpha(Image.fromarray(np.ascontiguousarray(alpha)))  # L -> LA, RGB -> RGBA

    options: dict = {}
    if fmt == "JPEG":
        options.update(quality=int(quality), subsampling="4:2:0")
    elif fmt == "PNG":
        options.update(compress_level=6)
    elif fmt == "WEBP" and like is not None and like.lossless:
        options.update(lossless=True, exact=True)
    elif fmt == "WEBP":
        options.update(quality=int(quality))
    elif fmt == "TIFF":
        options.update(compression="tiff_lzw")
    if like is not None:
        exif = like.exif if keep_gps else without_gps(like.exif)
        if exif and fmt in EXIF_FORMATS and not (fmt == "JPEG" and len(exif) > JPEG_MAX_EXIF_BYTES):
            options["exif"] = exif
            if fmt == "TIFF" and has_sub_blocks(exif):
                options["compression"] = None  # libtiff (LZW) cannot write EXIF sub-blocks; Pillow's writer can
        if like.icc_profile and fmt in ICC_FORMATS and icc_matches(like.icc_profile, image.mode):
            options["icc_profile"] = like.icc_profile
        if like.dpi and fmt in DPI_FORMATS:
            options["dpi"] = like.dpi

    def write(temp: Path) -> None:
        try:
            encode_to(temp, image, format=fmt, **options)
        except OSError:
            raise
        except Exception as e:  # an encoder refusing the data or an option
            raise ImageError(f"could not save {p}: {one_line(e)}") from None

    atomic_write(path, write)  # the name as given: one ending in a separator is refused
    if alpha is not None and fmt not in ALPHA_FORMATS and int(alpha.min()) < 255:
        return (f"{p.name}: {fmt} cannot hold transparency: the transparent parts of the photo were saved opaque "
                f"(save as PNG, WebP or TIFF to keep them)",)
    return ()
