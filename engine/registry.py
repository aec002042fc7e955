"""The models FusionPaint can run: built-in specs, fine-tuned models in the user's folder, and loading.

A third model is one new file in ``engine/models/`` plus one :func:`register_model` call here. A network without
weights is listed with status "no weights"; selecting it raises :class:`ModelUnavailable`, never random output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.classical import CLASSICAL_METHODS
from engine.device import resolve_device
from engine.errors import ModelUnavailable, WeightsError
from engine.paths import user_models_dir
from engine.weights import load_into, load_weights, read_arch
from resources import WEIGHTS_DIR

if TYPE_CHECKING:  # PyTorch is imported when a network is first built, not when the editor starts
    import torch

    from engine.inpainter import Inpainter


@dataclass(frozen=True)
class ModelSpec:
    """Everything the engine and the UI need to know about one model.

    value_range: the pixel range the network expects, e.g. (0, 1) or (-1, 1); inputs are RGB.
    size_multiple: each input side must be a multiple of this many pixels (inputs are reflect-padded).
    native_size: the training resolution in pixels; larger context windows are downscaled to it.
    input_fill: None (the paper: the hole is zeroed) or a classical fill ("telea", see
    `engine.inpainter.CLASSICAL_METHODS`) that pre-fills the hole before the network, for weights trained so.
    working_bytes_per_pixel: memory one inference takes per input pixel (activations; measured on the CPU in
    float32 at the native size, batch 1 and 8, rounded up), for the memory check before a removal.
    """

    name: str
    title: str
    arch: str
    kind: str  # "network" or "classical"
    value_range: tuple[float, float]
    size_multiple: int
    native_size: int
    alpha_learned: bool
    alpha_meaning: str
    license: str
    training_data: str
    weights_file: Path | None = None
    sha256: str | None = None
    paper: str = ""
    input_fill: str | None = None
    working_bytes_per_pixel: int = 0
    card: dict | None = field(default=None, compare=False)

    @property
    def has_weights(self) -> bool:
        return self.kind == "classical" or (self.weights_file is not None and self.weights_file.is_file())

    @property
    def status(self) -> str:
        """"built-in" (classical), "trained", "fine-tuned" or "no weights"."""
        if self.kind == "classical":
            return "built-in"
        if not self.has_weights:
            return "no weights"
        return "fine-tuned" if self.card is not None else "trained"


_FEATHER = "feathered hole mask (not learned): 1 inside the hole, fading to 0 across a narrow band outside"

_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a built-in model; names are unique."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec
    return spec


register_model(ModelSpec(
    name="dfnet",
    title="DFNet (Deep Fusion Network)",
    arch="dfnet",
    kind="network",
    value_range=(0.0, 1.0),
    size_multiple=256,
    native_size=512,
    alpha_learned=True,
    alpha_meaning="learned 3-channel alpha composition map of the finest fusion block (1 = network output)",
    license="FusionPaint weights: trained by the FusionPaint project (none shipped yet)",
    training_data="none shipped yet",
    weights_file=WEIGHTS_DIR / "dfnet.safetensors",
    sha256=None,
    paper="Hong et al., Deep Fusion Network for Image Completion, ACM MM 2019",
    working_bytes_per_pixel=400,
))
register_model(ModelSpec(
    name="dmfn",
    title="DMFN (Dense Multi-scale Fusion Network)",
    arch="dmfn",
    kind="network",
    value_range=(-1.0, 1.0),
    size_multiple=4,
    native_size=256,
    alpha_learned=False,
    alpha_meaning=_FEATHER,
    license="FusionPaint weights: trained by the FusionPaint project (none shipped yet)",
    training_data="none shipped yet",
    weights_file=WEIGHTS_DIR / "dmfn.safetensors",
    sha256=None,
    paper="Hui et al., Image Fine-grained Inpainting, 2020",
    working_bytes_per_pixel=1000,
))
for _name, _title in (("opencv-telea", "OpenCV Telea (classical)"), ("opencv-ns", "OpenCV Navier-Stokes (classical)")):
    register_model(ModelSpec(
        name=_name,
        title=_title,
        arch=_name,
        kind="classical",
        value_range=(0.0, 1.0),
        size_multiple=1,
        native_size=512,
        alpha_learned=False,
        alpha_meaning=_FEATHER,
        license="Apache-2.0 (OpenCV); no weights",
        training_data="none (no learning)",
        paper="Telea 2004" if _name == "opencv-telea" else "Bertalmio, Bertozzi and Sapiro 2001",
    ))

def build_network(arch: str) -> torch.nn.Module:
    """A randomly initialised generator for ``arch`` ("dfnet" or "dmfn")."""
    import torch  # noqa: F401  (the models need it; imported here so the editor starts without it)

    if arch == "dfnet":
        from engine.models.dfnet import DFNet

        return DFNet()
    if arch == "dmfn":
        from engine.models.dmfn import DMFNGenerator

        return DMFNGenerator()
    raise ModelUnavailable(f"unknown network architecture '{arch}' (known: dfnet, dmfn)")


def parameter_count(spec: ModelSpec) -> int:
    """Number of generator parameters (0 for classical models); counted without allocating weights."""
    if spec.kind == "classical":
        return 0
    import torch

    with torch.device("meta"):
        network = build_network(spec.arch)
    return sum(p.numel() for p in network.parameters())


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _check_card(card: dict, weights: Path) -> None:
    """WeightsError naming the card when a field the registry uses has the wrong type."""
    name, sha, arch = card.get("name"), card.get("sha256"), card.get("arch")
    problem = None
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        problem = "'name' must be a short text"
    elif sha is not None and not (isinstance(sha, str) and _SHA256_RE.match(sha)):
        problem = "'sha256' must be 64 hexadecimal digits"
    elif arch is not None and not isinstance(arch, str):
        problem = "'arch' must be text"
    if problem:
        raise WeightsError(f"model card {weights.with_suffix('.json')}: {problem}")


def _fine_tuned_spec(weights: Path, card: dict | None) -> ModelSpec:
    if card is not None:
        _check_card(card, weights)
    arch = read_arch(weights) or (card or {}).get("arch") or _guess_arch(weights)
    if arch not in ("dfnet", "dmfn"):
        raise WeightsError(f"weights file {weights} does not say which architecture it is (dfnet or dmfn)")
    base = _REGISTRY[arch]
    card = card or {}
    return replace(
        base,
        name=card.get("name", weights.stem),
        title=f"{card.get('name', weights.stem)} (fine-tuned {base.title.split(' ')[0]})",
        weights_file=weights,
        sha256=card.get("sha256"),
        license=card.get("license", "fine-tuned by the user; inherits the base weights' license"),
        training_data=str(card.get("data", "user photos")),
        input_fill=_card_input_fill(card, base.input_fill),
        card=card,
    )


def _card_input_fill(card: dict, default: str | None) -> str | None:
    """The card's ``input_fill`` ("zeros" or absent = None, or a `CLASSICAL_METHODS` name); WeightsError otherwise."""
    value = card.get("input_fill", default)
    if value in (None, "zeros"):
        return None
    if value not in CLASSICAL_METHODS:
        raise WeightsError(f"model card asks for an unknown input fill {value!r} (known: zeros, "
                           f"{', '.join(CLASSICAL_METHODS)})")
    return value


