"""Decoding image files and encoding images into files, through Pillow, within safety limits.

The one place where FusionPaint opens an image file with Pillow (photos and masks alike) and where it hands an
image to Pillow's encoders. Pillow's decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`) is respected and never
changed: a larger file is refused with ImageError. Every failure to read a file is reported as ImageError with a
one-line message that names the file; no raw Pillow or OS error escapes. Decoded pixels are 8 bits per channel.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, PngImagePlugin

from engine.errors import ImageError
from engine.files import write_failure_reason
from engine.formats import FORMAT_ALIASES, READABLE_FORMATS

MAX_SIDE_PX = 65535
"""Longest image side accepted, in pixels (JPEG's own limit; Pillow's pixel-count limit applies as well)."""
MAX_ASPECT = 100
"""Most extreme aspect ratio accepted (long side : short side); a 1 x 80,000,000 strip is refused up front."""
# A progressive JPEG is decoded once per scan; encoders write about 10 (up to a few dozen with custom scripts).
# A file with thousands of repeated scans would take minutes to decode.
MAX_JPEG_SCANS = 256
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
"""Pillow modes of grayscale images."""
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})

_T = TypeVar("_T")


def one_line(error: BaseException) -> str:
    """The error's text on one line (its type's name when it has none), for a message naming a file."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


_DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def read_image(path: str | os.PathLike[str], use: Callable[[Path, Image.Image], _T]) -> tuple[_T, tuple[str, ...]]:
    """Open and fully decode `path`; return (`use(path, image)` called while the file is still open, notes).

    `image.format` is one of "JPEG", "PNG", "WEBP", "TIFF", "BMP". Every failure becomes ImageError (and the
    decoder's warnings are dropped with it). Warnings the decoder (or `use`) raised on success become the notes,
    one line each, starting with the file's name, instead of reaching stderr.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ImageError(f"cannot open {p}: file not found") from None
    except OSError as e:  # a loop of links, a folder that may not be searched, ...
        raise ImageError(f"cannot open {p}: {write_failure_reason(e)}") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"cannot open {p}: it is a folder, not an image file")
    if not stat.S_ISREG(mode):  # a pipe or a device would block or never end
        raise ImageError(f"cannot open {p}: not a regular file")
    limit = Image.MAX_IMAGE_PIXELS
    too_large = f"cannot open {p}: image is too large (over the safety limit of {limit} pixels)"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                own_notes = _choose_page(im)
                width, height = im.size  # also checked here: the warning filter above is process-wide
                if limit is not None and width * height > limit:
                    raise ImageError(too_large)
                if max(width, height) > MAX_SIDE_PX or max(width, height) > MAX_ASPECT * min(width, height):
                    raise ImageError(
                        f"cannot open {p}: a {width} x {height} image is outside what FusionPaint handles "
                        f"(sides up to {MAX_SIDE_PX} px, at most {MAX_ASPECT}:1)"
                    )
                fmt = FORMAT_ALIASES.get(im.format or "", im.format or "")
                if fmt not in READABLE_FORMATS:
                    raise ImageError(
                        f"cannot open {p}: {im.format or 'this'} files are not supported "
                        f"(use JPEG, PNG, WEBP, TIFF or BMP)"
                    )
                if fmt == "JPEG" and (scans := _jpeg_scans(p)) > MAX_JPEG_SCANS:
                    raise ImageError(f"cannot open {p}: it is a JPEG of {scans} scans (more than {MAX_JPEG_SCANS}), "
                                     f"which would take minutes to decode")
                im.load()  # full decode here, so corrupt or truncated data fails now
                im.format = fmt
                if fmt == "JPEG":
                    own_notes += _jpeg_data_short(p, width, height)
                value = use(p, im)
        notes = (" ".join(str(w.message).split()) for w in caught if not issubclass(w.category, _DEVELOPER_WARNINGS))
        return value, tuple(dict.fromkeys(f"{p.name}: {note}" for note in (*own_notes, *notes) if note))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(too_large) from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"cannot open {p}: not an image file or an unsupported format") from None
    except PermissionError:
        raise ImageError(f"cannot open {p}: permission denied") from None
    except MemoryError:
        raise ImageError(f"cannot open {p}: not enough memory to decode it") from None
    except ValueError as e:
        if "MAX_TEXT_CHUNK" not in str(e) and "MAX_TEXT_MEMORY" not in str(e):
            raise ImageError(f"cannot open {p}: file is corrupt or truncated ({one_line(e)})") from None
        raise ImageError(f"cannot open {p}: it holds a colour profile or text block larger than the "
                         f"{PngImagePlugin.MAX_TEXT_CHUNK // 2**20} MB FusionPaint reads safely") from None
    except Exception as e:  # decoders raise OSError, SyntaxError, ValueError, EOFError, struct.error, ...
        raise ImageError(f"cannot open {p}: file is corrupt or truncated ({one_line(e)})") from None


def _choose_page(im: Image.Image) -> tuple[str, ...]:
    """Seek a multi-page TIFF to its largest page (the first of equal ones): the first page is often a
    thumbnail. Return a note naming what was dropped, or nothing for a single-page file or another format."""
    pages = getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
    if pages <= 1:
        return ()
    sizes = []
    for index in range(pages):
        im.seek(index)
        sizes.append(im.size)
    best = max(range(pages), key=lambda index: (sizes[index][0] * sizes[index][1], -index))
    im.seek(best)
    width, height = sizes[best]
    return (f"{pages} pages: page {best + 1} ({width} x {height}, the largest) is used, "
            f"the other {pages - 1} are dropped and will not be saved",)


def _jpeg_scans(p: Path) -> int:
    """How many start-of-scan markers (FF DA) a JPEG file holds; entropy-coded data never contains one."""
    count, tail = 0, b""
    with open(p, "rb") as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            count += data.count(b"\xff\xda")
            tail = data[-1:] if data.endswith(b"\xff") else b""
    return count


def _jpeg_data_short(p: Path, width: int, height: int) -> tuple[str, ...]:
    """A note when a JPEG file is too small to hold its declared size: every 8 x 8 block of the brightness
    channel costs at least one bit of Huffman-coded data, so a shorter file ends early and the decoder fills the
    rest with grey."""
    blocks = -(-width // 8) * -(-height // 8)
    if p.stat().st_size * 8 >= blocks:
        return ()
    return (f"the file holds far less data than its declared {width} x {height} pixels: most of the image is "
            f"missing (filled with grey)",)


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    """CMYK to sRGB, through the embedded ICC profile when there is a usable one."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:  # no colour-management support or a broken profile: plain conversion below
            pass
    return im.convert("RGB")


