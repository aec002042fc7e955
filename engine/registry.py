"""Finding and loading models: the built-in ones (every file in ``engine/models/``), fine-tuned ones in the user's
folder, and weights files given by path.

A third model is one new file in ``engine/models/`` that describes it (`engine.model_spec.NetworkSpec` or
`engine.model_spec.ClassicalSpec`) and calls `engine.model_spec.register_model`; a network also needs its layers in
``engine/networks/`` (and, to be trained, its recipe in ``trainer/arches/``). `engine.model_spec.temporarily_registered`
adds or replaces models for a ``with`` block (tests, a model under construction). A network without weights is
listed with status "no weights"; selecting it raises :class:`ModelUnavailable`, never random output.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import engine.models
from engine import model_spec
from engine.device import resolve_device
from engine.errors import ModelUnavailable, WeightsError
from engine.model_card import ZEROS, ModelCard
from engine.model_spec import ClassicalSpec, ModelSpec, NetworkSpec
from engine.paths import user_models_dir
from engine.prefill import INPUT_FILLS
from engine.weights import load_into, load_weights, read_arch, tensor_names

if TYPE_CHECKING:  # PyTorch is imported when a network is first built, not when the editor starts
    import torch

    from engine.inpainter import Inpainter

for _module in pkgutil.iter_modules(engine.models.__path__):
    importlib.import_module(f"{engine.models.__name__}.{_module.name}")

_BUILTIN: dict[str, ModelSpec] = model_spec._BUILTIN
"""The built-in models (the live table of `engine.model_spec`, best rank first)."""


def trainable_specs() -> list[NetworkSpec]:
    """The built-in networks: the architectures the trainer can train or fine-tune, best rank first."""
    return [spec for spec in _BUILTIN.values() if isinstance(spec, NetworkSpec)]


def network_spec(arch: str) -> NetworkSpec:
    """The built-in network spec of architecture ``arch``; ModelUnavailable for an unknown one."""
    for spec in trainable_specs():
        if spec.arch == arch:
            return spec
    known = ", ".join(spec.arch for spec in trainable_specs())
    raise ModelUnavailable(f"unknown network architecture '{arch}' (known: {known})")


def build_network(arch: str) -> torch.nn.Module:
    """A randomly initialised generator of architecture ``arch`` (see :func:`trainable_specs`)."""
    return network_spec(arch).build()


def parameter_count(spec: ModelSpec) -> int:
    """Number of generator parameters (0 for classical models); counted without allocating weights."""
    if not isinstance(spec, NetworkSpec):
        return 0
    import torch

    with torch.device("meta"):
        network = spec.build()
    return sum(p.numel() for p in network.parameters())


def _fine_tuned_spec(weights: Path, card: ModelCard | None) -> NetworkSpec:
    arch = read_arch(weights) or (card.arch if card else None) or _guess_arch(weights)
    archs = [spec.arch for spec in trainable_specs()]
    if arch not in archs:
        raise WeightsError(f"weights file {weights} does not say which architecture it is, and its tensors fit "
                           f"neither {' nor '.join(archs)}")
    base = network_spec(arch)
    name = (card.name if card else None) or weights.stem
    fill = card.input_fill if card else None
    return replace(
        base,
        name=name,
        title=f"{name} (fine-tuned {base.title.split(' ')[0]})",
        weights_file=weights,
        sha256=card.sha256 if card else None,
        license=(card.license if card else None) or "fine-tuned by the user; inherits the base weights' license",
        training_data=(card.data if card else None) or "user photos",
        input_fill=base.input_fill if fill is None else (None if fill == ZEROS else fill),
        card=card,
    )


def _arch_keys() -> dict[str, frozenset[str]]:
    """{architecture: the tensor names of its state dict}, each network built once on the meta device (again when
    the registered networks change)."""
    return _arch_keys_of(tuple((spec.arch, spec.build) for spec in trainable_specs()))


@functools.cache
def _arch_keys_of(networks: tuple[tuple[str, Callable[[], torch.nn.Module]], ...]) -> dict[str, frozenset[str]]:
    import torch

    with torch.device("meta"):
        return {arch: frozenset(build().state_dict()) for arch, build in networks}


def _guess_arch(weights: Path) -> str | None:
    """Architecture of a weights file without metadata, judged by its tensor names (None: no network fits).
    WeightsError when the file cannot be read or is refused (e.g. a pickle holding code)."""
    names = tensor_names(weights)
    return next((arch for arch, keys in _arch_keys().items() if keys == names), None)


_SKIPPED_USER_MODELS: dict[Path, str] = {}


def skipped_user_models() -> dict[Path, str]:
    """{weights file: reason} for the files of the user's models folder that the last scan skipped."""
    return dict(_SKIPPED_USER_MODELS)


