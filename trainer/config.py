"""Settings of one training run, their defaults and the validation of the settings every run has.

A :class:`TrainConfig` is plain data, resolved once when a run is set up (`trainer.loop.Trainer.setup`; the
architecture's recipe, `trainer.arches`, supplies the defaults that depend on it and checks its own rules). It is
stored inside every checkpoint (as a dict of str/int/float/bool/None, so checkpoints load with
``torch.load(weights_only=True)``) and in the exported model card.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import overload

from engine.prefill import INPUT_FILLS as PREFILLS
from trainer.errors import NAME_RE, ConfigError

PRECISIONS = ("auto", "fp32", "bf16")
INPUT_FILLS = ("zeros", *PREFILLS)
"""What the hole can hold in a network's input: zeros (the papers) or a classical fill (`engine.prefill`, see
engine.networks.dfnet); each recipe (`trainer.arches`) says which its network takes."""
TEXTURE_SCALES = 3
"""DFNet's texture losses (perceptual, style) act on this many of the finest scales in the paper."""
STYLE_REGIONS = ("image", "hole")
"""Where DFNet's style loss compares texture statistics: the whole image (the paper) or the hole only."""

ALL_PARTS = "all"
"""``--train-part all``: every layer of the network trains (a recipe names the parts it can train alone,
`trainer.arches.Recipe.trainable_parts`)."""

INIT_DEFAULT = "default"
"""``--init default``: the shipped weights of the architecture when installed, else random initialisation."""
INIT_RANDOM = "random"
"""``--init random``: train from scratch (random initialisation, seeded by ``seed``)."""

MIN_PHOTO_SIDE = 64
"""Photos whose short side is below this many pixels are skipped."""
DEFAULT_STEPS = 1000
"""Steps of a run that gives neither ``--steps`` nor ``--minutes``."""


@overload
def _absolute(path: str) -> str: ...
@overload
def _absolute(path: None) -> None: ...
def _absolute(path: str | None) -> str | None:
    """``path`` made absolute (``~`` expanded, links resolved); None stays None."""
    return None if path is None else str(Path(path).expanduser().resolve())


