"""The model a training run exports: its card (what it was trained from, on what and how, and how it scored) and
its export as ``NAME.safetensors`` + ``NAME.json`` into the user's models folder under a free name
(`trainer.export`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from engine.device import describe_device
from engine.model_card import ModelCard
from trainer.config import TrainConfig
from trainer.export import export_model, free_model_name
from trainer.precision import precision_name


def fine_tuned_card(
    config: TrainConfig,
    *,
    run_name: str,
    base_model: str,
    before_model: str | None,
    photo_count: int,
    held_out_count: int,
    skipped_count: int,
    steps: int,
    batch: int,
    world_size: int,
    time_s: float,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    before: dict | None,
    after: dict | None,
    helped: bool | None,
    summary: str,
) -> ModelCard:
    """The card of the model run ``run_name`` trained from ``base_model`` (a description). ``before_model``: what the
    "before" figures measure (None when not scored); ``batch``: samples per step and process; ``time_s``: seconds
    trained over all the run's sittings (rounded to 0.1 s); ``before`` / ``after``: held-out metric dicts
    (`trainer.evaluate`), non-finite figures written as null."""
    return ModelCard(
        title=f"{run_name} (fine-tuned {config.arch})",
        base_model=base_model,
        before_model=before_model,
        data=str(Path(config.data).expanduser().resolve()),
        photo_count=photo_count,
        held_out_count=held_out_count,
        skipped_count=skipped_count,
        steps=steps,
        batch=batch,
        world_size=world_size,
        size=config.size,
        time_s=round(time_s, 1),
        device=describe_device(device),
        precision=precision_name(amp_dtype),
        metrics_before=_finite(before),
        metrics_after=_finite(after),
        helped=helped,
        summary=summary,
        license="fine-tuned by the user; inherits the license of the base weights",
        input_fill=config.input_fill,
        config=_finite(config.to_dict()),
    )


def export_fine_tuned(
    generator: nn.Module, card: ModelCard, *, run_name: str, arch: str, log: Callable[[str], None]
) -> tuple[str, Path, Path]:
    """Export ``generator``'s weights and ``card`` as model ``run_name`` or, when a model has that name already
    (logged), the first free ``run_name-2``, ``run_name-3``, ...; return (name, weights path, card path)."""
    name = free_model_name(run_name)
    if name != run_name:
        log(f"a model named {run_name} exists already: exported as {name}")
    weights, card_path = export_model(generator.state_dict(), name=name, arch=arch, card=card)
    return name, weights, card_path


def _finite(value):
    """``value`` with every non-finite float in it (nested dicts, lists, tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
