"""The alpha and raw views' maps as numpy arrays (no Qt): the heat map's colour scale, the seam band's weights and
the RGB -> B, G, R, A conversion the canvas's images use. All arrays are uint8 unless said otherwise; images are
(H, W) or (H, W, C) in rows, columns, channels order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from engine.regions import Box

HEAT_STOPS = np.array(
    [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99],
     [170, 220, 50], [253, 231, 37]], np.float32)
"""The heat map's colour scale (viridis: perceptually even, readable with colour blindness; its 0 is a dark purple,
not black, so it stands out from the black behind "alpha map alone")."""
HEAT_GAMMA = 0.4
"""An alpha value sits at ``alpha ** HEAT_GAMMA`` of the colour scale, so a map mostly near 0 (DFNet's) still shows
its values: 0.05 is a third of the way up, 0.1 two fifths."""
LEGEND_TICKS = (0.0, 0.1, 0.5, 1.0)
"""Alpha values marked on the heat map's legend."""


def heat_colors(positions: np.ndarray) -> np.ndarray:
    """Map positions in [0, 1] (any shape) on the heat map's scale (:data:`HEAT_STOPS`) to RGB uint8 (..., 3)."""
    stops = np.linspace(0.0, 1.0, len(HEAT_STOPS), dtype=np.float32)
    v = np.clip(positions, 0.0, 1.0).astype(np.float32)
    out = np.empty(v.shape + (3,), np.uint8)
    for c in range(3):
        out[..., c] = np.interp(v, stops, HEAT_STOPS[:, c]).astype(np.uint8)
    return out


def heat_position(alpha: np.ndarray | float) -> np.ndarray:
    """Where alpha values in [0, 1] sit on the heat map's colour scale (0..1): ``alpha ** HEAT_GAMMA``."""
    return np.clip(np.asarray(alpha, np.float32), 0.0, 1.0) ** HEAT_GAMMA


@functools.cache
def heat_tables() -> tuple[np.ndarray, np.ndarray]:
    """(opaque, fading): (1, 256, 4) uint8 premultiplied B, G, R, A of the heat map for each alpha level 0..255.
    The fading table's opacity is the level's place on the colour scale (0: the photo shows through)."""
    position = heat_position(np.arange(256, dtype=np.float32) / 255.0)
    rgb = heat_colors(position).astype(np.float32)
    tables = []
    for weight in (np.ones_like(position), position):
        table = np.empty((1, 256, 4), np.uint8)
        for c, src in ((0, 2), (1, 1), (2, 0)):
            table[0, :, c] = (rgb[:, src] * weight + 0.5).astype(np.uint8)
        table[0, :, 3] = (255.0 * weight + 0.5).astype(np.uint8)
        tables.append(table)
    return tables[0], tables[1]


def rgb_to_bgra(rgb: np.ndarray, out: np.ndarray) -> None:
    """Write RGB uint8 (h, w, 3) into ``out``, a (h, w, 4) uint8 B, G, R, A view, with A = 255 (OpenCV, in place)."""
    converted = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA, dst=out)
    if converted is not out and not np.may_share_memory(converted, out):  # OpenCV could not write into the view
        out[...] = converted


@dataclass(frozen=True)
class ResultMaps:
    """What the alpha and raw views of one removal show.

    windows: (box, alpha uint8 (h, w, 3), 255 = model output; raw RGB uint8 (h, w, 3)) per context window, as in
    ``engine.pipeline.WindowResult``. hole: bool (H, W), the mask the removal filled; band_px: its seam band (the
    pixels beyond it were copied from the photo). legend: the heat map's title and what its 0 and 1 mean in the hole
    and outside it; raw_label: what the raw view shows.
    """

    windows: tuple[tuple[Box, np.ndarray, np.ndarray], ...]
    hole: np.ndarray
    band_px: int
    legend: tuple[str, str, str]
    raw_label: str


def _compare_with_zero(image: np.ndarray, cmpop: int) -> np.ndarray:
    """uint8 of ``image``'s shape: 255 where ``image`` (uint8) compares with 0 as ``cmpop`` (``cv2.CMP_*``) says."""
    return cv2.compare(image, 0, cmpop)  # type: ignore[call-overload]  # the stubs omit compare's scalar operand


def seam_weights(hole: np.ndarray, band_px: int) -> np.ndarray:
    """uint8 (h, w): the seam band's feather weights of ``hole`` (bool) as ``engine.pipeline.feather_weights``
    makes them, times 255: 255 on the hole, 255 * (1 - d / (band_px + 1)) at distance d <= band_px, 0 beyond."""
    hole8 = hole.view(np.uint8)
    if band_px <= 0:
        return _compare_with_zero(hole8, cv2.CMP_GT)
    distance = cv2.distanceTransform(_compare_with_zero(hole8, cv2.CMP_EQ), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    within = cv2.threshold(distance, float(band_px), 1.0, cv2.THRESH_BINARY_INV)[1]
    weights = cv2.addWeighted(distance, -255.0 / (band_px + 1), distance, 0.0, 255.0)
    return cv2.convertScaleAbs(cv2.multiply(weights, within))


def seam_region(hole: np.ndarray, band_px: int) -> np.ndarray:
    """uint8 (h, w): 255 on ``hole`` (bool) and within ``band_px`` of it (what a removal may change), else 0."""
    return _compare_with_zero(seam_weights(hole, band_px), cv2.CMP_GT)


def copy_masked(src: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    """Copy ``src`` into ``out`` (a view of its shape) where ``mask`` (uint8 (h, w)) is not 0 (OpenCV, in place)."""
    copied = cv2.copyTo(src, mask, out)
    if copied is not out and not np.may_share_memory(copied, out):  # OpenCV could not write into the view
        out[...] = copied
