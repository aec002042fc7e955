"""The classical fill a network may see in its hole instead of zeros (`engine.model_spec.NetworkSpec.input_fill`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from engine.model_spec import registered_specs, short_title
from engine.models.opencv import CLASSICAL_METHODS, classical_fill
from engine.models.patchmatch import patchmatch_fill
from engine.regions import pad_bottom_right

INPUT_FILLS = (*CLASSICAL_METHODS, "patchmatch")
"""Pre-fills by name: OpenCV's "telea" and "ns" (milliseconds), "patchmatch" (copies texture; about 0.5-1 s per
256 px image on a 2-core CPU)."""

INPUT_FILL_MODELS = {**{method: f"opencv-{method}" for method in CLASSICAL_METHODS}, "patchmatch": "patchmatch"}
"""Each of `INPUT_FILLS` by the name of the classical model that is the same fill (`engine.models`)."""


def input_fill_title(fill: str) -> str:
    """The name the user knows pre-fill ``fill`` (one of `INPUT_FILLS`) by: its classical model's short title, e.g.
    "PatchMatch"."""
    spec = next(spec for spec in registered_specs() if spec.name == INPUT_FILL_MODELS[fill])
    return short_title(spec.title)


def prefill(images: np.ndarray, holes: np.ndarray, method: str, cancel: threading.Event | None = None,
            sizes: Sequence[tuple[int, int]] | None = None,
            progress: Callable[[float], None] | None = None,
            excludes: np.ndarray | None = None) -> np.ndarray:
    """Fill ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) RGB in [0, 1]) with ``method``
    (one of `INPUT_FILLS`); float32 (N, H, W, 3) RGB in [0, 1] out, pixels outside the holes unchanged. Raises
    JobCancelled soon after ``cancel`` is set, ValueError for an unknown method.

    ``sizes``: the real (h, w) of each image, the rest being bottom/right padding (`engine.regions.pad_bottom_right`).
    Each image is then filled from its real pixels only - a fill that copies texture would otherwise copy the
    padding's mirror images into the hole - and the fill is padded the same way. ``progress(fraction 0..1)`` is
    reported within PatchMatch's fills (OpenCV's take milliseconds and report nothing). ``excludes`` (bool (N, H, W),
    True = never a source; None = none): pixels no fill copies from (see each fill for how)."""
    if method != "patchmatch" and method not in CLASSICAL_METHODS:
        raise ValueError(f"unknown input fill {method!r} (known: {', '.join(INPUT_FILLS)})")

    def fill(part: np.ndarray, part_holes: np.ndarray, part_excludes: np.ndarray | None, done: float, share: float
             ) -> np.ndarray:
        if method != "patchmatch":
            return classical_fill(part, part_holes, method, cancel, part_excludes)
        within = None if progress is None else (lambda fraction: progress(done + share * fraction))
        return patchmatch_fill(part, part_holes, cancel, within, part_excludes)

    full_size = [images.shape[1:3]] * len(images)
    if sizes is None or [tuple(s) for s in sizes] == full_size:
        return fill(images, holes, excludes, 0.0, 1.0)
    height, width = images.shape[1:3]
    out = np.empty(images.shape, np.float32)
    for i, (h, w) in enumerate(sizes):
        part_excludes = None if excludes is None else excludes[i:i + 1, :h, :w]
        part = fill(images[i:i + 1, :h, :w], holes[i:i + 1, :h, :w], part_excludes, i / len(sizes), 1 / len(sizes))
        out[i] = pad_bottom_right(part[0], height, width)
    return out
