"""OpenCV's classical fills (no learning, no PyTorch): two built-in models and DFNet's optional hole pre-fill."""

import threading
from functools import partial

import cv2
import numpy as np

from engine.errors import JobCancelled
from engine.model_spec import ClassicalSpec, register_model

CLASSICAL_RADIUS_PX = 5
"""Neighbourhood radius of OpenCV's classical fills, in pixels."""
CLASSICAL_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
"""OpenCV's classical fills by short name: Telea 2004, Navier-Stokes (Bertalmio et al. 2001)."""


def classical_fill(
    images: np.ndarray, holes: np.ndarray, method: str = "telea", cancel: threading.Event | None = None,
    excludes: np.ndarray | None = None,
) -> np.ndarray:
    """OpenCV fill of ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) in [0, 1], RGB).

    Returns float32 (N, H, W, 3) in [0, 1] (quantised to 8 bits); pixels outside the holes are the input's.
    ``excludes`` (bool (N, H, W), True = never a source; None = none): these fills spread the colours of the hole's
    edge inwards and cannot skip a source pixel, so the excluded pixels are filled along with the hole and then given
    back their own values: their colours never reach the hole, which takes the colours beyond them instead.
    Raises JobCancelled between images once ``cancel`` is set.
    """
    flag = CLASSICAL_METHODS[method]
    filled = np.empty(images.shape, dtype=np.float32)
    for i, (image, hole) in enumerate(zip(images, holes, strict=True)):
        if cancel is not None and cancel.is_set():
            raise JobCancelled("removal cancelled")
        rgb8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        unknown = hole if excludes is None else hole | excludes[i]
        fill8 = cv2.inpaint(rgb8, unknown.astype(np.uint8), CLASSICAL_RADIUS_PX, flag)
        if unknown is not hole:
            np.copyto(fill8, rgb8, where=~hole[..., None])
        filled[i] = fill8.astype(np.float32) / 255.0
    return filled


def _fill_hook(images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None, progress, excludes=None, *,
               method: str) -> np.ndarray:
    """`classical_fill` with the arguments of `engine.model_spec.ClassicalFill` (fast: no progress within a call)."""
    return classical_fill(images, holes, method, cancel, excludes)


for _method, _title, _paper, _rank in (
    ("telea", "OpenCV Telea (classical)", "Telea 2004", 40),
    ("ns", "OpenCV Navier-Stokes (classical)", "Bertalmio, Bertozzi and Sapiro 2001", 50),
):
    register_model(ClassicalSpec(
        name=f"opencv-{_method}",
        title=_title,
        license="Apache-2.0 (OpenCV); no weights",
        training_data="none (no learning)",
        paper=_paper,
        rank=_rank,
        software="OpenCV",
        fill=partial(_fill_hook, method=_method),
    ))
