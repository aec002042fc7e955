"""Canvas tests: mouse gestures set exactly the expected mask pixels at different zooms."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QApplication

from app.document import Document
from app.image_maps import ResultMaps, heat_colors, heat_position, heat_tables
from app.qt_canvas import QtCanvas
from engine.imageio import load_image
from tests.helpers import send_mouse

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
ALT = Qt.KeyboardModifier.AltModifier


def drag(canvas: QtCanvas, points: list[QPointF], button=LEFT, modifiers=NO_MOD) -> None:
    send_mouse(canvas, QEvent.Type.MouseButtonPress, points[0], button, modifiers)
    for p in points[1:]:
        send_mouse(canvas, QEvent.Type.MouseMove, p, button, modifiers)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1], button, modifiers)


def centres(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return xx + 0.5, yy + 0.5


def segment_distance(h: int, w: int, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Distance of every pixel centre to segment a-b, computed directly."""
    cx, cy = centres(h, w)
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.zeros_like(cx) if length2 == 0 else np.clip(((cx - ax) * dx + (cy - ay) * dy) / length2, 0, 1)
    return np.hypot(cx - (ax + t * dx), cy - (ay + t * dy))


def stroke_distance(h: int, w: int, pts: list[tuple[float, float]]) -> np.ndarray:
    d = segment_distance(h, w, pts[0], pts[0])
    for a, b in zip(pts, pts[1:], strict=False):
        d = np.minimum(d, segment_distance(h, w, a, b))
    return d


