"""Main-window tests: files, removal jobs, cancel, views, undo/redo, settings. No dialog ever blocks."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QThread
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox

from app.settings import read_settings
from engine.errors import JobCancelled
from engine.model_spec import FEATHERED_ALPHA, HARD_ALPHA
from engine.registry import get_spec
from engine.worker import EngineWorker
from tests.app.conftest import EXIF_MAKE, finish_files
from tests.helpers import send_mouse, synthetic_rgb, without_weights

WAIT_MS = 20000


def run_removal(qtbot, window):
    with qtbot.waitSignal(window.bridge.finished, timeout=WAIT_MS):
        window.remove()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)


@pytest.fixture
def opened(qtbot, main_window, png_file):
    assert main_window.open_path(png_file)
    finish_files(qtbot, main_window)
    assert main_window.select_model("opencv-telea")
    return main_window


def test_remove_with_telea_changes_hole_only(qtbot, opened):
    doc = opened.document
    before = doc.image.copy()
    doc.fill_rect(22, 17, 42, 31)
    hole = doc.mask.copy()
    run_removal(qtbot, opened)
    after = doc.image
    assert np.abs(after[hole].astype(int) - before[hole].astype(int)).mean() > 10  # the dark square is filled
    near = cv2.dilate(hole.astype(np.uint8), np.ones((2 * 12 + 1, 2 * 12 + 1), np.uint8)) > 0
    np.testing.assert_array_equal(after[~near], before[~near])  # nothing far outside changes
    assert not doc.mask.any()  # the mask is cleared
    assert doc.dirty and opened.last_result is not None
    assert "Device:" in opened.device_label.text() and "s" in opened.time_label.text()
    # Undo restores bit-exactly, redo re-applies; a second pass works on the result.
    doc.undo()
    np.testing.assert_array_equal(doc.image, before)
    np.testing.assert_array_equal(doc.mask, hole)
    doc.redo()
    assert not doc.mask.any()
    doc.fill_rect(5, 5, 12, 12)
    run_removal(qtbot, opened)
    assert not doc.mask.any()


def test_signals_arrive_on_the_gui_thread(qtbot, opened):
    threads = []
    opened.bridge.finished.connect(lambda *_: threads.append(QThread.currentThread()),
                                   Qt.ConnectionType.QueuedConnection)
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    qtbot.waitUntil(lambda: bool(threads), timeout=WAIT_MS)
    assert threads[0] is QApplication.instance().thread()


def test_empty_mask_gives_a_status_message(opened):
    opened.remove()
    assert not opened.busy
    assert "mask is empty" in opened.statusBar().currentMessage()


class _FakeModel:
    def __init__(self, spec):
        self.spec = spec
        self.device = "cpu"


def _slow_worker(started: threading.Event) -> EngineWorker:
    def load(name, device):
        return _FakeModel(get_spec(name))

    def run(image, hole, model, *, band_px, exclude, progress, cancel):
        started.set()
        progress(0.1, "working")
        if cancel.wait(15):
            raise JobCancelled("Cancelled")
        raise AssertionError("the job was never cancelled")

    return EngineWorker(load_model=load, run=run)


def test_escape_cancels_a_running_removal(qtbot, make_main_window, png_file):
    started = threading.Event()
    window = make_main_window(worker=_slow_worker(started))
    window.open_path(png_file)
    finish_files(qtbot, window)
    window.select_model("opencv-telea")
    doc = window.document
    doc.fill_rect(22, 17, 42, 31)
    before_img, before_mask = doc.image.copy(), doc.mask.copy()
    window.remove()
    assert window.busy and window.progress_bar.isVisible()
    assert not window.act_undo.isEnabled() and window.canvas.editable  # painting goes on during a removal
    qtbot.waitUntil(started.is_set, timeout=10_000)  # the job is made on a helper thread, then sent
    window.windowHandle().requestActivate()  # window shortcuts need the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.canvas.setFocus()
    with qtbot.waitSignal(window.bridge.cancelled, timeout=WAIT_MS):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert "cancelled" in window.statusBar().currentMessage().lower()
    np.testing.assert_array_equal(doc.image, before_img)
    np.testing.assert_array_equal(doc.mask, before_mask)
    assert window.act_remove.isEnabled() and window.canvas.editable and not window.progress_bar.isVisible()


def test_a_hard_composite_is_labelled_as_the_hole_mask(qtbot, make_main_window, png_file):
    """A model composited hard (DMFN: seam band 0) shows its alpha map as the hole mask, not a feathered one."""
    from engine.pipeline import inpaint
    from engine.registry import load_model

    bands = []

    def run(image, hole, model, *, band_px, exclude, progress, cancel):
        bands.append(band_px)
        return inpaint(image, hole, model, band_px=0, progress=progress, cancel=cancel)

    window = make_main_window(worker=EngineWorker(load_model=load_model, run=run))
    window.open_path(png_file)
    finish_files(qtbot, window)
    window.select_model("opencv-telea")
    window.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, window)
    assert bands == [None]  # the editor leaves the seam band to the model
    window.act_alpha.trigger()
    assert window.alpha_label.text() == " Alpha: hole mask (not learned)"  # the band used, not the model's own
    assert window.alpha_label.toolTip() == HARD_ALPHA


def _gated_worker(release: threading.Event) -> EngineWorker:
    """A worker running the real pipeline and Telea model, but only once ``release`` is set."""
    from engine.pipeline import inpaint
    from engine.registry import load_model

    def run(image, hole, model, *, band_px, exclude, progress, cancel):
        assert release.wait(15)
        return inpaint(image, hole, model, band_px=band_px, exclude=exclude, progress=progress, cancel=cancel)

    return EngineWorker(load_model=load_model, run=run)


def test_painting_during_a_removal_is_kept_for_the_next_pass(qtbot, make_main_window, png_file):
    release = threading.Event()
    window = make_main_window(worker=_gated_worker(release))
    window.open_path(png_file)
    finish_files(qtbot, window)
    window.select_model("opencv-telea")
    doc = window.document
    doc.fill_rect(22, 17, 42, 31)
    first_hole = doc.mask.copy()
    before = doc.image.copy()
    window.remove()
    assert window.busy and window.canvas.editable
    # a stroke with the mouse while the removal runs; the result arrives before the button is released
    viewport = window.canvas.viewport()
    start = window.canvas.mapFromScene(5.5, 40.5)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    with qtbot.waitSignal(window.bridge.finished, timeout=WAIT_MS):  # listening before the worker can finish
        release.set()
    qtbot.wait(50)
    assert window.busy  # applying waits for the gesture to end
    np.testing.assert_array_equal(doc.image, before)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert (doc.image[first_hole] != before[first_hole]).any()  # the first hole was filled
    assert not (doc.mask & first_hole).any()  # its mask is cleared ...
    assert doc.mask[40, 5]  # ... but the stroke painted meanwhile stays
    doc.undo()  # one step: the removal
    np.testing.assert_array_equal(doc.image, before)
    np.testing.assert_array_equal(doc.mask & first_hole, first_hole)


def test_alpha_view_toggles_and_labels_non_learned_alpha(qtbot, opened):
    assert not opened.act_alpha.isEnabled()
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    canvas = opened.canvas
    assert canvas.heat_item is None  # not built while the view is off
    opened.act_alpha.trigger()
    assert canvas.alpha_mode == "overlay"
    qtbot.waitUntil(lambda: canvas.heat_item is not None, timeout=WAIT_MS)
    assert canvas.heat_item.isVisible()
    assert opened.alpha_label.text() == " Alpha: feathered hole mask (not learned)"
    alpha = opened.last_result.alpha_map().mean(axis=2)
    heat_alpha = canvas.heat_item.pixels[..., 3]
    assert (heat_alpha[alpha > 127] > 100).all() and (heat_alpha[alpha == 0] == 0).all()
    opened.alpha_slider.setValue(30)
    assert canvas.heat_item.opacity() == pytest.approx(0.3)
    opened.act_alpha_alone.trigger()
    assert canvas.alpha_mode == "alone"
    qtbot.waitUntil(lambda: not canvas.images_pending, timeout=WAIT_MS)
    assert not canvas.photo_item.isVisible()
    opened.act_alpha.trigger()  # off again
    assert canvas.alpha_mode == "off" and canvas.photo_item.isVisible() and not canvas.heat_item.isVisible()
    opened.act_raw.trigger()
    assert canvas.view_mode == "raw"
    qtbot.waitUntil(lambda: canvas.raw_item is not None, timeout=WAIT_MS)  # built off the GUI thread
    assert canvas.raw_item.isVisible()
    # the raw output in the hole, fading out across its seam band; beyond it the photo shows (the output is not used)
    result, hole = opened.last_result, opened.removals.last_hole
    used = result.alpha_map().max(axis=2) > 0
    np.testing.assert_array_equal(canvas.raw_item.pixels[hole][:, 2::-1], result.raw_map()[hole])
    assert (canvas.raw_item.pixels[used][:, 3] > 0).all() and not canvas.raw_item.pixels[~used].any()
    assert "before blending" in canvas.maps.raw_label and "8 px seam band" in canvas.maps.raw_label
    opened.act_raw.trigger()
    assert canvas.view_mode == "result"


def test_the_raw_view_and_split_compare_take_over_from_the_alpha_map_alone(qtbot, opened):
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    canvas = opened.canvas
    opened.act_alpha_alone.trigger()
    assert canvas.alpha_mode == "alone"
    opened.act_raw.trigger()  # W: the raw view, not a lit button over an unchanged "alone" view
    assert opened.act_raw.isChecked() and not opened.act_alpha_alone.isChecked() and not opened.act_alpha.isChecked()
    assert canvas.alpha_mode == "off" and canvas.view_mode == "raw"
    qtbot.waitUntil(lambda: canvas.raw_item is not None, timeout=WAIT_MS)
    assert canvas.raw_item.isVisible() and canvas.photo_item.isVisible()
    opened.act_alpha_alone.trigger()  # and back: "alone" hides every other view, so they end
    assert not opened.act_raw.isChecked() and canvas.alpha_mode == "alone" and canvas.view_mode == "result"
    opened.act_split.trigger()
    assert canvas.view_mode == "split" and canvas.alpha_mode == "off"


def test_the_alpha_legend_says_what_0_and_1_mean_in_and_outside_the_hole():
    from app.qt_result_views import result_maps
    from engine.pipeline import InpaintResult, WindowResult

    window = WindowResult(box=(0, 0, 4, 4), alpha=np.zeros((4, 4, 3), np.uint8), raw=np.zeros((4, 4, 3), np.uint8),
                          changed=None)
    hole = np.zeros((4, 4), bool)

    def legend(title, learned, band, meaning, prefill=None):
        result = InpaintResult(np.zeros((4, 4, 3), np.uint8), (window,), learned, "some-model", "CPU", band,
                               model_title=title, alpha_meaning=meaning, prefill_title=prefill)
        return result_maps(result, hole).legend

    title, inside, outside = legend("Net A (a network)", True, 8, "learned map: 1 = the network", "Fill B")
    assert title == "Alpha: Net A's learned map"
    assert "0 = Fill B's pre-fill" in inside and "1 = Net A's output" in inside and "photo" not in inside
    assert "0 = the photo" in outside
    title, inside, outside = legend("Net A (a network)", True, 8, "learned map: 1 = the network")
    assert "0 = black (no pre-fill)" in inside
    title, inside, outside = legend("OpenCV Telea (classical)", False, 8, FEATHERED_ALPHA)
    assert title == "Alpha: feathered hole mask (not learned)"
    assert "1 = OpenCV Telea's output" in inside and "8 px seam band" in outside
    title, inside, outside = legend("DMFN (a network)", False, 0, HARD_ALPHA)
    assert title == "Alpha: hole mask (not learned)" and outside == "Outside it: 0 = the photo"


def test_hold_key_shows_original(qtbot, opened):
    opened.canvas.setFocus()
    qtbot.keyPress(opened.canvas, Qt.Key.Key_Backslash)
    assert opened.canvas.view_mode == "original"
    qtbot.keyRelease(opened.canvas, Qt.Key.Key_Backslash)
    assert opened.canvas.view_mode == "result"
    opened.original_button.pressed.emit()
    assert opened.canvas.view_mode == "original"
    opened.original_button.released.emit()
    assert opened.canvas.view_mode == "result"


def test_corrupt_file_shows_an_error(qtbot, main_window, dialogs, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    assert main_window.open_path(bad)  # started: decoded on a helper thread
    finish_files(qtbot, main_window)
    assert dialogs.kinds() == ["critical"]
    assert "broken.jpg" in dialogs.shown[0][2]
    assert main_window.document is None
    main_window.open_path(tmp_path / "missing.png")
    finish_files(qtbot, main_window)
    assert dialogs.kinds() == ["critical", "critical"]
    assert main_window.document is None and main_window.isVisible()


def test_open_via_drop_signal(qtbot, main_window, png_file):
    main_window.canvas.files_dropped.emit([str(png_file)])
    finish_files(qtbot, main_window)
    assert main_window.document is not None
    qtbot.waitUntil(lambda: not main_window._settings_writer.busy, timeout=WAIT_MS)  # written off the GUI thread
    assert str(png_file) in read_settings()[0].recent_files


def test_grow_and_shrink_match_a_disk_kernel(opened):
    doc = opened.document
    doc.fill_rect(25, 18, 38, 29)
    start = doc.mask.copy()
    yy, xx = np.mgrid[-3:4, -3:4]
    disk = (xx * xx + yy * yy <= 9).astype(np.uint8)
    opened.grow_mask(3)
    np.testing.assert_array_equal(doc.mask, cv2.dilate(start.astype(np.uint8), disk) > 0)
    opened.shrink_mask(3)
    np.testing.assert_array_equal(doc.mask, cv2.erode(cv2.dilate(start.astype(np.uint8), disk), disk) > 0)
    opened.act_invert.trigger()
    assert doc.mask.sum() == doc.mask.size - start.sum()
    opened.act_clear.trigger()
    assert not doc.mask.any()


def test_undo_redo_restore_bit_exactly(qtbot, opened):
    doc = opened.document
    states = [(doc.image.copy(), doc.mask.copy())]
    doc.begin_stroke()
    doc.stroke_to(10.5, 10.5, 4)
    doc.stroke_to(30.2, 20.1, 4)
    doc.end_stroke()
    states.append((doc.image.copy(), doc.mask.copy()))
    doc.fill_polygon([(30, 30), (60, 32), (50, 45)])
    states.append((doc.image.copy(), doc.mask.copy()))
    opened.grow_mask(2)
    states.append((doc.image.copy(), doc.mask.copy()))
    run_removal(qtbot, opened)
    states.append((doc.image.copy(), doc.mask.copy()))
    for image, mask in reversed(states[:-1]):
        opened.act_undo.trigger()
        np.testing.assert_array_equal(doc.image, image)
        np.testing.assert_array_equal(doc.mask, mask)
    assert not opened.act_undo.isEnabled()
    for image, mask in states[1:]:
        opened.act_redo.trigger()
        np.testing.assert_array_equal(doc.image, image)
        np.testing.assert_array_equal(doc.mask, mask)


def test_save_proposes_clean_name_keeps_exif_and_never_overwrites_silently(
    qtbot, main_window, dialogs, photo_file, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    original_bytes = photo_file.read_bytes()
    assert main_window.open_path(photo_file)
    finish_files(qtbot, main_window)
    main_window.select_model("opencv-telea")
    main_window.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, main_window)

    # 1. The user picks the original itself and answers "No": nothing is written.
    dialogs.save_path = str(photo_file)
    dialogs.question_answer = QMessageBox.StandardButton.No
    assert not main_window.save()
    finish_files(qtbot, main_window)
    assert photo_file.read_bytes() == original_bytes
    assert dialogs.kinds() == ["question"] and "original" in dialogs.shown[0][2]

    # 2. The first save proposes <name>_clean.<ext>.
    proposed = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _p, _t, start, *a, **k: (proposed.append(start)
                                                                                          or start, ""))
    assert main_window.save()
    finish_files(qtbot, main_window)
    clean = photo_file.with_name("photo_clean.jpg")
    assert proposed == [str(clean)]
    assert photo_file.read_bytes() == original_bytes
    with Image.open(clean) as im:
        assert im.format == "JPEG" and im.size == (64, 48)
        assert im.getexif().get(0x010F) == EXIF_MAKE
    assert not main_window.document.dirty
    assert sorted(p.name for p in photo_file.parent.iterdir()) == ["photo.jpg", "photo_clean.jpg"]

    # 3. Ctrl+S again writes to the same cleaned file without asking.
    dialogs.shown.clear()
    main_window.document.fill_rect(2, 2, 8, 8)
    run_removal(qtbot, main_window)
    assert main_window.save()
    finish_files(qtbot, main_window)
    assert dialogs.kinds() == []


def test_save_and_save_as_through_their_menu_actions(qtbot, main_window, dialogs, photo_file, monkeypatch):
    """The actions' triggered(checked) signal must not reach the slots' ``then`` callback (a traceback on every
    save before)."""
    import sys

    from PySide6.QtWidgets import QFileDialog

    assert main_window.open_path(photo_file)
    finish_files(qtbot, main_window)
    main_window.document.fill_rect(22, 17, 42, 31)
    target = photo_file.with_name("saved.png")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    errors = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: errors.append(exc))
    main_window.act_save_as.trigger()
    finish_files(qtbot, main_window)
    assert target.is_file() and not main_window.document.dirty
    main_window.document.fill_rect(2, 2, 8, 8)
    main_window.act_save.trigger()
    finish_files(qtbot, main_window)
    assert not main_window.document.dirty and errors == []


def test_the_status_bar_tells_the_time_left_of_a_removal(qtbot, opened, monkeypatch):
    """A long removal's progress says how long it should still take."""
    opened.document.fill_rect(10, 10, 30, 30)
    job = opened.removals.start(opened.document, "opencv-telea", "cpu")
    monkeypatch.setattr(opened.removals, "_started", opened.removals._started - 6.0)
    opened._on_progress(job.request_id, 0.5, "Filling 1 area with PatchMatch")
    assert opened.statusBar().currentMessage() == "Filling 1 area with PatchMatch - about 6 s left"
    opened.removals.end()


