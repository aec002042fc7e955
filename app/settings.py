"""User settings: one typed dataclass saved as JSON in ``engine.paths.user_config_dir() / "settings.json"``.

Loading never fails: a missing file gives the defaults, unknown keys are ignored and a value of the wrong type or out
of range falls back to that field's default. The file may be UTF-8 (with or without a byte-order mark, as Notepad
writes it) or UTF-16. A file that cannot be read as settings (not JSON, not an object, nested too deeply, a pipe, ...)
is kept beside as ``settings.json.bad`` and the defaults are used, with a note for the user. Files written by older
versions go through ``_migrate``. Saving is atomic (`engine.files.atomic_write`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from os import PathLike
from pathlib import Path
from typing import Any

from engine.errors import WriteError
from engine.files import atomic_write, open_regular, write_failure_reason
from engine.paths import user_config_dir

SCHEMA_VERSION = 1
"""Version of the settings layout written by this code; bump it and extend ``_migrate`` when fields change."""

SETTINGS_FILE_NAME = "settings.json"
RECENT_FILES_LIMIT = 10
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


MIN_UNDO_MB = 16
MAX_UNDO_MB = 16384
"""Range of the undo history's memory limit, MB."""


@dataclass
class Settings:
    """Everything the editor remembers between runs.

    ``brush_size``/``eraser_size``: brush diameters in image pixels, 1..2000 (a float in the file is rounded).
    ``overlay_color``: hole overlay colour ``"#RRGGBB"``. ``overlay_opacity``, ``alpha_opacity`` (learned-alpha
    view): 0..1. ``model``: registry name, ``""`` = the registry default. ``device``: ``"auto"``, ``"cpu"``,
    ``"cuda"``, ``"cuda:N"`` or ``"mps"``. ``window_geometry``: the main window's saved geometry, base64 text.
    ``recent_files``: paths, most recent first (reading keeps the first RECENT_FILES_LIMIT non-empty strings).
    ``jpeg_quality``: 1..100. ``last_folder``: last folder browsed. ``keep_gps``: saved photos keep the GPS location
    of their EXIF (off: it is removed). ``finetune_folder``: the folder of photos the last fine-tuning run used.
    ``intro_shown``: the first-start note on what the fills can do was shown. ``undo_memory_mb``: memory the undo
    history of a photo may hold, MIN_UNDO_MB..MAX_UNDO_MB.
    """

    schema_version: int = SCHEMA_VERSION
    last_folder: str = ""
    brush_size: int = 40
    eraser_size: int = 40
    overlay_color: str = "#ff3b30"
    overlay_opacity: float = 0.5
    alpha_opacity: float = 0.7
    model: str = ""
    device: str = "auto"
    window_geometry: str = ""
    recent_files: list[str] = field(default_factory=list)
    jpeg_quality: int = 95
    keep_gps: bool = False
    finetune_folder: str = ""
    intro_shown: bool = False
    undo_memory_mb: int = 1024


