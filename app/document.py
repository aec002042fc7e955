"""The photo being edited and its hole mask, with undo/redo (plain numpy, no Qt; the canvas is only a view).

Coordinates: ``(x, y)`` are float image pixel coordinates; pixel (column ``i``, row ``j``) covers
``[i, i+1) x [j, j+1)``, so its centre is ``(i + 0.5, j + 0.5)``. Every mask tool decides pixel by pixel from that
centre, which keeps results exact at any zoom. A box is ``(y0, x0, y1, x1)``: ints, half-open, rows then columns
(the same as the engine's ``WindowResult.box``).

Image: uint8 (H, W, 3) RGB. Hole mask: bool (H, W), True = pixel to fill. Exclude mask (the sampling area's excluded
part): bool (H, W), True = pixel the fill must never copy from. The mask tools edit one of the two, the document's
:attr:`Document.layer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.history import Box, History, ImagePatch, MaskPatch, Step

Listener = Callable[[str, "Box | None"], None]
"""``callback(kind, box)`` with kind ``"mask"`` (the hole mask), ``"exclude"`` or ``"image"`` and the box that
changed."""

LAYERS = ("hole", "exclude")
"""The masks the mask tools can edit: the hole (what to fill) and the exclude mask (what never to sample)."""
_LAYER_KIND = {"hole": "mask", "exclude": "exclude"}  # the listener kind of each layer's changes

MAX_GROW_PX = 1000
"""Largest radius accepted by ``grow_mask``/``shrink_mask`` (pixels)."""

_TILE = 256  # side of the tiles the brush backs up before first touching them during a stroke

RESULT_SLICE_PIXELS = 1 << 20
"""Pixels of a removal's result written (and converted for display) per slice by :meth:`Document.begin_result`:
about 1 MP, a few ms, so a 24 MP photo's result never holds the GUI thread for long."""


def _union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _centre_range(lo: float, hi: float, size: int) -> tuple[int, int]:
    """Half-open index range of pixels whose centre ``i + 0.5`` lies in ``[lo, hi]``, clipped to ``[0, size)``."""
    start = max(0, math.ceil(lo - 0.5))
    stop = min(size, math.floor(hi - 0.5) + 1)
    return start, max(start, stop)


