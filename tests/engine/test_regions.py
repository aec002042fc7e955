import numpy as np
import pytest

from engine.regions import (
    boxes_overlap,
    context_window,
    fit_to_multiple,
    hole_boxes,
    pad_bottom_right,
    plan_windows,
    round_up,
    window_scale,
)


def test_hole_boxes_finds_each_component():
    hole = np.zeros((100, 120), bool)
    hole[10:20, 5:15] = True
    hole[50:52, 100:119] = True
    assert sorted(hole_boxes(hole)) == [(10, 5, 20, 15), (50, 100, 52, 119)]


def test_context_window_is_twice_the_hole_and_at_least_native():
    small = context_window((500, 500, 510, 510), (2000, 3000), native_size=512)
    assert (small[2] - small[0], small[3] - small[1]) == (512, 512)
    big = context_window((100, 100, 900, 400), (2000, 3000), native_size=512)
    assert (big[2] - big[0], big[3] - big[1]) == (1600, 600)


def test_context_window_stays_inside_and_contains_the_hole():
    for box in [(0, 0, 10, 10), (1990, 2990, 2000, 3000), (5, 2900, 100, 3000)]:
        y0, x0, y1, x1 = context_window(box, (2000, 3000), native_size=512)
        assert 0 <= y0 <= box[0] and box[2] <= y1 <= 2000
        assert 0 <= x0 <= box[1] and box[3] <= x1 <= 3000


def test_context_window_never_exceeds_a_small_photo():
    assert context_window((10, 10, 20, 20), (100, 300), native_size=512) == (0, 0, 100, 300)


def test_close_holes_share_one_window():
    hole = np.zeros((2000, 3000), bool)
    hole[1000:1030, 1000:1030] = True
    hole[1000:1030, 1060:1090] = True  # 30 px apart: one window holds both, hardly downscaled
    windows = plan_windows(hole, native_size=512)
    assert len(windows) == 1 and window_scale(windows[0], 512) >= 1 / 1.25


def test_holes_far_apart_keep_windows_of_their_own_size_however_many_there_are():
    """Merging every overlapping window made 60 dust spots on a 24 MP photo one window seen at 512 px (each spot at
    1/12 of its size); now each spot keeps a window near its own size, and no two windows overlap."""
    rng = np.random.default_rng(0)
    hole = np.zeros((4000, 6000), bool)
    spots = []
    for _ in range(60):
        y, x = int(rng.integers(100, 3900)), int(rng.integers(100, 5900))
        hole[y - 15:y + 15, x - 15:x + 15] = True
        spots.append((y - 15, x - 15, y + 15, x + 15))
    windows = plan_windows(hole, native_size=512, size_multiple=256)
    assert len(windows) > 30
    assert min(window_scale(w, 512) for w in windows) >= 1 / 1.25 - 1e-9
    for i, a in enumerate(windows):
        assert not any(boxes_overlap(a, b) for b in windows[i + 1:])
    for y0, x0, y1, x1 in spots:  # each spot lies whole in one window
        assert any(w[0] <= y0 and w[1] <= x0 and y1 <= w[2] and x1 <= w[3] for w in windows)


@pytest.mark.parametrize("seed", range(5))
def test_plan_windows_cover_every_hole_pixel_without_overlap(seed):
    rng = np.random.default_rng(seed)
    hole = np.zeros((900, 1300), bool)
    for _ in range(6):
        y, x = rng.integers(0, 850), rng.integers(0, 1250)
        hole[y:y + rng.integers(1, 50), x:x + rng.integers(1, 50)] = True
    windows = plan_windows(hole, native_size=256)
    covered = np.zeros_like(hole)
    for y0, x0, y1, x1 in windows:
        assert covered[y0:y1, x0:x1].sum() == 0
        covered[y0:y1, x0:x1] = True
    assert covered[hole].all()


def test_window_scale_and_round_up():
    assert window_scale((0, 0, 400, 300), 512) == 1.0
    assert window_scale((0, 0, 1024, 600), 512) == 0.5
    assert round_up(513, 256) == 768
    assert round_up(512, 256) == 512


def test_a_window_grows_into_the_photo_to_the_models_size_multiple():
    # 2,000 x 1,500 window at native 512: seen at 512 x 384, padded to 512 x 512 without growing
    box = (1000, 2000, 3000, 3500)
    grown = fit_to_multiple(box, (6000, 8000), native_size=512, size_multiple=256)
    y0, x0, y1, x1 = grown
    assert (y1 - y0, round((x1 - x0) * window_scale(grown, 512))) == (2000, 512)
    assert x0 <= 2000 and x1 >= 3500 and window_scale(grown, 512) == window_scale(box, 512)
    # against the photo's edge it shifts inside; with no room at all it stays as it is (and is padded)
    assert fit_to_multiple((0, 0, 2000, 1500), (2000, 1500), 512, 256) == (0, 0, 2000, 1500)
    edge = fit_to_multiple((0, 6500, 2000, 8000), (6000, 8000), 512, 256)
    assert edge[3] == 8000 and edge[3] - edge[1] == 2000
    assert fit_to_multiple(box, (6000, 8000), 512, 1) == box


def test_planned_windows_fit_the_multiple_where_the_photo_allows():
    hole = np.zeros((4000, 6000), bool)
    hole[1200:2400, 2500:3300] = True  # a tall lasso's box: its context window is 2,400 x 1,600
    hole[3800:3900, 100:200] = True
    windows = plan_windows(hole, native_size=512, size_multiple=256)
    for box in windows:
        scale = window_scale(box, 512)
        for side in (box[2] - box[0], box[3] - box[1]):
            assert round(side * scale) % 256 == 0
    covered = np.zeros_like(hole)
    for y0, x0, y1, x1 in windows:
        assert not covered[y0:y1, x0:x1].any()
        covered[y0:y1, x0:x1] = True
    assert covered[hole].all()


def test_pad_bottom_right_reflects_and_keeps_the_original():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    padded = pad_bottom_right(a, 5, 6)
    np.testing.assert_array_equal(padded[:3, :4], a)
    np.testing.assert_array_equal(padded[3], a[1, [0, 1, 2, 3, 2, 1]])
    assert pad_bottom_right(a, 3, 4) is a
    np.testing.assert_array_equal(pad_bottom_right(np.ones((1, 2, 3)), 2, 2), np.ones((2, 2, 3)))
