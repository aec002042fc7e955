"""How each architecture is trained: one file per network in ``trainer/arches/``, which registers its recipe with
:func:`register_recipe` when imported (this package imports every file of the folder on the first look-up, as
`engine.registry` does with ``engine/models/``).

A recipe holds the optimiser settings, batch and size rules, losses and auxiliary networks and one optimisation
step of its network; its options (:class:`RecipeOptions`) are the run settings it reads. `trainer.loop` keeps only
the loop: it hands each step a :class:`StepContext` and gets a :class:`StepResult` back. A network registered in the
engine without a recipe here is refused by :func:`check` with one line naming the file to add.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from trainer.config import ALL_PARTS
from trainer.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from trainer.config import TrainConfig
    from trainer.data import TrainingBatch
    from trainer.vgg import VGG19Features


@dataclass(frozen=True)
class RecipeOptions:
    """The run settings one recipe reads: each field is the `trainer.config.TrainConfig` setting of the same name
    (``--input-fill``: "zeros" or a classical fill of `engine.prefill.INPUT_FILLS`), and a field's default is the
    network's default for a setting the run leaves at None. Subclasses add the settings their network's losses read
    and describe them."""

    input_fill: str = "zeros"

    @classmethod
    def from_config(cls, config: TrainConfig) -> RecipeOptions:
        """The options of a run's config; a setting it leaves at None takes the field's default (``input_fill``:
        "zeros")."""
        values = {f.name: getattr(config, f.name) for f in fields(cls)}
        return cls(**{name: value for name, value in values.items() if value is not None})

    def describe(self) -> str:
        """One line of text for a progress row or a model card: the loss schedule and the input fill."""
        return f"fill {self.input_fill}"

    def loss_summary(self) -> str:
        """The losses trained with, in words, for a shipped model card."""
        return "the recipe's losses"


class Preview(NamedTuple):
    """What a step shows in a preview: images (N,3,S,S) RGB in [0, 1], holes (N,1,S,S) 1 = hole, the completed image
    (N,3,S,S) in [0, 1] and the alpha (N,3,S,S) in [0, 1] (the hole map for a network without a learned alpha)."""

    images: Tensor
    holes: Tensor
    completed: Tensor
    alpha: Tensor


@dataclass
class StepResult:
    """A step's detached loss terms (0-d tensors, "total" among them, not yet read back) and its preview."""

    losses: dict[str, Tensor]
    preview: Preview


@dataclass
class StepContext:
    """What a recipe's step works with, set up by the loop.

    generator / discriminator (None without one) and their Adam optimisers; vgg: the VGG19 features of the recipe's
    ``vgg_layers`` (frozen; None when it names none); options: the run's :class:`RecipeOptions`; step: the steps
    taken before this one.
    ``backward_step(loss, optimiser, module, average=False)``: backward through the gradient scaler, gradients
    averaged across processes when ``average`` (modules not wrapped in DDP), clipping, optimiser step.
    ``autocast()``: the run's precision (a context manager); ``part(name)``: times a block as that part of the step.
    """

    generator: nn.Module
    optim_g: torch.optim.Optimizer
    vgg: VGG19Features | None
    options: RecipeOptions
    backward_step: Callable[..., None]
    autocast: Callable[[], contextlib.AbstractContextManager]
    part: Callable[[str], contextlib.AbstractContextManager]
    discriminator: nn.Module | None = None
    optim_d: torch.optim.Optimizer | None = None
    step: int = 0


