"""Reading and writing photos and hole masks.

Images cross the engine boundary as numpy uint8 arrays of shape (H, W, 3), RGB, with the EXIF orientation
already applied; hole masks as numpy bool arrays of shape (H, W), True = pixel to fill. Everything the app
needs to write a photo back the way it came (alpha channel, grayscale-ness, EXIF, ICC profile, DPI) travels in
a `Photo`. All output is 8 bits per channel.

Pillow's decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`) is respected and never changed: a larger
file is refused with ImageError. Every failure to read or write a file is reported as ImageError with a
one-line message that names the file; no raw Pillow or OS error escapes. Saving is atomic: the file is
written to a temporary file in the destination folder, flushed to disk and moved into place, so an existing
file is never left half-written.
"""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from engine.errors import ImageError
from engine.files import atomic_write, write_failure_reason

MAX_SIDE_PX = 65535
"""Longest image side accepted, in pixels (JPEG's own limit; Pillow's pixel-count limit applies as well)."""
MAX_ASPECT = 100
# A progressive JPEG is decoded once per scan; encoders write about 10 (up to a few dozen with custom scripts).
# A file with thousands of repeated scans would take minutes to decode.
MAX_JPEG_SCANS = 256
# The largest pixel density kept from a file (a JPEG stores up to 65,535 dpi); a larger one is absurd and would
# make the PNG and BMP writers fail after the work.
MAX_DPI = 65535
"""Most extreme aspect ratio accepted (long side : short side); a 1 x 80,000,000 strip is refused up front."""
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
"""Lower-case file extensions that `load_image` reads and `save_image` writes."""

def image_files(folder: str | os.PathLike[str], *, recursive: bool, special: bool = False) -> list[Path]:
    """The files in ``folder`` (and in its subfolders when ``recursive``) with a supported extension (any case),
    sorted by path. ``folder`` must be an existing folder: callers check it and name it in their message.
    ``special``: also the entries so named that are not regular files (folders, pipes, loops of links), which
    `load_image` refuses with a message, for a caller that names what it skips."""
    found = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    return sorted(p for p in found if (special or p.is_file()) and p.suffix.lower() in SUPPORTED_EXTENSIONS)


_FORMAT_BY_EXTENSION = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
# Pillow reports some camera JPEGs (with a multi-picture extension) as "MPO"; their first frame is the photo.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_READABLE_FORMATS = frozenset(_FORMAT_BY_EXTENSION.values())
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_EXIF_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})
_ICC_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})
_DPI_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "BMP"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})

_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_PIXEL_X_DIMENSION = 0xA002
_PIXEL_Y_DIMENSION = 0xA003
# In a TIFF, Pillow's EXIF view is the TIFF directory itself (strip offsets, bit depth, ...). Only these
# descriptive tags are worth carrying to another file.
_TIFF_DESCRIPTIVE_TAGS = frozenset(
    {
        0x010E,  # ImageDescription
        0x010F,  # Make
        0x0110,  # Model
        _ORIENTATION,
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
        _EXIF_IFD,
        _GPS_IFD,
    }
)
_JPEG_MAX_EXIF_BYTES = 65533

_T = TypeVar("_T")


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


# ----------------------------------------------------------------------------------------------- reading


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


_DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _read(path: str | os.PathLike[str], use: Callable[[Path, Image.Image], _T]) -> tuple[_T, tuple[str, ...]]:
    """Open and fully decode `path`; return (`use(path, image)` called while the file is still open, notes).

    `image.format` is one of "JPEG", "PNG", "WEBP", "TIFF", "BMP". Every failure becomes ImageError (and the
    decoder's warnings are dropped with it). Warnings the decoder raised on success become the notes, one line
    each, instead of reaching stderr.
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
                fmt = _FORMAT_ALIASES.get(im.format or "", im.format or "")
                if fmt not in _READABLE_FORMATS:
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
            raise ImageError(f"cannot open {p}: file is corrupt or truncated ({_one_line(e)})") from None
        raise ImageError(f"cannot open {p}: it holds a colour profile or text block larger than the "
                         f"{PngImagePlugin.MAX_TEXT_CHUNK // 2**20} MB FusionPaint reads safely") from None
    except Exception as e:  # decoders raise OSError, SyntaxError, ValueError, EOFError, struct.error, ...
        raise ImageError(f"cannot open {p}: file is corrupt or truncated ({_one_line(e)})") from None


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


def _apply_orientation(im: Image.Image) -> tuple[Image.Image, int]:
    """Return (image with its EXIF orientation applied, the orientation value 1..8 that was applied)."""
    try:
        orientation = int(im.getexif().get(_ORIENTATION, 1))
    except Exception:  # unreadable EXIF: keep the pixels as stored
        return im, 1
    if orientation not in range(2, 9):
        return im, 1
    transposed = ImageOps.exif_transpose(im)
    return (transposed if transposed is not None else im), orientation


def _kept_exif(im: Image.Image, fmt: str, size_wh: tuple[int, int]) -> bytes | None:
    """EXIF bytes of `im` for saving: orientation reset to 1, pixel dimensions set to `size_wh`.

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
            sub_blocks = {tag: dict(source.get_ifd(tag)) for tag in (_EXIF_IFD, _GPS_IFD) if tag in source}
            camera = sub_blocks.get(_EXIF_IFD)
        else:
            exif = source
            camera = exif.get_ifd(_EXIF_IFD) if _EXIF_IFD in exif else None  # edited in place, written by tobytes
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
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


def _dpi(info: dict, orientation: int) -> tuple[float, float] | None:
    """The file's pixel density in dots per inch as (x, y) in the orientation of the pixels, or None when it has
    none or an implausible one (outside 1..MAX_DPI, which every format can store)."""
    dpi = info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError, OverflowError):
        return None
    if not (1 <= x <= MAX_DPI and 1 <= y <= MAX_DPI):
        return None
    return (y, x) if orientation >= 5 else (x, y)  # orientations 5..8 swap width and height


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