def test_save_is_atomic_when_writing_fails(qtbot, main_window, dialogs, png_file, monkeypatch):
    assert main_window.open_path(png_file)
    finish_files(qtbot, main_window)
    target = png_file.with_name("photo_clean.png")
    target.write_bytes(b"previous content")
    dialogs.save_path = str(target)
    dialogs.question_answer = QMessageBox.StandardButton.Yes

    def failing_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    assert main_window.save_as()  # started
    finish_files(qtbot, main_window)
    assert "critical" in dialogs.kinds() and main_window.save_path is None
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in png_file.parent.iterdir()) == ["photo.png", "photo_clean.png"]


def test_export_mask_writes_white_hole_png(qtbot, main_window, dialogs, png_file):
    main_window.open_path(png_file)
    finish_files(qtbot, main_window)
    main_window.document.fill_rect(10, 10, 20, 15)
    dialogs.save_path = str(png_file.with_name("m.png"))
    main_window.export_mask()
    with Image.open(png_file.with_name("m.png")) as im:
        mask = np.asarray(im.convert("L")) > 127
    np.testing.assert_array_equal(mask, main_window.document.mask)


def test_close_with_unsaved_changes_asks(qtbot, opened, dialogs):
    main_window = opened
    main_window.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, main_window)
    dialogs.question_answer = QMessageBox.StandardButton.Cancel
    assert not main_window.close()
    assert main_window.isVisible() and dialogs.kinds() == ["question"]
    dialogs.question_answer = QMessageBox.StandardButton.Discard
    assert main_window.close()


