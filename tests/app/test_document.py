"""Document model: exact brush/lasso/rect rules on pixel centres, morphology, undo/redo, history bounds."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from app.document import Document, MaskBox, disk_dilate, disk_erode
from tests.helpers import synthetic_rgb


def _photo(h: int = 48, w: int = 64, seed: int = 0):
    rgb = synthetic_rgb(h, w, seed)
    try:
        from engine.imageio import Photo
    except ImportError:

        @dataclass(frozen=True)
        class Photo:  # stand-in with the fields the document reads
            rgb: np.ndarray
            path: object = None

        return Photo(rgb=rgb)
    return Photo(rgb=rgb, alpha=None, source_mode="RGB", format="PNG", exif=None, icc_profile=None, dpi=None, path=None)


@dataclass
class FakeResult:
    """Duck-typed engine.pipeline.InpaintResult: ``image`` and ``changed_box()``."""

    image: np.ndarray
    box: tuple[int, int, int, int] | None

    def changed_box(self):
        return self.box


def _segment_reference(h, w, a, b, r):
    """Brute force over the whole image: centre within r of segment a-b."""
    ax, ay = a
    bx, by = b
    cy, cx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    px, py = cx - ax, cy - ay
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    if l2 == 0:
        d2 = px * px + py * py
    else:
        t = np.clip((px * dx + py * dy) / l2, 0.0, 1.0)
        ex, ey = px - t * dx, py - t * dy
        d2 = ex * ex + ey * ey
    return d2 <= r * r


def _pnpoly(h, w, pts):
    """Brute-force even-odd crossing test for every pixel centre."""
    out = np.zeros((h, w), dtype=bool)
    n = len(pts)
    for j in range(h):
        cy = j + 0.5
        for i in range(w):
            cx = i + 0.5
            inside = False
            for k in range(n):
                ax, ay = pts[k]
                bx, by = pts[(k + 1) % n]
                if (ay > cy) != (by > cy) and cx < ax + (cy - ay) * (bx - ax) / (by - ay):
                    inside = not inside
            out[j, i] = inside
    return out


def _disk(r):
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx * xx + yy * yy) <= r * r


# ----------------------------------------------------------------------------------------------- brush


@pytest.mark.parametrize(
    "points, radius",
    [
        ([(10.0, 10.0)], 3.0),
        ([(10.5, 10.5)], 2.0),  # centre on a pixel centre: boundary pixels at exactly r count
        ([(5.0, 7.0), (40.0, 30.0)], 4.5),
        ([(0.0, 0.0), (63.9, 47.9)], 1.0),
        ([(30.0, 5.0), (30.0, 40.0), (10.0, 40.0)], 6.0),
        # a 2.5x zoom: image coordinates are screen coordinates / 2.5
        ([(17 / 2.5, 23 / 2.5), (101 / 2.5, 61 / 2.5), (133 / 2.5, 12 / 2.5)], 13 / 2.5),
        ([(-5.0, 20.0), (70.0, 20.0)], 2.5),  # leaves the image on both sides
        ([(20.0, 20.0)], 0.3),  # too small to reach any centre
    ],
)
def test_stroke_sets_exactly_the_pixel_centres_within_radius(points, radius):
    doc = Document(_photo())
    h, w = doc.height, doc.width
    expected = np.zeros((h, w), dtype=bool)
    doc.begin_stroke()
    prev = points[0]
    for p in points:
        box = doc.stroke_to(p[0], p[1], radius)
        hit = _segment_reference(h, w, prev, p, radius)
        expected |= hit
        if hit.any():
            ys, xs = np.nonzero(hit)
            assert box == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
        else:
            assert box is None
        prev = p
    doc.end_stroke()
    np.testing.assert_array_equal(doc.mask, expected)


def test_long_segment_split_into_boxes_is_exact():
    doc = Document(_photo(200, 300))
    a, b, r = (3.3, 2.7), (296.1, 197.9), 2.2  # long thin diagonal: several boxes
    doc.begin_stroke()
    doc.stroke_to(*a, r)
    doc.stroke_to(*b, r)
    doc.end_stroke()
    np.testing.assert_array_equal(doc.mask, _segment_reference(200, 300, a, b, r))


def test_eraser_clears_and_stroke_is_one_step():
    doc = Document(_photo())
    doc.fill_rect(0, 0, 64, 48)
    assert doc.mask.all()
    doc.begin_stroke(erase=True)
    for x in range(5, 60, 3):
        doc.stroke_to(x + 0.25, 20.0, 3.0)
    doc.end_stroke()
    expected = np.ones((48, 64), dtype=bool)
    prev = (5.25, 20.0)
    for x in range(5, 60, 3):
        expected &= ~_segment_reference(48, 64, prev, (x + 0.25, 20.0), 3.0)
        prev = (x + 0.25, 20.0)
    np.testing.assert_array_equal(doc.mask, expected)
    assert doc.history.undo_count == 2  # rect + the whole stroke
    doc.undo()
    assert doc.mask.all()
    doc.undo()
    assert not doc.mask.any()
    assert not doc.can_undo


def test_abort_stroke_restores_and_records_nothing():
    doc = Document(_photo())
    doc.fill_rect(10, 10, 30, 30)
    before = doc.mask.copy()
    doc.begin_stroke()
    doc.stroke_to(5, 5, 4)
    doc.stroke_to(50, 40, 4)
    doc.abort_stroke()
    np.testing.assert_array_equal(doc.mask, before)
    assert doc.history.undo_count == 1


# ----------------------------------------------------------------------------------- lasso and rectangle


@pytest.mark.parametrize(
    "pts",
    [
        [(3.2, 4.1), (40.7, 8.5), (55.0, 44.3), (12.4, 30.0)],
        [(10.5, 10.5), (30.5, 10.5), (30.5, 20.5), (10.5, 20.5)],  # edges through pixel centres
        [(5.0, 5.0), (60.0, 40.0), (60.0, 5.0), (5.0, 40.0)],  # self-intersecting bow tie
        [(x / 2.5, y / 2.5) for x, y in [(11, 7), (150, 19), (90, 60), (140, 110), (20, 100), (60, 55)]],
        [(-10.0, -10.0), (80.0, 5.0), (30.0, 70.0)],  # partly outside the image
    ],
)
def test_lasso_fills_exactly_the_pixel_centres_inside(pts):
    doc = Document(_photo())
    doc.fill_polygon(pts)
    np.testing.assert_array_equal(doc.mask, _pnpoly(doc.height, doc.width, pts))


def test_lasso_subtract_and_degenerate():
    doc = Document(_photo())
    doc.fill_rect(0, 0, 64, 48)
    pts = [(3.2, 4.1), (40.7, 8.5), (55.0, 44.3), (12.4, 30.0)]
    doc.fill_polygon(pts, subtract=True)
    np.testing.assert_array_equal(doc.mask, ~_pnpoly(48, 64, pts))
    assert doc.fill_polygon([(1.0, 1.0), (5.0, 5.0)]) is None
    assert doc.fill_polygon([(100.0, 100.0), (120.0, 100.0), (110.0, 120.0)]) is None


def test_rect_uses_pixel_centres_in_any_corner_order():
    doc = Document(_photo())
    box = doc.fill_rect(10.0, 12.0, 0.0, 2.0)
    assert box == (2, 0, 12, 10)
    expected = np.zeros((48, 64), dtype=bool)
    expected[2:12, 0:10] = True
    np.testing.assert_array_equal(doc.mask, expected)
    doc.fill_rect(20.4, 20.4, 22.6, 22.6)  # centres 20.5, 21.5, 22.5 inside
    expected[20:23, 20:23] = True
    np.testing.assert_array_equal(doc.mask, expected)
    doc.fill_rect(0, 0, 5, 48, subtract=True)
    expected[:, :5] = False
    np.testing.assert_array_equal(doc.mask, expected)
    assert doc.fill_rect(30.6, 30.6, 31.4, 31.4) is None  # no centre inside


# ------------------------------------------------------------------------------------------ morphology


def test_a_mask_patch_adds_or_subtracts_a_shape_as_one_step_touching_only_what_changes():
    doc = Document(_photo())
    assert doc.rect_pixels(10.2, 5.2, 3.0, 30.8) == (5, 3, 31, 10) and doc.rect_pixels(4.0, 5.0, 4.2, 9.0) is None
    doc.fill_rect(0, 0, 8, 8)
    before = doc.mask.copy()
    hit = np.zeros((20, 30), bool)
    hit[5:15, 5:25] = True
    patch = doc.mask_patch((2, 3, 22, 33), hit)
    assert patch.box == (7, 8, 17, 28)  # the part that changes: the pixels already set are left out
    np.testing.assert_array_equal(doc.mask, before)  # made without changing the mask
    steps = doc.history.undo_count
    assert doc.apply_mask_patch(patch, "object") == (7, 8, 17, 28)
    assert doc.history.undo_count == steps + 1 and doc.mask[7:17, 8:28].all() and doc.mask.sum() == 64 + 200
    doc.undo()
    np.testing.assert_array_equal(doc.mask, before)
    doc.apply_mask_patch(doc.mask_patch((0, 0, 8, 8), np.ones((8, 8), bool), subtract=True), "object")
    assert not doc.mask.any()
    assert doc.mask_patch((0, 0, 8, 8), np.ones((8, 8), bool), subtract=True) is None  # nothing would change


def test_single_pixel_grown_by_3_is_a_disk_and_shrinks_back():
    doc = Document(_photo())
    doc.fill_rect(20, 30, 21, 31)  # pixel (row 30, col 20)
    doc.grow_mask(3)
    expected = np.zeros((48, 64), dtype=bool)
    expected[27:34, 17:24] = _disk(3)
    np.testing.assert_array_equal(doc.mask, expected)
    doc.shrink_mask(3)
    np.testing.assert_array_equal(doc.mask, np.pad(_disk(0), ((30, 17), (20, 43))))


@pytest.mark.parametrize("px", [1, 2, 4, 7, 12])
def test_grow_and_shrink_match_opencv_with_a_disk_kernel(px):
    rng = np.random.default_rng(px)
    mask = rng.random((48, 64)) < 0.03
    mask[10:20, 15:40] = True
    kernel = _disk(px).astype(np.uint8)
    np.testing.assert_array_equal(disk_dilate(mask, px), cv2.dilate(mask.astype(np.uint8), kernel).astype(bool))
    np.testing.assert_array_equal(disk_erode(mask, px), cv2.erode(mask.astype(np.uint8), kernel).astype(bool))
    doc = Document(_photo())
    doc.set_mask(mask)
    doc.grow_mask(px)
    np.testing.assert_array_equal(doc.mask, cv2.dilate(mask.astype(np.uint8), kernel).astype(bool))
    doc.set_mask(mask)
    doc.shrink_mask(px)
    np.testing.assert_array_equal(doc.mask, cv2.erode(mask.astype(np.uint8), kernel).astype(bool))


def test_shrink_keeps_a_hole_touching_the_image_border():
    doc = Document(_photo())
    doc.fill_rect(0, 0, 10, 10)
    doc.shrink_mask(2)
    expected = np.zeros((48, 64), dtype=bool)
    expected[0:8, 0:8] = True
    np.testing.assert_array_equal(doc.mask, expected)
    with pytest.raises(ValueError):
        doc.grow_mask(-1)


def test_invert_clear_set_mask():
    doc = Document(_photo())
    doc.fill_rect(5, 5, 15, 15)
    before = doc.mask.copy()
    doc.invert_mask()
    np.testing.assert_array_equal(doc.mask, ~before)
    doc.clear_mask()
    assert not doc.mask.any()
    assert doc.clear_mask() is None  # nothing to clear: no step
    steps = doc.history.undo_count
    hole = np.zeros((48, 64), dtype=bool)
    hole[1, 2] = True
    assert doc.set_mask(hole) == (1, 2, 2, 3)
    assert doc.history.undo_count == steps + 1
    with pytest.raises(ValueError):
        doc.set_mask(np.zeros((4, 4), dtype=bool))


# ---------------------------------------------------------------------------------------- undo / redo


def test_undo_redo_restore_mask_and_image_bit_exactly():
    doc = Document(_photo(seed=3))
    photo_rgb = doc.photo.rgb.copy()
    states = [(doc.image.copy(), doc.mask.copy())]

    def record():
        states.append((doc.image.copy(), doc.mask.copy()))

    doc.begin_stroke()
    doc.stroke_to(10.2, 10.7, 4.0)
    doc.stroke_to(30.1, 22.9, 4.0)
    doc.end_stroke()
    record()
    doc.fill_polygon([(40.0, 5.0), (60.0, 10.0), (50.0, 30.0)])
    record()
    new = doc.image.copy()
    new[5:25, 8:35] = 7
    assert not doc.dirty
    doc.apply_result(FakeResult(new, (5, 8, 25, 35)))
    assert doc.dirty and not doc.mask.any()
    record()
    doc.fill_rect(0, 0, 20, 20)
    record()
    doc.grow_mask(2)
    record()
    doc.begin_stroke(erase=True)
    doc.stroke_to(5.0, 5.0, 3.0)
    doc.end_stroke()
    record()
    new2 = doc.image.copy()
    new2[0:10, 0:10] = 200
    doc.apply_result(FakeResult(new2, (0, 0, 10, 10)))
    record()
    doc.invert_mask()
    record()

    n = len(states) - 1
    assert doc.history.undo_count == n
    for k in range(n, 0, -1):
        np.testing.assert_array_equal(doc.image, states[k][0])
        np.testing.assert_array_equal(doc.mask, states[k][1])
        assert doc.undo() is not None
    np.testing.assert_array_equal(doc.image, states[0][0])
    np.testing.assert_array_equal(doc.mask, states[0][1])
    assert not doc.dirty and not doc.can_undo and doc.undo() is None
    for k in range(1, n + 1):
        assert doc.redo() is not None
        np.testing.assert_array_equal(doc.image, states[k][0])
        np.testing.assert_array_equal(doc.mask, states[k][1])
    assert not doc.can_redo and doc.redo() is None
    np.testing.assert_array_equal(doc.photo.rgb, photo_rgb)  # the photo is never modified


def test_new_edit_after_undo_drops_redo_branch():
    doc = Document(_photo())
    doc.fill_rect(0, 0, 10, 10)
    doc.fill_rect(20, 20, 30, 30)
    doc.undo()
    assert doc.can_redo
    doc.fill_rect(40, 40, 50, 45)
    assert not doc.can_redo and doc.redo() is None
    assert doc.history.undo_count == 2


def test_dirty_follows_save_and_undo():
    doc = Document(_photo())
    new = doc.image.copy()
    new[0:4, 0:4] = 0
    doc.apply_result(FakeResult(new, (0, 0, 4, 4)))
    assert doc.dirty
    doc.mark_saved("/tmp/out.png")
    assert not doc.dirty and str(doc.path) == "/tmp/out.png"
    doc.fill_rect(0, 0, 3, 3)  # mask edits do not make the pixels dirty
    assert not doc.dirty
    doc.undo()
    doc.undo()
    assert doc.dirty  # back to the loaded pixels, which are not the saved ones
    doc.redo()
    assert not doc.dirty


def test_apply_result_without_change_only_clears_mask_and_checks_shape():
    doc = Document(_photo())
    doc.fill_rect(2, 2, 6, 6)
    doc.apply_result(FakeResult(doc.image.copy(), None))
    assert not doc.mask.any() and not doc.dirty
    doc.undo()
    assert doc.mask.sum() == 16
    with pytest.raises(ValueError):
        doc.apply_result(FakeResult(np.zeros((4, 4, 3), np.uint8), (0, 0, 4, 4)))


def test_history_bounded_by_bytes_drops_oldest():
    h, w = 48, 64
    one_step = 2 * (h * w // 8)  # invert: old + new packed bits of the full image
    doc = Document(_photo(h, w), max_history_bytes=3 * one_step)
    for _ in range(5):
        doc.invert_mask()
    assert doc.history.undo_count == 3
    assert doc.history.nbytes <= 3 * one_step
    for _ in range(3):
        assert doc.undo() is not None
    assert doc.undo() is None
    assert not doc.mask.any()  # five inversions, three undone: the state after the second


def test_history_bounded_by_count_and_large_result():
    doc = Document(_photo(), max_history_steps=4)
    for k in range(10):
        doc.fill_rect(k, 0, k + 1, 1)
    assert doc.history.undo_count == 4
    small = Document(_photo(), max_history_bytes=100)
    new = small.image.copy()
    new[:] = 1
    small.apply_result(FakeResult(new, (0, 0, 48, 64)))  # larger than the budget: applied, not undoable
    assert (small.image == 1).all() and not small.can_undo


# ---------------------------------------------------------------------------------- views and listeners


def test_arrays_are_read_only():
    doc = Document(_photo())
    with pytest.raises(ValueError):
        doc.image[0, 0, 0] = 1
    with pytest.raises(ValueError):
        doc.mask[0, 0] = True
    assert doc.image.shape == (48, 64, 3) and doc.mask.dtype == bool
    assert (doc.height, doc.width) == (48, 64)


def test_listeners_called_after_changes_undo_redo():
    doc = Document(_photo())
    events = []
    doc.add_listener(lambda kind, box: events.append((kind, box)))
    doc.begin_stroke()
    box = doc.stroke_to(10.0, 10.0, 2.0)
    doc.end_stroke()
    assert events == [("mask", box)]
    events.clear()
    doc.fill_rect(0, 0, 4, 4)
    assert events == [("mask", (0, 0, 4, 4))]
    events.clear()
    new = doc.image.copy()
    new[1:3, 1:3] = 0
    doc.apply_result(FakeResult(new, (1, 1, 3, 3)))
    assert ("image", (1, 1, 3, 3)) in events and any(kind == "mask" for kind, _ in events)
    events.clear()
    doc.undo()
    assert {kind for kind, _ in events} == {"image", "mask"}
    events.clear()
    doc.redo()
    assert {kind for kind, _ in events} == {"image", "mask"}
    events.clear()
    doc.grow_mask(1)  # empty mask after the result: nothing changes, nobody is called
    assert events == []


def test_stroke_to_is_local_on_a_large_document(monkeypatch):
    """Each brush segment examines only the pixels near it, however large the photo (counted, not timed)."""
    import app.document as document

    examined = []
    real_hits = document.capsule_hits

    def counting_hits(box, a, b, radius):
        examined.append((box[2] - box[0]) * (box[3] - box[1]))
        return real_hits(box, a, b, radius)

    monkeypatch.setattr(document, "capsule_hits", counting_hits)
    doc = Document(_photo(4000, 6000))
    doc.begin_stroke()
    doc.stroke_to(3000.0, 2000.0, 50.0)
    for k in range(50):
        examined.clear()
        doc.stroke_to(3000.0 + 3.1 * k, 2000.0 + 1.7 * k, 50.0)
        assert 0 < sum(examined) <= (2 * 50 + 8) ** 2  # the segment's box: 4 px of movement plus the brush
    doc.end_stroke()
    assert doc.history.nbytes < 100_000


def test_apply_result_clears_only_the_hole_it_was_computed_from():
    doc = Document(_photo())
    doc.fill_rect(2, 2, 10, 10)
    submitted = doc.mask.copy()
    doc.fill_rect(20, 20, 30, 30)  # painted while the removal ran
    later = doc.mask & ~submitted
    new = doc.image.copy()
    new[2:11, 2:11] = 9
    doc.apply_result(FakeResult(new, (2, 2, 11, 11)), hole=submitted)
    np.testing.assert_array_equal(doc.mask, later)
    assert (doc.image[2:11, 2:11] == 9).all()
    doc.undo()
    np.testing.assert_array_equal(doc.mask, submitted | later)
    with pytest.raises(ValueError, match="hole"):
        doc.apply_result(FakeResult(new, None), hole=np.zeros((3, 3), bool))


def test_apply_result_keeps_strokes_painted_inside_the_holes_box_during_the_removal():
    doc = Document(_photo())
    doc.fill_rect(2, 2, 12, 4)
    doc.fill_rect(2, 9, 12, 11)  # two bars: the hole's box spans the gap between them
    submitted = doc.mask.copy()
    doc.fill_rect(4, 5, 8, 7)  # painted in the gap while the removal ran
    doc.fill_rect(2, 2, 12, 3, subtract=True)  # and part of the hole erased
    painted = doc.mask & ~submitted
    assert painted[5:7, 4:8].all()
    before = doc.mask.copy()
    new = doc.image.copy()
    new[2:11, 2:12] = 9
    doc.apply_result(FakeResult(new, (2, 2, 11, 12)), hole=submitted)
    np.testing.assert_array_equal(doc.mask, painted)
    doc.undo()
    np.testing.assert_array_equal(doc.mask, before)


def test_a_result_applied_in_slices_ends_as_one_undo_step_identical_to_applying_it_at_once():
    at_once, sliced = Document(_photo()), Document(_photo())
    new = at_once.image.copy()
    new[4:40, 6:50] = 200
    for doc in (at_once, sliced):
        doc.fill_rect(6, 4, 50, 40)
    before_image, before_mask = sliced.image.copy(), sliced.mask.copy()
    at_once.apply_result(FakeResult(new, (4, 6, 40, 50)), hole=before_mask)
    heard = []
    sliced.add_listener(lambda kind, box: heard.append((kind, box)))
    assert sliced.begin_result(FakeResult(new, (4, 6, 40, 50)), hole=before_mask, slice_pixels=10 * 44) == (
        4, 6, 40, 50)
    assert sliced.applying_result and not sliced.mask.any() and sliced.dirty  # the mask is cleared at once
    np.testing.assert_array_equal(sliced._image, before_image)  # no pixel written yet
    slices = []
    while (box := sliced.apply_result_slice()) is not None:
        slices.append(box)
    assert slices == [(4, 6, 14, 50), (14, 6, 24, 50), (24, 6, 34, 50), (34, 6, 40, 50)]  # 10 rows of 44 each
    assert [box for kind, box in heard if kind == "image"] == slices and not sliced.applying_result
    np.testing.assert_array_equal(sliced.image, at_once.image)
    np.testing.assert_array_equal(sliced.mask, at_once.mask)
    assert sliced.history.undo_count == at_once.history.undo_count
    sliced.undo()
    np.testing.assert_array_equal(sliced.image, before_image)
    np.testing.assert_array_equal(sliced.mask, before_mask)


def test_a_half_applied_result_is_written_to_the_end_before_undo_or_any_read_of_the_image():
    doc = Document(_photo())
    before = doc.image.copy()
    new = before.copy()
    new[0:30, 0:64] = 7
    doc.begin_result(FakeResult(new, (0, 0, 30, 64)), slice_pixels=64)
    doc.apply_result_slice()
    np.testing.assert_array_equal(doc.image, new)  # reading the pixels finishes the result first
    assert not doc.applying_result
    doc.begin_result(FakeResult(before, (0, 0, 30, 64)), slice_pixels=64)
    doc.apply_result_slice()
    doc.undo()  # undoes the whole second result, not a part of it
    np.testing.assert_array_equal(doc.image, new)
    doc.undo()
    np.testing.assert_array_equal(doc.image, before)


def test_the_removal_snapshot_copies_only_each_masks_box():
    doc = Document(_photo())
    doc.fill_rect(10, 5, 20, 9)
    doc.set_layer("exclude")
    hole, exclude = doc.mask_snapshot()
    assert hole.box == (5, 10, 9, 20) and hole.values.shape == (4, 10)
    np.testing.assert_array_equal(hole.full(), doc.mask)
    assert exclude.empty and not exclude.full().any() and exclude.full().shape == doc.mask.shape
    doc.fill_rect(40, 30, 42, 32)
    _, exclude = doc.mask_snapshot()
    assert exclude.values.shape == (2, 2)
    doc.fill_rect(0, 0, 63, 47)  # later edits never reach a snapshot
    np.testing.assert_array_equal(exclude.full(), MaskBox.of(exclude.full()).full())
    assert exclude.full().sum() == 4