def _guess_arch(weights: Path) -> str | None:
    """Architecture of a weights file without metadata, judged by its tensor names."""
    try:
        keys = set(load_weights(weights))
    except WeightsError:
        return None
    import torch

    for arch in ("dfnet", "dmfn"):
        with torch.device("meta"):
            if set(build_network(arch).state_dict()) == keys:
                return arch
    return None


_SKIPPED_USER_MODELS: dict[Path, str] = {}


def skipped_user_models() -> dict[Path, str]:
    """{weights file: reason} for the files of the user's models folder that the last scan skipped."""
    return dict(_SKIPPED_USER_MODELS)


def _read_card(card_path: Path) -> dict | None:
    """The JSON model card beside a weights file, None when there is none; ValueError when it is unreadable."""
    if not card_path.is_file():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"model card {card_path} is nested too deeply") from None
    if not isinstance(card, dict):
        raise ValueError(f"model card {card_path} is not a JSON object")
    return card


def _user_model_specs() -> list[ModelSpec]:
    folder = user_models_dir()
    _SKIPPED_USER_MODELS.clear()
    if not folder.is_dir():
        return []
    specs = []
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            spec = _fine_tuned_spec(weights, _read_card(weights.with_suffix(".json")))
        except (OSError, ValueError, WeightsError) as exc:
            _SKIPPED_USER_MODELS[weights] = str(exc)  # a broken file must not hide the other models
            continue
        if spec.name not in _REGISTRY:
            specs.append(spec)
    return specs


def builtin_model_names() -> tuple[str, ...]:
    """Names of the built-in models (reserved: a fine-tuned model may not take one)."""
    return tuple(_REGISTRY)


def list_models() -> list[ModelSpec]:
    """Built-in models, then fine-tuned models found in :func:`engine.paths.user_models_dir`."""
    return list(_REGISTRY.values()) + _user_model_specs()


def trainable_specs() -> list[ModelSpec]:
    """The built-in networks, the architectures the trainer can train or fine-tune, in registry order."""
    return [spec for spec in _REGISTRY.values() if spec.kind == "network"]


def default_model_name() -> str:
    """The first network with weights, else the classical Telea baseline."""
    for spec in _REGISTRY.values():
        if spec.kind == "network" and spec.has_weights:
            return spec.name
    return "opencv-telea"


def get_spec(name_or_path: str | Path) -> ModelSpec:
    """Spec for a model name (built-in or fine-tuned) or for a path to a weights file."""
    key = str(name_or_path)
    if key in _REGISTRY:
        return _REGISTRY[key]
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
    if spec.kind == "classical":
        return ClassicalInpainter(spec, spec.arch.removeprefix("opencv-"))
    if not spec.has_weights:
        raise ModelUnavailable(
            f"{spec.title} has no weights installed (expected {spec.weights_file}); "
            "choose another model or train it with 'fusionpaint train'"
        )
    torch_device = resolve_device(device)
    state = load_weights(spec.weights_file, expected_sha256=spec.sha256)
    network = build_network(spec.arch)
    load_into(network, state, spec.weights_file, spec.arch)
    return NetworkInpainter(spec, network, torch_device, dtype=dtype)