def test_saving_before_closing_closes_once_the_photo_is_written(qtbot, opened, dialogs, tmp_path):
    main_window = opened
    main_window.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, main_window)
    dialogs.question_answer = QMessageBox.StandardButton.Save
    dialogs.save_path = str(tmp_path / "cleaned.png")
    assert not main_window.close()  # the photo is written first, on a helper thread
    assert main_window.file_task == "Saving cleaned.png..." and main_window.isVisible()
    finish_files(qtbot, main_window)
    qtbot.waitUntil(lambda: not main_window.isVisible(), timeout=10_000)
    assert (tmp_path / "cleaned.png").is_file() and not main_window.document.dirty


def test_model_without_weights_is_marked_and_refused(make_main_window, dialogs, tmp_path):
    with without_weights("dmfn", tmp_path):
        main_window = make_main_window()
        combo = main_window.model_combo
        labels = [combo.itemText(i) for i in range(combo.count())]
        names = [combo.itemData(i) for i in range(combo.count())]
        assert "opencv-telea" in names and "dfnet" in names
        assert "(no weights)" in labels[names.index("dmfn")]
        assert "(no weights)" not in labels[names.index("dfnet")]
        before = main_window.model_name
        assert not main_window.select_model("dmfn")
        assert dialogs.kinds() == ["information"]
        assert main_window.model_name == before and combo.currentData() == before


