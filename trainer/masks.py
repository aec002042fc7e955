"""Hole masks for training: procedural (free-form strokes, rectangles, blobs) or read from a folder.

Every sampler returns float tensors (n, 1, size, size) with values in {0, 1}, 1 = hole (pixel to fill),
on the sampler's device. Samplers are reproducible: mask number ``i`` of a sampler depends only on
(seed, i), so ``state_dict()`` is just the number of masks drawn so far and a resumed sampler continues
the exact same sequence.

Procedural masks are drawn on the CPU with OpenCV (a few hundred microseconds each) and uploaded per
batch. Each mask picks a target hole ratio uniformly in ``ratio_range`` and one style:

- "strokes": free-form brush strokes as in DeepFill v2 (Yu et al., ICCV 2019, appendix): polylines of
  4..12 vertices with random angles, segment lengths and brush widths, round joints;
- "boxes": axis-aligned rectangles;
- "blobs": smooth random star-shaped polygons;
- "mixed": any of the three for each added shape;
- "lasso": one smooth, elongated closed shape of exactly the target area (`lasso_mask`), the hole a person draws
  around an object to remove.

Shapes are added until the hole ratio reaches the target; a shape that would push the ratio above
``ratio_range[1]`` is redrawn smaller, so every mask's ratio lies in ``ratio_range`` (a mask whose target
is below one pixel's share is empty).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.formats import image_files
from engine.masks_io import load_mask

STYLES = ("strokes", "boxes", "blobs", "mixed", "lasso")
_STYLE_WEIGHTS = (0.35, 0.1, 0.1, 0.15, 0.3)
"""Probability of each style in `STYLES`: free-form strokes (as in DeepFill v2 training) and the lasso shapes of
object removal share most of the draws."""

LASSO_MAX_RATIO = 0.35
"""A lasso hole covers at most this share of the mask; a larger target is drawn as one of this size."""

_MAX_SHAPES = 200


def hole_ratio(mask: Tensor | np.ndarray) -> float:
    """Fraction of hole pixels (value > 0.5) in ``mask`` (any shape; bool, {0,1} float or 0..255), in [0, 1]."""
    if isinstance(mask, Tensor):
        m = mask.detach()
        m = m if m.dtype == torch.bool else m > (127 if m.dtype == torch.uint8 else 0.5)
        return float(m.float().mean()) if m.numel() else 0.0
    arr = np.asarray(mask)
    hole = arr if arr.dtype == np.bool_ else arr > (127 if arr.dtype == np.uint8 else 0.5)
    return float(hole.mean()) if hole.size else 0.0


def _check_range(ratio_range: Sequence[float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in ratio_range)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"ratio_range must satisfy 0 <= low <= high <= 1, got {tuple(ratio_range)}")
    return lo, hi


def _draw_stroke(canvas: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    """DeepFill v2 free-form stroke: a polyline of random vertices with a round brush."""
    size = canvas.shape[0]
    max_width = max(2.0, 0.16 * size * scale)
    max_length = max(4.0, 0.4 * size * scale)
    width = int(round(rng.uniform(0.25, 1.0) * max_width))
    y, x = rng.uniform(0, size, 2)
    for i in range(int(rng.integers(4, 13))):
        angle = rng.uniform(0.0, 2.0 * math.pi / 5.0)
        if i % 2 == 0:
            angle = 2.0 * math.pi - angle
        length = rng.uniform(0.1, 1.0) * max_length
        nx = float(np.clip(x + length * math.cos(angle + rng.uniform(0, 2 * math.pi)), 0, size - 1))
        ny = float(np.clip(y + length * math.sin(angle + rng.uniform(0, 2 * math.pi)), 0, size - 1))
        cv2.line(canvas, (int(x), int(y)), (int(nx), int(ny)), 1, max(1, width), lineType=cv2.LINE_8)
        cv2.circle(canvas, (int(nx), int(ny)), max(1, width // 2), 1, -1)
        x, y = nx, ny


def _draw_box(canvas: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    """Axis-aligned rectangle with sides up to 60 % of the mask (times ``scale``)."""
    size = canvas.shape[0]
    h = max(1, int(rng.uniform(0.05, 0.6) * size * scale))
    w = max(1, int(rng.uniform(0.05, 0.6) * size * scale))
    y0 = int(rng.integers(0, size - h + 1))
    x0 = int(rng.integers(0, size - w + 1))
    canvas[y0 : y0 + h, x0 : x0 + w] = 1


def _draw_blob(canvas: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    """Smooth star-shaped polygon: 24 vertices, radius = base * low-frequency random modulation."""
    size = canvas.shape[0]
    base = max(1.5, rng.uniform(0.04, 0.3) * size * scale)
    cy, cx = rng.uniform(0, size, 2)
    angles = np.linspace(0.0, 2.0 * math.pi, 24, endpoint=False)
    radius = np.ones_like(angles)
    for k in (1, 2, 3):
        radius += rng.uniform(-0.25, 0.25) / k * np.cos(k * angles + rng.uniform(0, 2 * math.pi))
    pts = np.stack([cx + base * radius * np.cos(angles), cy + base * radius * np.sin(angles)], axis=1)
    cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1)


_DRAW = {"strokes": _draw_stroke, "boxes": _draw_box, "blobs": _draw_blob}


def lasso_mask(height: int, width: int, rng: np.random.Generator, area_ratio: float) -> np.ndarray:
    """One lasso-like hole: bool (height, width), True = hole, a single smooth closed shape covering about
    ``area_ratio`` (0-1) of the mask (less only where it reaches past the border).

    The outline is a circle whose radius is modulated by four low harmonics, stretched to a random aspect ratio of
    1:2 to 2:1 and rotated, then scaled to the area; its centre is drawn so that the shape fits inside when it can.
    """
    angles = np.linspace(0.0, 2.0 * math.pi, 96, endpoint=False)
    radius = np.ones_like(angles)
    for k in (1, 2, 3, 4):
        radius += rng.uniform(-0.3, 0.3) / k * np.cos(k * angles + rng.uniform(0, 2 * math.pi))
    radius = np.maximum(radius, 0.3)
    aspect = math.exp(rng.uniform(-math.log(2.0), math.log(2.0)))
    turn = rng.uniform(0, math.pi)
    x, y = radius * np.cos(angles) * math.sqrt(aspect), radius * np.sin(angles) / math.sqrt(aspect)
    x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
    unit_area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    scale = math.sqrt(max(area_ratio, 0.0) * height * width / unit_area)
    x, y = x * scale, y * scale
    cx = rng.uniform(min(-x.min(), width / 2), max(width - x.max(), width / 2))
    cy = rng.uniform(min(-y.min(), height / 2), max(height - y.max(), height / 2))
    mask = np.zeros((height, width), np.uint8)
    if area_ratio > 0:
        pts = np.stack([cx + x, cy + y], axis=1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def random_mask(size: int, rng: np.random.Generator, ratio_range: tuple[float, float] = (0.0, 0.6)) -> np.ndarray:
    """One procedural hole mask: bool (size, size), True = hole, hole ratio in ``ratio_range``."""
    lo, hi = _check_range(ratio_range)
    total = size * size
    target = rng.uniform(lo, hi)
    style = STYLES[int(rng.choice(len(STYLES), p=_STYLE_WEIGHTS))]
    if style == "lasso":
        lasso = lasso_mask(size, size, rng, min(target, LASSO_MAX_RATIO))
        if lo <= lasso.mean() <= hi:
            return lasso
        style = "blobs"  # a range the single shape cannot meet (clipped by the border, or above its size)
    mask = np.zeros((size, size), np.uint8)
    count = 0
    scale = float(np.clip(math.sqrt(target / 0.15), 0.1, 1.0))  # small targets start with small shapes
    for _ in range(_MAX_SHAPES):
        if count >= target * total and count >= lo * total:
            break
        kind = style if style not in ("mixed", "lasso") else ("strokes", "boxes", "blobs")[int(rng.integers(3))]
        shape = np.zeros_like(mask)
        _DRAW[kind](shape, rng, scale)
        candidate = mask | shape
        new_count = int(candidate.sum())
        if new_count > hi * total:
            scale *= 0.7  # too big for the range: try smaller shapes
            continue
        mask, count = candidate, new_count
    if count < lo * total:
        # Rare (very narrow range): fill the shortfall with one rectangle of the missing area, clipped.
        missing = int(math.ceil(lo * total)) - count
        side = int(math.ceil(math.sqrt(missing)))
        free = np.argwhere(mask == 0)
        y0, x0 = free[int(rng.integers(len(free)))]
        y0, x0 = min(int(y0), size - side), min(int(x0), size - side)
        region = mask[y0 : y0 + side, x0 : x0 + side]
        flat = region.reshape(-1)
        zeros = np.flatnonzero(flat == 0)[:missing]
        flat[zeros] = 1
        mask[y0 : y0 + side, x0 : x0 + side] = flat.reshape(region.shape)
    return mask.astype(bool)


class MaskSampler:
    """Procedural hole masks (see the module docstring): ``next(n)`` -> (n, 1, size, size) float {0, 1}.

    Mask number i is drawn from ``numpy.random.default_rng([seed, i])``, so the sequence is fixed by
    ``seed`` and resumable from `state_dict`.
    """

    def __init__(
        self,
        size: int,
        *,
        ratio_range: tuple[float, float] = (0.0, 0.6),
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        if size < 8:
            raise ValueError(f"MaskSampler: size must be >= 8 px, got {size}")
        self.size = int(size)
        self.ratio_range = _check_range(ratio_range)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.drawn = 0

    def next(self, n: int) -> Tensor:
        """The next ``n`` masks: float32 (n, 1, size, size) on the device, 1 = hole."""
        masks = np.stack(
            [random_mask(self.size, np.random.default_rng([self.seed, self.drawn + i]), self.ratio_range)
             for i in range(n)]
        )
        self.drawn += n
        return torch.from_numpy(masks).to(self.device).unsqueeze(1).float()

    def state_dict(self) -> dict[str, int]:
        """{"seed", "drawn"}: enough to continue the same sequence."""
        return {"seed": self.seed, "drawn": self.drawn}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a `state_dict` (the seed must match the one given at construction)."""
        if int(state["seed"]) != self.seed:
            raise ValueError(f"MaskSampler: state was saved with seed {state['seed']}, this sampler has {self.seed}")
        self.drawn = int(state["drawn"])


