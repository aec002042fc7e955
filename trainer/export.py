"""Export a trained generator as a model the editor can use: ``NAME.safetensors`` + model card ``NAME.json``.

Both go to :func:`engine.paths.user_models_dir`, where :func:`engine.registry.list_models` finds them. The card's
fields: `engine.model_card.ModelCard`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import torch

from engine.files import atomic_write
from engine.model_card import ModelCard
from engine.paths import user_models_dir
from engine.weights import save_weights


def model_paths(name: str, folder: Path | None = None) -> tuple[Path, Path]:
    """(weights path, card path) for model ``name`` in ``folder`` (default: the user's models folder)."""
    folder = Path(folder) if folder is not None else user_models_dir()
    return folder / f"{name}.safetensors", folder / f"{name}.json"


def free_model_name(name: str, folder: Path | None = None) -> str:
    """``name``, or ``name-2``, ``name-3``, ... : the first whose weights file does not exist yet in ``folder``."""
    candidate, k = name, 1
    while model_paths(candidate, folder)[0].exists():
        k += 1
        candidate = f"{name}-{k}"
    return candidate


def export_model(
    state_dict: Mapping[str, torch.Tensor],
    *,
    name: str,
    arch: str,
    card: ModelCard,
    folder: Path | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Path, Path]:
    """Write the weights (safetensors, floating-point tensors as ``dtype``, metadata arch/name/base_model) and the
    card (its name, arch and creation time set here); return both paths. ValueError when a tensor is not finite in
    ``dtype`` (e.g. beyond float16's range).

    The weights are written first so the registry never sees a card without weights.
    """
    weights_path, card_path = model_paths(name, folder)
    full_card = replace(card, name=name, arch=arch, created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    metadata = {"name": name, "base_model": full_card.base_model or ""}
    state = {k: v.detach().to(dtype) if v.is_floating_point() else v.detach() for k, v in state_dict.items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"cannot export {name}: {len(bad)} tensor(s) not finite as {dtype}, e.g. {bad[0]}")
    save_weights(weights_path, state, arch=arch, metadata=metadata)
    text = json.dumps(full_card.to_dict(), indent=2, sort_keys=False, allow_nan=False, default=str) + "\n"
    atomic_write(card_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return weights_path, card_path