def test_settings_round_trip_through_the_window(make_main_window):
    first = make_main_window()
    first.set_tool_size(33)
    first.set_tool("eraser")
    first.set_tool_size(12)
    first.select_model("opencv-ns")
    first.set_overlay_style("#00ff00", 0.25)
    first.alpha_slider.setValue(40)
    first.device_combo.setCurrentIndex(first.device_combo.findData("cpu"))
    first.device_combo.activated.emit(first.device_combo.currentIndex())
    first.resize(700, 540)
    assert first.close()
    saved = read_settings()[0]
    assert (saved.brush_size, saved.eraser_size, saved.model, saved.device) == (33, 12, "opencv-ns", "cpu")
    assert saved.overlay_color == "#00ff00" and saved.overlay_opacity == pytest.approx(0.25)
    assert saved.window_geometry

    second = make_main_window()
    assert second.canvas.brush_size == 33 and second.canvas.eraser_size == 12
    assert second.model_name == "opencv-ns" and second.device == "cpu"
    assert second.alpha_slider.value() == 40
    assert second.settings.overlay_color == "#00ff00"


def test_finetune_menu_reports_a_missing_dialog(main_window, dialogs, monkeypatch):
    monkeypatch.setitem(sys.modules, "app.qt_finetune_dialog", None)  # import fails
    main_window.act_finetune.trigger()
    assert dialogs.kinds() == ["warning"]
    assert main_window.isVisible()


def test_a_finetuned_model_that_did_not_help_says_so_in_the_selector(make_main_window):
    import json

    from engine.paths import user_models_dir
    from engine.registry import build_network
    from engine.weights import save_weights

    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    state = build_network("dmfn").state_dict()
    for name, helped in (("worse", False), ("better", True)):
        save_weights(folder / f"{name}.safetensors", state, arch="dmfn")
        (folder / f"{name}.json").write_text(json.dumps({"name": name, "helped": helped}))
    window = make_main_window()
    labels = {window.model_combo.itemData(i): window.model_combo.itemText(i) for i in range(window.model_combo.count())}
    assert labels["worse"].endswith("no better than before fine-tuning")
    assert "no better" not in labels["better"]


def test_the_editor_names_the_user_models_it_skipped(make_main_window):
    import json

    import torch

    from engine.paths import user_models_dir
    from engine.weights import save_weights

    folder = user_models_dir()
    tiny = {"x": torch.zeros(1)}  # listing reads only the metadata; nothing is loaded
    save_weights(folder / "dfnet.safetensors", tiny, arch="dmfn")  # a built-in model's name
    save_weights(folder / "broken.safetensors", tiny, arch="dmfn")
    (folder / "broken.json").write_text("{not json")
    for name in ("keep", "keep-copy"):  # two files, one name
        save_weights(folder / f"{name}.safetensors", tiny, arch="dmfn")
        (folder / f"{name}.json").write_text(json.dumps({"name": "keep"}))
    window = make_main_window()
    note = window.statusBar().currentMessage()
    assert note.startswith("3 models in the models folder were skipped: broken.safetensors (model card broken.json ")
    assert "dfnet.safetensors (name 'dfnet' is taken by a built-in model)" in note
    assert "1 more in the model selector's tooltip" in note and str(folder) not in note
    tip = window.model_combo.toolTip()
    assert "The model that fills the holes" in tip
    assert "keep.safetensors (name 'keep' is also used by keep-copy.safetensors)" in tip
    assert all(f"{name}.safetensors" in tip for name in ("broken", "dfnet"))
    assert "is not valid JSON (" in tip and "\u2026" in note  # a long reason is cut short in the status bar only
    assert window.model_combo.findData("keep") >= 0

    window._on_finetuned_model("keep")  # listed again after a fine-tune: the note is said again
    assert "choose it there" in window.statusBar().currentMessage()
    assert "3 models in the models folder were skipped" in window.statusBar().currentMessage()
    for name in ("broken", "dfnet", "keep"):
        (folder / f"{name}.safetensors").unlink()
    window.refresh_models()
    assert "Skipped" not in window.model_combo.toolTip()


def test_a_finetuned_model_is_offered_never_selected(main_window):
    main_window.select_model("opencv-telea")
    main_window._on_finetuned_model("opencv-ns")
    assert main_window.model_name == "opencv-telea"  # the model in use stays
    assert main_window.model_combo.findData("opencv-ns") >= 0
    assert "choose it there" in main_window.statusBar().currentMessage()


def test_undoing_a_removal_drops_its_alpha_and_raw_views(qtbot, opened):
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    opened.act_alpha.trigger()
    assert opened.act_alpha.isChecked() and opened.canvas.alpha_mode == "overlay"
    opened.undo()
    assert opened.last_result is None
    assert not opened.act_alpha.isEnabled() and not opened.act_alpha.isChecked()
    assert opened.canvas.alpha_mode == "off" and opened.canvas.view_mode == "result"
    opened.redo()  # the pixels come back; the views of that old result do not
    assert opened.last_result is None and not opened.act_raw.isEnabled()


