"""Choosing the compute device and the precision that goes with it."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import FusionPaintError

if TYPE_CHECKING:  # PyTorch is imported when a device is first resolved, not when the editor starts
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit device that is absent is an error."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise FusionPaintError("device 'cuda' was requested but no CUDA GPU is available (use --device cpu)")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise FusionPaintError("device 'mps' was requested but Apple MPS is not available (use --device cpu)")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise FusionPaintError(f"unknown device '{name}' (choose from {', '.join(DEVICE_CHOICES)})")


def cuda_absence() -> str | None:
    """Why no CUDA GPU can be used here, known without importing PyTorch (over a second), or None when one may be:
    a CPU-only PyTorch build, or (Linux) no NVIDIA driver. When PyTorch is already imported, it is asked."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return None if torch.cuda.is_available() else "no CUDA GPU is available"
    from importlib import metadata

    try:
        version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "PyTorch is not installed"
    if "+cpu" in version:
        return "this PyTorch build has no GPU support (CPU only)"
    if sys.platform.startswith("linux") and not Path("/proc/driver/nvidia/version").exists():
        return "no NVIDIA GPU driver is installed"
    return None


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on GPUs; float32 weights on the CPU (a model whose spec allows it then runs under bf16
    autocast where `cpu_bf16_faster`; see `engine.inpainter.NetworkInpainter`)."""
    import torch

    return torch.float16 if device.type in ("cuda", "mps") else torch.float32


CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
"""CPU feature flags (Linux /proc/cpuinfo names) of native bfloat16 matrix instructions, fastest first."""


@functools.cache
def _cpu_info() -> tuple[str, frozenset[str]]:
    """(model name, feature flags) of the first CPU in /proc/cpuinfo; ("", {}) where there is none (not Linux)."""
    try:
        return parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return "", frozenset()


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, feature flags) of the first processor listed in a /proc/cpuinfo text."""
    name = ""
    flags: frozenset[str] = frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return name, flags


def cpu_bf16_feature() -> str | None:
    """The CPU's native bfloat16 instruction set ("amx_bf16" or "avx512_bf16"), or None (bf16 is then emulated
    and slower than float32)."""
    flags = _cpu_info()[1]
    return next((flag for flag in CPU_BF16_FLAGS if flag in flags), None)


def cpu_bf16_faster() -> bool:
    """Whether bf16 autocast runs faster than float32 on this CPU, as measured with bench/bench_train.py (DFNet,
    batch 8, 2 threads): yes with AMX (1.4x) and on AMD's AVX512-BF16 (2.0x); no on an Intel CPU with AVX512-BF16
    but no AMX (0.90x: its float32 units are as fast) nor without native bf16 (0.3x, emulated). Inference agrees
    on AMD's AVX512-BF16 (bench/bench_engine.py, DFNet 512 px: 219 against 329 ms)."""
    feature = cpu_bf16_feature()
    return feature == "amx_bf16" or (feature == "avx512_bf16" and "AMD" in _cpu_info()[0])


def describe_device(device: torch.device) -> str:
    """Human-readable device name for the status bar and the CLI, e.g. 'CUDA: NVIDIA H100' or
    'CPU: AMD EPYC (2 threads, avx512_bf16)'."""
    import torch

    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    name = _cpu_info()[0]
    details = ", ".join(filter(None, (f"{torch.get_num_threads()} threads", cpu_bf16_feature())))
    return f"CPU{': ' + name if name else ''} ({details})"
