"""Writing files safely: the one atomic writer of FusionPaint (photos, masks, weights, model cards, checkpoints,
settings, reports)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import WriteError


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def write_failure_reason(error: OSError) -> str:
    """A short reason a user can act on: "disk full", "permission denied", ..."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if error.errno in (errno.EACCES, errno.EPERM) or isinstance(error, PermissionError):
        return "permission denied"
    if error.errno == errno.ENOENT:
        return "the folder does not exist"
    if error.errno == errno.EROFS:
        return "read-only file system"
    return " ".join((error.strerror or str(error) or type(error).__name__).split())


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Create or replace ``path`` atomically; returns it. ``write(temp_path)`` fills a temporary file in the same
    folder, which is flushed to disk and then renamed onto ``path`` (``os.replace``).

    On any error, an interruption included, the temporary file is removed and an existing ``path`` is left
    untouched; an OSError (disk full, permission denied, missing folder, ...) is raised as
    WriteError("could not save PATH: reason"); other exceptions pass through. A symbolic link at ``path`` is
    followed, so its target is replaced. The new file gets the permissions of the file it replaces, or the usual
    ones for a new file.
    """
    p = Path(path)
    target = Path(os.path.realpath(p)) if p.is_symlink() else p
    if target.is_dir():
        raise WriteError(f"could not save {p}: it is a folder")
    temp: Path | None = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        temp = Path(temp_name)
        write(temp)
        fd = os.open(temp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, target)
        temp = None
    except OSError as e:
        raise WriteError(f"could not save {p}: {write_failure_reason(e)}") from e
    finally:
        if temp is not None:
            try:
                temp.unlink()
            except OSError:
                pass
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX); best effort
        try:
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    return p