def test_photos_are_decoded_and_encoded_off_the_gui_thread(qtbot, main_window, dialogs, png_file, tmp_path,
                                                            monkeypatch):
    import app.qt_file_commands as file_commands

    threads = []

    def recording(function):
        def wrapper(*args, **kwargs):
            threads.append(threading.current_thread())
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(file_commands, "load_image", recording(file_commands.load_image))
    monkeypatch.setattr(file_commands, "save_image", recording(file_commands.save_image))
    assert main_window.open_path(png_file)
    finish_files(qtbot, main_window)
    assert main_window.document is not None
    assert main_window._write(tmp_path / "copy.png")
    assert main_window.file_task and not main_window.act_remove.isEnabled()  # nothing changes the photo meanwhile
    finish_files(qtbot, main_window)
    assert (tmp_path / "copy.png").is_file() and not main_window.document.dirty
    assert len(threads) == 2 and threading.main_thread() not in threads


def test_reuse_last_mask_paints_it_again_for_another_pass(qtbot, opened):
    assert not opened.act_reuse_mask.isEnabled()
    opened.document.fill_rect(22, 17, 42, 31)
    hole = opened.document.mask.copy()
    run_removal(qtbot, opened)
    assert not opened.document.mask.any() and opened.act_reuse_mask.isEnabled()
    opened.act_reuse_mask.trigger()
    np.testing.assert_array_equal(opened.document.mask, hole)
    opened.document.undo()
    assert not opened.document.mask.any()


SQUARE = (slice(16, 32), slice(21, 42))
"""The dark square "object" of the tests' photo (tests.helpers.synthetic_rgb, 64 x 48), rows and columns."""


@pytest.fixture
def object_search(monkeypatch):
    """The object tool's search, run only once ``release`` is set; the threads it ran on are in ``threads``."""
    import app.qt_object_select as module

    class Search:
        release = threading.Event()
        searched = threading.Event()  # set when a search has returned
        threads: list[threading.Thread] = []

    def gated(*args, **kwargs):
        Search.threads.append(threading.current_thread())
        assert Search.release.wait(15)
        try:
            return real(*args, **kwargs)
        finally:
            Search.searched.set()

    real = module.object_mask
    monkeypatch.setattr(module, "object_mask", gated)
    return Search


def drag_box(window, corner_a, corner_b, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Drag with the left button from image point ``corner_a`` to ``corner_b`` (x, y) on the window's canvas."""
    canvas = window.canvas
    a, b = canvas.map_from_image(*corner_a), canvas.map_from_image(*corner_b)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, a, modifiers=modifiers)
    send_mouse(canvas, QEvent.Type.MouseMove, b, modifiers=modifiers)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, b, modifiers=modifiers)


def test_a_box_around_an_object_selects_it_off_the_gui_thread_and_alt_subtracts(qtbot, opened, object_search):
    doc = opened.document
    opened.tool_actions["object"].trigger()
    assert opened.canvas.tool == "object"
    rows = dict((text, keys) for keys, text in opened.shortcut_rows())
    assert rows["Object"] == "O" and "Alt + lasso, rectangle or object" in rows.values()
    steps = doc.history.undo_count
    drag_box(opened, (17, 12), (46, 36))
    assert opened.objects.busy and opened.object_busy_label.isVisible() and not doc.mask.any()
    object_search.release.set()
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert object_search.threads and threading.main_thread() not in object_search.threads
    assert not opened.object_busy_label.isVisible()
    assert doc.mask[SQUARE].all()  # the object, grown past its edge, and not the photo around the box
    assert doc.mask[SQUARE[0].start - 2, 30] and doc.mask[30, SQUARE[1].stop + 1]
    assert not doc.mask[:, :5].any() and not doc.mask[:3].any()
    assert doc.history.undo_count == steps + 1 and opened.act_undo.isEnabled()
    assert "added to the mask" in opened.statusBar().currentMessage()

    doc.fill_rect(0, 0, doc.width, doc.height)
    drag_box(opened, (17, 12), (46, 36), modifiers=Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert not doc.mask[SQUARE].any() and doc.mask[:, :5].all()
    doc.undo()
    assert doc.mask.all()


def test_a_box_waits_for_a_stroke_and_is_dropped_when_cancelled_or_the_photo_changes(qtbot, opened, object_search):
    doc = opened.document
    opened.set_tool("object")
    drag_box(opened, (17, 12), (46, 36))
    opened.cancel()  # Esc
    assert not opened.objects.busy and "cancelled" in opened.statusBar().currentMessage()
    object_search.release.set()
    qtbot.wait(300)
    assert not doc.mask.any()

    # found while a brush stroke is being painted: added once the stroke ends, as its own undo step
    object_search.release.clear()
    drag_box(opened, (17, 12), (46, 36))
    opened.set_tool("brush")
    canvas = opened.canvas
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas.map_from_image(3, 44))
    object_search.searched.clear()
    object_search.release.set()
    qtbot.waitUntil(object_search.searched.is_set, timeout=WAIT_MS)
    qtbot.wait(300)
    assert opened.objects.busy and not doc.mask[SQUARE].any()
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas.map_from_image(3, 44))
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert doc.mask[SQUARE].all() and doc.mask[44, 3]
    doc.undo()
    assert not doc.mask[SQUARE].any() and doc.mask[44, 3]
    doc.clear_mask()

    # the pixels change (a removal) before the object is found: its mask no longer fits them
    object_search.release.clear()
    opened.set_tool("object")
    drag_box(opened, (17, 12), (46, 36))
    doc.fill_rect(0, 0, 8, 8)
    run_removal(qtbot, opened)
    object_search.release.set()
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert "photo changed" in opened.statusBar().currentMessage()
    assert not doc.mask.any()


def test_an_undo_record_made_from_a_mask_changed_meanwhile_is_made_again(qtbot, opened, monkeypatch):
    import app.qt_object_select as module

    release, calls = threading.Event(), []

    def gated(document, request):
        calls.append(threading.current_thread())
        if len(calls) == 1:
            assert release.wait(15)
        return real(document, request)

    real = module._undo_record
    monkeypatch.setattr(module, "_undo_record", gated)
    doc = opened.document
    opened.set_tool("object")
    drag_box(opened, (17, 12), (46, 36))
    qtbot.waitUntil(lambda: bool(calls), timeout=WAIT_MS)
    doc.fill_rect(0, 0, 4, 4)  # while the first record is being made
    release.set()
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert len(calls) == 2 and threading.main_thread() not in calls
    assert doc.mask[SQUARE].all() and doc.mask[:4, :4].all()
    doc.undo()  # the object
    assert not doc.mask[SQUARE].any() and doc.mask[:4, :4].all()


def test_a_click_with_the_object_tool_says_the_box_is_too_small(qtbot, opened):
    opened.set_tool("object")
    drag_box(opened, (30, 20), (30, 20))
    qtbot.waitUntil(lambda: not opened.objects.busy, timeout=WAIT_MS)
    assert opened.statusBar().currentMessage().startswith("No object selected: the box is too small")
    assert not opened.document.mask.any()


