"""The classical fill a network may see in its hole instead of zeros (`engine.model_spec.ModelSpec.input_fill`)."""

from __future__ import annotations

import threading

import numpy as np

from engine.models.opencv import CLASSICAL_METHODS, classical_fill
from engine.models.patchmatch import patchmatch_fill

INPUT_FILLS = (*CLASSICAL_METHODS, "patchmatch")
"""Pre-fills by name: OpenCV's "telea" and "ns" (milliseconds), "patchmatch" (copies texture; about 0.5-1 s per
256 px image on a 2-core CPU)."""


def prefill(images: np.ndarray, holes: np.ndarray, method: str, cancel: threading.Event | None = None) -> np.ndarray:
    """Fill ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) RGB in [0, 1]) with ``method``
    (one of `INPUT_FILLS`); float32 (N, H, W, 3) RGB in [0, 1] out, pixels outside the holes unchanged. Raises
    JobCancelled soon after ``cancel`` is set, ValueError for an unknown method."""
    if method == "patchmatch":
        return patchmatch_fill(images, holes, cancel)
    if method not in CLASSICAL_METHODS:
        raise ValueError(f"unknown input fill {method!r} (known: {', '.join(INPUT_FILLS)})")
    return classical_fill(images, holes, method, cancel)
