"""What the engine and the editor know about one model (:class:`NetworkSpec` or :class:`ClassicalSpec`, both a
:class:`ModelSpec`), and the table of built-in models.

Each file in ``engine/models/`` describes its models and calls :func:`register_model` when imported;
`engine.registry` imports them all, adds the user's fine-tuned models and loads them. A model under construction
(or a test's throwaway network) is registered for a ``with`` block by :func:`temporarily_registered`. This module
imports neither PyTorch nor any model, so listing the models costs the editor's start-up nothing.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
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


@dataclass(frozen=True, kw_only=True)
class ModelSpec(ABC):
    """What the engine, the trainer and the editor need to know about any model: a :class:`NetworkSpec` (trainable,
    runs on weights) or a :class:`ClassicalSpec` (a fill without learning). Never made itself.

    native_size: longer side, in pixels, a context window is downscaled to before the model sees it.
    working_bytes_per_pixel: memory one inference takes per input pixel (a network's activations, measured on the
    CPU in float32 at the native size, batch 1 and 8, rounded up; 0 for the classical fills), for the memory check
    before a removal.
    rank: order in the model list; the usable built-in model with the lowest rank is the default. Set from the
    measured validation table (docs/models.md), so that the default is the best fill a user has.
    max_batch: most context windows per call (1: progress and cancelling between windows for slow fills).
    seam_band_px: pixels outside the hole across which the fill fades into the photo (`engine.pipeline`); 0 = hard
    composite, for networks whose output outside the hole is never trained (blending it in would add its errors).
    alpha_meaning: what the composition map shows, worded "short name: what its values mean" (the editor labels the
    map with the short name); a learned alpha names its own, otherwise it follows the seam band (`FEATHERED_ALPHA`
    or `HARD_ALPHA`, see :func:`composition_meaning`).
    """

    name: str
    title: str
    license: str
    training_data: str
    paper: str = ""
    native_size: int = 512
    alpha_meaning: str = ""
    working_bytes_per_pixel: int = 0
    rank: int = 100
    max_batch: int = DEFAULT_MAX_BATCH
    seam_band_px: int = SEAM_BAND_PX

    def __post_init__(self) -> None:
        if not self.alpha_meaning:  # a composition map that is not learned is the seam band's mask
            object.__setattr__(self, "alpha_meaning", composition_meaning(self, self.seam_band_px))

    @property
    @abstractmethod
    def has_weights(self) -> bool:
        """True when the model can run: classical fills always, networks when their weights file exists."""

    @property
    @abstractmethod
    def status(self) -> str:
        """"built-in" (classical), "trained", "fine-tuned" or "no weights"."""


@dataclass(frozen=True, kw_only=True)
class NetworkSpec(ModelSpec):
    """A network: ``build()`` makes its generator (random weights, float32, CPU), ``forward`` runs it.

    arch: the architecture's name, shared by the built-in network and its fine-tuned models (the trainer's recipe).
    value_range: the pixel range the network expects, e.g. (0, 1) or (-1, 1); inputs are RGB.
    size_multiple: each input side must be a multiple of this many pixels (inputs are reflect-padded).
    alpha_learned: the network outputs its own composition map (``alpha_meaning`` then says what it means).
    weights_file, sha256: the weights it runs on and their SHA-256 (None: not checked); a network without a weights
    file (one under construction) is listed as "no weights".
    input_fill: None (the paper: the hole is zeroed) or a classical fill ("telea", see `engine.prefill.INPUT_FILLS`)
    that pre-fills the hole before the network, for weights trained so.
    cpu_bf16: run the network under bf16 autocast on CPUs where bf16 is native and faster
    (`engine.device.cpu_bf16_faster`); set only for weights whose bf16 error was measured invisible
    (``bench/bench_engine.py``, docs/benchmarks.md).
    card: the model card of a fine-tuned model (None for the built-in networks).
    """

    arch: str
    build: Callable[[], torch.nn.Module] = field(compare=False, repr=False)
    forward: NetworkForward = field(compare=False, repr=False)
    value_range: tuple[float, float] = (0.0, 1.0)
    size_multiple: int = 1
    alpha_learned: bool = False
    weights_file: Path | None = None
    sha256: str | None = None
    input_fill: str | None = None
    cpu_bf16: bool = False
    card: ModelCard | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.alpha_learned and not self.alpha_meaning:
            raise ValueError(f"model '{self.name}': a learned alpha needs its alpha_meaning")
        super().__post_init__()

    @property
    def has_weights(self) -> bool:
        """True when the weights file exists."""
        return self.weights_file is not None and self.weights_file.is_file()

    @property
    def status(self) -> str:
        """"trained", "fine-tuned" (a model card beside the weights) or "no weights"."""
        if not self.has_weights:
            return "no weights"
        return "fine-tuned" if self.card is not None else "trained"


@dataclass(frozen=True, kw_only=True)
class ClassicalSpec(ModelSpec):
    """A classical fill: no learning, no weights, no PyTorch; always available.

    fill: the fill itself (see `ClassicalFill`). software: what it runs on, shown as its device, e.g. "OpenCV".
    """

    fill: ClassicalFill = field(compare=False, repr=False)
    software: str

    @property
    def has_weights(self) -> bool:
        """Always True: a classical fill needs no weights."""
        return True

    @property
    def status(self) -> str:
        """Always "built-in"."""
        return "built-in"


def short_title(title: str) -> str:
    """A model's title without its parenthesis, for labels and messages: "DFNet (Deep Fusion Network)" -> "DFNet"."""
    return title.split(" (")[0]


def composition_meaning(spec: ModelSpec, band_px: int) -> str:
    """What the composition map of a removal by ``spec`` with a seam band of ``band_px`` pixels (>= 0) means: a
    learned alpha's own ``alpha_meaning``, else the hole mask, hard (`HARD_ALPHA`, band 0) or feathered
    (`FEATHERED_ALPHA`)."""
    if isinstance(spec, NetworkSpec) and spec.alpha_learned:
        return spec.alpha_meaning
    return HARD_ALPHA if band_px == 0 else FEATHERED_ALPHA


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
