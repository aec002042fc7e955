"""Training checkpoints: atomic, versioned, loadable with ``torch.load(weights_only=True)``.

A checkpoint is a dict of tensors and plain containers (dict, list, tuple, str, int, float, bool, None):
``version``, ``arch``, ``step``, ``elapsed_s`` (wall seconds), ``cpu_s`` (process CPU seconds, all threads;
paused time not counted), ``config`` (TrainConfig as a dict), ``generator``, ``discriminator`` (None for DFNet),
``optim_g``, ``optim_d``, ``scaler``, ``rng`` (torch, cuda, numpy, python) and ``samplers`` (the photo and mask
samplers' state dicts). numpy arrays inside sampler states are stored as ``{"__ndarray__": tensor}`` and turned
back into arrays on loading.

Writing goes to a temporary file in the same folder, then ``os.replace`` - a crash never leaves a half-written
checkpoint behind the name. A ``checksum`` (sha256 over every value, tensors byte by byte) is written with it and
checked on loading, so a damaged file (a flipped bit in a tensor the zip reader does not notice) is refused, as is a
checkpoint holding NaN or infinite values.
"""

from __future__ import annotations

import errno
import hashlib
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import WriteError
from engine.files import atomic_write
from trainer.runs import CHECKPOINT_NAME, remove_stale_temp_files

CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or from an incompatible version; the message names the file."""


def to_plain(obj: Any) -> Any:
    """Recursively convert numpy arrays/scalars into types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj).copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_plain(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain` (``{"__ndarray__": t}`` back to a numpy array)."""
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:
            return obj["__ndarray__"].numpy().copy()
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(from_plain(v) for v in obj)
    return obj


def rng_state() -> dict:
    """Global random states (torch CPU, every CUDA device, numpy, Python) as plain data."""
    # legacy=True is the default; numpy's stubs type the call without it as returning the dict form
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple), "the global generator is MT19937, whose legacy state is a tuple"
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {
            "name": str(np_state[0]),
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.uint32).astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": int(py_version), "internal": list(py_internal), "gauss_next": py_gauss},
    }


def set_rng_state(state: dict) -> None:
    """Restore the states saved by :func:`rng_state` (CUDA states only when the device count matches)."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    np_state = state["numpy"]
    np.random.set_state((
        np_state["name"],
        np_state["keys"].numpy().astype(np.uint32),
        np_state["pos"],
        np_state["has_gauss"],
        np_state["cached_gaussian"],
    ))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))


def checksum(payload: dict) -> str:
    """sha256 (hex) of a plain checkpoint payload (:func:`to_plain` output), its ``checksum`` entry left out: keys,
    plain values by ``repr`` and tensors by dtype, shape and bytes, in order."""
    digest = hashlib.sha256()

    def walk(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            flat = obj.detach().cpu().contiguous().reshape(-1)
            digest.update(f"tensor {flat.dtype} {tuple(obj.shape)}".encode())
            # numpy's stubs give ndarray the buffer protocol (__buffer__) only for Python 3.12 and later
            digest.update(flat.view(torch.uint8).numpy())  # type: ignore[arg-type]
        elif isinstance(obj, dict):
            digest.update(b"{")
            for key, value in obj.items():
                if key != "checksum":
                    digest.update(repr(key).encode())
                    walk(value)
            digest.update(b"}")
        elif isinstance(obj, (list, tuple)):
            digest.update(b"[" if isinstance(obj, list) else b"(")
            for value in obj:
                walk(value)
            digest.update(b"]")
        else:
            digest.update(repr(obj).encode())

    walk(payload)
    return digest.hexdigest()


def _first_non_finite(obj: Any, where: str = "") -> str | None:
    """Dotted path of the first floating-point tensor holding NaN or infinity, or None."""
    if isinstance(obj, torch.Tensor):
        return where if obj.is_floating_point() and not bool(torch.isfinite(obj).all()) else None
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = _first_non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


_LOW_DISK_BYTES = 64 * 2**20
"""Free space below which a failed checkpoint write is reported as a full disk."""


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write ``state`` (see the module docstring) to ``path`` atomically; adds ``version``. Returns the path.

    Temporary files left in the folder by an earlier write that was killed (a checkpoint, the run's summary, a
    preview) are removed first (`trainer.runs.remove_stale_temp_files`; one run writes to a folder at a time). A
    failed write raises CheckpointError with one line (a full disk is named as such); the previous checkpoint is
    then untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent)
    payload = to_plain({**state, "version": CHECKPOINT_VERSION})
    payload["checksum"] = checksum(payload)
    try:
        atomic_write(path, lambda temp: torch.save(payload, temp))
    except (WriteError, RuntimeError) as exc:  # torch reports a short write as RuntimeError
        free = shutil.disk_usage(path.parent).free
        cause = exc.__cause__ if isinstance(exc, WriteError) else exc
        if getattr(cause, "errno", None) == errno.ENOSPC or free < _LOW_DISK_BYTES:
            reason = f"the disk is full ({free // 2**20} MB free)"
        else:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"could not write checkpoint {path}: {reason}") from exc
    return path


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder (its ``checkpoint.pt``). Raises CheckpointError when absent."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint safely (``weights_only=True``, CPU tensors) and check its version, its checksum (when it
    has one: checkpoints written before checksums are accepted) and that no tensor holds NaN or infinity."""
    path = resolve_checkpoint(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files and refused globals raise several types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "weights_only" in first.lower() or "weights only" in first.lower():
            # torch's text advises weights_only=False, which would run the file's code: never shown to users
            first = "it holds Python objects besides tensors (refused: loading them could run code)"
        raise CheckpointError(f"cannot read checkpoint {path}: {first}") from exc
    if not isinstance(state, dict) or "version" not in state:
        raise CheckpointError(f"{path} is not a FusionPaint training checkpoint")
    if state["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has version {state['version']}; this FusionPaint reads version {CHECKPOINT_VERSION}"
        )
    if "checksum" in state and state["checksum"] != checksum(state):
        raise CheckpointError(f"checkpoint {path} is damaged (its checksum does not match); resume from another")
    bad = _first_non_finite(state)
    if bad is not None:
        raise CheckpointError(f"checkpoint {path} holds NaN or infinite values (in {bad}): the run diverged or the "
                              "file is damaged; resume from another")
    state["samplers"] = from_plain(state.get("samplers") or {})
    return state
