"""How each architecture is trained, one module per network (``trainer/arches/ARCH.py`` defines ``RECIPE``): optimiser
settings, batch and size rules, losses and auxiliary networks, and one optimisation step. `trainer.loop` keeps only
the loop, and asks :func:`recipe_for` for the rest."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn

    from trainer.config import TrainConfig
    from trainer.loop import Trainer


class Recipe:
    """The training knowledge of one architecture. Subclasses set the class attributes and implement the methods.

    adam_betas, base_lr: the Adam settings of the official configuration (for every optimiser of the run).
    vgg_layers: the VGG19 layers the losses read. input_fills: the hole pre-fills the network can be trained with
    ("zeros" = the paper's input).
    """

    arch: str
    adam_betas: tuple[float, float]
    base_lr: float
    vgg_layers: tuple[str, ...]
    input_fills: tuple[str, ...] = ("zeros",)

    def default_batch(self, device_type: str, size: int) -> int:
        """Batch size when ``--batch`` is not given."""
        raise NotImplementedError

    def config_problem(self, config: TrainConfig) -> str | None:
        """One line naming the setting this architecture cannot train with (size, batch), or None."""
        return None

    def build_discriminator(self, device, memory_format) -> nn.Module | None:
        """The discriminator trained beside the generator (in train mode on ``device``), or None for a network
        trained without one. Called with the seed already set."""
        return None

    def start_random(self, generator: nn.Module, input_fill: str) -> None:
        """Adjust a freshly (randomly) initialised generator before a run from random initialisation trains it with
        the hole pre-filled by ``input_fill`` ("zeros" = none)."""

    def step(self, trainer: Trainer, images: Tensor, holes: Tensor) -> dict[str, Tensor]:
        """One optimisation step on a batch (images (N,3,S,S) RGB in [0, 1], holes (N,1,S,S) 1 = hole) through
        ``trainer``'s networks, optimisers and helpers; returns the detached losses and sets
        ``trainer.last_preview`` = (images, holes, completed image in [0, 1], alpha or hole map)."""
        raise NotImplementedError

    def predict(self, network: nn.Module, image01: Tensor, hole: Tensor, fill: str | None) -> Tensor:
        """The network's completed image (N,3,S,S) in [0, 1] for images in [0, 1], without gradients; ``fill``: the
        run's input fill."""
        raise NotImplementedError


def input_fill(kind: str | None, images: Tensor, holes: Tensor) -> Tensor | None:
    """The hole pre-fill a network sees: None for "zeros" (or None), else the classical fill of that name
    (`engine.prefill.INPUT_FILLS`), (N,3,S,S) RGB [0,1] on the images' device. images (N,3,S,S) RGB [0,1], holes
    (N,1,S,S) 1 = hole."""
    if kind in (None, "zeros"):
        return None
    import torch

    from engine.prefill import prefill

    rgb = images.detach().float().permute(0, 2, 3, 1).cpu().numpy()
    hole = holes.detach()[:, 0].cpu().numpy() > 0.5
    filled = torch.from_numpy(prefill(rgb, hole, kind)).permute(0, 3, 1, 2)
    return filled.to(images.device, images.dtype)


def recipe_for(arch: str) -> Recipe:
    """The recipe of ``arch`` (``trainer/arches/ARCH.py``); ValueError for an architecture without one."""
    name = f"{__name__}.{arch}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ValueError(f"no training recipe for '{arch}' (trainer/arches/{arch}.py)") from exc
    return module.RECIPE
