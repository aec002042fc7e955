"""One removal: hole regions -> context windows -> one batch through the model -> composite.

Contract: ``image`` is uint8 (H, W, 3) RGB, ``hole`` is bool (H, W) with True = fill, and the optional ``exclude`` is
bool (H, W) with True = never a source (the sampling area's excluded part: a fill takes no texture or colour from it;
where it overlaps the hole, the hole wins). Inputs are never modified (unless the caller asks for the result in place).
Composition inside each window, with A the composition map and ``known`` the image with the hole zeroed (or, for
weights trained with a classical pre-fill, with the hole holding that fill)::

    out = A * raw + (1 - A) * known

A is 1 inside the hole and fades linearly to 0 across ``band_px`` pixels outside it (the seam band; by default the
model's ``seam_band_px``: 8, or 0 for DMFN, whose output outside the hole is never trained); for DFNet it is
additionally multiplied by the network's learned alpha. Pixels where A == 0 - every pixel farther than ``band_px``
from the hole - are copied bit-identically from the input.
"""

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.errors import JobCancelled, JobTooLarge, NothingToSample
from engine.inpainter import Inpainter
from engine.model_spec import ModelSpec, NetworkSpec, composition_meaning, short_title
from engine.prefill import input_fill_title
from engine.regions import Box, pad_bottom_right, plan_windows, round_up, union_box, window_scale

