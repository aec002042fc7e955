"""Where to run the model on a large photo: hole regions, their context windows, and merging.

Boxes are ``(y0, x0, y1, x1)`` integer pixel bounds, half-open, rows first (the same everywhere in FusionPaint).
"""

import math

import cv2
import numpy as np

Box = tuple[int, int, int, int]
"""(y0, x0, y1, x1): half-open pixel rectangle, rows then columns."""

#: A window is this many times the hole's bounding box per side, so the hole covers at most about a quarter of it.
CONTEXT_SCALE = 2.0


def hole_boxes(hole: np.ndarray) -> list[Box]:
    """Bounding boxes of the 8-connected hole regions of a bool (H, W) mask (True = hole)."""
    rows = np.flatnonzero(hole.any(axis=1))
    if rows.size == 0:
        return []
    cols = np.flatnonzero(hole.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    # label only the hole's bounding box: on a 12-megapixel photo with a small hole this is ~100x faster
    crop = np.ascontiguousarray(hole[top:rows[-1] + 1, left:cols[-1] + 1]).view(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
    return [(int(y) + top, int(x) + left, int(y + h) + top, int(x + w) + left) for x, y, w, h, _ in stats[1:count]]


def _span(start: int, stop: int, length: int, limit: int) -> tuple[int, int]:
    """A span of ``length`` (clipped to ``limit``) centred on [start, stop), shifted inside [0, limit)."""
    length = min(length, limit)
    lo = (start + stop - length) // 2
    lo = min(max(lo, 0), limit - length)
    return lo, lo + length


def context_window(box: Box, image_hw: tuple[int, int], native_size: int) -> Box:
    """Grow a hole's box into its context window.

    Each side becomes ``CONTEXT_SCALE`` times the box side, but never less than ``native_size`` (the model's
    training resolution) unless the photo is smaller; the window is centred on the hole, shifted inside the photo.
    """
    y0, x0, y1, x1 = box
    height, width = image_hw
    win_h = max(math.ceil((y1 - y0) * CONTEXT_SCALE), native_size)
    win_w = max(math.ceil((x1 - x0) * CONTEXT_SCALE), native_size)
    wy0, wy1 = _span(y0, y1, win_h, height)
    wx0, wx1 = _span(x0, x1, win_w, width)
    return (wy0, wx0, wy1, wx1)


def boxes_overlap(a: Box, b: Box) -> bool:
    """True when two half-open boxes share at least one pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def union_box(a: Box, b: Box) -> Box:
    """Smallest box containing both."""
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def fit_to_multiple(box: Box, image_hw: tuple[int, int], native_size: int, size_multiple: int) -> Box:
    """Grow a window inside the photo so that, downscaled by `window_scale`, each side is a multiple of
    ``size_multiple`` pixels: the model then sees real context where it would otherwise see reflect-padding.

    A side is grown around the window's centre (shifted inside the photo) and never beyond the photo; the longer side
    (which sets the scale) is never changed, so the scale stays the same. A window that cannot grow enough is padded
    (`pad_bottom_right`).
    """
    if size_multiple <= 1:
        return box
    y0, x0, y1, x1 = box
    scale = window_scale(box, native_size)
    height, width = image_hw
    spans = []
    for start, stop, limit in ((y0, y1, height), (x0, x1, width)):
        small = max(1, round((stop - start) * scale))
        wanted = round(round_up(small, size_multiple) / scale)  # rounds back to exactly the multiple at ``scale``
        spans.append(_span(start, stop, wanted, limit) if wanted > stop - start else (start, stop))
    (ny0, ny1), (nx0, nx1) = spans
    if window_scale((ny0, nx0, ny1, nx1), native_size) != scale:  # the grown side became the longer one
        return box
    return (ny0, nx0, ny1, nx1)


def plan_windows(hole: np.ndarray, native_size: int, size_multiple: int = 1) -> list[Box]:
    """Context windows covering every hole pixel of a bool (H, W) mask; no two windows overlap, and each holds the
    whole bounding box of its hole regions.

    Overlapping windows are merged only while the merged window stays small (`MERGE_GROWTH`): merging the windows of
    holes far apart would show each hole to the model at a fraction of its size (60 dust spots on a 24 MP photo became
    one window seen at 512 px). Windows that overlap otherwise are clipped apart between their holes. Each window is
    first grown where the photo allows so that the model sees it at a multiple of ``size_multiple`` pixels
    (`fit_to_multiple`); a clipped one may then be padded instead.
    """
    image_hw = hole.shape[:2]
    items = _merge_close([(context_window(box, image_hw, native_size), box) for box in hole_boxes(hole)], native_size)
    for _ in range(_MAX_FIT_ROUNDS):  # growing can make windows overlap; merged ones are fitted again
        fitted = _merge_close([(fit_to_multiple(w, image_hw, native_size, size_multiple), h) for w, h in items],
                              native_size)
        if fitted == items:
            break
        items = fitted
    return sorted(_clipped_apart(items))


_MAX_FIT_ROUNDS = 8
"""Rounds of growing and merging windows in `plan_windows` (one or two suffice in practice)."""

MERGE_GROWTH = 1.25
"""Two overlapping windows are merged when the merged window's longer side is at most this many times the larger
window's (or at most the model's native size); otherwise they are clipped apart."""


def _long_side(box: Box) -> int:
    return max(box[2] - box[0], box[3] - box[1])


def _merge_close(items: list[tuple[Box, Box]], native_size: int) -> list[tuple[Box, Box]]:
    """Merge (window, hole box) pairs whose hole boxes overlap, or whose windows overlap and would merge into a
    window within `MERGE_GROWTH`, until none are left to merge. The result's hole boxes never overlap."""
    merged = list(items)
    changed = True
    while changed:
        changed = False
        result: list[tuple[Box, Box]] = []
        for window, holes in merged:
            for i, (other_window, other_holes) in enumerate(result):
                union = union_box(window, other_window)
                small = _long_side(union) <= max(native_size,
                                                 MERGE_GROWTH * max(_long_side(window), _long_side(other_window)))
                if boxes_overlap(holes, other_holes) or (boxes_overlap(window, other_window) and small):
                    result[i] = (union, union_box(holes, other_holes))
                    changed = True
                    break
            else:
                result.append((window, holes))
        merged = result
    return merged


def _clipped_apart(items: list[tuple[Box, Box]]) -> list[Box]:
    """The windows of (window, hole box) pairs whose hole boxes do not overlap, each pair of overlapping windows
    clipped at the middle of the widest gap between their hole boxes: the windows no longer overlap and each still
    holds its hole box. Clipping only shrinks windows, so one pass over the pairs suffices."""
    windows = [list(window) for window, _ in items]
    holes = [h for _, h in items]
    for i in range(len(windows)):
        for j in range(i + 1, len(windows)):
            if not boxes_overlap(tuple(windows[i]), tuple(windows[j])):  # type: ignore[arg-type]
                continue
            gaps = []
            for axis in (0, 1):  # 0: rows, 1: columns; a box is (y0, x0, y1, x1)
                if holes[i][axis + 2] <= holes[j][axis]:
                    gaps.append((holes[j][axis] - holes[i][axis + 2], axis, i, j))
                elif holes[j][axis + 2] <= holes[i][axis]:
                    gaps.append((holes[i][axis] - holes[j][axis + 2], axis, j, i))
            gap, axis, first, second = max(gaps)  # the hole boxes are disjoint: at least one axis separates them
            cut = holes[first][axis + 2] + gap // 2
            windows[first][axis + 2] = min(windows[first][axis + 2], cut)
            windows[second][axis] = max(windows[second][axis], cut)
    return [(w[0], w[1], w[2], w[3]) for w in windows]


def pad_bottom_right(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """``array`` (h, w, ...) reflect-padded at the bottom and right to (height, width, ...) (edge-padded where a side
    is a single pixel); the top-left (h, w) block is ``array`` itself."""
    pad = ((0, height - array.shape[0]), (0, width - array.shape[1])) + ((0, 0),) * (array.ndim - 2)
    if not any(after for _, after in pad):
        return array
    return np.pad(array, pad, mode="reflect" if min(array.shape[:2]) > 1 else "edge")


def window_scale(box: Box, native_size: int) -> float:
    """Factor (<= 1) that brings a window's longer side down to ``native_size``."""
    y0, x0, y1, x1 = box
    return min(1.0, native_size / max(y1 - y0, x1 - x0))


def round_up(value: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= value."""
    return -(-value // multiple) * multiple
