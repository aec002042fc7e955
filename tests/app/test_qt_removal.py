"""A removal's work on the GUI thread stays small: at Enter only the masks' boxes are copied (the job is made on a
helper thread), and a result is written over several turns of the event loop, as one undo step."""

import threading

import numpy as np
from PySide6.QtCore import QTimer

import app.document
import app.qt_removal
from engine.errors import JobCancelled
from engine.registry import get_spec
from engine.worker import EngineWorker
from tests.app.conftest import finish_files

WAIT_MS = 20000


class _FakeModel:
    def __init__(self, spec):
        self.spec = spec
        self.device = "cpu"


def _recording_worker(jobs: list) -> EngineWorker:
    """A worker whose run records its inputs and fails the job (nothing is applied)."""

    def run(image, hole, model, *, band_px, exclude, progress, cancel):
        jobs.append((hole.copy(), None if exclude is None else exclude.copy()))
        raise JobCancelled("recorded")

    return EngineWorker(load_model=lambda name, device: _FakeModel(get_spec(name)), run=run)


def _open(qtbot, window, png_file):
    assert window.open_path(png_file)
    finish_files(qtbot, window)
    assert window.select_model("opencv-telea")
    return window.document


def test_enter_copies_only_the_masks_boxes_and_the_job_is_made_off_the_gui_thread(qtbot, make_main_window, png_file,
                                                                                   monkeypatch):
    jobs, made = [], []
    window = make_main_window(worker=_recording_worker(jobs))
    doc = _open(qtbot, window, png_file)
    doc.fill_rect(22, 17, 42, 31)
    doc.set_layer("exclude")
    doc.fill_rect(2, 2, 10, 40)
    doc.set_layer("hole")
    hole, exclude = doc.mask.copy(), doc.exclude.copy()

    def spy(image, hole_box, exclude_box, *args):
        made.append((hole_box, exclude_box, threading.current_thread() is threading.main_thread()))
        return make_job(image, hole_box, exclude_box, *args)

    make_job = app.qt_removal.make_job
    monkeypatch.setattr(app.qt_removal, "make_job", spy)
    with qtbot.waitSignal(window.bridge.cancelled, timeout=WAIT_MS):
        window.remove()
        doc.fill_rect(0, 0, 64, 48)  # painting right after Enter never reaches the job
    hole_box, exclude_box, on_gui_thread = made[0]
    assert hole_box.values.shape == (14, 20) and exclude_box.values.shape == (38, 8)  # the boxes, not (48, 64)
    assert not on_gui_thread
    np.testing.assert_array_equal(jobs[0][0], hole)
    np.testing.assert_array_equal(jobs[0][1], exclude)


def test_escape_before_the_job_is_sent_ends_the_removal_and_sends_nothing(qtbot, make_main_window, png_file):
    jobs = []
    window = make_main_window(worker=_recording_worker(jobs))
    doc = _open(qtbot, window, png_file)
    doc.fill_rect(22, 17, 42, 31)
    window.remove()
    window.cancel()  # before the event loop has handed the job over
    assert not window.busy and "cancelled" in window.statusBar().currentMessage().lower()
    qtbot.waitUntil(lambda: not window._result_prep.busy, timeout=WAIT_MS)
    qtbot.wait(50)
    assert jobs == [] and window.act_remove.isEnabled()


def test_a_result_is_written_over_several_event_loop_turns_as_one_undo_step(qtbot, make_main_window, png_file,
                                                                             monkeypatch):
    monkeypatch.setattr(app.document, "RESULT_SLICE_PIXELS", 64)  # a few rows of the test photo per slice
    window = make_main_window()
    doc = _open(qtbot, window, png_file)
    doc.fill_rect(22, 17, 42, 31)
    before_image, before_mask = doc.image.copy(), doc.mask.copy()
    turns = []
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: turns.append(None))
    slices = []  # (turns of the event loop so far, busy) at each slice written
    doc.add_listener(lambda kind, box: kind == "image" and slices.append((len(turns), window.busy)))
    ticker.start()
    with qtbot.waitSignal(window.bridge.finished, timeout=WAIT_MS):
        window.remove()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    ticker.stop()
    assert len(slices) > 3 and all(busy for _, busy in slices)  # the removal runs until the last slice
    ticks = [n for n, _ in slices]
    assert ticks == sorted(set(ticks))  # the event loop ran between any two slices
    result = window.last_result
    assert result is not None and not doc.applying_result and not doc.mask.any()
    y0, x0, y1, x1 = result.changed_box()
    np.testing.assert_array_equal(doc.image[y0:y1, x0:x1], result.image[y0:y1, x0:x1])
    np.testing.assert_array_equal(doc.image, result.image)
    assert doc.history.undo_count == 2  # the rectangle and the removal
    doc.undo()
    np.testing.assert_array_equal(doc.image, before_image)
    np.testing.assert_array_equal(doc.mask, before_mask)
