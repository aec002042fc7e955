"""Reading and writing files safely: the one atomic writer of FusionPaint (photos, masks, weights, model cards,
checkpoints, settings, reports), and opening for reading only what is a regular file."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

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
    if error.errno == errno.ELOOP:
        return "a loop of symbolic links"
    return " ".join((error.strerror or str(error) or type(error).__name__).split())


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for reading in binary mode; OSError ("... is not a regular file") for a pipe, a device or a
    socket, which could block forever or never end. Checked on the opened file, so nothing can swap it meanwhile."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # so opening a pipe without a writer does not wait for one (POSIX)
    fd = os.open(path, os.O_RDONLY | nonblocking)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{os.fspath(path)} is not a regular file")
        if nonblocking:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def writable_target(path: str | os.PathLike[str]) -> Path:
    """The file that saving to ``path`` creates or replaces: ``path``, or the target of a symbolic link there.
    WriteError unless it is a regular file this user may write, or missing in a folder that exists and this user
    may write: a folder (or a name ending in a separator, which names one), a device, a pipe, a socket, a loop of
    links or a read-only file is never replaced."""
    p = Path(path)
    if os.fspath(path).endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise WriteError(f"could not save {os.fspath(path)}: a name ending in {os.sep} names a folder")
    try:
        target = Path(os.path.realpath(p)) if p.is_symlink() else p
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        folder = target.parent
        if not folder.is_dir():
            raise WriteError(f"could not save {p}: the folder does not exist") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise WriteError(f"could not save {p}: the folder is read-only") from None
        return target
    except OSError as e:  # a loop of links, a folder on the way that may not be searched, ...
        raise WriteError(f"could not save {p}: {write_failure_reason(e)}") from e
    if stat.S_ISDIR(mode):
        raise WriteError(f"could not save {p}: it is a folder")
    if not stat.S_ISREG(mode):
        raise WriteError(f"could not save {p}: it is not a regular file (a device, a pipe or a socket)")
    if not mode & 0o222 or not os.access(target, os.W_OK):
        raise WriteError(f"could not save {p}: the file is read-only")
    return target


_NAME_MAX = 255
"""Longest file name most file systems hold, in bytes."""
_TEMP_PREFIX_MAX = _NAME_MAX - len("..") - 8 - len(".tmp")
"""Bytes of the target's name a temporary name ``.NAME.XXXXXXXX.tmp`` holds (mkstemp adds 8 characters)."""


def _temp_prefix(name: str) -> str:
    """``.NAME.`` with NAME cut to `_TEMP_PREFIX_MAX` bytes (whole characters), so the temporary name fits."""
    return "." + os.fsencode(name)[:_TEMP_PREFIX_MAX].decode(sys.getfilesystemencoding(), "ignore") + "."


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Create or replace ``path`` atomically; returns it. ``write(temp_path)`` fills a temporary file in the same
    folder (what it returns is ignored), which is flushed to disk and then renamed onto ``path`` (``os.replace``).

    On any error, an interruption included, the temporary file is removed and an existing ``path`` is left
    untouched; an OSError (disk full, permission denied, missing folder, ...) is raised as
    WriteError("could not save PATH: reason"); other exceptions pass through. A symbolic link at ``path`` is
    followed, so its target is replaced; what is not a regular file is refused first (`writable_target`). The new
    file gets the permissions of the file it replaces, or the usual ones for a new file.
    """
    p = Path(path)
    target = writable_target(path)
    temp: Path | None = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".tmp", dir=target.parent)
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
