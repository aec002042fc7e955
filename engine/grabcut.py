"""Select an object from a box dragged around it: OpenCV's GrabCut (Rother et al. 2004) on a downscaled crop.

Units: photo pixels throughout. A box is ``(y0, x0, y1, x1)``, half-open, rows first (:data:`engine.regions.Box`).
Images are RGB uint8 (H, W, 3), RGB channel order (as everywhere in FusionPaint; GrabCut's colour models do not
depend on the order). No Qt: the editor runs :func:`object_mask` on a helper thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from engine.errors import FusionPaintError, JobCancelled
from engine.regions import Box

MIN_BOX_PX = 8
"""The shortest box side GrabCut is run on, photo pixels."""
WORK_PIXELS = 250_000
"""GrabCut runs on the box and its margin downscaled to at most this many pixels: its iterations then take a second
or a few, depending on the photo (on a whole 24 MP photo, minutes)."""
MARGIN = 0.1
"""Background context around the box, as a fraction of its longer side (at least MIN_BOX_PX): GrabCut learns the
background's colours from it."""
GROW_PX = 8
"""How far the object's mask is grown past its edge by default, photo pixels (its edge pixels and a close shadow)."""
ITERATIONS = 4
"""GrabCut iterations by default."""
SPECK_SHARE = 0.02
"""Parts of GrabCut's result smaller than this share of its largest part are dropped: specks of background whose
colours happen to match the object's."""
NOTHING_FOUND = "GrabCut found no object in the box: drag it closer around the object"


class NoObjectFound(FusionPaintError):
    """The box is too small, or GrabCut found nothing in it to tell from the background."""


def _to_mask(selected: np.ndarray) -> np.ndarray:
    """``selected`` (bool (h, w)) as OpenCV's masks: uint8 (h, w), C-contiguous, 255 = selected, 0 = not."""
    return np.where(selected, np.uint8(255), np.uint8(0))


def _without_specks(found: np.ndarray) -> np.ndarray:
    """``found`` (uint8 (h, w), 255 = object) without its 8-connected parts under ``SPECK_SHARE`` of the largest."""
    count, parts, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    if count <= 2:
        return found
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.concatenate([[0], np.where(areas >= SPECK_SHARE * areas.max(), 255, 0)]).astype(np.uint8)
    return keep[parts]


def object_mask(image: np.ndarray, box: Box, grow_px: int = GROW_PX, iterations: int = ITERATIONS,
                cancelled: Callable[[], bool] | None = None) -> tuple[Box, np.ndarray]:
    """The object inside ``box`` of ``image`` (RGB uint8 (H, W, 3)), as ``(region, mask)``: ``mask`` is bool
    (h, w) over ``region``, the object's bounding box grown by the growth below and clipped to the photo; True =
    object.

    GrabCut (``GC_INIT_WITH_RECT``, ``iterations`` rounds) runs on the box plus a margin of ``MARGIN`` of its longer
    side, downscaled to at most ``WORK_PIXELS``; its mask is upscaled (smoothly) to the photo's pixels and grown by
    ``grow_px`` plus one working pixel's size (the upscaled edge is only that exact), so the object's edge goes too;
    specks (parts under ``SPECK_SHARE`` of the largest) are left out.
    ``cancelled()`` is asked between iterations: True raises :class:`JobCancelled`. Raises :class:`NoObjectFound`
    when the box has a side under ``MIN_BOX_PX`` or GrabCut finds no object. ``image`` is only read.
    """
    height, width = image.shape[:2]
    y0, x0, y1, x1 = max(0, box[0]), max(0, box[1]), min(height, box[2]), min(width, box[3])
    if min(y1 - y0, x1 - x0) < MIN_BOX_PX:
        raise NoObjectFound(f"the box is too small to find an object in: drag one at least {MIN_BOX_PX} px a side")
    margin = max(MIN_BOX_PX, round(MARGIN * max(y1 - y0, x1 - x0)))
    cy0, cx0, cy1, cx1 = max(0, y0 - margin), max(0, x0 - margin), min(height, y1 + margin), min(width, x1 + margin)
    scale = min(1.0, math.sqrt(WORK_PIXELS / ((cy1 - cy0) * (cx1 - cx0))))
    crop = image[cy0:cy1, cx0:cx1]
    small = crop if scale == 1.0 else cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                                         max(1, round(crop.shape[0] * scale))),
                                                 interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    fy, fx = sh / crop.shape[0], sw / crop.shape[1]
    # the box in the working image, at least one pixel inside it: GrabCut needs some background to learn from
    left, top = max(1, round((x0 - cx0) * fx)), max(1, round((y0 - cy0) * fy))
    right, bottom = min(sw - 1, round((x1 - cx0) * fx)), min(sh - 1, round((y1 - cy0) * fy))
    rect = (left, top, right - left, bottom - top)  # x, y, width, height; read by the first round only
    labels = np.zeros((sh, sw), np.uint8)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    small = np.ascontiguousarray(small)
    try:
        for i in range(max(1, iterations)):
            if cancelled is not None and cancelled():
                raise JobCancelled("object selection cancelled")
            cv2.grabCut(small, labels, rect, *models, 1, cv2.GC_INIT_WITH_RECT if i == 0 else cv2.GC_EVAL)
    except cv2.error as exc:  # e.g. a box of one flat colour: nothing to model
        raise NoObjectFound(NOTHING_FOUND) from exc
    found = _without_specks(_to_mask(labels & 1 != 0))  # GC_FGD (1) and GC_PR_FGD (3)
    full = cv2.resize(found, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
    inside = _to_mask(full[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] > 127)  # the object in the box
    bx, by, bw, bh = cv2.boundingRect(inside)
    if bw == 0:
        raise NoObjectFound(NOTHING_FOUND)
    grow = max(0, int(grow_px)) + math.ceil(1.0 / scale)
    oy0, ox0, oy1, ox1 = y0 + by, x0 + bx, y0 + by + bh, x0 + bx + bw
    ry0, rx0, ry1, rx1 = max(0, oy0 - grow), max(0, ox0 - grow), min(height, oy1 + grow), min(width, ox1 + grow)
    mask = np.zeros((ry1 - ry0, rx1 - rx0), np.uint8)
    mask[oy0 - ry0:oy1 - ry0, ox0 - rx0:ox1 - rx0] = inside[by:by + bh, bx:bx + bw]
    # grown by the disk of radius ``grow`` (a distance transform: its time does not depend on the radius)
    distance = cv2.distanceTransform(_to_mask(mask == 0), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return (ry0, rx0, ry1, rx1), distance <= grow
