"""The model card of a fine-tuned model: ``NAME.json`` beside ``NAME.safetensors`` in the user's models folder.

The trainer writes it (`trainer.export.export_model`), the registry reads it (`engine.registry`) and the editor
shows it. A card is untrusted input: `ModelCard.from_dict` refuses a card whose identity fields (name, sha256, arch,
license, input_fill) have the wrong type or value, and drops any other field of the wrong type, so every reader can
trust the types below. Keys it does not know (a newer version's) are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

CARD_VERSION = 1
"""The card format written now."""
ZEROS = "zeros"
"""A card's ``input_fill`` of a network that sees zeros in its hole (the papers' input)."""

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelCard:
    """What a fine-tuned model was trained from, on and how, and how it scored.

    name: the model's name (its file stem); arch: the network's architecture; created: ISO 8601 UTC time; title: what
    the editor shows; base_model / before_model: what it was fine-tuned from / what "before" measured; data: the photo
    folder, photo_count / held_out_count / skipped_count its photos; steps, batch (images per step per process),
    world_size (processes), size (crop side, pixels), time_s (seconds of training), device, precision; metrics_before
    / metrics_after: the held-out scores (`trainer.evaluate.compare_on_pairs` reports); helped: the run's verdict
    (None = not judged) and summary its sentence; license; input_fill: the classical fill the network sees in the
    hole, `ZEROS` or None (= the base network's); sha256 of the weights file (optional); config: the run's settings
    (`trainer.config.TrainConfig.to_dict`).
    """

    name: str | None = None
    arch: str | None = None
    created: str | None = None
    title: str | None = None
    base_model: str | None = None
    before_model: str | None = None
    data: str | None = None
    photo_count: int | None = None
    held_out_count: int | None = None
    skipped_count: int | None = None
    steps: int | None = None
    batch: int | None = None
    world_size: int | None = None
    size: int | None = None
    time_s: float | None = None
    device: str | None = None
    precision: str | None = None
    metrics_before: dict | None = None
    metrics_after: dict | None = None
    helped: bool | None = None
    summary: str | None = None
    license: str | None = None
    input_fill: str | None = None
    sha256: str | None = None
    config: dict | None = None
    card_version: int = CARD_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict, known_fills: tuple[str, ...] = ()) -> ModelCard:
        """The card of a JSON object. ValueError (one line, naming the field) for a bad name, sha256, arch, license
        or an ``input_fill`` that is neither `ZEROS` nor one of ``known_fills`` (when given); any other field of the
        wrong type is left out (None)."""
        problem = _identity_problem(data, known_fills)
        if problem:
            raise ValueError(problem)
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra" or f.name not in data:
                continue
            value = data[f.name]
            if _has_type(value, hints[f.name]):
                values[f.name] = value
        names = {f.name for f in fields(cls)}
        return cls(**values, extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``NAME.json``: every field (None included) and the ``extra`` keys."""
        values = asdict(self)
        extra = values.pop("extra")
        return {**values, **extra}


def _identity_problem(data: dict, known_fills: tuple[str, ...]) -> str | None:
    name, sha, arch, license_ = data.get("name"), data.get("sha256"), data.get("arch"), data.get("license")
    fill = data.get("input_fill")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        return "'name' must be a short text"
    if sha is not None and not (isinstance(sha, str) and _SHA256_RE.match(sha)):
        return "'sha256' must be 64 hexadecimal digits"
    if arch is not None and not isinstance(arch, str):
        return "'arch' must be text"
    if license_ is not None and not isinstance(license_, str):
        return "'license' must be text"
    if fill is not None and known_fills and fill != ZEROS and fill not in known_fills:
        return f"unknown input fill {fill!r} (known: {ZEROS}, {', '.join(known_fills)})"
    return None


def _has_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the field type ``hint`` (``X | None``, int, float, str, bool, dict); a bool is no int
    and an int is a float."""
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        origin = typing.get_origin(kind) or kind
        if kind is type(None) and value is None:
            return True
        if origin is bool and isinstance(value, bool):
            return True
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if origin in (str, dict) and isinstance(value, origin):
            return True
    return False
