"""The object tool's search: GrabCut in a box finds a distinct object on a textured background and grows it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine import grabcut
from engine.errors import JobCancelled
from engine.grabcut import NoObjectFound, object_mask

HEIGHT, WIDTH = 240, 320
CENTRE, AXES = (170, 115), (60, 40)  # the object: an ellipse, (x, y) and its half-axes, pixels
SPECK = (slice(60, 64), slice(100, 104))  # rows, columns of a few pixels of the object's colour, inside the box


def scene() -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 (H, W, 3), object bool (H, W)): a red, lightly textured ellipse on green-brown grass-like noise,
    with a red speck (:data:`SPECK`) beside it."""
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH, 3)).astype(np.float32), (0, 0), 1.5)
    background = np.array([90, 110, 60], np.float32) + 60 * noise
    shape = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(shape, CENTRE, AXES, 15, 0, 360, 1, -1)
    thing = np.array([200, 40, 50], np.float32) + 12 * noise
    rgb = np.where(shape[..., None] > 0, thing, background)
    rgb[SPECK] = thing[SPECK]
    return np.clip(rgb, 0, 255).astype(np.uint8), shape > 0


def distance_from(obj: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the object (0 on it), pixels."""
    return cv2.distanceTransform((~obj).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def full_size(region, mask) -> np.ndarray:
    out = np.zeros((HEIGHT, WIDTH), bool)
    y0, x0, y1, x1 = region
    out[y0:y1, x0:x1] = mask
    return out


BOX = (CENTRE[1] - 60, CENTRE[0] - 75, CENTRE[1] + 60, CENTRE[0] + 75)  # (y0, x0, y1, x1), with room around it


@pytest.mark.parametrize("work_pixels", [grabcut.WORK_PIXELS, 8_000])  # the crop at full size, and downscaled
def test_the_mask_covers_the_object_grown_past_its_edge_and_little_else(monkeypatch, work_pixels):
    monkeypatch.setattr(grabcut, "WORK_PIXELS", work_pixels)
    rgb, obj = scene()
    before = rgb.copy()
    region, mask = object_mask(rgb, BOX, grow_px=6, iterations=4)
    np.testing.assert_array_equal(rgb, before)  # only read
    assert mask.dtype == bool and mask.shape == (region[2] - region[0], region[3] - region[1])
    rows, cols = np.flatnonzero(obj.any(axis=1)), np.flatnonzero(obj.any(axis=0))
    y0, x0, y1, x1 = region  # the object's bounding box, grown to hold the grown edge
    assert y0 <= rows[0] - 6 and x0 <= cols[0] - 6 and y1 >= rows[-1] + 7 and x1 >= cols[-1] + 7
    found = full_size(region, mask)
    distance = distance_from(obj)
    assert found[obj].all()
    ring = (distance > 0) & (distance <= 5)  # just outside the object's edge
    assert found[ring].mean() > 0.97
    far = distance > 20
    assert found[far].mean() < 0.02
    assert not found[SPECK].any()
    assert found.sum() < 1.6 * obj.sum()


def test_a_tiny_box_or_one_with_nothing_to_find_says_so():
    rgb, _ = scene()
    with pytest.raises(NoObjectFound, match="too small"):
        object_mask(rgb, (50, 50, 55, 90))
    flat = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    with pytest.raises(NoObjectFound, match="no object"):
        object_mask(flat, BOX)


def test_a_search_stops_between_iterations_when_cancelled():
    rgb, _ = scene()
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(JobCancelled):
        object_mask(rgb, BOX, iterations=5, cancelled=cancelled)
    assert len(asked) == 3