def _integer_scale(mode: str, values: np.ndarray) -> float:
    """Divisor that brings integer gray values to 0..255: 257 for 16-bit modes ("I;16*"). Mode "I" holds 32-bit
    integers whose range the file does not state: values up to 255 are taken as 8-bit, up to 65535 as 16-bit, and
    larger ones as 0..2**31-1."""
    if mode != "I":
        return 257.0
    peak = int(values.max()) if values.size else 0
    if peak <= 255:
        return 1.0
    return 257.0 if peak <= 65535 else (2**31 - 1) / 255.0


def decode_pixels(im: Image.Image, p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels of a loaded image (read from `p`, named in errors) as (rgb uint8 (H,W,3) RGB, alpha uint8 (H,W),
    0 = transparent .. 255 = opaque, or None), both C-contiguous; rgb is writable (the command line fills the hole
    in place).

    Grayscale is replicated to three equal channels, 16-bit gray is reduced to 8 bits (round(value / 257)), CMYK
    becomes sRGB. ImageError for 32-bit floating-point pixels and pixel formats Pillow cannot convert to RGB.
    """
    mode = im.mode
    alpha: np.ndarray | None = None
    if mode == "F":
        raise ImageError(f"cannot open {p}: 32-bit floating-point images are not supported")
    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(im)
        scale = _integer_scale(mode, values)
        gray = np.rint(np.clip(values / scale, 0, 255)).astype(np.uint8)
        transparent = im.info.get("transparency")
        if isinstance(transparent, int):
            alpha = np.where(values == transparent, 0, 255).astype(np.uint8)
    elif mode in GRAY_MODES:
        target = "LA" if im.has_transparency_data else "L"
        data = np.asarray(im if mode == target else im.convert(target))
        gray, alpha = (data[:, :, 0], data[:, :, 1]) if target == "LA" else (data, None)
    else:
        has_alpha = im.has_transparency_data
        if mode == "CMYK":
            im = _cmyk_to_rgb(im)
        target = "RGBA" if has_alpha else "RGB"
        try:
            data = np.asarray(im if im.mode == target else im.convert(target))
        except ValueError:
            raise ImageError(f"cannot open {p}: pixel format {mode} is not supported") from None
        rgb = np.require(data[:, :, :3], requirements=["C", "W"])  # a writable copy when Pillow's is read-only
        alpha = np.ascontiguousarray(data[:, :, 3]) if has_alpha else None
        return rgb, alpha
    rgb = np.repeat(np.asarray(gray, dtype=np.uint8)[:, :, None], 3, axis=2)
    return np.ascontiguousarray(rgb), (None if alpha is None else np.ascontiguousarray(alpha))


def encode_to(temp: Path, image: Image.Image, **options) -> None:
    """``image.save(..., **options)`` (``format`` among them) into the file ``temp``, which this function opens and
    always closes, even when Ctrl+C or SIGTERM interrupts the encoder (Pillow closes the files it opens itself only
    on ordinary errors). A TIFF is encoded in memory first: libtiff writes on the file's descriptor itself, where a
    full disk would end in libtiff's own lines on the terminal and an "encoder error" instead of the OSError saying
    "disk full"."""
    if options.get("format") == "TIFF":
        encoded = io.BytesIO()
        image.save(encoded, **options)
        with open(temp, "wb") as fh:
            fh.write(encoded.getbuffer())
        return
    with open(temp, "wb") as fh:
        image.save(fh, **options)
