"""Uniform adapters around each kind of model: batches of float images in, raw prediction and alpha out.

The pipeline only talks to :class:`Inpainter`; value ranges, channel order and precision are handled here, once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.device import cpu_bf16_faster, describe_device, inference_dtype
from engine.prefill import prefill

if TYPE_CHECKING:  # a classical fill runs without PyTorch: the editor's default removal never waits for its import
    import torch

    from engine.model_spec import ClassicalSpec, ModelSpec, NetworkSpec


@dataclass
class Prediction:
    """Output of :meth:`Inpainter.predict` for N windows of H x W pixels.

    raw: float32 (N, H, W, 3) in [0, 1], RGB - the model's completion before composition.
    alpha: float32 (N, H, W, 3) in [0, 1] - DFNet's learned composition map, or None for models without one.
    base: float32 (N, H, W, 3) in [0, 1], RGB - what ``alpha`` blends ``raw`` over inside the hole (the classical
    pre-fill the network saw), or None: zeros, as in the papers.
    """

    raw: np.ndarray
    alpha: np.ndarray | None
    base: np.ndarray | None = None


class Inpainter:
    """A loaded model ready to fill holes. Subclasses implement :meth:`predict` and :attr:`device_name`.

    device: where it runs (a ``torch.device`` for networks; "cpu" for classical fills, which never import PyTorch).
    """

    def __init__(self, spec: ModelSpec, device: torch.device | str):
        self.spec = spec
        self.device = device

    @property
    def device_name(self) -> str:
        """Human-readable device, e.g. 'CPU: AMD EPYC (2 threads, avx512_bf16)'."""
        raise NotImplementedError

    def predict(self, images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None = None,
                progress: Callable[[float], None] | None = None,
                sizes: Sequence[tuple[int, int]] | None = None, excludes: np.ndarray | None = None) -> Prediction:
        """Fill ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) in [0, 1], RGB).

        H and W are multiples of a network's ``spec.size_multiple``; ``sizes`` gives each image's real (h, w) when
        the rest is reflect-padding (None = no padding); a classical pre-fill is made from the real pixels only.
        ``excludes`` (bool (N, H, W), True = never a source; None = none) is honoured by the classical fills and
        pre-fills (a network itself still sees the whole window). A slow model raises `engine.errors.JobCancelled`
        soon after ``cancel`` is set and reports ``progress(fraction of this call, 0..1)``; a fast one may do neither
        (the pipeline checks and reports between calls).
        """
        raise NotImplementedError


class ClassicalInpainter(Inpainter):
    """A classical fill (the spec's ``fill``); runs on the CPU whatever the device."""

    spec: ClassicalSpec

    def __init__(self, spec: ClassicalSpec):
        super().__init__(spec, "cpu")

    @property
    def device_name(self) -> str:
        return f"CPU ({self.spec.software})"

    def predict(self, images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None = None,
                progress: Callable[[float], None] | None = None,
                sizes: Sequence[tuple[int, int]] | None = None, excludes: np.ndarray | None = None) -> Prediction:
        return Prediction(raw=self.spec.fill(images, holes, cancel, progress, excludes), alpha=None)


PATCHMATCH_SHARE = 0.8
"""Share of a network's call that its PatchMatch pre-fill takes, for progress (measured on a 2-core CPU: 512 px
windows, PatchMatch 1-6 s against DFNet's 0.3-0.6 s)."""


class NetworkInpainter(Inpainter):
    """A generator (the spec's ``build``, run by its ``forward``) in eval mode on ``device`` (half precision and
    channels_last on GPUs). ``dtype`` None leaves the precision to the engine: `engine.device.inference_dtype`, and on
    the CPU bf16 autocast where the spec allows it (``cpu_bf16``) and the CPU runs it faster; a given ``dtype`` is
    used as it is (no autocast)."""

    spec: NetworkSpec
    device: torch.device

    def __init__(self, spec: NetworkSpec, network: torch.nn.Module, device: torch.device,
                 dtype: torch.dtype | None = None):
        import torch

        super().__init__(spec, device)
        self.cpu_autocast = dtype is None and device.type == "cpu" and spec.cpu_bf16 and cpu_bf16_faster()
        self.dtype = dtype or inference_dtype(device)
        channels_last = device.type == "cuda" or getattr(network, "channels_last_on_cpu", False)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        network = network.eval()
        fold = getattr(network, "fold_batchnorm", None)
        if fold is not None:
            network = fold()  # in float32, before any conversion to half precision
        # Module.to takes memory_format (documented) but PyTorch's annotations of its overloads leave it out
        self.network = network.to(  # type: ignore[call-overload]
            device=device, dtype=self.dtype, memory_format=self.memory_format)
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    @property
    def device_name(self) -> str:
        return describe_device(self.device)

    def predict(self, images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None = None,
                progress: Callable[[float], None] | None = None,
                sizes: Sequence[tuple[int, int]] | None = None, excludes: np.ndarray | None = None) -> Prediction:
        import torch

        with torch.inference_mode():
            return self._predict(images, holes, cancel, sizes, progress, excludes)

    def _predict(self, images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None,
                 sizes: Sequence[tuple[int, int]] | None, progress: Callable[[float], None] | None,
                 excludes: np.ndarray | None) -> Prediction:
        import torch

        lo, hi = self.spec.value_range
        image_t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        hole_t = torch.from_numpy(np.ascontiguousarray(holes)).unsqueeze(1)
        image_t = image_t.to(self.device, non_blocking=True).to(self.dtype)
        hole_t = hole_t.to(self.device, non_blocking=True).to(self.dtype)
        image_t = (image_t * (hi - lo) + lo).contiguous(memory_format=self.memory_format)
        hole_t = hole_t.contiguous(memory_format=self.memory_format)
        base = None
        fill_t = None
        if self.spec.input_fill is not None:
            share = PATCHMATCH_SHARE if self.spec.input_fill == "patchmatch" else 0.0
            within = None if progress is None else (lambda fraction: progress(share * fraction))
            base = prefill(images, holes, self.spec.input_fill, cancel, sizes, within, excludes)
            fill_t = torch.from_numpy(base).permute(0, 3, 1, 2).to(self.device).to(self.dtype)
            fill_t = (fill_t * (hi - lo) + lo).contiguous(memory_format=self.memory_format)
        # (an autocast context with enabled=False would switch off a caller's own autocast, so none is entered)
        with torch.autocast("cpu", dtype=torch.bfloat16) if self.cpu_autocast else contextlib.nullcontext():
            raw_t, alpha_t = self.spec.forward(self.network, image_t, hole_t, fill_t)
        raw_t = ((raw_t.float() - lo) / (hi - lo)).clamp_(0.0, 1.0)
        raw = raw_t.permute(0, 2, 3, 1).cpu().numpy()
        alpha = None
        if alpha_t is not None:
            alpha = alpha_t.float().clamp_(0.0, 1.0).permute(0, 2, 3, 1).cpu().numpy()
        return Prediction(raw=np.ascontiguousarray(raw), alpha=None if alpha is None else np.ascontiguousarray(alpha),
                          base=base)
