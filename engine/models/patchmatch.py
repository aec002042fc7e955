"""PatchMatch (Barnes, Shechtman, Finkelstein and Goldman 2009): a classical fill that copies real texture from
the rest of the context window instead of smearing the hole's border inwards.

It runs PyPatchMatch (MIT; a compiled library with OpenCV core linked in, wheels for Linux, macOS and Windows, no
compiler needed): patches of radius ``PATCH_RADIUS_PX`` (7 x 7 pixels) and the library's coarse-to-fine schedule
(an image pyramid down to a few pixels, from 15 EM iterations on the coarsest level to 1 on the finest; below
radius 5 the coarse levels are also tried with radius 5 and the better layout is kept). Like the networks it sees
one context window per hole, twice the hole's size and at most ``NATIVE_SIZE_PX`` on its longer side (larger windows
are filled downscaled and the fill is upscaled): on a whole 12-megapixel photo PatchMatch searches too far and
fills flat, and the cost grows with the hole's pixels.
"""

import threading
import time
from collections.abc import Callable

import numpy as np

from engine.errors import JobCancelled, ModelUnavailable
from engine.model_spec import ClassicalSpec, register_model

PATCH_RADIUS_PX = 3
"""Radius of the compared patches, pixels: 3 compares 7 x 7 patches (radius 5 measured twice as slow and worse on
48 held-back photos)."""
NATIVE_SIZE_PX = 512
"""Longer side of the window PatchMatch works on, pixels (a 400 x 300 hole is filled at 256 x 192)."""
SEED = 0
"""Seed of the randomised search: the same photo and hole always give the same fill."""
CANCEL_POLL_S = 0.05
"""How often a running fill looks at the cancel event and reports progress, seconds."""
EXPECTED_S = (0.3, 2.6e-5)
"""Expected seconds of one fill: a + b x hole pixels (fitted to 0.8 / 2.2 / 6.8 s for 128, 256 and 512 px square
holes on a 2-core Intel Xeon). The native call reports nothing, so progress within a window is this estimate, held
below 95 % until the fill is done."""

_NATIVE_LOCK = threading.Lock()  # the library's seed is global state: one fill at a time


def _library():
    """The loaded PyPatchMatch module; ModelUnavailable with the reason when its compiled library is missing."""
    try:
        import patchmatch
    except ImportError as exc:
        raise ModelUnavailable(f"PatchMatch needs the PyPatchMatch package ({exc}); reinstall FusionPaint") from exc
    if not patchmatch.patchmatch_available:
        raise ModelUnavailable("PatchMatch's compiled library could not be loaded on this computer; reinstall "
                               "PyPatchMatch or choose another model")
    return patchmatch


def patchmatch_fill(images: np.ndarray, holes: np.ndarray, cancel: threading.Event | None = None,
                    progress: Callable[[float], None] | None = None,
                    excludes: np.ndarray | None = None) -> np.ndarray:
    """PatchMatch fill of ``holes`` (bool (N, H, W), True = hole) in ``images`` (float32 (N, H, W, 3) in [0, 1], RGB).

    Returns float32 (N, H, W, 3) in [0, 1] (quantised to 8 bits); pixels outside the holes are the input's.
    ``excludes`` (bool (N, H, W), True = never copied from; None = none) is the library's global mask, less the hole:
    its pixels are neither filled nor used as a source, so no patch of the hole comes from them.
    Raises JobCancelled within ``CANCEL_POLL_S`` of ``cancel`` being set; the native call then finishes unseen on its
    own thread (it cannot be interrupted) and the next fill waits for it. ``progress(fraction)`` is estimated from the
    time spent (`EXPECTED_S`).
    """
    library = _library()
    filled = np.empty(images.shape, dtype=np.float32)
    a, b = EXPECTED_S
    expected = [a + b * int(hole.sum()) for hole in holes]
    for i, (image, hole) in enumerate(zip(images, holes, strict=True)):
        excluded = None if excludes is None or not excludes[i].any() else (excludes[i] & ~hole).astype(np.uint8)
        rgb8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)

        def report(elapsed_s: float, i: int = i) -> None:
            if progress is not None:
                within = min(elapsed_s / expected[i], 0.95)
                progress((sum(expected[:i]) + within * expected[i]) / sum(expected))

        result = _run_cancellable(library, rgb8, hole.astype(np.uint8), excluded, cancel, report)
        filled[i] = result.astype(np.float32) / 255.0
    return filled


def _run_cancellable(library, rgb8: np.ndarray, hole8: np.ndarray, excluded8: np.ndarray | None,
                     cancel: threading.Event | None, report: Callable[[float], None]) -> np.ndarray:
    """One native fill on a helper thread, waited for while watching ``cancel`` and reporting the seconds spent.
    ``excluded8``: uint8 (H, W), non-zero = neither filled nor a source (None: every known pixel is a source)."""
    results: list[np.ndarray] = []  # the filled uint8 (H, W, 3) image, once the native call returns
    errors: list[Exception] = []  # or what it raised, handed to the waiting thread

    def run() -> None:
        with _NATIVE_LOCK:
            try:
                library.set_random_seed(SEED)
                results.append(library.inpaint(rgb8, hole8, global_mask=excluded8, patch_size=PATCH_RADIUS_PX))
            except Exception as exc:
                errors.append(exc)

    thread = threading.Thread(target=run, name="patchmatch", daemon=True)
    start = time.perf_counter()
    thread.start()
    while thread.is_alive():
        if cancel is not None and cancel.is_set():
            raise JobCancelled("removal cancelled")
        thread.join(CANCEL_POLL_S)
        report(time.perf_counter() - start)
    if errors:
        raise errors[0]
    return results[0]


register_model(ClassicalSpec(
    name="patchmatch",
    title="PatchMatch (classical, copies texture)",
    license="MIT (PyPatchMatch; OpenCV core inside it: Apache-2.0); no weights",
    training_data="none (no learning)",
    paper="Barnes, Shechtman, Finkelstein and Goldman, PatchMatch, SIGGRAPH 2009",
    native_size=NATIVE_SIZE_PX,
    rank=10,  # after DFNet (on PatchMatch's own pre-fill): the classical fills' best VGG distance (docs/models.md)
    max_batch=1,
    software="PyPatchMatch",
    fill=patchmatch_fill,
))