def inside_polygon(h: int, w: int, poly: list[tuple[float, float]]) -> np.ndarray:
    """Point-in-polygon of every pixel centre (ray casting), computed directly."""
    cx, cy = centres(h, w)
    inside = np.zeros((h, w), bool)
    n = len(poly)
    for i in range(n):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % n]
        if ay == by:
            continue
        crosses = (ay > cy) != (by > cy)
        xi = ax + (cy - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (cx < xi)
    return inside


@pytest.fixture
def canvas(qtbot, png_file):
    view = QtCanvas()
    qtbot.addWidget(view)
    view.resize(400, 320)
    view.show()
    qtbot.waitExposed(view)
    view.set_document(Document(load_image(png_file)))
    yield view
    view.set_document(None)


def result_maps(windows, hole: np.ndarray, band_px: int = 0) -> ResultMaps:
    """ResultMaps of (box, alpha) ``windows`` with a mid-grey raw output, for ``hole``."""
    return ResultMaps(windows=tuple((box, alpha, np.full(alpha.shape[:2] + (3,), 128, np.uint8))
                                    for box, alpha in windows),
                      hole=hole, band_px=band_px, legend=("Alpha: test", "In the hole: 0 fill", "Outside: 0 photo"),
                      raw_label="Raw prediction: test")


def box_hole(shape: tuple[int, int], box) -> np.ndarray:
    y0, x0, y1, x1 = box
    hole = np.zeros(shape, bool)
    hole[y0:y1, x0:x1] = True
    return hole


def assert_mask_matches(mask: np.ndarray, expected: np.ndarray, ambiguous: np.ndarray) -> None:
    ok = ~ambiguous
    assert expected[ok].any()
    np.testing.assert_array_equal(mask[ok], expected[ok])


@pytest.mark.parametrize("zoom", [1.0, 2.5])
def test_brush_stroke_sets_exactly_the_pixels_within_radius(canvas, zoom):
    canvas.set_zoom(zoom)
    canvas.set_tool("brush")
    canvas.brush_size = 7.0  # radius 3.5 image px
    doc = canvas.document
    start = canvas.map_from_image(10.3, 12.7)
    vp_points = [start, start + QPointF(23, 9), start + QPointF(51, 30), start + QPointF(60, 31)]
    drag(canvas, vp_points)
    img_points = [canvas.map_to_image(p) for p in vp_points]
    d = stroke_distance(doc.height, doc.width, img_points)
    assert_mask_matches(doc.mask, d <= 3.5, np.abs(d - 3.5) < 1e-6)
    assert doc.can_undo
    doc.undo()
    assert not doc.mask.any()


@pytest.mark.parametrize("zoom", [1.0, 2.5])
def test_lasso_fills_its_polygon_and_alt_subtracts(canvas, zoom):
    canvas.set_zoom(zoom)
    canvas.set_tool("lasso")
    doc = canvas.document
    corners = [(5.2, 4.6), (50.3, 8.1), (44.7, 40.2), (9.9, 35.4)]
    vp = [canvas.map_from_image(x, y) for x, y in corners]
    drag(canvas, vp)
    poly = [canvas.map_to_image(p) for p in vp]
    expected = inside_polygon(doc.height, doc.width, poly)
    assert expected.sum() > 500
    np.testing.assert_array_equal(doc.mask, expected)

    inner = [(15.2, 14.6), (30.3, 14.1), (30.7, 28.2), (15.9, 28.4)]
    vp_inner = [canvas.map_from_image(x, y) for x, y in inner]
    drag(canvas, vp_inner, modifiers=ALT)
    cut = inside_polygon(doc.height, doc.width, [canvas.map_to_image(p) for p in vp_inner])
    np.testing.assert_array_equal(doc.mask, expected & ~cut)


def test_eraser_clears_within_radius(canvas):
    doc = canvas.document
    doc.fill_rect(0, 0, doc.width, doc.height)
    canvas.set_zoom(2.5)
    canvas.set_tool("eraser")
    canvas.set_tool_size(9.0)
    vp = [canvas.map_from_image(8.3, 20.2), canvas.map_from_image(40.6, 22.9)]
    drag(canvas, vp)
    d = stroke_distance(doc.height, doc.width, [canvas.map_to_image(p) for p in vp])
    assert_mask_matches(doc.mask, ~(d <= 4.5), np.abs(d - 4.5) < 1e-6)
    assert canvas.brush_size != 9.0  # the eraser keeps its own size


def test_right_drag_with_brush_erases(canvas):
    doc = canvas.document
    doc.fill_rect(0, 0, doc.width, doc.height)
    canvas.set_tool("brush")
    canvas.brush_size = 5.0
    vp = [canvas.map_from_image(20.2, 20.2)]
    drag(canvas, vp, button=Qt.MouseButton.RightButton)
    d = stroke_distance(doc.height, doc.width, [canvas.map_to_image(vp[0])])
    assert_mask_matches(doc.mask, ~(d <= 2.5), np.abs(d - 2.5) < 1e-6)


def test_rectangle_tool(canvas):
    doc = canvas.document
    canvas.set_zoom(2.5)
    canvas.set_tool("rect")
    a, b = canvas.map_from_image(10.2, 5.2), canvas.map_from_image(30.8, 20.4)
    drag(canvas, [a, QPointF((a.x() + b.x()) / 2, a.y()), b])
    (x0, y0), (x1, y1) = canvas.map_to_image(a), canvas.map_to_image(b)
    cx, cy = centres(doc.height, doc.width)
    expected = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
    np.testing.assert_array_equal(doc.mask, expected)


def test_the_object_tool_hands_on_its_box_and_leaves_the_mask_alone(canvas):
    doc = canvas.document
    canvas.set_tool("object")
    boxes = []
    canvas.object_box_drawn.connect(lambda *box: boxes.append(box))
    a, b = canvas.map_from_image(10.2, 5.2), canvas.map_from_image(30.8, 20.4)
    drag(canvas, [a, QPointF((a.x() + b.x()) / 2, a.y()), b])
    drag(canvas, [b, a], modifiers=ALT)
    (x0, y0), (x1, y1) = canvas.map_to_image(a), canvas.map_to_image(b)
    assert boxes == [(x0, y0, x1, y1, False), (x1, y1, x0, y0, True)]
    assert not doc.mask.any() and not doc.can_undo  # the mask changes once the object is found


def test_overlay_follows_mask_changes_and_undo(canvas):
    doc = canvas.document
    doc.fill_rect(3, 4, 20, 15)
    alpha = canvas.mask_item.pixels[..., 3] > 0
    np.testing.assert_array_equal(alpha, doc.mask)
    doc.undo()
    assert not (canvas.mask_item.pixels[..., 3] > 0).any()


def test_image_item_mirrors_document_pixels(canvas):
    doc = canvas.document
    px = canvas.photo_item.pixels
    np.testing.assert_array_equal(px[..., 2::-1], doc.image)


def test_zoom_and_views(canvas):
    canvas.set_zoom(2.0)
    assert canvas.zoom == pytest.approx(2.0)
    canvas.zoom_in()
    assert canvas.zoom > 2.0
    canvas.zoom_actual()
    assert canvas.zoom_percent() == pytest.approx(100.0)
    canvas.set_view_mode("original")
    assert canvas.original_item.isVisible() and not canvas.mask_item.isVisible()
    canvas.set_view_mode("split")
    assert canvas.original_item.clip_width == pytest.approx(canvas.document.width / 2)
    canvas.set_view_mode("result")
    assert not canvas.original_item.isVisible()


def test_heat_colors_range():
    colors = heat_colors(np.array([0.0, 0.5, 1.0]))
    assert colors.shape == (3, 3) and colors.dtype == np.uint8
    assert colors[0].sum() < colors[1].sum() < colors[2].sum()


def test_split_divider_drags_without_painting(canvas):
    canvas.set_zoom(4.0)
    canvas.set_view_mode("split")
    doc = canvas.document
    divider = canvas.map_from_image(doc.width / 2, doc.height / 2)
    target = canvas.map_from_image(doc.width * 0.25, doc.height / 2)
    drag(canvas, [divider, divider + QPointF(-10, 0), target])
    assert canvas.original_item.clip_width == pytest.approx(doc.width * 0.25, abs=0.5)
    assert not doc.mask.any()  # the drag moved the divider, it did not paint
    away = canvas.map_from_image(doc.width * 0.75, doc.height / 2)
    drag(canvas, [away, away + QPointF(8, 0)])
    assert doc.mask.any()  # away from the divider the brush paints as usual


def test_the_heat_map_is_built_off_the_gui_thread_and_only_the_newest_is_shown(qtbot, canvas, monkeypatch):
    import threading

    import app.qt_canvas as qt_canvas

    h, w = canvas.document.height, canvas.document.width
    threads = []
    real = qt_canvas.heat_image

    def recording(*args):
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(qt_canvas, "heat_image", recording)
    old = result_maps([((0, 0, h, w), np.full((h, w, 3), 255, np.uint8))], np.ones((h, w), bool))
    half = (0, 0, h // 2, w // 2)
    new = result_maps([(half, np.full((h // 2, w // 2, 3), 128, np.uint8))], box_hole((h, w), half))
    canvas.set_result_maps(old)
    canvas.set_alpha_mode("alone")
    canvas.set_result_maps(new)  # a newer removal before the first map arrived
    assert canvas.images_pending and canvas.photo_item.isVisible()  # the photo stays until the map is ready
    qtbot.waitUntil(lambda: not canvas.images_pending, timeout=5000)
    qtbot.wait(50)  # a late signal for the old map would land now
    assert threads and all(t is not threading.main_thread() for t in threads)
    levels = canvas.heat_item.pixels[..., 3]
    assert levels[: h // 2, : w // 2].min() == 255 and levels[h // 2:, w // 2:].max() == 0  # alone: opaque map
    assert not canvas.photo_item.isVisible()
    np.testing.assert_array_equal(canvas.heat_item.pixels[0, 0], heat_tables()[0][0, 128])


def test_wheel_zoom_keeps_the_point_under_the_cursor(qtbot, canvas):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    canvas.set_zoom(12.0)  # the 64 x 48 photo is larger than the view: it can scroll both ways
    canvas.centerOn(canvas.document.width / 2, canvas.document.height / 2)
    pos = QPointF(150.0, 120.0)
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(10, 10), button=Qt.MouseButton.NoButton)  # elsewhere first
    before = canvas.map_to_image(pos)
    for delta in (120, 120, -120, 240):
        event = QWheelEvent(pos, canvas.viewport().mapToGlobal(pos), QPoint(), QPoint(0, delta),
                            Qt.MouseButton.NoButton, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas.viewport(), event)
        after = canvas.map_to_image(pos)
        assert abs(after[0] - before[0]) * canvas._scale <= 1.0 and abs(after[1] - before[1]) * canvas._scale <= 1.0


def test_an_empty_canvas_offers_open_and_drops_take_photos_only(qtbot, tmp_path, png_file):
    from PySide6.QtCore import QMimeData, QUrl

    from app.qt_canvas_gestures import dropped_photos

    view = QtCanvas()
    qtbot.addWidget(view)
    view.resize(400, 320)
    view.show()
    qtbot.waitExposed(view)
    assert view._empty_hint.isVisible()
    with qtbot.waitSignal(view.open_requested, timeout=1000):
        view._empty_hint.layout().itemAt(0).widget().click()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")), QUrl.fromLocalFile(str(tmp_path / "a.JPG"))])
    assert dropped_photos(mime) == [str(tmp_path / "a.JPG")]
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    assert dropped_photos(mime) == []
    view.set_document(Document(load_image(png_file)))
    assert not view._empty_hint.isVisible()
    view.set_document(None)
    assert view._empty_hint.isVisible()


def test_split_view_sides_and_the_heat_map_legend_are_labelled(qtbot, canvas):
    h, w = canvas.document.height, canvas.document.width
    canvas.set_zoom(6.0)
    canvas.centerOn(w / 2, h / 2)

    def region(x0, y0, x1, y1):
        qtbot.wait(20)
        image = canvas.viewport().grab().toImage()
        return [image.pixel(x, y) for x in range(x0, x1, 2) for y in range(y0, y1, 2)]

    divider = int(canvas.map_from_image(canvas._split_x * w, 0).x())
    canvas.set_view_mode("result")
    plain = region(divider - 60, 8, divider - 12, 24)
    canvas.set_view_mode("split")
    assert region(divider - 60, 8, divider - 12, 24) != plain  # "Original" left of the divider
    canvas.set_view_mode("result")
    vp_h = canvas.viewport().height()
    plain = region(12, vp_h - 46, 172, vp_h - 20)
    corner = (0, 0, 2, 2)  # far from the legend's corner
    canvas.set_result_maps(result_maps([(corner, np.full((2, 2, 3), 200, np.uint8))], box_hole((h, w), corner)))
    canvas.set_alpha_mode("overlay")
    qtbot.waitUntil(lambda: canvas.heat_item is not None, timeout=5000)
    assert region(12, vp_h - 46, 172, vp_h - 20) != plain  # the colour scale


def test_display_and_heat_images_are_transparent_outside_what_they_show(qapp):
    from app import qt_canvas_images as images

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), np.uint8)
    photo, overlay = images.display_images(rgb)
    assert np.array_equal(images.bgra_view(photo)[..., 2::-1], rgb)  # B, G, R in memory
    assert not images.bgra_view(overlay).any()
    box, alpha = (5, 7, 20, 30), np.full((15, 23), 255, np.uint8)
    inside = box_hole((37, 53), box)
    image = images.heat_image(37, 53, [(box, alpha)], inside, 0, alone=True)  # kept: the view does not own them
    heat = images.bgra_view(image)
    assert not heat[~inside].any()
    assert (heat[inside] == heat_tables()[0][0, 255]).all()


def _ring(shape, hole, band_px):
    """Pixels of the seam band (within band_px of the hole, outside it) and beyond it, computed directly."""
    ys, xs = np.nonzero(hole)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    distance = np.min(np.hypot(yy[..., None] - ys, xx[..., None] - xs), axis=-1)
    return (distance > 0) & (distance <= band_px), distance > band_px


def test_a_mostly_dark_learned_map_stays_legible_and_fades_only_outside_the_hole(qapp):
    from app import qt_canvas_images as images

    shape, box = (30, 40), (2, 3, 28, 37)
    hole = box_hole(shape, (10, 12, 20, 26))
    band, beyond = _ring(shape, hole, 4)
    beyond &= box_hole(shape, box)
    level = round(0.05 * 255)  # DFNet's learned alpha is mostly near 0
    alpha = np.full((26, 34, 3), level, np.uint8)
    over_image = images.heat_image(*shape, [(box, alpha)], hole, 4, alone=False)  # kept: views do not own it
    over = images.bgra_view(over_image)
    assert (over[hole][:, 3] == 255).all()  # in the hole 0 is the pre-fill, not the photo: always coloured
    zero = heat_tables()[0][0, 0, :3].astype(int)
    assert np.abs(over[hole][:, :3].astype(int) - zero).sum(axis=1).min() > 60  # 0.05 is far from 0's colour
    assert (over[band][:, 3] > 60).all() and not over[beyond].any()  # the band fades to the photo, then nothing
    alone_image = images.heat_image(*shape, [(box, alpha)], hole, 4, alone=True)
    alone = images.bgra_view(alone_image)
    assert (alone[hole | band][:, 3] == 255).all() and not alone[beyond].any()  # no hard edge at the window
    assert heat_position(0.05) > 0.3 and heat_position(1.0) == 1.0


def test_the_raw_view_shows_the_output_only_where_the_removal_used_it(qapp):
    from app import qt_canvas_images as images

    shape, box = (30, 40), (0, 0, 30, 40)
    hole = box_hole(shape, (10, 12, 20, 26))
    raw = np.zeros((30, 40, 3), np.uint8)
    raw[..., 1] = 255  # a network's output outside the hole is not meaningful (here: green everywhere)
    band, beyond = _ring(shape, hole, 3)
    image = images.raw_image(*shape, [(box, raw)], hole, 3)  # kept: the view does not own the pixels
    view = images.bgra_view(image)
    assert (view[hole] == (0, 255, 0, 255)).all()
    # across the seam band it fades out to the photo as the feather does: no hard edge
    from engine.pipeline import feather_weights

    weights = np.round(feather_weights(hole, 3) * 255).astype(int)
    assert (view[band][:, 3] > 0).all() and np.abs(view[..., 3].astype(int) - weights).max() <= 1
    assert (view[band][:, 1] == view[band][:, 3]).all()  # premultiplied green
    assert not view[beyond].any()  # the photo shows there
    hard_image = images.raw_image(*shape, [(box, raw)], hole, 0)
    hard = images.bgra_view(hard_image)
    assert (hard[hole][:, 3] == 255).all() and not hard[~hole].any()


def test_the_hole_outline_follows_the_hole(qapp):
    from app import qt_canvas_images as images

    hole = box_hole((30, 40), (10, 12, 20, 26))
    bounds = images.hole_outline(hole, [(0, 0, 30, 40)]).boundingRect()
    assert (bounds.left(), bounds.top(), bounds.right(), bounds.bottom()) == (12.5, 10.5, 25.5, 19.5)


def test_the_raw_view_and_the_heat_map_say_what_they_show(qtbot, canvas, monkeypatch):
    h, w = canvas.document.height, canvas.document.width
    canvas.set_zoom(6.0)
    canvas.centerOn(w / 2, h / 2)
    corner = (h - 2, w - 2, h, w)
    canvas.set_result_maps(result_maps([(corner, np.full((2, 2, 3), 200, np.uint8))], box_hole((h, w), corner)))

    def top_left():
        qtbot.wait(20)
        image = canvas.viewport().grab().toImage()
        return [image.pixel(x, y) for x in range(12, 140, 2) for y in range(8, 24, 2)]

    plain = top_left()
    canvas.set_view_mode("raw")
    qtbot.waitUntil(lambda: canvas.raw_item is not None, timeout=5000)
    assert top_left() != plain  # "Raw prediction: ..."
    # panning moves the viewport's pixels, the label with them: it is painted again where it belongs
    updates = []
    monkeypatch.setattr(canvas.viewport(), "update", lambda *args: updates.extend(args))
    label = canvas._label_rects[0].toAlignedRect()
    canvas.set_zoom(12.0)  # larger than the view: it scrolls
    updates.clear()
    canvas.horizontalScrollBar().setValue(canvas.horizontalScrollBar().value() + 7)
    assert any(rect.contains(label) for rect in updates)
    monkeypatch.undo()
    canvas.set_alpha_mode("overlay")
    qtbot.waitUntil(lambda: canvas.heat_item is not None, timeout=5000)
    assert len(canvas.outline_items) == 2 and all(item.isVisible() for item in canvas.outline_items)
    canvas.set_alpha_mode("off")
    assert not any(item.isVisible() for item in canvas.outline_items)
    canvas.set_result_maps(None)
    assert canvas.raw_item is None and canvas.heat_item is None and not canvas.outline_items


def test_the_brush_circle_follows_a_wheel_zoom(qtbot, canvas):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    canvas.set_zoom(12.0)
    canvas.centerOn(canvas.document.width / 2, canvas.document.height / 2)
    pos = QPointF(150.0, 120.0)
    send_mouse(canvas, QEvent.Type.MouseMove, pos, button=Qt.MouseButton.NoButton)
    circle = canvas._cursor_items[0]
    for delta in (-120 * 12, 240):  # far out (the photo shrinks to the middle of the view), then back in
        event = QWheelEvent(pos, canvas.viewport().mapToGlobal(pos), QPoint(), QPoint(0, delta),
                            Qt.MouseButton.NoButton, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas.viewport(), event)
        x, y = canvas.map_to_image(pos)
        centre = circle.rect().center()
        assert circle.isVisible()
        assert abs(centre.x() - x) < 1e-6 and abs(centre.y() - y) < 1e-6  # still under the pointer
        assert circle.rect().width() == pytest.approx(canvas.brush_size)