def _read_card(card_path: Path) -> ModelCard | None:
    """The model card beside a weights file, None when there is none; ValueError naming the card when it is
    unreadable or refused (`engine.model_card.ModelCard.from_dict`)."""
    if not card_path.is_file():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise ValueError(f"model card {card_path} is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError(f"model card {card_path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"model card {card_path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except OSError as exc:
        raise ValueError(f"cannot read model card {card_path}: {exc.strerror or exc}") from None
    if not isinstance(card, dict):
        raise ValueError(f"model card {card_path} is not a JSON object")
    try:
        return ModelCard.from_dict(card, known_fills=INPUT_FILLS)
    except ValueError as exc:
        raise ValueError(f"model card {card_path}: {exc}") from None


def _user_model_specs() -> list[NetworkSpec]:
    folder = user_models_dir()
    _SKIPPED_USER_MODELS.clear()
    if not folder.is_dir():
        return []
    specs: list[NetworkSpec] = []
    files: dict[str, Path] = {}  # the weights file of each name listed so far
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            spec = _fine_tuned_spec(weights, _read_card(weights.with_suffix(".json")))
        except (OSError, ValueError, WeightsError) as exc:
            _SKIPPED_USER_MODELS[weights] = str(exc)  # a broken file must not hide the other models
            continue
        if spec.name in _BUILTIN:
            _SKIPPED_USER_MODELS[weights] = f"name '{spec.name}' is taken by a built-in model"
        elif spec.name in files:
            _SKIPPED_USER_MODELS[weights] = f"name '{spec.name}' is also used by {files[spec.name].name}"
        else:
            specs.append(spec)
            files[spec.name] = weights
    return specs


def builtin_model_names() -> tuple[str, ...]:
    """Names of the built-in models (reserved: a fine-tuned model may not take one)."""
    return tuple(_BUILTIN)


def list_models() -> list[ModelSpec]:
    """Built-in models (best rank first), then fine-tuned models found in :func:`engine.paths.user_models_dir`."""
    return list(_BUILTIN.values()) + _user_model_specs()


def default_model_name() -> str:
    """The usable built-in model with the best rank (see `engine.model_spec.ModelSpec`)."""
    return next(spec.name for spec in _BUILTIN.values() if spec.has_weights)


def get_spec(name_or_path: str | Path) -> ModelSpec:
    """Spec for a model name (built-in or fine-tuned) or for a path to a weights file."""
    key = str(name_or_path)
    if key in _BUILTIN:
        return _BUILTIN[key]
    for spec in _user_model_specs():
        if spec.name == key:
            return spec
    path = Path(key).expanduser()
    if path.suffix in (".safetensors", ".pt", ".pth"):
        if not path.is_file():
            raise ModelUnavailable(f"weights file not found: {path}")
        try:
            card = _read_card(path.with_suffix(".json"))
        except (OSError, ValueError) as exc:
            raise WeightsError(str(exc)) from exc
        return _fine_tuned_spec(path, card)
    known = ", ".join(spec.name for spec in list_models())
    raise ModelUnavailable(f"unknown model '{key}' (known: {known}; or give a path to a .safetensors file)")


def load_model(
    name_or_path: str | Path | ModelSpec, device: str = "auto", dtype: torch.dtype | None = None
) -> Inpainter:
    """Load a model ready for :func:`engine.pipeline.inpaint` on ``device`` ("auto", "cpu", "cuda", "mps")."""
    from engine.inpainter import ClassicalInpainter, NetworkInpainter

    spec = name_or_path if isinstance(name_or_path, ModelSpec) else get_spec(name_or_path)
    if isinstance(spec, ClassicalSpec):
        return ClassicalInpainter(spec)
    assert isinstance(spec, NetworkSpec), f"model '{spec.name}' is neither a network nor a classical fill"
    weights = spec.weights_file
    if weights is None or not weights.is_file():
        raise ModelUnavailable(
            f"{spec.title} has no weights installed (expected {weights or 'a weights file'}); "
            "choose another model or train it with 'fusionpaint train'"
        )
    torch_device = resolve_device(device)
    state = load_weights(weights, expected_sha256=spec.sha256)
    network = spec.build()
    load_into(network, state, weights, spec.arch)
    return NetworkInpainter(spec, network, torch_device, dtype=dtype)