def _decode(im: Image.Image, p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels of a loaded image as (rgb uint8 (H,W,3), alpha uint8 (H,W) or None), both C-contiguous; rgb is
    writable (the command line fills the hole in place)."""
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
    elif mode in _GRAY_MODES:
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


def load_image(path: str | os.PathLike[str]) -> Photo:
    """Read a photo file into a `Photo` (uint8 RGB (H, W, 3) with the EXIF orientation applied).

    Grayscale files (1, L, LA, I, I;16) are replicated to RGB; 16-bit files become 8-bit by rounding
    value / 257 (output is always 8-bit; 16-bit colour files are reduced by Pillow itself, which keeps the
    high byte). Palette images become RGB, CMYK becomes sRGB. Transparency (RGBA,
    LA, palette or tRNS) is kept bit-exact in `Photo.alpha`. Raises ImageError for a missing file, a folder,
    corrupt or truncated data, an unsupported format, or an image over Pillow's decompression-bomb limit.
    """
    photo, notes = _read(path, _photo_from)
    return dataclasses.replace(photo, notes=notes)


def _photo_from(p: Path, im: Image.Image) -> Photo:
    fmt = im.format or ""
    oriented, orientation = _apply_orientation(im)
    rgb, alpha = _decode(oriented, p)
    icc = im.info.get("icc_profile") or None
    if im.mode == "CMYK":
        icc = None  # the pixels are sRGB now
    return Photo(
        rgb=rgb,
        alpha=alpha,
        source_mode=im.mode,
        format=fmt,
        exif=_kept_exif(im, fmt, oriented.size),
        icc_profile=bytes(icc) if icc else None,
        dpi=_dpi(im.info, orientation),
        path=p,
        lossless=fmt == "WEBP" and _is_lossless_webp(p),
    )


def load_mask(path: str | os.PathLike[str], size_hw: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Read a hole mask; returns (hole bool (H, W) C-contiguous with (H, W) = size_hw, warnings).

    A pixel is a hole when its gray level (luma for colour masks, 0..255) is above 127. For a mask with an
    alpha channel that is not fully opaque (RGBA, LA, palette transparency), alpha > 127 marks the hole
    instead. The EXIF orientation is applied. A mask of another size is resized (nearest neighbour) and a
    warning naming both sizes is returned. An empty mask is returned as it is. Raises ImageError like
    `load_image`.
    """
    height, width = (int(v) for v in size_hw)
    if height <= 0 or width <= 0:
        raise ValueError(f"size_hw must be two positive integers, got {size_hw!r}")
    p = Path(path)
    (rgb, alpha), notes = _read(p, lambda p, im: _decode(_apply_orientation(im)[0], p))
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


# ----------------------------------------------------------------------------------------------- writing


def save_format(p: Path) -> str:
    """Pillow format name for saving to ``p`` by its extension; ImageError naming the known types otherwise."""
    fmt = _FORMAT_BY_EXTENSION.get(p.suffix.lower())
    if fmt is None:
        known = " ".join(SUPPORTED_EXTENSIONS)
        suffix = p.suffix or "(none)"
        raise ImageError(f"could not save {p}: unknown file type {suffix!r}; use one of {known}")
    return fmt


def _icc_matches(icc: bytes, mode: str) -> bool:
    """True when the ICC profile's colour space (header bytes 16..20) fits an image of `mode`."""
    space = icc[16:20]
    return space == (b"GRAY" if mode in ("L", "LA") else b"RGB ")


def _has_sub_blocks(exif: bytes) -> bool:
    """True when the EXIF bytes point to an Exif or GPS sub-block (camera settings, location)."""
    parsed = Image.Exif()
    try:
        parsed.load(exif)
    except Exception:
        return False
    return _EXIF_IFD in parsed or _GPS_IFD in parsed


def _without_gps(exif: bytes | None) -> bytes | None:
    """EXIF bytes without the GPS block (None when nothing else is left or the block cannot be parsed)."""
    if not exif:
        return exif
    parsed = Image.Exif()
    try:
        parsed.load(exif)
        if _GPS_IFD not in parsed:
            return exif
        del parsed[_GPS_IFD]
        return parsed.tobytes() if len(parsed) else None
    except Exception:  # an unreadable block is not written at all rather than risk keeping the location
        return None


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
    gray = like is not None and like.source_mode in _GRAY_MODES
    if gray:
        image = image.convert("L")
        if fmt == "WEBP":  # WebP has no grayscale mode: store the gray levels as RGB
            image = image.convert("RGB")
    if alpha is not None and fmt in _ALPHA_FORMATS:
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
        exif = like.exif if keep_gps else _without_gps(like.exif)
        if exif and fmt in _EXIF_FORMATS and not (fmt == "JPEG" and len(exif) > _JPEG_MAX_EXIF_BYTES):
            options["exif"] = exif
            if fmt == "TIFF" and _has_sub_blocks(exif):
                options["compression"] = None  # libtiff (LZW) cannot write EXIF sub-blocks; Pillow's writer can
        if like.icc_profile and fmt in _ICC_FORMATS and _icc_matches(like.icc_profile, image.mode):
            options["icc_profile"] = like.icc_profile
        if like.dpi and fmt in _DPI_FORMATS:
            options["dpi"] = like.dpi

    def write(temp: Path) -> None:
        try:
            _save_to(temp, image, format=fmt, **options)
        except OSError:
            raise
        except Exception as e:  # an encoder refusing the data or an option
            raise ImageError(f"could not save {p}: {_one_line(e)}") from None

    atomic_write(path, write)  # the name as given: one ending in a separator is refused
    if alpha is not None and fmt not in _ALPHA_FORMATS and int(alpha.min()) < 255:
        return (f"{p.name}: {fmt} cannot hold transparency: the transparent parts of the photo were saved opaque "
                f"(save as PNG, WebP or TIFF to keep them)",)
    return ()


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
    atomic_write(path, lambda temp: _save_to(temp, image, format="PNG", compress_level=6))


def _save_to(temp: Path, image: Image.Image, **options) -> None:
    """``image.save`` into a file this function opens and always closes, even when Ctrl+C or SIGTERM interrupts
    the encoder (Pillow closes the files it opens itself only on ordinary errors). A TIFF is encoded in memory
    first: libtiff writes on the file's descriptor itself, where a full disk would end in libtiff's own lines on
    the terminal and an "encoder error" instead of the OSError saying "disk full"."""
    if options.get("format") == "TIFF":
        encoded = io.BytesIO()
        image.save(encoded, **options)
        with open(temp, "wb") as fh:
            fh.write(encoded.getbuffer())
        return
    with open(temp, "wb") as fh:
        image.save(fh, **options)
