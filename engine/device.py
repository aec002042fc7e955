"""Choosing the compute device and the precision that goes with it."""

import torch

from engine.errors import FusionPaintError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit device that is absent is an error."""
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


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on GPUs; float32 on the CPU.

    bf16 autocast halves CPU latency, but its error with trained weights has not been measured yet, so the CPU path
    stays in float32 (see README, benchmarks).
    """
    return torch.float16 if device.type in ("cuda", "mps") else torch.float32


def describe_device(device: torch.device) -> str:
    """Human-readable device name for the status bar and the CLI, e.g. 'CUDA: NVIDIA H100' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
