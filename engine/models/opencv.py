"""OpenCV's classical fills (no learning, no PyTorch): two built-in models and DFNet's optional hole pre-fill."""

import threading
from functools import partial

import cv2
import numpy as np

from engine.errors import JobCancelled
from engine.model_spec import ModelSpec, register_model

CLASSICAL_RADIUS_PX = 5
"""Neighbourhood radius of OpenCV's classical fills, in pixels."""
CLASSICAL_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
"""OpenCV's classical fills by short name: Telea 2004, Navier-Stokes (Bertalmio et al. 2001)."""


def classical_fill(
    images: np.ndarray, holes: np.ndarray, method: str = "telea", cancel: threading.Event | None = None
) -> np.ndarray:
    """OpenCV fill of ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) in [0, 1], RGB).

    Returns float32 (N, H, W, 3) in [0, 1] (quantised to 8 bits); pixels outside the holes are the input's.
    Raises JobCancelled between images once ``cancel`` is set.
    """
    flag = CLASSICAL_METHODS[method]
    filled = np.empty(images.shape, dtype=np.float32)
    for i, (image, hole) in enumerate(zip(images, holes, strict=True)):
        if cancel is not None and cancel.is_set():
            raise JobCancelled("removal cancelled")
        rgb8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
        filled[i] = cv2.inpaint(rgb8, hole.astype(np.uint8), CLASSICAL_RADIUS_PX, flag).astype(np.float32) / 255.0
    return filled


def _fill_hook(images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None, progress, method: str
               ) -> np.ndarray:
    """`classical_fill` with the arguments of `engine.model_spec.ClassicalFill` (fast: no progress within a call)."""
    return classical_fill(images, holes, method, cancel)


for _method, _title, _paper, _rank in (
    ("telea", "OpenCV Telea (classical)", "Telea 2004", 40),
    ("ns", "OpenCV Navier-Stokes (classical)", "Bertalmio, Bertozzi and Sapiro 2001", 50),
):
    register_model(ModelSpec(
        name=f"opencv-{_method}",
        title=_title,
        arch=f"opencv-{_method}",
        license="Apache-2.0 (OpenCV); no weights",
        training_data="none (no learning)",
        paper=_paper,
        rank=_rank,
        software="OpenCV",
        fill=partial(_fill_hook, method=_method),
    ))