class Recipe:
    """The training knowledge of one architecture. Subclasses set the class attributes and implement the methods.

    arch: the engine's architecture name (`engine.model_spec.NetworkSpec.arch`). adam_betas, base_lr: the Adam
    settings of the official configuration (for every optimiser of the run). vgg_layers: the VGG19 layers the losses
    read. input_fills: the hole pre-fills the network can be trained with ("zeros" = the paper's input).
    options_type: the :class:`RecipeOptions` subclass of the settings it reads. card_settings: the
    `trainer.config.TrainConfig` settings a shipped model card lists. prefill_use: how the network uses a pre-fill,
    a phrase for that card. bench_variants: {name: settings changed} of the loss recipes the training benchmark
    (``bench/bench_train.py --recipes``) compares; "paper" = the paper's. default_weights_args: the ``fusionpaint
    train`` arguments (after ``--model ARCH``) of the long background run that trains the shipped weights
    (``tools/train_default.sh ARCH``; trainer/recipes/README.md explains them), () = no such run. trainable_parts:
    {part: the names of the generator's top-level modules it trains} for ``--train-part`` (besides "all").
    """

    arch: ClassVar[str]
    adam_betas: ClassVar[tuple[float, float]] = (0.9, 0.999)
    base_lr: ClassVar[float] = 2e-4
    vgg_layers: ClassVar[tuple[str, ...]] = ()
    input_fills: ClassVar[tuple[str, ...]] = ("zeros",)
    options_type: ClassVar[type[RecipeOptions]] = RecipeOptions
    card_settings: ClassVar[tuple[str, ...]] = ("size", "batch", "precision", "lr", "input_fill", "compile")
    prefill_use: ClassVar[str] = "the network completes that fill"
    bench_variants: ClassVar[dict[str, dict[str, object]]] = {"paper": {}}
    default_weights_args: ClassVar[tuple[str, ...]] = ()
    trainable_parts: ClassVar[dict[str, tuple[str, ...]]] = {}

    def options(self, config: TrainConfig) -> RecipeOptions:
        """The options of a run's config."""
        return self.options_type.from_config(config)

    def set_train_mode(self, generator: nn.Module, part: str) -> None:
        """Put ``generator`` in training mode for a run that trains ``part`` ("all" or one of
        :attr:`trainable_parts`): the modules outside the part get no gradients and stay in eval mode (their
        BatchNorm statistics fixed). Call it wherever the run would call ``generator.train()``."""
        generator.train()
        if part == ALL_PARTS:
            return
        trained = self.trainable_parts[part]
        for name, module in generator.named_children():
            if name not in trained:
                module.eval()
                module.requires_grad_(False)

    def default_batch(self, device_type: str, size: int) -> int:
        """Batch size when ``--batch`` is not given, for a device type ("cpu", "cuda") and a crop size in pixels."""
        return 1

    def batch_for(self, config: TrainConfig, device_type: str) -> int:
        """Images per step and process: ``config.batch``, else :meth:`default_batch`."""
        return int(config.batch) if config.batch is not None else self.default_batch(device_type, config.size)

    def lr(self, config: TrainConfig) -> float:
        """The run's learning rate before its schedule: ``config.lr``, else :attr:`base_lr`."""
        return float(config.lr if config.lr is not None else self.base_lr)

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

    def step(self, ctx: StepContext, batch: TrainingBatch) -> StepResult:
        """One optimisation step on a batch (its images, holes and the holes' pre-fill in the run's input fill, see
        `trainer.data.TrainingBatch`) through ``ctx``'s networks, optimisers and helpers; returns the detached losses
        and the preview."""
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


# ----------------------------------------------------------------------------------------------- the registry

_RECIPES: dict[str, Recipe] = {}
_discovered = False


def register_recipe(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator of a recipe in ``trainer/arches/``: registers one instance under ``cls.arch`` (one recipe per
    architecture); returns the class."""
    if cls.arch in _RECIPES:
        raise ValueError(f"a training recipe for '{cls.arch}' is already registered")
    _RECIPES[cls.arch] = cls()
    return cls


@contextlib.contextmanager
def temporarily_registered(*classes: type[Recipe]) -> Iterator[None]:
    """Within the ``with`` block, ``classes`` are registered recipes (a network under construction, tests); a recipe
    of the same architecture is replaced meanwhile. Afterwards the registry is as before."""
    _discover()
    saved = dict(_RECIPES)
    try:
        for cls in classes:
            _RECIPES[cls.arch] = cls()
        yield
    finally:
        _RECIPES.clear()
        _RECIPES.update(saved)


def _discover() -> None:
    """Import every module of ``trainer/arches/`` once (each registers its recipe)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def network_arches() -> tuple[str, ...]:
    """The architectures of the engine's built-in networks (`engine.registry.trainable_specs`), best rank first."""
    from engine.registry import trainable_specs

    return tuple(spec.arch for spec in trainable_specs())


def trainable_arches() -> tuple[str, ...]:
    """The networks the trainer can train: the engine's built-in networks that have a registered recipe, best rank
    first. Tools and benchmarks list these."""
    _discover()
    return tuple(arch for arch in network_arches() if arch in _RECIPES)


def recipe_for(arch: str) -> Recipe:
    """The registered recipe of ``arch``; ConfigError (one line) for an architecture without one."""
    _discover()
    try:
        return _RECIPES[arch]
    except KeyError:
        raise ConfigError(f"no training recipe for '{arch}': add trainer/arches/{arch}.py with a Recipe subclass "
                          "decorated with @register_recipe") from None


def check(config: TrainConfig) -> Recipe:
    """Validate a run's settings as a whole: the architecture (a built-in network with a recipe), the settings every
    run has (`trainer.config.TrainConfig.validate`) and the recipe's own rules; return the recipe. ConfigError (one
    line naming the setting) for a bad one."""
    known = network_arches()
    if config.arch not in known:
        raise ConfigError(f"--model must be one of {', '.join(known)}, got '{config.arch}'")
    recipe = recipe_for(config.arch)
    config.validate()
    problem = recipe.config_problem(config)
    if problem:
        raise ConfigError(problem)
    parts = (ALL_PARTS, *recipe.trainable_parts)
    if config.train_part not in parts:
        raise ConfigError(f"--train-part must be one of {', '.join(parts)} for {config.arch}, got "
                          f"'{config.train_part}'")
    if config.input_fill is not None and config.input_fill not in recipe.input_fills:
        raise ConfigError(f"--input-fill {config.input_fill} is not available for {config.arch} "
                          f"(it takes: {', '.join(recipe.input_fills)})")
    return recipe