@dataclass
class TrainConfig:
    """One training run. Sizes in pixels, times in seconds unless named ``minutes``.

    lr: Adam learning rate of the generator (and of a discriminator); None = the recipe's ``base_lr``.
    Schedule (depends only on the step, so a resumed run follows it exactly): linear warm-up over
    ``warmup_steps``, then the rate is multiplied by ``lr_decay`` every ``lr_decay_every`` steps (0 = never).
    clip_grad: maximum global gradient norm (None = no clipping).
    precision: "auto" (bf16 autocast on CUDA where supported, else fp16 with a gradient scaler; on the CPU bf16
    autocast where it trains faster than float32 (engine.device.cpu_bf16_faster), else float32), "fp32",
    or "bf16" (bf16 autocast on any device).
    Loss recipe (DFNet): ``texture_scales`` finest scales (0-3; paper 3) carry the VGG perceptual and style losses,
    which start at step ``texture_from_step`` (L1 + total variation only before it), their paper weights (0.1, 240)
    multiplied by ``texture_weight`` (1 = the paper; for DMFN it multiplies its VGG terms' weights: self-guided
    regression and feature matching, 25, and geometric alignment, 1; 0 = none of them and no VGG pass).
    ``style_region`` (DFNet): one of `STYLE_REGIONS`, where the style loss compares texture statistics ("image", the
    paper, or "hole": `trainer.losses.hole_style_loss`, weight 1 times ``texture_weight``).
    ``texture_weight`` and ``style_region`` None: the network's own default (its recipe's options,
    `trainer.arches`), resolved when the run is set up and stored so.
    ``input_fill``: one of `INPUT_FILLS`, or None = that of the weights the run starts from (zeros for random
    initialisation).
    ``prefill_pool``: training samples (crop, hole and its pre-fill) made once and reused for the whole run
    (`trainer.prefill_pool`), 0 = a fresh crop, hole and pre-fill every batch; None = automatic: with a time budget
    and the slow PatchMatch fill, what `trainer.budget.POOL_SHARE` of the budget buys, else 0 (resolved when
    the run starts; a resumed run rebuilds the same pool).
    train_part: `ALL_PARTS` or one of the recipe's ``trainable_parts``: only those layers train, the rest stay as the
    run started (no gradients, BatchNorm statistics fixed).
    adversarial_from_step (DMFN): a reconstruction warm-up before this step - no discriminator updates, no
    adversarial or discriminator feature-matching loss - then the paper's full loss.
    compile: compile the generator with ``torch.compile`` (DFNet, L1 + TV, bf16 on a 2-core CPU: 228 s of compiling,
    then 17 % faster steps; worth it for runs of an hour or more).
    keep_unhelpful: export the model even when the before/after scoring says fine-tuning did not help.
    workers: batches prepared ahead in a background thread; None = 2 on a GPU, 0 on the CPU.
    batch: images per step per process; None = the architecture's recipe decides (`trainer.arches`).
    arch: the network's architecture (a built-in network's name, ``--model`` on the command line).
    """

    arch: str
    data: str
    init: str = INIT_DEFAULT
    size: int = 256
    batch: int | None = None
    steps: int | None = None
    minutes: float | None = None
    name: str | None = None
    device: str = "auto"
    precision: str = "auto"
    lr: float | None = None
    warmup_steps: int = 20
    lr_decay_every: int = 5000
    lr_decay: float = 0.5
    clip_grad: float | None = None
    seed: int = 0
    masks: str | None = None
    workers: int | None = None
    checkpoint_every: int = 500
    preview_every: int = 100
    held_out_fraction: float = 0.03
    evaluate: bool = True
    eval_masks_per_photo: int = 3
    run_dir: str | None = None
    texture_scales: int = TEXTURE_SCALES
    texture_from_step: int = 0
    texture_weight: float | None = None
    style_region: str | None = None
    input_fill: str | None = None
    prefill_pool: int | None = None
    train_part: str = ALL_PARTS
    adversarial_from_step: int = 0
    compile: bool = False
    keep_unhelpful: bool = False

    def to_dict(self) -> dict:
        """Plain dict (str, int, float, bool, None) for checkpoints and model cards."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys (from a newer version) are ignored, and the architecture's old
        key "model" (checkpoints and cards written before it was named ``arch``) is read as ``arch``."""
        known = {f.name for f in fields(cls)}
        data = dict(data)
        if "arch" not in data and "model" in data:
            data["arch"] = data.pop("model")
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_absolute_paths(self) -> TrainConfig:
        """A copy with ``data``, ``masks`` and an ``init`` weights file as absolute paths."""
        init = self.init if self.init in (INIT_DEFAULT, INIT_RANDOM) else _absolute(self.init)
        return replace(self, data=_absolute(self.data), masks=_absolute(self.masks), init=init)

    def resolved_workers(self, device_type: str) -> int:
        """Batches prepared ahead by a background thread: ``workers``, or 2 on a GPU and 0 (inline) on the CPU."""
        if self.workers is not None:
            return int(self.workers)
        return 2 if device_type == "cuda" else 0

    def resolved_steps(self) -> int | None:
        """Step limit: ``steps``; ``DEFAULT_STEPS`` when neither steps nor minutes is set; None = time only."""
        if self.steps is not None:
            return int(self.steps)
        return None if self.minutes is not None else DEFAULT_STEPS

    def resolved_name(self) -> str:
        """``name`` or ``ARCH-FOLDER-YYYYmmdd-HHMMSS`` (safe characters only)."""
        if self.name:
            return self.name
        folder = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(self.data).resolve().name).strip("-._") or "photos"
        return f"{self.arch}-{folder[:40]}-{time.strftime('%Y%m%d-%H%M%S')}"

    def lr_at(self, step: int, base_lr: float) -> float:
        """Learning rate for the update that takes the model from ``step`` to ``step + 1``; ``base_lr``: the run's
        rate before the schedule (``lr``, or its recipe's default when None: `trainer.arches.Recipe.lr`)."""
        lr = base_lr
        if self.warmup_steps > 0 and step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        if self.lr_decay_every > 0:
            lr *= self.lr_decay ** (step // self.lr_decay_every)
        return lr

    def validate(self) -> TrainConfig:
        """Raise ConfigError (one line) for a bad setting every run has; return self. The architecture and its own
        rules are checked by `trainer.arches.check`, which calls this."""
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.input_fill is not None and self.input_fill not in INPUT_FILLS:
            raise ConfigError(f"--input-fill must be one of {', '.join(INPUT_FILLS)}, got '{self.input_fill}'")
        checks = [
            (self.batch is None or self.batch >= 1, f"--batch must be at least 1, got {self.batch}"),
            (self.steps is None or self.steps >= 1, f"--steps must be at least 1, got {self.steps}"),
            (self.minutes is None or self.minutes > 0, f"--minutes must be positive, got {self.minutes}"),
            (self.lr is None or self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (self.clip_grad is None or self.clip_grad > 0, f"--clip-grad must be positive, got {self.clip_grad}"),
            (self.checkpoint_every >= 1, f"--checkpoint-every must be at least 1, got {self.checkpoint_every}"),
            (self.preview_every >= 0, f"--preview-every must be 0 (off) or more, got {self.preview_every}"),
            (self.workers is None or self.workers >= 0, f"--workers must be 0 or more, got {self.workers}"),
            (self.warmup_steps >= 0, f"--warmup-steps must be 0 or more, got {self.warmup_steps}"),
            (0 < self.lr_decay <= 1, f"--lr-decay must be in (0, 1], got {self.lr_decay}"),
            (0 <= self.texture_scales <= TEXTURE_SCALES,
             f"--texture-scales must be 0 to {TEXTURE_SCALES}, got {self.texture_scales}"),
            (self.texture_from_step >= 0, f"--texture-from-step must be 0 or more, got {self.texture_from_step}"),
            (self.texture_weight is None or self.texture_weight >= 0,
             f"--texture-weight must be 0 or more, got {self.texture_weight}"),
            (self.style_region is None or self.style_region in STYLE_REGIONS,
             f"--style-region must be one of {', '.join(STYLE_REGIONS)}, got {self.style_region!r}"),
            (self.prefill_pool is None or self.prefill_pool >= 0,
             f"--prefill-pool must be 0 or more, got {self.prefill_pool}"),
            (self.adversarial_from_step >= 0,
             f"--adversarial-from-step must be 0 or more, got {self.adversarial_from_step}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.name is not None and not NAME_RE.fullmatch(self.name):
            raise ConfigError(
                f"--name {self.name!r} may only use letters, digits, '.', '_' and '-' (at most 80, no leading dot)"
            )
        from engine.registry import builtin_model_names

        if self.name in builtin_model_names():
            raise ConfigError(f"--name {self.name!r} is a built-in model's name; choose another")
        data = Path(self.data).expanduser()
        if not data.is_dir():
            raise ConfigError(f"--data folder not found: {data}")
        if self.masks is not None and not Path(self.masks).expanduser().is_dir():
            raise ConfigError(f"--masks folder not found: {self.masks}")
        if self.init not in (INIT_DEFAULT, INIT_RANDOM) and not Path(self.init).expanduser().is_file():
            raise ConfigError(f"--init must be 'default', 'random' or a weights file; not found: {self.init}")
        return self
