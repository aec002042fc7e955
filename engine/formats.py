"""The image file types FusionPaint reads and writes, and what each can hold.

A type is chosen by the file's extension when saving and by the file's content when reading. Formats are named as
Pillow names them ("JPEG", "PNG", "WEBP", "TIFF", "BMP").
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ImageError

FORMAT_BY_EXTENSION = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
"""Pillow format name of each supported lower-case extension."""
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(FORMAT_BY_EXTENSION)
"""Lower-case file extensions that `engine.imageio.load_image` reads and `engine.imageio.save_image` writes."""
FORMAT_ALIASES = {"MPO": "JPEG"}
"""Pillow reports some camera JPEGs (with a multi-picture extension) as "MPO"; their first frame is the photo."""
READABLE_FORMATS = frozenset(FORMAT_BY_EXTENSION.values())
ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
"""Formats that store an alpha channel."""
EXIF_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})
ICC_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})
DPI_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "BMP"})


def image_files(folder: str | os.PathLike[str], *, recursive: bool, special: bool = False) -> list[Path]:
    """The files in ``folder`` (and in its subfolders when ``recursive``) with a supported extension (any case),
    sorted by path. ``folder`` must be an existing folder: callers check it and name it in their message.
    ``special``: also the entries so named that are not regular files (folders, pipes, loops of links), which
    `engine.imageio.load_image` refuses with a message, for a caller that names what it skips."""
    found = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    return sorted(p for p in found if (special or p.is_file()) and p.suffix.lower() in SUPPORTED_EXTENSIONS)


def save_format(p: Path) -> str:
    """Pillow format name for saving to ``p`` by its extension; ImageError naming the known types otherwise."""
    fmt = FORMAT_BY_EXTENSION.get(p.suffix.lower())
    if fmt is None:
        known = " ".join(SUPPORTED_EXTENSIONS)
        suffix = p.suffix or "(none)"
        raise ImageError(f"could not save {p}: unknown file type {suffix!r}; use one of {known}")
    return fmt
