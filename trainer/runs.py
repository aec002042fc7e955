"""The user's training runs: one folder each under the runs folder (checkpoint, previews, summary), listed with the
disk each uses, renamed and deleted.

A run folder holds ``checkpoint.pt`` (to resume), ``previews/`` and ``run.json``, a small summary written with every
checkpoint: {"arch", "step", "data", "saved"} (saved: seconds since the epoch). Runs written before the summary
existed are listed without network and step.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.files import atomic_write
from trainer.config import NAME_RE, ConfigError

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


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _read_summary(folder: Path) -> dict:
    try:
        summary = json.loads((folder / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def run_info(folder: Path) -> RunInfo:
    """What :func:`list_runs` shows of one run folder."""
    summary = _read_summary(folder)
    checkpoint = folder / CHECKPOINT_NAME
    resumable = checkpoint.is_file()
    saved = checkpoint.stat().st_mtime if resumable else folder.stat().st_mtime
    step = summary.get("step")
    return RunInfo(
        name=folder.name, path=folder, bytes=_folder_bytes(folder), saved=float(summary.get("saved") or saved),
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
    if not NAME_RE.match(name) or folder.is_symlink() or not folder.is_dir():
        raise ConfigError(f"no run named {name!r} in {root}")
    return folder


def rename_run(root: Path, name: str, new_name: str) -> Path:
    """Rename run ``name`` to ``new_name`` (a valid model name not taken by another run); returns the new folder.
    A resumed run keeps the new name, also for the model it exports."""
    folder = _run_folder(root, name)
    if not NAME_RE.match(new_name):
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
    freed = _folder_bytes(folder)
    shutil.rmtree(folder)
    return freed