ProgressCallback = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction of the job done in 0..1 and what is being done; called on the thread
that runs the job (the engine worker's)."""

#: Smallest side a network is run at: a crop of a tiny photo is reflect-padded up to it, so the deepest feature
#: maps keep more than one pixel (DMFN's InstanceNorm needs that).
MIN_NETWORK_SIDE = 32

#: Rows blended at a time: bounds the float temporaries of a huge hole (24 MP) to a few tens of MB.
COMPOSITE_ROWS = 128

#: Bytes per window pixel a removal holds: the result's raw output and composition map (uint8 RGB each) and one
#: more full-size uint8 map while a window is composited (its upscaled pre-fill or learned alpha).
WINDOW_BYTES_PER_PIXEL = 9

#: Bytes per pixel of one chunk of ``COMPOSITE_ROWS`` rows: about six float32 RGB temporaries.
CHUNK_BYTES_PER_PIXEL = 72

#: Share of the memory the system reports free that one removal may plan to use.
MEMORY_SHARE = 0.9


@dataclass(frozen=True)
class WindowResult:
    """One processed window. box: (y0, x0, y1, x1) in full-resolution pixels.

    alpha: uint8 (h, w, 3), the composition map A used for this window, scaled to 0..255.
    raw: uint8 (h, w, 3) RGB, the model's output before composition (upscaled to full resolution).
    changed: bounding box (full-resolution) of the pixels whose A > 0, or None.
    """

    box: Box
    alpha: np.ndarray
    raw: np.ndarray
    changed: Box | None


@dataclass(frozen=True)
class InpaintResult:
    """The output of :func:`inpaint`.

    image: uint8 (H, W, 3) RGB result. alpha_learned: True when the alpha maps are DFNet's learned maps, False when they
    are the composition mask (feathered across ``band_px`` pixels, or the hole itself when ``band_px`` is 0).
    model: the model's name; model_title: its title for the user, e.g. "DFNet (Deep Fusion Network)".
    device: where it ran, for the user. band_px: the seam band used, in pixels.
    alpha_meaning: what the alpha maps mean, worded "short name: what its values mean"
    (`engine.model_spec.composition_meaning`). prefill_title: the classical fill the network saw in the hole (what a
    learned alpha's 0 shows there), e.g. "PatchMatch"; None when the hole was zeros or the model is a classical fill.
    timings: seconds per stage ("plan", "prepare", "model", "composite", "total"). notes: one-line remarks for the
    user, e.g. that a network only partly honoured the exclude mask.
    """

    image: np.ndarray
    windows: tuple[WindowResult, ...]
    alpha_learned: bool
    model: str
    device: str
    band_px: int
    model_title: str
    alpha_meaning: str
    prefill_title: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def alpha_map(self) -> np.ndarray:
        """uint8 (H, W, 3): the composition maps of all windows (255 = model output), 0 elsewhere."""
        out = np.zeros(self.image.shape, np.uint8)
        for window in self.windows:
            y0, x0, y1, x1 = window.box
            out[y0:y1, x0:x1] = window.alpha
        return out

    def raw_map(self) -> np.ndarray:
        """uint8 (H, W, 3): the result with each window replaced by the model's raw output."""
        out = self.image.copy()
        for window in self.windows:
            y0, x0, y1, x1 = window.box
            out[y0:y1, x0:x1] = window.raw
        return out

    def changed_box(self) -> Box | None:
        """Bounding box of every pixel that may differ from the input, or None when nothing changed."""
        boxes = [w.changed for w in self.windows if w.changed is not None]
        if not boxes:
            return None
        total = boxes[0]
        for box in boxes[1:]:
            total = union_box(total, box)
        return total


def validate_inputs(image: np.ndarray, hole: np.ndarray, exclude: np.ndarray | None = None) -> None:
    """Raise ValueError unless image is uint8 (H, W, 3) and hole (and exclude, unless None) are bool (H, W) of the same
    size."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be a uint8 array of shape (H, W, 3), got {getattr(image, 'shape', '?')}")
    masks = {"hole": hole} if exclude is None else {"hole": hole, "exclude": exclude}
    for name, mask in masks.items():
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != image.shape[:2]:
            raise ValueError(f"{name} must be a bool array of shape {image.shape[:2]}, "
                             f"got {getattr(mask, 'shape', '?')}")


def check_sampling_area(hole: np.ndarray, exclude: np.ndarray | None) -> None:
    """Raise NothingToSample when ``exclude`` (bool (H, W), True = never a source) covers every pixel outside
    ``hole`` (bool (H, W)): no fill would have anything to copy from."""
    if exclude is not None and hole.any() and (hole | exclude).all():
        raise NothingToSample("the excluded sampling area covers the whole photo outside the hole, so there is "
                              "nothing left to fill it from: exclude less")


def exclude_note(spec: ModelSpec) -> str | None:
    """What a removal with an exclude mask tells the user about model ``spec``: None when its fill honours the mask
    fully (the classical fills), else how far a network does (only its classical pre-fill avoids the area)."""
    if not isinstance(spec, NetworkSpec):
        return None
    name = short_title(spec.title)  # "DFNet", or a fine-tuned model's own name
    if spec.input_fill is None:
        return f"{name} ignores the exclude mask: PatchMatch keeps the excluded area out"
    return f"{name} honours the exclude mask only in its pre-fill: PatchMatch keeps the area out strictly"


def padding_rule(spec: ModelSpec) -> tuple[int, int]:
    """(multiple, min_side) in pixels: each side of a window the model is given is padded to a multiple of
    ``multiple`` and to at least ``min_side`` (a network's ``size_multiple`` and `MIN_NETWORK_SIDE`; a classical fill
    takes any size: (1, 1))."""
    if isinstance(spec, NetworkSpec):
        return spec.size_multiple, MIN_NETWORK_SIDE
    return 1, 1


def estimate_peak_bytes(image_hw: tuple[int, int], windows: list[Box], spec: ModelSpec, in_place: bool = False
                        ) -> int:
    """Upper bound, in bytes, of the memory :func:`inpaint` allocates beyond its inputs for these context windows:
    the output copy of the photo (3 bytes per pixel, none when ``in_place``), the per-window maps, the blending chunk
    of the widest window, and the model's working memory for one batch (``spec.working_bytes_per_pixel`` per input
    pixel)."""
    height, width = image_hw
    window_pixels = sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in windows)
    widest = max((x1 - x0 for _, x0, _, x1 in windows), default=0)
    multiple, min_side = padding_rule(spec)
    side = round_up(max(spec.native_size, min_side), multiple)
    batch = min(len(windows), spec.max_batch)
    output = 0 if in_place else 3 * height * width
    return (output + WINDOW_BYTES_PER_PIXEL * window_pixels + CHUNK_BYTES_PER_PIXEL * COMPOSITE_ROWS * widest
            + spec.working_bytes_per_pixel * batch * side * side)


def available_memory_bytes() -> int:
    """Memory the system can give this process now without swapping, in bytes (psutil's "available")."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(needed: int) -> None:
    """Raise JobTooLarge when a removal's estimate (``needed`` bytes) exceeds ``MEMORY_SHARE`` of the free memory."""
    free = available_memory_bytes()
    if needed > MEMORY_SHARE * free:
        raise JobTooLarge(
            f"This removal needs about {needed / 2**30:.1f} GB of memory and only {free / 2**30:.1f} GB is free: "
            "close other programs, or remove the object in smaller parts"
        )


def feather_weights(hole: np.ndarray, band_px: int) -> np.ndarray:
    """float32 (h, w): 1 on hole pixels, 1 - d / (band_px + 1) at Euclidean distance d <= band_px, 0 beyond."""
    if band_px <= 0:
        return hole.astype(np.float32)
    distance = cv2.distanceTransform((~hole).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    weights = 1.0 - distance / np.float32(band_px + 1)
    weights[distance > band_px] = 0.0
    return weights.astype(np.float32, copy=False)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise JobCancelled("removal cancelled")


def _prepare_window(image: np.ndarray, hole: np.ndarray, exclude: np.ndarray | None, box: Box, native: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Crop a window and downscale it so its longer side is at most ``native``.

    Returns float32 (h, w, 3) in [0, 1] RGB, bool (h, w) hole and bool (h, w) exclude (None when ``exclude`` is).
    NothingToSample when the window holds no pixel that is neither hole nor excluded.
    """
    y0, x0, y1, x1 = box
    crop = image[y0:y1, x0:x1]
    if window_scale(box, native) < 1.0:
        small_h, small_w = _small_size(box, native)
        crop = cv2.resize(crop, (small_w, small_h), interpolation=cv2.INTER_AREA)
    crop_hole = _crop_mask(hole, box, native)
    crop_exclude = None if exclude is None else _crop_mask(exclude, box, native)
    if crop_exclude is not None and (crop_hole | crop_exclude).all():
        raise NothingToSample(f"everything around the hole at x {x0}-{x1}, y {y0}-{y1} px is excluded from the "
                              "sampling area, so there is nothing near it to fill it from: exclude less around it")
    return crop.astype(np.float32) / 255.0, crop_hole, crop_exclude


def _crop_mask(mask: np.ndarray, box: Box, native: int) -> np.ndarray:
    """bool (h, w): ``box`` of ``mask`` (bool (H, W)), downscaled like the window; any set pixel touching a
    low-resolution pixel sets it, so the fill never misses part of the hole nor copies from an excluded pixel."""
    y0, x0, y1, x1 = box
    crop = mask[y0:y1, x0:x1]
    if window_scale(box, native) >= 1.0:
        return crop
    small_h, small_w = _small_size(box, native)
    return cv2.resize(crop.view(np.uint8) * np.uint8(255), (small_w, small_h), interpolation=cv2.INTER_AREA) > 0


def _small_size(box: Box, native: int) -> tuple[int, int]:
    """(h, w) in pixels of a window once downscaled so its longer side is at most ``native``."""
    scale = window_scale(box, native)
    return (max(1, round((box[2] - box[0]) * scale)), max(1, round((box[3] - box[1]) * scale)))


def _padded_shape(small_hw: tuple[int, int], multiple: int, min_side: int) -> tuple[int, int]:
    """The shape a window of ``small_hw`` pixels is padded to: each side a multiple of ``multiple``, >= ``min_side``."""
    return (round_up(max(min_side, small_hw[0]), multiple), round_up(max(min_side, small_hw[1]), multiple))


def _pad_batch(
    crops: list[np.ndarray], holes: list[np.ndarray], excludes: list[np.ndarray] | None, multiple: int, min_side: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Reflect-pad every window, its hole and its exclude (None stays None) at the bottom and right to one shape:
    each side a multiple of ``multiple`` and at least ``min_side``. Returns the three stacked, (N, h, w, ...)."""
    height = max(_padded_shape(c.shape[:2], multiple, min_side)[0] for c in crops)
    width = max(_padded_shape(c.shape[:2], multiple, min_side)[1] for c in crops)

    def stack(arrays: list[np.ndarray]) -> np.ndarray:
        return np.stack([pad_bottom_right(a, height, width) for a in arrays])

    return stack(crops), stack(holes), None if excludes is None else stack(excludes)


def _batches(windows: list[Box], spec: ModelSpec) -> list[list[Box]]:
    """Windows in batches of at most ``spec.max_batch`` that share one padded shape (:func:`padding_rule`), so no
    window is padded to another's size."""
    groups: dict[tuple[int, int], list[Box]] = {}
    for box in windows:
        small_hw = _small_size(box, spec.native_size)
        groups.setdefault(_padded_shape(small_hw, *padding_rule(spec)), []).append(box)
    return [group[i:i + spec.max_batch] for group in groups.values() for i in range(0, len(group), spec.max_batch)]


def inpaint(
    image: np.ndarray,
    hole: np.ndarray,
    model: Inpainter,
    *,
    band_px: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    in_place: bool = False,
    exclude: np.ndarray | None = None,
) -> InpaintResult:
    """Fill ``hole`` in ``image`` with ``model``; see the module docstring for the composition rule.

    ``exclude``: bool (H, W), True = never a source for the fill (None or empty: the whole photo may be sampled).
    PatchMatch and OpenCV's fills, and a network's classical pre-fill, honour it within each window (see
    :func:`exclude_note` for networks). Raises NothingToSample up front when it leaves nothing to fill from.

    ``band_px``: width of the seam band in pixels (>= 0); None = the model's own (``spec.seam_band_px``).

    progress(fraction in [0, 1], message) is called from the calling thread. Raises JobCancelled when ``cancel`` is set,
    and JobTooLarge up front when the job would not fit in the free memory (:func:`check_memory`).
    ``in_place``: write the result into ``image`` itself instead of a copy (3 bytes per pixel less), for callers
    that no longer need the original, like the command line; by default the inputs are never modified.
    """
    validate_inputs(image, hole, exclude)
    if exclude is not None and not exclude.any():
        exclude = None
    spec = model.spec
    band_px = spec.seam_band_px if band_px is None else band_px
    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _check(cancel)
    report(0.0, "Finding the areas to fill")
    multiple, min_side = padding_rule(spec)
    windows = plan_windows(hole, spec.native_size, multiple)
    timings["plan"] = time.perf_counter() - start
    if not windows:
        timings["total"] = time.perf_counter() - start
        report(1.0, "Nothing to remove")
        return _result(model, image if in_place else image.copy(), (), band_px, timings)
    check_sampling_area(hole, exclude)
    check_memory(estimate_peak_bytes(image.shape[:2], windows, spec, in_place))
    note = None if exclude is None else exclude_note(spec)
    # windows never overlap, so a window's crop never holds pixels already written for another: in place is exact
    output = image if in_place else image.copy()

    results: list[WindowResult] = []
    first = 0
    for batch_boxes in _batches(windows, spec):
        _check(cancel)
        tick = time.perf_counter()
        prepared = [_prepare_window(image, hole, exclude, box, spec.native_size) for box in batch_boxes]
        crops = [p[0] for p in prepared]
        # each window's exclude is an array when ``exclude`` is one
        small_excludes = None if exclude is None else [p[2] for p in prepared if p[2] is not None]
        batch, batch_holes, batch_excludes = _pad_batch(crops, [p[1] for p in prepared], small_excludes,
                                                        multiple, min_side)
        timings["prepare"] = timings.get("prepare", 0.0) + time.perf_counter() - tick
        done = 0.1 + 0.8 * first / len(windows)  # the model's share of the bar: 0.1 .. 0.9
        share = 0.8 * len(batch_boxes) / len(windows)
        first += len(batch_boxes)
        message = f"Filling {len(windows)} area{'s' if len(windows) != 1 else ''} with {spec.title}"
        report(done, message)
        tick = time.perf_counter()
        prediction = model.predict(batch, batch_holes, cancel, functools.partial(
            _report_within, report, done, share, message), sizes=[c.shape[:2] for c in crops], excludes=batch_excludes)
        timings["model"] = timings.get("model", 0.0) + time.perf_counter() - tick
        _check(cancel)
        tick = time.perf_counter()
        for i, box in enumerate(batch_boxes):
            alpha = None if prediction.alpha is None else prediction.alpha[i]
            base = None if prediction.base is None else prediction.base[i]
            small_hw = crops[i].shape[:2]
            results.append(_composite(output, image, hole, box, small_hw, prediction.raw[i], alpha, base, band_px))
        timings["composite"] = timings.get("composite", 0.0) + time.perf_counter() - tick

    timings["total"] = time.perf_counter() - start
    report(1.0, "Done")
    return _result(model, output, tuple(results), band_px, timings, notes=() if note is None else (note,))


def _result(model: Inpainter, image: np.ndarray, windows: tuple[WindowResult, ...], band_px: int,
            timings: dict[str, float], notes: tuple[str, ...] = ()) -> InpaintResult:
    """The result of a removal by ``model``, with what its spec says about the maps (see :class:`InpaintResult`)."""
    spec = model.spec
    learned = isinstance(spec, NetworkSpec) and spec.alpha_learned
    fill = spec.input_fill if isinstance(spec, NetworkSpec) else None
    return InpaintResult(image, windows, learned, spec.name, model.device_name, band_px, spec.title,
                         composition_meaning(spec, band_px), None if fill is None else input_fill_title(fill),
                         timings, notes)


def _report_within(report: ProgressCallback, done: float, share: float, message: str, fraction: float) -> None:
    """Report ``fraction`` (0..1) of one model call that covers ``share`` of the bar from ``done``."""
    report(done + share * min(max(fraction, 0.0), 1.0), message)


def _upscaled(small: np.ndarray, small_hw: tuple[int, int], size_hw: tuple[int, int], interpolation: int) -> np.ndarray:
    """uint8 (h, w, 3): the unpadded part of a network-resolution float map in [0, 1], resized to ``size_hw``."""
    small_h, small_w = small_hw
    values = _to_uint8(small[:small_h, :small_w])
    if (small_h, small_w) != tuple(size_hw):
        values = cv2.resize(values, (size_hw[1], size_hw[0]), interpolation=interpolation)
    return values


def _composite(
    output: np.ndarray,
    image: np.ndarray,
    hole: np.ndarray,
    box: Box,
    small_hw: tuple[int, int],
    raw_padded: np.ndarray,
    alpha_padded: np.ndarray | None,
    base_padded: np.ndarray | None,
    band_px: int,
) -> WindowResult:
    """Upscale one window's prediction to full resolution and blend it into ``output`` in place.

    ``base_padded`` (the classical pre-fill, or None = zeros) is what the alpha blends over inside the hole.

    Only the hole's bounding box grown by the seam band is blended (beyond it A == 0), in chunks of
    ``COMPOSITE_ROWS`` rows, so a huge hole needs no full-size float array: besides the result's own ``raw`` and
    ``alpha`` maps (3 bytes per window pixel each), at most one more full-size uint8 map lives at a time
    (see :func:`estimate_peak_bytes`).
    """
    y0, x0, y1, x1 = box
    height, width = y1 - y0, x1 - x0
    crop_hole = hole[y0:y1, x0:x1]
    target = output[y0:y1, x0:x1]
    # ``target`` becomes the "known" image: the photo outside the hole, the pre-fill (or zeros) inside it
    if base_padded is None:
        np.copyto(target, 0, where=crop_hole[..., None])
    else:
        np.copyto(target, _upscaled(base_padded, small_hw, (height, width), cv2.INTER_CUBIC),
                  where=crop_hole[..., None])
    raw8 = _upscaled(raw_padded, small_hw, (height, width), cv2.INTER_CUBIC)
    # the composition map is built in place of the upscaled learned alpha (one full-size map, not two)
    if alpha_padded is None:
        composition8 = np.zeros((height, width, 3), np.uint8)
    else:
        composition8 = _upscaled(alpha_padded, small_hw, (height, width), cv2.INTER_LINEAR)
    rows = np.flatnonzero(crop_hole.any(axis=1))
    if rows.size == 0:  # a window always holds a hole; guard against an empty one anyway
        composition8[:] = 0
        return WindowResult(box=box, alpha=composition8, raw=raw8, changed=None)
    cols = np.flatnonzero(crop_hole.any(axis=0))
    grow = max(band_px, 0) + 1
    sy0, sy1 = max(int(rows[0]) - grow, 0), min(int(rows[-1]) + 1 + grow, height)
    sx0, sx1 = max(int(cols[0]) - grow, 0), min(int(cols[-1]) + 1 + grow, width)
    if alpha_padded is not None:  # A == 0 outside the blended box
        composition8[:sy0] = 0
        composition8[sy1:] = 0
        composition8[:, :sx0] = 0
        composition8[:, sx1:] = 0
    touched_rows: list[int] = []
    touched_cols = [width, -1]
    for r0 in range(sy0, sy1, COMPOSITE_ROWS):
        r1 = min(r0 + COMPOSITE_ROWS, sy1)
        # a pixel's feather weight depends on hole pixels at most ``grow`` rows away: a margin makes chunks exact
        m0, m1 = max(r0 - grow, sy0), min(r1 + grow, sy1)
        w = feather_weights(crop_hole[m0:m1, sx0:sx1], band_px)[r0 - m0:r1 - m0, :, None]
        part = (slice(r0, r1), slice(sx0, sx1))
        a = w if alpha_padded is None else w * (composition8[part].astype(np.float32) * (1.0 / 255.0))
        known = target[part].astype(np.float32)
        blended = a * (raw8[part].astype(np.float32) - known) + known
        touched = w[..., 0] > 0
        target[part][touched] = _to_uint8(blended[touched], scale=1.0)
        composition8[part] = _to_uint8(np.broadcast_to(a, known.shape))
        hit_rows = np.flatnonzero(touched.any(axis=1))
        if hit_rows.size:
            hit_cols = np.flatnonzero(touched.any(axis=0))
            touched_rows += [r0 + int(hit_rows[0]), r0 + int(hit_rows[-1])]
            touched_cols = [min(touched_cols[0], sx0 + int(hit_cols[0])), max(touched_cols[1], sx0 + int(hit_cols[-1]))]
    changed = (y0 + min(touched_rows), x0 + touched_cols[0], y0 + max(touched_rows) + 1, x0 + touched_cols[1] + 1)
    return WindowResult(box=box, alpha=composition8, raw=raw8, changed=changed)


def _to_uint8(values: np.ndarray, scale: float = 255.0) -> np.ndarray:
    """Round ``values * scale`` to uint8, clipping to 0..255."""
    return np.clip(values * scale + 0.5, 0, 255).astype(np.uint8)
