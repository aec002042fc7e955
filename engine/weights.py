"""Safe loading and saving of generator weights.

Weights are read only from safetensors files or with ``torch.load(..., weights_only=True)``; there is no fallback to
unsafe unpickling. Every error names the file.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError

from engine.errors import WeightsError
from engine.files import atomic_write, open_regular

if TYPE_CHECKING:  # PyTorch is imported when weights are first read or written, not when the editor starts
    import torch

FORMAT_VERSION = "1"
# Learned weights of the shipped networks stay below about 2.1 (BatchNorm's running variance, a statistic, reaches
# about 3,000); a parameter beyond this bound is a broken or hostile file.
MAX_PARAMETER_MAGNITUDE = 1000.0


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_weights(path: str | Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` (preferred) or a ``.pt``/``.pth`` file (weights only).

    Raises WeightsError when the file is missing, truncated, not a tensor dict or fails the sha256 check.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise WeightsError(
                f"weights file {path} failed its sha256 check (expected {expected_sha256[:12]}..., "
                f"got {actual[:12]}...): it is damaged or not the file FusionPaint expects"
            )
    import torch
    from safetensors.torch import load_file

    state: object
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path), device="cpu")
        else:
            with warnings.catch_warnings():  # torch warns about pickle protocols above 2 in two lines of its own
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(state, Mapping) and "state_dict" in state:
                state = state["state_dict"]
    except (SafetensorError, OSError, RuntimeError, EOFError, ValueError, TypeError) as exc:
        raise WeightsError(f"cannot read weights file {path}: {_first_line(exc)}") from exc
    except Exception as exc:  # unpickling errors from weights_only=True have several types
        # torch's own text advises weights_only=False, which would run the file's code: never shown to users
        raise WeightsError(
            f"weights file {path} refused as an unsafe pickle: it holds Python objects besides tensors, and loading "
            "it could run code from it (FusionPaint accepts .safetensors files and weights-only torch files)"
        ) from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weights file {path} does not hold a dictionary of tensors")
    return dict(state)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header ({} for other files or none)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return {}
    return dict(_read_header(path).get("__metadata__") or {})


def tensor_names(path: str | Path) -> set[str]:
    """Names of the tensors in a weights file: from the header alone for ``.safetensors`` (no tensor is read),
    by loading a ``.pt``/``.pth`` file (weights only). WeightsError as :func:`load_weights`."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return set(load_weights(path))
    return set(_read_header(path)) - {"__metadata__"}


def _read_header(path: Path) -> dict:
    """The JSON header of a safetensors file, its ``__metadata__`` checked to map text to text."""
    try:
        with open_regular(path) as fh:  # a pipe named *.safetensors in the models folder must not block the scan
            header_len = int.from_bytes(fh.read(8), "little")
            if header_len <= 0 or header_len > 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(fh.read(header_len))
    except (OSError, ValueError, RecursionError) as exc:
        raise WeightsError(f"cannot read weights file {path}: {_first_line(exc)}") from exc
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if metadata is None:
        metadata = {}
    if not isinstance(header, dict) or not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise WeightsError(f"weights file {path} has a malformed header (its metadata must map text to text)")
    return header


def read_arch(path: str | Path) -> str | None:
    """Architecture name ("dfnet", "dmfn") recorded in a safetensors file, or None."""
    return read_metadata(path).get("arch")


def save_weights(
    path: str | Path,
    state_dict: Mapping[str, torch.Tensor],
    *,
    arch: str,
    metadata: Mapping[str, str] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a state dict as safetensors with ``{"arch": arch, "format": ...}`` metadata, atomically.

    ``dtype`` converts floating-point tensors (e.g. ``torch.float16`` for shipping); integer buffers are kept.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    meta = {"arch": arch, "format": f"fusionpaint-{FORMAT_VERSION}", **dict(metadata or {})}
    return atomic_write(path, lambda temp: save_file(tensors, str(temp), metadata={k: str(v) for k, v in meta.items()}))


def load_into(module: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | Path, arch: str) -> None:
    """Load ``state`` into ``module`` strictly; a key or shape mismatch, a NaN or infinite value (which would
    fill holes with black) or a learned value beyond MAX_PARAMETER_MAGNITUDE (which would fill them solid white)
    raises WeightsError naming the file and the architecture."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        details = []
        if missing:
            details.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            details.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong_shape:
            details.append(f"{len(wrong_shape)} of the wrong shape (e.g. {wrong_shape[0]})")
        raise WeightsError(f"weights file {path} does not fit the {arch} architecture: " + ", ".join(details))
    import torch

    not_finite = sorted(k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if not_finite:
        raise WeightsError(f"weights file {path} is damaged: {len(not_finite)} tensor(s) hold NaN or infinite "
                           f"values, e.g. {not_finite[0]}")
    parameters = dict(module.named_parameters())  # BatchNorm's running statistics may legitimately be large
    absurd = sorted(k for k in parameters if state[k].numel() and float(state[k].abs().max()) > MAX_PARAMETER_MAGNITUDE)
    if absurd:
        largest = max(float(state[k].abs().max()) for k in absurd)
        raise WeightsError(f"weights file {path} is not a usable {arch} model: {len(absurd)} tensor(s) hold values up "
                           f"to {largest:.3g}, far beyond trained weights (under {MAX_PARAMETER_MAGNITUDE:g}), "
                           f"e.g. {absurd[0]}")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
