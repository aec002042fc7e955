"""The numeric precision of a training run: which autocast dtype it trains in (`resolve_amp_dtype`), the autocast
context of a step, the gradient scaler float16 needs, and CUDA's fast matmul settings.

On CUDA: autocast with bfloat16 where supported, else float16 with a gradient scaler, and TF32 matmuls and
convolutions. On the CPU: bfloat16 autocast where the CPU has native bf16 instructions, else float32.
"""

from __future__ import annotations

import contextlib

import torch

from engine.device import cpu_bf16_faster


def resolve_amp_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for a `trainer.config.PRECISIONS` setting on ``device``; None = float32.

    "auto": bf16 on CUDA where supported, else fp16; on the CPU bf16 where it trains faster than float32
    (`engine.device.cpu_bf16_faster`), else float32.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_bf16_faster():
        return torch.bfloat16
    return None


def enable_fast_cuda_math() -> None:
    """cuDNN's autotuner and TF32 matmuls and convolutions, for the whole process (CUDA runs)."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def autocast_context(amp_dtype: torch.dtype | None, device_type: str) -> contextlib.AbstractContextManager:
    """Autocast to ``amp_dtype`` on ``device_type`` ("cuda", "cpu"); no autocast (float32) when it is None."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=amp_dtype)


def grad_scaler(amp_dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """The run's gradient scaler: it scales only under float16 autocast; otherwise (bfloat16, float32) it is disabled
    and passes losses and optimiser steps through unchanged."""
    return torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """"bfloat16", "float16" or "float32" (no autocast): the precision as a model card names it."""
    return str(amp_dtype).replace("torch.", "") if amp_dtype else "float32"