def list_mask_files(folder: str | Path) -> list[Path]:
    """Mask image files under ``folder`` (recursive, supported extensions), sorted by relative path."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"mask folder not found: {root}")
    return image_files(root, recursive=True)


class FolderMaskSampler:
    """Hole masks read from image files (white or alpha > 127 = hole), same interface as `MaskSampler`.

    Every file under ``folder`` (recursive) is read once, resized to size x size (nearest neighbour) and
    kept in memory. Mask number i is file ``perm_e[i % K]`` of the epoch's seeded permutation, with a
    random rotation by a multiple of 90 degrees and a random horizontal flip (seeded by (seed, i)).
    Unreadable files are skipped and listed in ``skipped``.
    """

    def __init__(self, folder: str | Path, size: int, *, seed: int = 0, device: str | torch.device = "cpu") -> None:
        from engine.errors import ImageError

        self.size = int(size)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.drawn = 0
        self.skipped: list[tuple[Path, str]] = []
        masks = []
        for path in list_mask_files(folder):
            try:
                hole, _ = load_mask(path, (self.size, self.size))
            except ImageError as exc:
                self.skipped.append((path, str(exc)))
                continue
            masks.append(hole)
        if not masks:
            raise ValueError(f"no readable mask images in {folder}")
        self._masks = torch.from_numpy(np.stack(masks))  # bool (K, size, size), CPU
        self._perm_epoch = -1
        self._perm = np.arange(len(masks))

    def __len__(self) -> int:
        return int(self._masks.shape[0])

    def _index(self, k: int) -> int:
        epoch, pos = divmod(k, len(self))
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self))
            self._perm_epoch = epoch
        return int(self._perm[pos])

    def next(self, n: int) -> Tensor:
        """The next ``n`` masks: float32 (n, 1, size, size) on the device, 1 = hole."""
        out = []
        for i in range(n):
            k = self.drawn + i
            rng = np.random.default_rng([self.seed, k, 1])
            m = self._masks[self._index(k)]
            m = torch.rot90(m, int(rng.integers(4)), dims=(0, 1))
            if rng.random() < 0.5:
                m = m.flip(1)
            out.append(m)
        self.drawn += n
        return torch.stack(out).to(self.device).unsqueeze(1).float()

    def state_dict(self) -> dict[str, int]:
        """{"seed", "drawn"}: enough to continue the same sequence."""
        return {"seed": self.seed, "drawn": self.drawn}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a `state_dict` (the seed must match the one given at construction)."""
        if int(state["seed"]) != self.seed:
            raise ValueError(
                f"FolderMaskSampler: state was saved with seed {state['seed']}, this sampler has {self.seed}"
            )
        self.drawn = int(state["drawn"])
