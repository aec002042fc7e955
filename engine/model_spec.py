"""What the engine and the editor know about one model (:class:`ModelSpec`), and the table of built-in models.

Each file in ``engine/models/`` describes its models and calls :func:`register_model` when imported;
`engine.registry` imports them all, adds the user's fine-tuned models and loads them. A model under construction
(or a test's throwaway network) is registered for a ``with`` block by :func:`temporarily_registered`. This module
imports neither PyTorch nor any model, so listing the models costs the editor's start-up nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

    from engine.model_card import ModelCard

FEATHERED_ALPHA = "feathered hole mask (not learned): 1 inside the hole, fading to 0 across a narrow band outside"
"""What the composition map means for a model without a learned alpha and with a seam band (the default meaning)."""

HARD_ALPHA = "hole mask (not learned): 1 inside the hole, 0 outside"
"""What the composition map means for a model without a learned alpha whose seam band is 0 (the default meaning)."""

#: Default width of the seam band, pixels: how far outside the hole the fill is blended into the photo.
SEAM_BAND_PX = 8

#: Windows a model is given per call by default (bounds memory when a photo has many separate holes).
DEFAULT_MAX_BATCH = 8

NetworkForward = Callable[
    ["torch.nn.Module", "torch.Tensor", "torch.Tensor", "torch.Tensor | None"],
    tuple["torch.Tensor", "torch.Tensor | None"],
]
"""forward(network, image, hole, fill) -> (raw, alpha): NCHW tensors; image, fill and raw in the spec's value range
(RGB), hole (N, 1, H, W) with 1 = hole, fill the classical pre-fill or None, alpha (N, 3, H, W) in [0, 1] or None."""

ClassicalFill = Callable[..., "np.ndarray"]
"""fill(images, holes, cancel, progress, excludes=None) -> filled: float32 (N, H, W, 3) RGB in [0, 1] and bool
(N, H, W) (True = hole) in, float32 (N, H, W, 3) RGB in [0, 1] out, pixels outside the holes unchanged. ``excludes``:
bool (N, H, W), True = a pixel the fill must never take colours from (the sampling area's excluded part), or None.
A fill that takes more than a fraction of a second raises `engine.errors.JobCancelled` soon after ``cancel`` (None:
never) is set, and calls ``progress(fraction of this call done, 0..1)`` (None: nobody listens) as it goes."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything the engine, the trainer and the editor need to know about one model.

    A network has ``build`` and ``forward`` (and weights); a classical fill has ``fill``.
    value_range: the pixel range a network expects, e.g. (0, 1) or (-1, 1); inputs are RGB.
    size_multiple: each input side must be a multiple of this many pixels (inputs are reflect-padded).
    native_size: longer side, in pixels, a context window is downscaled to before the model sees it.
    input_fill: None (the paper: the hole is zeroed) or a classical fill ("telea", see
    `engine.models.opencv.CLASSICAL_METHODS`) that pre-fills the hole before the network, for weights trained so.
    working_bytes_per_pixel: memory one inference takes per input pixel (activations; measured on the CPU in
    float32 at the native size, batch 1 and 8, rounded up), for the memory check before a removal.
    rank: order in the model list; the usable built-in model with the lowest rank is the default. Set from the
    measured validation table (docs/models.md), so that the default is the best fill a user has.
    max_batch: most context windows per call (1: progress and cancelling between windows for slow fills).
    cpu_bf16: run the network under bf16 autocast on CPUs where bf16 is native and faster
    (`engine.device.cpu_bf16_faster`); set only for weights whose bf16 error was measured invisible
    (``bench/bench_engine.py``, docs/benchmarks.md).
    software: what a classical fill runs on, shown as its device, e.g. "OpenCV".
    seam_band_px: pixels outside the hole across which the fill fades into the photo (`engine.pipeline`); 0 = hard
    composite, for networks whose output outside the hole is never trained (blending it in would add its errors).
    alpha_meaning: what the composition map shows; a learned alpha names its own, otherwise it follows the seam band
    (`FEATHERED_ALPHA` or `HARD_ALPHA`).
    """

    name: str
    title: str
    arch: str
    license: str
    training_data: str
    paper: str = ""
    value_range: tuple[float, float] = (0.0, 1.0)
    size_multiple: int = 1
    native_size: int = 512
    alpha_learned: bool = False
    alpha_meaning: str = ""
    weights_file: Path | None = None
    sha256: str | None = None
    input_fill: str | None = None
    working_bytes_per_pixel: int = 0
    rank: int = 100
    max_batch: int = DEFAULT_MAX_BATCH
    cpu_bf16: bool = False
    software: str = ""
    seam_band_px: int = SEAM_BAND_PX
    build: Callable[[], torch.nn.Module] | None = field(default=None, compare=False, repr=False)
    forward: NetworkForward | None = field(default=None, compare=False, repr=False)
    fill: ClassicalFill | None = field(default=None, compare=False, repr=False)
    card: ModelCard | None = field(default=None, compare=False)

    def __post_init__(self):
        if (self.build is None) != (self.forward is None) or (self.build is None) == (self.fill is None):
            raise ValueError(f"model '{self.name}': give either build and forward (a network) or fill (classical)")
        if not self.alpha_meaning:  # a composition map that is not learned is the seam band's mask
            object.__setattr__(self, "alpha_meaning", HARD_ALPHA if self.seam_band_px == 0 else FEATHERED_ALPHA)

    @property
    def kind(self) -> str:
        """"network" (trainable, needs weights) or "classical" (no learning)."""
        return "network" if self.build is not None else "classical"

    @property
    def has_weights(self) -> bool:
        """True when the model can run: classical fills always, networks when their weights file exists."""
        return self.kind == "classical" or (self.weights_file is not None and self.weights_file.is_file())

    @property
    def status(self) -> str:
        """"built-in" (classical), "trained", "fine-tuned" or "no weights"."""
        if self.kind == "classical":
            return "built-in"
        if not self.has_weights:
            return "no weights"
        return "fine-tuned" if self.card is not None else "trained"


_BUILTIN: dict[str, ModelSpec] = {}
"""The built-in models by name, kept in rank order (best first, ties by name); `engine.registry` reads it live."""


def _keep_ranked() -> None:
    ranked = sorted(_BUILTIN.values(), key=lambda spec: (spec.rank, spec.name))
    _BUILTIN.clear()
    _BUILTIN.update((spec.name, spec) for spec in ranked)


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a built-in model (called by the files in ``engine/models/``); names are unique."""
    if spec.name in _BUILTIN:
        raise ValueError(f"model '{spec.name}' is already registered")
    _BUILTIN[spec.name] = spec
    _keep_ranked()
    return spec


@contextlib.contextmanager
def temporarily_registered(*specs: ModelSpec) -> Iterator[None]:
    """Within the ``with`` block, ``specs`` are built-in models, for everything that lists or loads models (the
    registry, the trainer, the benchmarks): a new name is added, a registered one's spec is replaced meanwhile (e.g.
    a network as it looks without its weights). Afterwards the table is as before. For tests and for trying a model
    under construction; a model that ships registers with :func:`register_model` in its own file."""
    saved = dict(_BUILTIN)
    try:
        for spec in specs:
            _BUILTIN[spec.name] = spec
        _keep_ranked()
        yield
    finally:
        _BUILTIN.clear()
        _BUILTIN.update(saved)


def registered_specs() -> list[ModelSpec]:
    """The registered built-in models, best rank first (ties by name)."""
    return list(_BUILTIN.values())
