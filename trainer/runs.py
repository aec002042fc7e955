"""The user's training runs: one folder each under the runs folder (checkpoint, previews, summary), listed with the
disk each uses, renamed and deleted.

A run folder holds ``checkpoint.pt`` (to resume), ``previews/`` and ``run.json``, a small summary written with every
checkpoint: {"arch", "step", "data", "saved"} (saved: seconds since the epoch). Runs written before the summary
existed are listed without network and step.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.files import atomic_write, open_regular
from trainer.errors import NAME_RE, ConfigError

CHECKPOINT_NAME = "checkpoint.pt"
"""File name of the latest checkpoint inside a run folder."""
SUMMARY_NAME = "run.json"


@dataclass(frozen=True)
class RunInfo:
    """One run folder. bytes: disk used by everything in it; saved: time of the last checkpoint (seconds since the
    epoch), or of the folder's last change without one; arch / step / data: from its summary, or None."""

    name: str
    path: Path
    bytes: int
    saved: float
    resumable: bool
    arch: str | None = None
    step: int | None = None
    data: str | None = None


def write_summary(run_dir: Path, *, arch: str, step: int, data: str, saved: float) -> None:
    """Write ``run.json`` atomically."""
    text = json.dumps({"arch": arch, "step": step, "data": data, "saved": saved})
    atomic_write(run_dir / SUMMARY_NAME, lambda temp: temp.write_text(text, encoding="utf-8"))


TEMP_FILE_PATTERNS = (f".{CHECKPOINT_NAME}.*.tmp", f".{SUMMARY_NAME}.*.tmp", "previews/.*.tmp")
"""Temporary files of writes a killed run left in its folder (engine.files.atomic_write's names)."""


def remove_stale_temp_files(run_dir: Path) -> int:
    """Delete the temporary files a killed run left in ``run_dir`` (one run writes to a folder at a time); returns
    the bytes freed."""
    freed = 0
    for pattern in TEMP_FILE_PATTERNS:
        for stale in Path(run_dir).glob(pattern):
            try:
                size = stale.lstat().st_size
                stale.unlink()
            except OSError:
                continue
            freed += size
    return freed


def folder_bytes(folder: Path) -> int:
    """Bytes used by the files under ``folder`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _read_summary(folder: Path) -> dict:
    """The run's summary, {} when it is missing or unreadable (not JSON, nested too deeply, a pipe, ...)."""
    try:
        with open_regular(folder / SUMMARY_NAME) as fh:
            summary = json.loads(fh.read())
    except (OSError, ValueError, RecursionError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _number(value: object) -> float | None:
    """``value`` when it is a finite number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def run_info(folder: Path) -> RunInfo:
    """What :func:`list_runs` shows of one run folder."""
    summary = _read_summary(folder)
    checkpoint = folder / CHECKPOINT_NAME
    resumable = checkpoint.is_file()
    saved = checkpoint.stat().st_mtime if resumable else folder.stat().st_mtime
    step = summary.get("step")
    return RunInfo(
        name=folder.name, path=folder, bytes=folder_bytes(folder), saved=_number(summary.get("saved")) or saved,
        resumable=resumable, arch=summary.get("arch") if isinstance(summary.get("arch"), str) else None,
        step=step if isinstance(step, int) and not isinstance(step, bool) else None,
        data=summary.get("data") if isinstance(summary.get("data"), str) else None,
    )


def list_runs(root: Path) -> list[RunInfo]:
    """Every run folder directly under ``root`` (symbolic links skipped), newest first."""
    if not root.is_dir():
        return []
    runs = [run_info(p) for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(runs, key=lambda run: run.saved, reverse=True)


def _run_folder(root: Path, name: str) -> Path:
    folder = root / name
    if not NAME_RE.fullmatch(name) or folder.is_symlink() or not folder.is_dir():
        raise ConfigError(f"no run named {name!r} in {root}")
    return folder


def rename_run(root: Path, name: str, new_name: str) -> Path:
    """Rename run ``name`` to ``new_name`` (a valid model name not taken by another run); returns the new folder.
    A resumed run keeps the new name, also for the model it exports."""
    folder = _run_folder(root, name)
    if not NAME_RE.fullmatch(new_name):
        raise ConfigError(f"{new_name!r} is not a valid name (letters, digits, '.', '_' and '-'; up to 80)")
    target = root / new_name
    if target.exists():
        raise ConfigError(f"a run named {new_name!r} exists already")
    folder.rename(target)
    return target


def delete_run(root: Path, name: str) -> int:
    """Delete run ``name`` and everything in it (checkpoint, previews); returns the bytes freed. Exported models
    (in the models folder) are not touched."""
    folder = _run_folder(root, name)
    freed = folder_bytes(folder)
    shutil.rmtree(folder)
    return freed