def test_paste_and_copy_through_the_clipboard(qtbot, main_window, dialogs):
    from PySide6.QtGui import QImage

    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = np.arange(40, dtype=np.uint8)[None, :] * 6
    rgb[..., 1] = 77
    image = QImage(rgb.data, 40, 30, 120, QImage.Format.Format_RGB888).copy()
    QApplication.clipboard().setImage(image)
    assert main_window.paste_photo()
    finish_files(qtbot, main_window)  # converted on a helper thread
    doc = main_window.document
    np.testing.assert_array_equal(doc.image, rgb)
    assert doc.photo.path is None and main_window.proposed_save_path().name == "pasted_clean.png"
    doc.fill_rect(5, 5, 10, 10)
    main_window.copy_photo()
    copied = QApplication.clipboard().image().convertToFormat(QImage.Format.Format_RGB888)
    assert (copied.width(), copied.height()) == (40, 30)
    assert copied.pixelColor(3, 2).red() == rgb[2, 3, 0] and copied.pixelColor(3, 2).green() == 77


def test_saving_leaves_out_the_location_unless_the_user_keeps_it(qtbot, main_window, dialogs, tmp_path):
    exif = Image.Exif()
    exif[0x010F] = EXIF_MAKE
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    path = tmp_path / "located.jpg"
    Image.fromarray(synthetic_rgb()).save(path, exif=exif.tobytes())
    assert main_window.open_path(path)
    finish_files(qtbot, main_window)
    main_window.select_model("opencv-telea")
    assert not main_window.act_keep_gps.isChecked() and not main_window.settings.keep_gps
    for keep, name in ((False, "plain.jpg"), (True, "located_clean.jpg")):
        if keep:
            main_window.act_keep_gps.trigger()  # File > Keep location (GPS) when saving
        assert main_window.settings.keep_gps is keep
        main_window.document.fill_rect(22, 17, 42, 31)
        run_removal(qtbot, main_window)
        dialogs.save_path = str(tmp_path / name)
        assert main_window.save_as()
        finish_files(qtbot, main_window)
        with Image.open(tmp_path / name) as im:
            saved = im.getexif()
        assert saved.get(0x010F) == EXIF_MAKE
        assert (0x8825 in saved) is keep


FAKE_TRAINER = """
import json, signal, sys, time
def stop(*_):
    print(json.dumps({"event": "stopped", "step": 3, "reason": "SIGTERM", "checkpoint": "ck.pt"}), flush=True)
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
print(json.dumps({"event": "start", "model": "dfnet", "steps": 10}), flush=True)
while True:
    time.sleep(0.02)
"""


def test_fine_tuning_goes_on_when_its_dialog_closes_and_quitting_asks(no_network_weights, qtbot, main_window,
                                                                     make_main_window, dialogs, tmp_path,
                                                                     monkeypatch):
    from app.qt_finetune_dialog import FineTuneDialog

    monkeypatch.setattr(FineTuneDialog, "command", lambda self: ["-c", FAKE_TRAINER])
    main_window.open_finetune()
    dialog = main_window._finetune_dialog
    dialog.folder_edit.setText(str(tmp_path))
    dialog.start()  # no DFNet weights installed: starting from random weights asks first
    assert dialog.state == "idle" and "starts from random weights" in dialogs.shown[-1][2]
    dialogs.question_answer = QMessageBox.StandardButton.Yes
    dialog.start()
    dialogs.shown.clear()
    assert main_window.settings.finetune_folder == str(tmp_path)  # remembered for the next time
    qtbot.waitUntil(lambda: any(e.get("event") == "start" for e in dialog.events), timeout=10_000)
    dialog.reject()  # the window's close button
    assert not dialog.isVisible() and dialog.state == "running"
    main_window.open_finetune()  # File > Fine-tune... shows the same run again
    assert main_window._finetune_dialog is dialog and dialog.isVisible()

    dialogs.question_answer = QMessageBox.StandardButton.No
    assert not main_window.close()
    assert dialog.state == "running" and main_window.isVisible()
    assert dialogs.kinds() == ["question"] and "fine-tuning run is still going" in dialogs.shown[0][2]

    dialogs.question_answer = QMessageBox.StandardButton.Yes
    main_window.close()
    qtbot.waitUntil(lambda: not main_window.isVisible(), timeout=10_000)
    assert dialog.state == "stopped" and "Checkpoint kept: ck.pt" in dialog.status_label.text()
    reopened = make_main_window()  # the next start offers the same folder
    reopened.open_finetune()
    assert reopened._finetune_dialog.folder_edit.text() == str(tmp_path)