def _tight_box(hit: np.ndarray, y0: int, x0: int) -> Box | None:
    """Bounding box (image coordinates) of the True pixels of ``hit``, whose top-left pixel is ``(y0, x0)``."""
    rows = np.flatnonzero(hit.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(hit[rows[0]:rows[-1] + 1].any(axis=0))  # only the rows that hold a hit
    return (y0 + int(rows[0]), x0 + int(cols[0]), y0 + int(rows[-1]) + 1, x0 + int(cols[-1]) + 1)


def _changed_part(box: Box, old: np.ndarray, new: np.ndarray, layer: str) -> MaskPatch | None:
    """The old and new values (bool, ``box``'s shape) of ``box`` of the ``layer`` mask, shrunk to the pixels that
    differ; None when none do."""
    y0, x0 = box[:2]
    diff = _tight_box(old != new, y0, x0)
    if diff is None:
        return None
    dy0, dx0, dy1, dx1 = diff
    part = (slice(dy0 - y0, dy1 - y0), slice(dx0 - x0, dx1 - x0))
    return MaskPatch.from_arrays(diff, old[part], new[part], layer)


def mask_bbox(mask: np.ndarray) -> Box | None:
    """Bounding box of the True pixels of a bool (H, W) array, or None when there are none."""
    return _tight_box(mask, 0, 0)


def capsule_hits(box: Box, a: tuple[float, float], b: tuple[float, float], radius: float) -> np.ndarray:
    """Bool (h, w) block of ``box``: pixel centres within ``radius`` of segment a-b (a point when a == b).

    The distance is computed in float64 from each centre to the closest point of the segment (projection clamped
    to [0, 1]); a centre exactly at ``radius`` counts as inside.
    """
    y0, x0, y1, x1 = box
    ax, ay = a
    bx, by = b
    px = (np.arange(x0, x1, dtype=np.float64) + 0.5 - ax)[None, :]
    py = (np.arange(y0, y1, dtype=np.float64) + 0.5 - ay)[:, None]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        d2 = px * px + py * py
    else:
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
        ex = px - t * dx
        ey = py - t * dy
        d2 = ex * ex + ey * ey
    return d2 <= radius * radius


def polygon_hits(box: Box, points: np.ndarray) -> np.ndarray:
    """Bool (h, w) block of ``box``: pixel centres inside the closed polygon ``points`` (float (n, 2) x, y).

    Even-odd rule, decided as in the classic crossing test: a centre ``(cx, cy)`` is inside when an odd number of
    edges (a, b) satisfy ``(ay > cy) != (by > cy)`` and ``cx < ax + (cy - ay) * (bx - ax) / (by - ay)``.
    Self-intersecting lassos therefore leave doubly-covered areas out.
    """
    y0, x0, y1, x1 = box
    h, w = y1 - y0, x1 - x0
    ax, ay = points[:, 0], points[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    out = np.zeros((h, w), dtype=bool)
    chunk = max(1, min(1_000_000 // max(1, len(points)), 4_000_000 // (w + 1)))
    for r0 in range(0, h, chunk):
        cy = (np.arange(y0 + r0, min(y1, y0 + r0 + chunk), dtype=np.float64) + 0.5)[:, None]
        crosses = (ay > cy) != (by > cy)
        rows, edges = np.nonzero(crosses)
        xi = ax[edges] + (cy[rows, 0] - ay[edges]) * (bx[edges] - ax[edges]) / (by[edges] - ay[edges])
        # Centres i + 0.5 < xi are exactly the columns i < ceil(xi - 0.5): each crossing toggles columns 0..n-1.
        n = np.clip(np.ceil(xi - 0.5) - x0, 0, w).astype(np.int64)
        toggles = np.zeros((cy.shape[0], w + 1), dtype=np.uint8)
        np.bitwise_xor.at(toggles, (rows, n), 1)
        # Column i is inside when an odd number of crossings have n > i.
        parity = np.bitwise_xor.accumulate(toggles[:, ::-1], axis=1)[:, ::-1]
        out[r0 : r0 + cy.shape[0]] = parity[:, 1:].view(bool)
    return out


def disk_dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Dilation of a bool (h, w) mask by the disk {dx^2 + dy^2 <= px^2}; outside the array counts as not set.

    Computed with an exact Euclidean distance transform, which equals ``cv2.dilate`` with that disk kernel but
    runs in time independent of ``px``.
    """
    if px <= 0 or not mask.any():
        return mask.copy()
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # Integer squared distances: sqrt(px^2) == px exactly, sqrt(px^2 + 1) > px + 1/(4 px) by far in float32.
    return dist <= px + 0.25 / px


def disk_erode(mask: np.ndarray, px: int) -> np.ndarray:
    """Erosion of a bool (h, w) mask by the disk of radius ``px``; outside the array counts as set."""
    if px <= 0 or mask.all():
        return mask.copy()
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist > px + 0.25 / px


@dataclass(frozen=True)
class MaskBox:
    """One mask as its bounding box and a copy of that box: bool (h, w) ``values`` of ``box`` in a mask of ``shape``
    (H, W), which is False everywhere else (None: the whole mask is False)."""

    shape: tuple[int, int]
    box: Box | None
    values: np.ndarray | None

    @classmethod
    def of(cls, mask: np.ndarray) -> MaskBox:
        """Copy only the bounding box of bool (H, W) ``mask``."""
        box = mask_bbox(mask)
        if box is None:
            return cls(mask.shape, None, None)
        y0, x0, y1, x1 = box
        return cls(mask.shape, box, mask[y0:y1, x0:x1].copy())

    @property
    def empty(self) -> bool:
        return self.box is None

    def full(self) -> np.ndarray:
        """The whole bool (H, W) mask (a new array; may run on a helper thread)."""
        out = np.zeros(self.shape, dtype=bool)
        if self.box is not None:
            y0, x0, y1, x1 = self.box
            out[y0:y1, x0:x1] = self.values
        return out


class Document:
    """An opened photo, its current pixels, its hole mask and the undo history.

    ``photo`` is an ``engine.imageio.Photo`` (any object with ``.rgb``, uint8 (H, W, 3), and optionally ``.path``
    works); it is never modified. Every edit is one undo step; a brush stroke (``begin_stroke`` ... ``end_stroke``)
    is one step. Listeners get ``(kind, box)`` after every change, undo and redo.
    """

    def __init__(self, photo: Any, *, max_history_bytes: int = 1 << 30, max_history_steps: int = 200) -> None:
        rgb = np.asarray(photo.rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"document image must be uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
        self.photo = photo
        self._image = np.array(rgb, dtype=np.uint8, order="C", copy=True)
        self._masks = {layer: np.zeros(rgb.shape[:2], dtype=bool) for layer in LAYERS}
        self._layer = "hole"
        self._history = History(max_history_bytes, max_history_steps)
        self._listeners: list[Listener] = []
        path = getattr(photo, "path", None)
        self._path: Path | None = Path(path) if path is not None else None
        self._image_version = 0
        self._saved_version = 0
        self._next_version = 1
        # Active stroke state.
        self._stroking = False
        self._erase = False
        self._last_point: tuple[float, float] | None = None
        self._stroke_box: Box | None = None
        self._stroke_backup: dict[tuple[int, int], np.ndarray] = {}
        self._pending_result: Iterator[Box] | None = None  # the slices of a result still to write

    # ---------------------------------------------------------------- state
    @property
    def image(self) -> np.ndarray:
        """Current pixels, uint8 (H, W, 3) RGB; a read-only view (copy it to modify). A result being applied in
        slices (:meth:`begin_result`) is written to the end first, so no reader sees it half applied."""
        self.finish_result()
        view = self._image.view()
        view.flags.writeable = False
        return view

    @property
    def mask(self) -> np.ndarray:
        """Current hole mask, bool (H, W), True = fill; a read-only view."""
        view = self._masks["hole"].view()
        view.flags.writeable = False
        return view

    @property
    def exclude(self) -> np.ndarray:
        """Current exclude mask, bool (H, W), True = never a source for the fill; a read-only view."""
        view = self._masks["exclude"].view()
        view.flags.writeable = False
        return view

    def mask_snapshot(self) -> tuple[MaskBox, MaskBox]:
        """The hole and exclude masks as they are now, each copied only inside its bounding box (the masks stay
        editable while a removal runs, so its job needs copies; this keeps the GUI thread's share small)."""
        return MaskBox.of(self._masks["hole"]), MaskBox.of(self._masks["exclude"])

    @property
    def layer(self) -> str:
        """The mask the mask tools edit: "hole" or "exclude" (see `LAYERS`)."""
        return self._layer

    def set_layer(self, layer: str) -> None:
        """Make the mask tools edit ``layer`` ("hole" or "exclude"); a running stroke is finished first."""
        if layer not in LAYERS:
            raise ValueError(f"unknown mask layer {layer!r} (choose from {', '.join(LAYERS)})")
        self._finish_stroke()
        self._layer = layer

    @property
    def _mask(self) -> np.ndarray:
        """The mask the tools edit (:attr:`layer`), writable."""
        return self._masks[self._layer]

    @property
    def height(self) -> int:
        return int(self._image.shape[0])

    @property
    def width(self) -> int:
        return int(self._image.shape[1])

    @property
    def path(self) -> Path | None:
        """File the pixels were loaded from or last saved to."""
        return self._path

    @property
    def dirty(self) -> bool:
        """True when the pixels differ from those loaded or last saved (the mask does not count)."""
        return self._image_version != self._saved_version

    def mark_saved(self, path: str | PathLike[str] | None = None) -> None:
        """Record that the current pixels were written to ``path`` (None keeps the current path)."""
        if path is not None:
            self._path = Path(path)
        self._saved_version = self._image_version

    @property
    def history(self) -> History:
        """The undo history (read its ``nbytes``, ``undo_count``; edit through the document only)."""
        return self._history

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo or self._stroke_box is not None

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo and not self._stroking

    # ------------------------------------------------------------ listeners
    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(kind, box)`` after every change; kind is ``"mask"`` or ``"image"``."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, kind: str, box: Box | None) -> None:
        for callback in list(self._listeners):
            callback(kind, box)

    # ---------------------------------------------------------------- brush
    @property
    def stroking(self) -> bool:
        """True between ``begin_stroke`` and ``end_stroke``/``abort_stroke``."""
        return self._stroking

    def begin_stroke(self, erase: bool = False) -> None:
        """Start a brush (``erase=False``: set pixels) or eraser (``erase=True``: clear pixels) stroke."""
        if self._stroking:
            self.end_stroke()
        self._stroking = True
        self._erase = bool(erase)
        self._last_point = None
        self._stroke_box = None
        self._stroke_backup = {}

    def stroke_to(self, x: float, y: float, radius: float) -> Box | None:
        """Paint to image point ``(x, y)`` with a round brush of ``radius`` pixels; returns the box touched.

        The first call of a stroke paints a dot; later calls paint the round-capped segment from the previous
        point. Every pixel whose centre lies within ``radius`` of the segment is set (brush) or cleared (eraser).
        Only the segment's bounding box is touched. Calling it outside a stroke starts a brush stroke.
        """
        if not self._stroking:
            self.begin_stroke(erase=False)
        x, y, radius = float(x), float(y), float(radius)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(radius)) or radius < 0:
            raise ValueError(f"bad brush point ({x}, {y}) or radius {radius}")
        a = self._last_point if self._last_point is not None else (x, y)
        b = (x, y)
        self._last_point = b
        changed: Box | None = None
        for box in self._segment_boxes(a, b, radius):
            hit = capsule_hits(box, a, b, radius)
            tight = _tight_box(hit, box[0], box[1])
            if tight is None:
                continue
            ty0, tx0, ty1, tx1 = tight
            hit = hit[ty0 - box[0] : ty1 - box[0], tx0 - box[1] : tx1 - box[1]]
            self._backup_tiles(tight)
            region = self._mask[ty0:ty1, tx0:tx1]
            if self._erase:
                region &= ~hit
            else:
                region |= hit
            changed = _union(changed, tight)
        if changed is not None:
            self._stroke_box = _union(self._stroke_box, changed)
            self._notify(_LAYER_KIND[self._layer], changed)
        return changed

    def _segment_boxes(self, a: tuple[float, float], b: tuple[float, float], radius: float) -> list[Box]:
        """Boxes covering all pixel centres within ``radius`` of segment a-b; long segments get several boxes so a
        diagonal drag does not scan a huge square. Each box is tested against the whole segment, so the result is
        the same as with one box."""
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        pieces = max(1, math.ceil(length / max(4.0 * radius, 32.0)))
        margin = 0.0 if pieces == 1 else 1.0  # guards against rounding of the split points
        boxes: list[Box] = []
        for k in range(pieces):
            t0, t1 = k / pieces, (k + 1) / pieces
            xs = (a[0] + t0 * (b[0] - a[0]), a[0] + t1 * (b[0] - a[0]))
            ys = (a[1] + t0 * (b[1] - a[1]), a[1] + t1 * (b[1] - a[1]))
            r = radius + margin
            x0, x1 = _centre_range(min(xs) - r, max(xs) + r, self.width)
            y0, y1 = _centre_range(min(ys) - r, max(ys) + r, self.height)
            if x1 > x0 and y1 > y0:
                boxes.append((y0, x0, y1, x1))
        return boxes

    def _backup_tiles(self, box: Box) -> None:
        """Keep the pre-stroke values of every tile ``box`` touches, the first time it is touched."""
        y0, x0, y1, x1 = box
        for ty in range(y0 // _TILE, (y1 - 1) // _TILE + 1):
            for tx in range(x0 // _TILE, (x1 - 1) // _TILE + 1):
                if (ty, tx) not in self._stroke_backup:
                    tile = self._mask[ty * _TILE : (ty + 1) * _TILE, tx * _TILE : (tx + 1) * _TILE]
                    self._stroke_backup[(ty, tx)] = tile.copy()

    def _stroke_old_values(self, box: Box) -> np.ndarray:
        """Pre-stroke mask values of ``box`` (every touched pixel lies in a backed-up tile)."""
        y0, x0, y1, x1 = box
        old = self._mask[y0:y1, x0:x1].copy()
        for (ty, tx), tile in self._stroke_backup.items():
            ty0, tx0 = ty * _TILE, tx * _TILE
            iy0, ix0 = max(y0, ty0), max(x0, tx0)
            iy1, ix1 = min(y1, ty0 + tile.shape[0]), min(x1, tx0 + tile.shape[1])
            if iy1 > iy0 and ix1 > ix0:
                old[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = tile[iy0 - ty0 : iy1 - ty0, ix0 - tx0 : ix1 - tx0]
        return old

    def end_stroke(self) -> Box | None:
        """Finish the stroke and record it as one undo step; returns the union box it touched (or None)."""
        if not self._stroking:
            return None
        box = self._stroke_box
        if box is not None:
            old = self._stroke_old_values(box)
            self._record_mask(box, old, label="eraser" if self._erase else "brush")
        self._reset_stroke()
        return box

    def abort_stroke(self) -> Box | None:
        """Cancel the stroke: restore the pre-stroke mask, record nothing; returns the box restored (or None)."""
        if not self._stroking:
            return None
        box = self._stroke_box
        if box is not None:
            y0, x0, y1, x1 = box
            self._mask[y0:y1, x0:x1] = self._stroke_old_values(box)
        self._reset_stroke()
        if box is not None:
            self._notify(_LAYER_KIND[self._layer], box)
        return box

    def _reset_stroke(self) -> None:
        self._stroking = False
        self._last_point = None
        self._stroke_box = None
        self._stroke_backup = {}

    # ----------------------------------------------------------- mask tools
    def _record_mask(self, box: Box, old: np.ndarray, label: str, layer: str | None = None) -> Box | None:
        """Record ``old`` -> current values of ``box`` of ``layer`` (None: :attr:`layer`) as one step, shrunk to the
        pixels that changed."""
        layer = layer or self._layer
        y0, x0, y1, x1 = box
        patch = _changed_part(box, old, self._masks[layer][y0:y1, x0:x1], layer)
        if patch is None:
            return None
        self._history.push(
            Step(label, mask=patch, image_version_before=self._image_version, image_version_after=self._image_version)
        )
        return patch.box

    def _replace_mask_box(self, box: Box | None, values: np.ndarray, label: str, layer: str | None = None
                          ) -> Box | None:
        """Set ``layer``'s mask (None: :attr:`layer`) in ``box`` to bool ``values`` as one undo step; returns the box
        that changed (or None)."""
        self._finish_stroke()
        if box is None:
            return None
        layer = layer or self._layer
        y0, x0, y1, x1 = box
        old = self._masks[layer][y0:y1, x0:x1].copy()
        self._masks[layer][y0:y1, x0:x1] = values
        changed = self._record_mask(box, old, label, layer)
        if changed is not None:
            self._notify(_LAYER_KIND[layer], changed)
        return changed

    def _finish_stroke(self) -> None:
        if self._stroking:
            self.end_stroke()

    def fill_polygon(self, points: Sequence[tuple[float, float]], subtract: bool = False) -> Box | None:
        """Set (or with ``subtract`` clear) the pixels whose centre is inside the polygon; one undo step.

        ``points`` are float image coordinates (x, y) of a lasso, closed implicitly. Even-odd rule, see
        :func:`polygon_hits`. Returns the box that changed, or None.
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3 or not np.isfinite(pts).all():
            self._finish_stroke()
            return None
        x0, x1 = _centre_range(float(pts[:, 0].min()), float(pts[:, 0].max()), self.width)
        y0, y1 = _centre_range(float(pts[:, 1].min()), float(pts[:, 1].max()), self.height)
        if x1 <= x0 or y1 <= y0:
            self._finish_stroke()
            return None
        box = (y0, x0, y1, x1)
        hit = polygon_hits(box, pts)
        return self._apply_hits(box, hit, subtract, "lasso")

    def fill_rect(self, x0: float, y0: float, x1: float, y1: float, subtract: bool = False) -> Box | None:
        """Set (or clear) the pixels whose centre lies in the closed rectangle spanned by two corners (any order).

        Dragging from (0, 0) to (10, 10) covers pixels 0..9 in both directions. One undo step.
        """
        box = self.rect_pixels(x0, y0, x1, y1)
        if box is None:
            self._finish_stroke()
            return None
        hit = np.ones((box[2] - box[0], box[3] - box[1]), dtype=bool)
        return self._apply_hits(box, hit, subtract, "rectangle")

    def rect_pixels(self, x0: float, y0: float, x1: float, y1: float) -> Box | None:
        """The box of the pixels whose centre lies in the closed rectangle spanned by two corners (any order),
        clipped to the image; None when it holds no pixel centre."""
        cx0, cx1 = _centre_range(min(x0, x1), max(x0, x1), self.width)
        cy0, cy1 = _centre_range(min(y0, y1), max(y0, y1), self.height)
        return None if cx1 <= cx0 or cy1 <= cy0 else (cy0, cx0, cy1, cx1)

    def mask_patch(self, box: Box, hit: np.ndarray, subtract: bool = False) -> MaskPatch | None:
        """The undo record of setting (or with ``subtract`` clearing) the pixels of ``box`` where ``hit`` (bool, the
        box's shape) is True: the old and new values of the part that would change, or None when none would. Reads
        the mask without changing it, so it may run on a helper thread; it holds while the mask does not change
        meanwhile (pass it to :meth:`apply_mask_patch`)."""
        y0, x0, y1, x1 = box
        old = self._mask[y0:y1, x0:x1]
        return _changed_part(box, old, old & ~hit if subtract else old | hit, self._layer)

    def apply_mask_patch(self, patch: MaskPatch, label: str) -> Box:
        """Apply a :meth:`mask_patch` made from the current mask, as one undo step; returns the box that changed."""
        self._finish_stroke()
        step = Step(label, mask=patch, image_version_before=self._image_version,
                    image_version_after=self._image_version)
        self._history.push(step)
        self._apply_step(step, forward=True)
        return patch.box  # the step changes the mask only, in the patch's box

    def _apply_hits(self, box: Box, hit: np.ndarray, subtract: bool, label: str) -> Box | None:
        y0, x0, y1, x1 = box
        region = self._mask[y0:y1, x0:x1]
        values = region & ~hit if subtract else region | hit
        return self._replace_mask_box(box, values, label)

    def clear_mask(self) -> Box | None:
        """Clear the whole mask; one undo step. Returns the box that changed, or None when it was empty."""
        self._finish_stroke()
        box = mask_bbox(self._mask)
        if box is None:
            return None
        y0, x0, y1, x1 = box
        return self._replace_mask_box(box, np.zeros((y1 - y0, x1 - x0), dtype=bool), "clear mask")

    def invert_mask(self) -> Box | None:
        """Swap hole and kept pixels everywhere; one undo step."""
        self._finish_stroke()
        return self._replace_mask_box((0, 0, self.height, self.width), ~self._mask, "invert mask")

    def set_mask(self, hole: np.ndarray, layer: str | None = None) -> Box | None:
        """Replace ``layer``'s mask (None: :attr:`layer`) by a bool (H, W) array (e.g. a loaded mask file); one undo
        step."""
        self._finish_stroke()
        layer = layer or self._layer
        hole = np.asarray(hole)
        if hole.shape != self._mask.shape:
            raise ValueError(f"mask shape {hole.shape} does not match the image {self._mask.shape}")
        values = hole.astype(bool, copy=False)
        box = _union(mask_bbox(self._masks[layer]), mask_bbox(values))
        if box is None:
            return None
        y0, x0, y1, x1 = box
        return self._replace_mask_box(box, values[y0:y1, x0:x1], "set mask", layer)

    def _morph_box(self, px: int) -> Box | None:
        box = mask_bbox(self._mask)
        if box is None:
            return None
        y0, x0, y1, x1 = box
        return (max(0, y0 - px), max(0, x0 - px), min(self.height, y1 + px), min(self.width, x1 + px))

    @staticmethod
    def _check_px(px: int) -> int:
        if int(px) != px or not 0 <= px <= MAX_GROW_PX:
            raise ValueError(f"grow/shrink distance must be an integer from 0 to {MAX_GROW_PX} px, got {px}")
        return int(px)

    def grow_mask(self, px: int) -> Box | None:
        """Add every pixel within ``px`` pixels (centre to centre, Euclidean) of the mask; one undo step.

        Same as ``cv2.dilate`` with the disk {dx^2 + dy^2 <= px^2} of size 2 px + 1; a single pixel grown by 3
        becomes a disk of radius 3. Only the mask's bounding box grown by ``px`` is processed.
        """
        px = self._check_px(px)
        self._finish_stroke()
        box = self._morph_box(px)
        if box is None or px == 0:
            return None
        y0, x0, y1, x1 = box
        return self._replace_mask_box(box, disk_dilate(self._mask[y0:y1, x0:x1], px), f"grow {px} px")

    def shrink_mask(self, px: int) -> Box | None:
        """Remove every mask pixel within ``px`` pixels of a non-mask pixel (erosion by the same disk); one step.

        Outside the image counts as mask, so a hole touching the border does not shrink away from it.
        """
        px = self._check_px(px)
        self._finish_stroke()
        box = self._morph_box(px)
        if box is None or px == 0:
            return None
        y0, x0, y1, x1 = box
        return self._replace_mask_box(box, disk_erode(self._mask[y0:y1, x0:x1], px), f"shrink {px} px")

    # --------------------------------------------------------------- result
    def image_patch(self, result: Any) -> ImagePatch | None:
        """The undo record of ``result``'s pixels: the old and new values of its changed box (copies), or None when
        nothing changed. Reads the document without changing it, so it may run on a helper thread while the pixels
        cannot change (a removal running); pass it to :meth:`apply_result`."""
        image = np.asarray(result.image)
        if image.shape != self._image.shape or image.dtype != np.uint8:
            raise ValueError(
                f"result image {image.dtype} {image.shape} does not match the document {self._image.shape}"
            )
        raw_box = result.changed_box()
        if raw_box is None:
            return None
        y0, x0, y1, x1 = (int(v) for v in raw_box)
        y0, x0, y1, x1 = max(0, y0), max(0, x0), min(self.height, y1), min(self.width, x1)
        if y1 <= y0 or x1 <= x0:
            return None
        box = (y0, x0, y1, x1)
        return ImagePatch(box, self._image[y0:y1, x0:x1].copy(), np.array(image[y0:y1, x0:x1], np.uint8, copy=True))

    def apply_result(self, result: Any, hole: np.ndarray | None = None, patch: ImagePatch | None = None) -> Box | None:
        """Take the pixels of an ``engine.pipeline.InpaintResult`` and clear the mask, as one undo step, at once
        (:meth:`begin_result` written to the end). Returns the union of the image and mask boxes that changed (or
        None)."""
        changed = self.begin_result(result, hole, patch)
        self.finish_result()
        return changed

    def begin_result(self, result: Any, hole: np.ndarray | None = None, patch: ImagePatch | None = None,
                     slice_pixels: int | None = None) -> Box | None:
        """Take the pixels of an ``engine.pipeline.InpaintResult`` and clear the mask, as one undo step, the pixels
        written in slices of about ``slice_pixels`` pixels (None: `RESULT_SLICE_PIXELS`; whole rows of the box) by
        :meth:`apply_result_slice`; listeners hear of each slice as it is written.

        ``result.image`` is uint8 (H, W, 3); only ``result.changed_box()`` (y0, x0, y1, x1, or None when nothing
        changed) is copied and stored for undo. ``hole`` (bool (H, W)) is the mask the result was computed from:
        only those pixels are cleared (at once), so strokes painted while the removal ran stay for the next pass;
        None clears the whole mask. ``patch``: :meth:`image_patch` of this result made beforehand (on a helper
        thread), or None to make it here. Until the last slice is written, undo, redo, another result and any read
        of :attr:`image` write the rest first. Returns the union of the image and mask boxes that change (or None).
        """
        self._finish_stroke()
        self.finish_result()
        image_patch = patch if patch is not None else self.image_patch(result)
        mask = self._masks["hole"]
        if hole is not None and hole.shape != mask.shape:
            raise ValueError(f"hole {hole.shape} does not match the document {mask.shape}")
        # only inside the hole's box: no full-size temporary (on a 24 MP photo the first one froze the window
        # for tens of ms while its memory was mapped)
        region = mask_bbox(mask if hole is None else hole)
        mask_patch = None
        if region is not None:
            ry0, rx0, ry1, rx1 = region
            cleared = mask[ry0:ry1, rx0:rx1]
            if hole is not None:
                cleared = cleared & hole[ry0:ry1, rx0:rx1]
            mask_box = _tight_box(cleared, ry0, rx0)
            if mask_box is not None:
                my0, mx0, my1, mx1 = mask_box
                old_mask = mask[my0:my1, mx0:mx1]
                new_mask = old_mask & ~cleared[my0 - ry0:my1 - ry0, mx0 - rx0:mx1 - rx0]
                mask_patch = MaskPatch.from_arrays(mask_box, old_mask, new_mask)
        if image_patch is None and mask_patch is None:
            return None
        before = self._image_version
        after = before
        if image_patch is not None:
            after = self._next_version
            self._next_version += 1
        step = Step(
            "remove", mask=mask_patch, image=image_patch, image_version_before=before, image_version_after=after
        )
        self._history.push(step)
        self._image_version = after
        changed = None
        if mask_patch is not None:
            self._write_mask(mask_patch, "new")
            changed = mask_patch.box
        if image_patch is not None:
            self._pending_result = self._write_slices(image_patch, slice_pixels or RESULT_SLICE_PIXELS)
            changed = _union(changed, image_patch.box)
        return changed

    def _write_slices(self, patch: ImagePatch, slice_pixels: int) -> Iterator[Box]:
        """Write ``patch``'s new pixels a band of whole rows at a time, telling the listeners of each; yields each
        band's box."""
        y0, x0, y1, x1 = patch.box
        rows = max(1, slice_pixels // max(1, x1 - x0))
        for r0 in range(y0, y1, rows):
            r1 = min(y1, r0 + rows)
            self._image[r0:r1, x0:x1] = patch.new[r0 - y0:r1 - y0]
            self._notify("image", (r0, x0, r1, x1))
            yield (r0, x0, r1, x1)

    @property
    def applying_result(self) -> bool:
        """True while slices of a result (:meth:`begin_result`) are still to be written."""
        return self._pending_result is not None

    def apply_result_slice(self) -> Box | None:
        """Write the next slice of the result being applied; returns its box, or None when none was left."""
        pending, self._pending_result = self._pending_result, None  # a listener reading the image must not recurse
        if pending is None:
            return None
        box = next(pending, None)
        if box is not None:
            self._pending_result = pending
        return box

    def finish_result(self) -> None:
        """Write every slice left of the result being applied (nothing when none is)."""
        while self.apply_result_slice() is not None:
            pass

    # ------------------------------------------------------------ undo/redo
    def _apply_step(self, step: Step, forward: bool) -> Box | None:
        """Write a step's new (``forward``) or old values, update the pixel version and notify listeners."""
        which = "new" if forward else "old"
        changed: Box | None = None
        if step.image is not None:
            y0, x0, y1, x1 = step.image.box
            self._image[y0:y1, x0:x1] = step.image.new if forward else step.image.old
        self._image_version = step.image_version_after if forward else step.image_version_before
        if step.mask is not None:
            y0, x0, y1, x1 = step.mask.box
            self._masks[step.mask.layer][y0:y1, x0:x1] = step.mask.unpack(which)
        if step.image is not None:
            self._notify("image", step.image.box)
            changed = step.image.box
        if step.mask is not None:
            self._notify(_LAYER_KIND[step.mask.layer], step.mask.box)
            changed = _union(changed, step.mask.box)
        return changed

    def _write_mask(self, patch: MaskPatch, which: str) -> None:
        """Write ``patch``'s ``which`` ("old" or "new") values and tell the listeners."""
        y0, x0, y1, x1 = patch.box
        self._masks[patch.layer][y0:y1, x0:x1] = patch.unpack(which)
        self._notify(_LAYER_KIND[patch.layer], patch.box)

    def undo(self) -> Box | None:
        """Undo the newest step (an unfinished stroke, or result being applied, is finished first); returns the box
        that changed, or None."""
        self._finish_stroke()
        self.finish_result()
        step = self._history.undo()
        return None if step is None else self._apply_step(step, forward=False)

    def redo(self) -> Box | None:
        """Redo the last undone step; returns the box that changed, or None."""
        self._finish_stroke()
        self.finish_result()
        step = self._history.redo()
        return None if step is None else self._apply_step(step, forward=True)