def settings_path() -> Path:
    """Default settings file: ``engine.paths.user_config_dir() / "settings.json"`` (read at call time)."""
    return user_config_dir() / SETTINGS_FILE_NAME


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a settings dict written by an older version up to ``SCHEMA_VERSION``.

    A file without ``schema_version`` is treated as version 1. Add one step per version bump, e.g.
    ``if version < 2: data["brush_size"] = data.pop("brush_radius", 20) * 2; version = 2``. Files from a newer
    version are read as far as their keys are understood.
    """
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        version = 1
    # No older layouts exist yet.
    data["schema_version"] = max(version, SCHEMA_VERSION)
    return data


def _valid_int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _valid_size(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 2000


def _valid_fraction(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def _first_paths(values: list[Any], limit: int) -> list[str]:
    """The first ``limit`` non-empty strings of ``values``; the entries after them are not looked at."""
    paths: list[str] = []
    for value in values:
        if len(paths) >= limit:
            break
        if isinstance(value, str) and value:
            paths.append(value)
    return paths


def _validated(data: dict[str, Any]) -> Settings:
    """Settings from a (migrated) dict: unknown keys dropped, invalid values replaced by defaults."""
    defaults = Settings()
    checks: dict[str, Callable[[Any], bool]] = {
        "schema_version": lambda v: _valid_int(v, 0, 1 << 30),
        "last_folder": lambda v: isinstance(v, str),
        "brush_size": _valid_size,
        "eraser_size": _valid_size,
        "overlay_color": lambda v: isinstance(v, str) and bool(_COLOR_RE.match(v)),
        "overlay_opacity": _valid_fraction,
        "alpha_opacity": _valid_fraction,
        "model": lambda v: isinstance(v, str),
        "device": lambda v: isinstance(v, str) and bool(v),
        "window_geometry": lambda v: isinstance(v, str),
        "recent_files": lambda v: isinstance(v, list),
        "jpeg_quality": lambda v: _valid_int(v, 1, 100),
        "keep_gps": lambda v: isinstance(v, bool),
        "finetune_folder": lambda v: isinstance(v, str),
        "intro_shown": lambda v: isinstance(v, bool),
        "undo_memory_mb": lambda v: _valid_int(v, MIN_UNDO_MB, MAX_UNDO_MB),
    }
    values: dict[str, Any] = {}
    for f in fields(Settings):
        value: Any = data.get(f.name)  # a JSON value, checked before use
        if f.name in data and checks[f.name](value):
            if f.name in ("brush_size", "eraser_size"):
                value = round(value)
            elif f.name in ("overlay_opacity", "alpha_opacity"):
                value = float(value)
            elif f.name == "recent_files":
                value = _first_paths(value, RECENT_FILES_LIMIT)
            values[f.name] = value
        else:
            values[f.name] = getattr(defaults, f.name)
    values["schema_version"] = SCHEMA_VERSION
    return Settings(**values)


def read_settings(path: str | PathLike[str] | None = None) -> tuple[Settings, str | None]:
    """(settings, note) from ``path`` (default :func:`settings_path`). note: None, or one line for the user when the
    file could not be read as settings and was renamed to ``settings.json.bad`` (defaults are used instead)."""
    file = Path(path) if path is not None else settings_path()
    try:
        with open_regular(file) as fh:
            data = json.loads(fh.read())  # bytes: UTF-8, UTF-16 or UTF-32, with or without a byte-order mark
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return Settings(), None
    except (OSError, ValueError, RecursionError):
        return Settings(), _set_aside(file)
    return _validated(_migrate(data)), None


def _set_aside(file: Path) -> str:
    """Rename an unreadable settings file to NAME.bad (replacing an older one); the note saying so."""
    bad = file.with_name(file.name + ".bad")
    try:
        os.replace(file, bad)
    except OSError as exc:
        return f"Settings file {file} could not be read ({write_failure_reason(exc)} to set it aside): using defaults."
    return f"Settings file {file} could not be read: kept as {bad.name}, using defaults."


def save_settings(settings: Settings, path: str | PathLike[str] | None = None) -> None:
    """Write ``settings`` as JSON to ``path`` (default :func:`settings_path`) atomically; creates the folder.

    Raises WriteError naming the file when it cannot be written; the previous file is then left untouched.
    """
    file = Path(path) if path is not None else settings_path()
    data = asdict(settings)
    data["schema_version"] = SCHEMA_VERSION
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"could not save {file}: {write_failure_reason(exc)}") from exc
    atomic_write(file, lambda temp: temp.write_text(text, encoding="utf-8"))


def add_recent_file(settings: Settings, path: str | PathLike[str], limit: int = RECENT_FILES_LIMIT) -> Settings:
    """Put ``path`` (made absolute) first in ``settings.recent_files``, removing an earlier entry for the same file
    and keeping at most ``limit`` entries. Changes ``settings`` in place and returns it."""
    entry = os.path.abspath(os.fspath(path))
    key = os.path.normcase(entry)
    rest = [p for p in settings.recent_files[:limit] if os.path.normcase(os.path.abspath(p)) != key]
    settings.recent_files = [entry, *rest][: max(0, limit)]
    return settings