def test_the_editor_starts_without_pytorch(tmp_path):
    """The window opens and shows a photo without importing PyTorch (it costs over a second at start-up), and a
    classical fill removes an object without it; it is imported when a network is first used."""
    import subprocess

    code = (
        "import sys, time\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.qt_main_window import QtMainWindow\n"
        "w = QtMainWindow(); w.show(); app.processEvents()\n"
        "assert w.open_path(sys.argv[1])\n"
        "while w.file_task: app.processEvents()\n"
        "print('torch' in sys.modules)\n"
        "assert w.select_model('patchmatch')\n"
        "w.document.fill_rect(40, 40, 90, 80); w.remove()\n"
        "end = time.monotonic() + 60\n"
        "while w.busy and time.monotonic() < end: app.processEvents()\n"
        "assert w.last_result is not None and w.last_result.model == 'patchmatch'\n"
        "print('torch' in sys.modules)\n"
        "w.document.mark_saved(); w.close()\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FUSIONPAINT_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code, str(root / "resources" / "samples" / "coffee.png")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["False", "False"]


def test_the_reported_time_runs_until_the_result_is_on_screen(qtbot, opened, monkeypatch):
    import time as time_module

    real = opened.canvas.set_result_maps

    def slow_display(maps):  # stands in for a slow canvas update after the engine has finished
        time_module.sleep(0.3)
        real(maps)

    monkeypatch.setattr(opened.canvas, "set_result_maps", slow_display)
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    reported = float(opened.time_label.text().removeprefix("Last removal: ").removesuffix(" s"))
    assert reported >= 0.3
    assert opened.last_result.timings["total"] < reported
    # the model's display name, not its internal id
    assert opened.statusBar().currentMessage().startswith("Removed with OpenCV Telea (classical) on CPU")


def test_the_first_window_fits_a_small_screen():
    from PySide6.QtCore import QRect

    from app.qt_main_window import FIRST_WINDOW_SIZE, first_window_size

    class Screen:
        def __init__(self, width, height):
            self.area = QRect(0, 0, width, height)

        def availableGeometry(self):  # noqa: N802 (Qt's name)
            return self.area

    assert first_window_size(Screen(1920, 1040)) == FIRST_WINDOW_SIZE
    assert first_window_size(Screen(1366, 728)) == (1229, 655)  # a 1366 x 768 laptop with a task bar
    assert first_window_size(Screen(1280, 680)) == (1152, 612)  # 1920 x 1080 at 150 % scaling
    assert first_window_size(None) == FIRST_WINDOW_SIZE


def test_the_shortcuts_and_preferences_dialogs_fit_a_small_screen(qtbot, main_window, monkeypatch):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QDialogButtonBox, QScrollArea

    import app.qt_dialogs as qt_dialogs
    from app.qt_preferences import PreferencesDialog

    area = QRect(0, 0, 1366, 500)  # shorter than the table of shortcuts
    monkeypatch.setattr(qt_dialogs, "available_area", lambda window: area)
    dialog = main_window.shortcuts_dialog()
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.frameGeometry().height() <= area.height()
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons.isVisible() and buttons.geometry().bottom() < dialog.height()  # Close is inside the dialog
    assert dialog.findChild(QScrollArea).verticalScrollBar().maximum() > 0  # the rows scroll instead
    dialog.close()
    preferences = PreferencesDialog(main_window.settings, main_window)
    preferences.show()
    qtbot.waitExposed(preferences)
    assert preferences.frameGeometry().height() <= area.height()
    preferences.close()


def test_a_gpu_that_cannot_be_used_is_greyed_out_with_the_reason(qtbot, monkeypatch):
    import app.qt_main_window as main_window
    import app.qt_model_picker as picker
    from app.settings import Settings

    monkeypatch.setattr(picker, "cuda_absence", lambda: "this PyTorch build has no GPU support (CPU only)")
    settings = Settings()
    settings.device = "cuda"  # chosen on another machine
    window = main_window.QtMainWindow(settings=settings)
    qtbot.addWidget(window)
    combo = window.device_combo
    index = combo.findData("cuda")
    assert not combo.model().item(index).isEnabled()
    assert "no GPU support" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert window.device == "auto"
    monkeypatch.setattr(picker, "cuda_absence", lambda: None)
    other = main_window.QtMainWindow(settings=settings)
    qtbot.addWidget(other)
    assert other.device_combo.model().item(index).isEnabled() and other.device == "cuda"


def test_cuda_absence_is_known_without_importing_pytorch(monkeypatch):
    import sys

    from engine import device

    monkeypatch.delitem(sys.modules, "torch")  # as in an editor that has not loaded it
    monkeypatch.setattr("importlib.metadata.version", lambda name: "2.13.0+cpu")
    assert device.cuda_absence() == "this PyTorch build has no GPU support (CPU only)"
    assert "torch" not in sys.modules


def test_icons_and_a_fresh_status_for_each_photo(qtbot, opened, png_file):
    from app.qt_app import _application

    assert not _application().windowIcon().isNull()
    assert not opened.original_button.icon().isNull() and opened.original_button.isEnabled()
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    assert opened.time_label.text().startswith("Last removal:")
    opened.document.mark_saved()
    assert opened.open_path(png_file)
    finish_files(qtbot, opened)
    assert opened.time_label.text() == ""


def test_help_lists_the_shortcuts_and_about_names_the_licenses(qtbot, opened, request):
    rows = dict((text, keys) for keys, text in opened.shortcut_rows())
    assert rows["Remove"] == "Ctrl+R" and rows["Show mask"] == "M" and rows["Keyboard shortcuts"] == "F1"
    assert "Pan" in rows and "Show the original photo" in rows
    about = opened.about_text()
    assert "MIT" in about and "CC0" in about and "PyPatchMatch" in about and "Apache-2.0 (OpenCV)" in about
    assert "Installed weights" in about and "research and non-commercial use only" in about  # DFNet's
    request.getfixturevalue("no_network_weights")
    assert "No network weights are installed" in opened.about_text()


def test_the_mask_can_be_hidden_and_still_edited(qtbot, opened):
    canvas = opened.canvas
    opened.act_show_mask.trigger()
    assert not canvas.mask_item.isVisible()
    opened.document.fill_rect(5, 5, 15, 15)  # painting still edits the mask
    assert opened.document.mask[10, 10]
    opened.act_show_mask.trigger()
    assert canvas.mask_item.isVisible()


def test_a_first_user_is_told_plainly_what_the_classical_fill_can_do(no_network_weights, qtbot, monkeypatch):
    import app.qt_main_window as main_window
    import app.qt_model_picker as picker
    from app.settings import Settings

    settings = Settings()
    first = main_window.QtMainWindow(settings=settings)
    qtbot.addWidget(first)
    assert first.statusBar().currentMessage() == picker.CLASSICAL_ONLY_SHORT
    assert first.model_combo.toolTip() == picker.CLASSICAL_ONLY_NOTE and settings.intro_shown
    second = main_window.QtMainWindow(settings=settings)  # said once
    qtbot.addWidget(second)
    assert second.statusBar().currentMessage() == "Open a photo (Ctrl+O) or drop one here."
    shown = []
    monkeypatch.setattr(picker.QMessageBox, "information", lambda parent, title, text: shown.append(text))
    assert not second.select_model("dfnet")
    assert "no trained weights yet" in shown[0] and "/" not in shown[0].replace("File > Fine-tune", "")


def test_with_the_shipped_dfnet_weights_no_classical_only_note(qtbot):
    import app.qt_main_window as main_window
    import app.qt_model_picker as picker
    from app.settings import Settings

    window = main_window.QtMainWindow(settings=Settings())
    qtbot.addWidget(window)
    assert window.statusBar().currentMessage() != picker.CLASSICAL_ONLY_SHORT
    assert window.model_combo.toolTip() != picker.CLASSICAL_ONLY_NOTE
    labels = [window.model_combo.itemText(i) for i in range(window.model_combo.count())]
    assert "DFNet (Deep Fusion Network)" in labels  # offered without "(no weights)"
    assert window.select_model("dfnet")


def test_brush_size_fits_each_photo_and_can_be_typed_or_dragged(qtbot, main_window, png_file, tmp_path):
    from app.qt_mask_commands import BRUSH_VIEW_PX, size_to_slider, slider_to_size

    big = tmp_path / "big.png"
    Image.new("RGB", (2400, 1600), (90, 120, 150)).save(big)
    assert main_window.open_path(big)
    finish_files(qtbot, main_window)
    canvas = main_window.canvas
    assert abs(canvas.brush_size * canvas.fit_scale() - BRUSH_VIEW_PX) <= canvas.fit_scale()  # 30 px on screen
    assert main_window.size_spin.value() == round(canvas.brush_size) and canvas.eraser_size == canvas.brush_size
    main_window.document.mark_saved()
    assert main_window.open_path(png_file)  # a small photo shown at 100 %: 30 image pixels
    finish_files(qtbot, main_window)
    assert canvas.brush_size == BRUSH_VIEW_PX

    main_window.size_spin.setValue(1500)  # typed
    assert canvas.brush_size == 1500
    main_window.step_tool_size(+1)
    assert canvas.brush_size == 1650 and main_window.size_spin.value() == 1650
    assert abs(slider_to_size(main_window.size_slider.value()) - 1650) <= 1650 * 0.01
    assert slider_to_size(size_to_slider(7)) == 7 and slider_to_size(0) == 1 and slider_to_size(1000) == 2000

    main_window.set_tool_size(40)
    viewport = canvas.viewport()
    start = QPoint(100, 100)
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.AltModifier, start)
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(160, 100), Qt.MouseButton.RightButton,
               Qt.KeyboardModifier.AltModifier)
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.AltModifier, QPoint(160, 100))
    assert canvas.brush_size == pytest.approx(40 + 60 / canvas.zoom)  # dragged right: bigger
    assert main_window.size_spin.value() == round(canvas.brush_size)
    assert not main_window.document.mask.any()  # resizing never paints


def test_engine_messages_become_sentences_in_dialogs():
    from app.messages import sentence

    assert sentence("cannot open a.png: not an image file or an unsupported format") == (
        "Cannot open a.png: not an image file or an unsupported format.")
    assert sentence("Already a sentence.") == "Already a sentence."
    assert sentence("") == ""


def test_preferences_apply_quality_mask_style_and_undo_memory(qtbot, opened):
    from app.qt_preferences import PreferencesDialog

    doc = opened.document
    for box in ((2, 2, 20, 20), (30, 25, 60, 45)):
        doc.fill_rect(*box)
    assert doc.history.undo_count == 2
    dialog = PreferencesDialog(opened.settings, opened)
    qtbot.addWidget(dialog)
    dialog.quality_spin.setValue(80)
    dialog.color = QColor("#00ff00")
    dialog.opacity_slider.setValue(30)
    dialog.undo_spin.setValue(16)
    opened.apply_preferences(dialog)
    qtbot.waitUntil(lambda: not opened._settings_writer.busy, timeout=WAIT_MS)
    settings = read_settings()[0]
    assert (settings.jpeg_quality, settings.overlay_color, settings.undo_memory_mb) == (80, "#00ff00", 16)
    assert opened.canvas.mask_item.opacity() == pytest.approx(0.3)
    assert doc.history.max_bytes == 16 * 2**20


def test_a_lower_history_limit_drops_the_oldest_steps_at_once():
    from app.history import History, ImagePatch, Step

    history = History(max_bytes=10_000)
    for _ in range(3):
        patch = ImagePatch((0, 0, 10, 10), np.zeros((10, 10, 3), np.uint8), np.ones((10, 10, 3), np.uint8))
        history.push(Step("remove", mask=None, image=patch, image_version_before=0, image_version_after=1))
    assert history.undo_count == 3 and history.nbytes == 1800
    history.set_max_bytes(1300)
    assert history.undo_count == 2 and history.nbytes == 1200


def test_a_removal_reads_the_photo_without_copying_it(qtbot, opened, monkeypatch):
    submitted = []
    real = opened.bridge.submit
    monkeypatch.setattr(opened.bridge, "submit", lambda job: submitted.append(job) or real(job))
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    assert np.shares_memory(submitted[0].image, opened.document.image)
    assert not np.shares_memory(submitted[0].hole, opened.document.mask)


def test_settings_are_written_off_the_gui_thread_and_a_failure_is_said(qtbot, main_window, monkeypatch):
    import app.qt_main_window as window_module
    from engine.errors import WriteError

    threads = []

    def failing(settings):
        threads.append(threading.current_thread())
        raise WriteError("could not save settings.json: disk full")

    monkeypatch.setattr(window_module, "save_settings", failing)
    main_window._save_settings_quietly()
    qtbot.waitUntil(lambda: not main_window._settings_writer.busy, timeout=WAIT_MS)
    assert threads and threads[0] is not threading.main_thread()
    assert main_window.statusBar().currentMessage() == "Settings not saved: could not save settings.json: disk full"


def test_the_undo_record_of_a_removal_is_made_off_the_gui_thread(qtbot, opened, monkeypatch):
    from app.document import Document

    threads = []
    real = Document.image_patch

    def recording(self, result):
        threads.append(threading.current_thread())
        return real(self, result)

    monkeypatch.setattr(Document, "image_patch", recording)
    before = opened.document.image.copy()
    opened.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, opened)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert (opened.document.image != before).any()
    opened.document.undo()
    np.testing.assert_array_equal(opened.document.image, before)


def test_opening_builds_the_document_off_the_gui_thread(qtbot, main_window, png_file, monkeypatch):
    from app.document import Document

    threads = []
    real = Document.__init__

    def recording(self, *args, **kwargs):
        threads.append(threading.current_thread())
        real(self, *args, **kwargs)

    monkeypatch.setattr(Document, "__init__", recording)
    assert main_window.open_path(png_file)
    finish_files(qtbot, main_window)
    assert main_window.document is not None and main_window.document.photo.path == png_file
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_saving_a_transparent_photo_as_jpeg_says_the_transparency_is_lost(qtbot, main_window, dialogs, tmp_path,
                                                                            monkeypatch):
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    rgba = np.dstack([np.full((48, 64, 3), 120, np.uint8), np.full((48, 64), 255, np.uint8)])
    rgba[:8, :8, 3] = 0
    source = tmp_path / "logo.png"
    Image.fromarray(rgba).save(source)
    assert main_window.open_path(source)
    finish_files(qtbot, main_window)
    target = tmp_path / "logo.jpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    main_window.act_save_as.trigger()
    finish_files(qtbot, main_window)
    assert target.is_file()
    message = main_window.statusBar().currentMessage()
    assert message.startswith(f"Saved {target}.") and "cannot hold transparency" in message


def test_enter_in_the_size_box_applies_the_size_and_does_not_remove(qtbot, opened, monkeypatch):
    from PySide6.QtCore import Qt

    removals = []
    monkeypatch.setattr(opened, "remove", lambda: removals.append(1))
    opened.document.fill_rect(10, 10, 30, 30)
    opened.activateWindow()
    opened.size_spin.setFocus()
    qtbot.waitUntil(opened.size_spin.hasFocus)
    opened.size_spin.lineEdit().selectAll()
    qtbot.keyClicks(opened.size_spin.lineEdit(), "37")
    qtbot.keyClick(opened.size_spin.lineEdit(), Qt.Key.Key_Return)
    assert removals == [] and opened.size_spin.value() == 37
    opened.canvas.setFocus()
    qtbot.keyClick(opened.canvas, Qt.Key.Key_Return)
    assert removals == [1]
