"""The sampling area in the editor: "Sampling: exclude" paints where the fill must not copy from."""

from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor

from app.document import Document
from app.qt_canvas import EXCLUDE_COLOR
from engine.worker import EngineWorker
from tests.app.conftest import finish_files
from tests.app.test_qt_main_window import run_removal
from tests.helpers import emblem_scene, send_mouse


def test_exclude_edits_are_undo_steps_of_their_own_mask():
    image, hole, exclude = emblem_scene()
    doc = Document(SimpleNamespace(rgb=image))
    kinds = []
    doc.add_listener(lambda kind, box: kinds.append(kind))
    doc.set_mask(hole)
    doc.set_layer("exclude")
    doc.fill_rect(80, 20, 110, 70)
    doc.begin_stroke()
    doc.stroke_to(10, 10, 3)
    doc.stroke_to(20, 10, 3)
    doc.end_stroke()
    assert kinds == ["mask", "exclude", "exclude", "exclude"] and doc.history.undo_count == 3
    np.testing.assert_array_equal(doc.mask, hole)  # the hole is untouched
    assert doc.exclude[30, 90] and doc.exclude[10, 15] and not doc.exclude[40, 60]
    doc.set_layer("hole")  # undo reaches the exclude mask whatever the tools paint now
    doc.undo()
    assert not doc.exclude[10, 15] and doc.exclude[30, 90]
    doc.undo()
    assert not doc.exclude.any() and doc.mask.any()
    doc.redo()
    assert doc.exclude[30, 90] and kinds[-1] == "exclude"
    doc.fill_rect(0, 0, 4, 4)  # the tools paint the hole again
    assert doc.mask[2, 2] and not doc.exclude[2, 2]


def _recording_worker(requests):
    from engine.pipeline import inpaint
    from engine.registry import load_model

    def run(image, hole, model, *, band_px, exclude, progress, cancel):
        requests.append(None if exclude is None else exclude.copy())
        return inpaint(image, hole, model, band_px=band_px, exclude=exclude, progress=progress, cancel=cancel)

    return EngineWorker(load_model=load_model, run=run)


def _drag_rect(canvas, corner0, corner1):
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas.map_from_image(*corner0))
    send_mouse(canvas, QEvent.Type.MouseMove, canvas.map_from_image(*corner1))
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas.map_from_image(*corner1))


def test_painting_exclude_is_shown_undone_cleared_on_open_and_sent_with_the_removal(qtbot, make_main_window,
                                                                                    png_file):
    requests = []
    window = make_main_window(worker=_recording_worker(requests))
    window.open_path(png_file)
    finish_files(qtbot, window)
    window.select_model("patchmatch")
    doc = window.document
    assert window.act_exclude.shortcut().toString() == "X" and window.act_exclude.isEnabled()
    window.set_tool("rect")
    window.act_exclude.trigger()
    assert window.act_exclude.isChecked() and doc.layer == "exclude"
    steps = doc.history.undo_count
    _drag_rect(window.canvas, (40.2, 4.2), (60.8, 40.8))
    assert doc.exclude[10, 50] and not doc.mask.any() and doc.history.undo_count == steps + 1
    colour = QColor(EXCLUDE_COLOR)
    assert tuple(window.canvas.mask_item.pixels[10, 50, :3]) == (colour.blue(), colour.green(), colour.red())
    window.undo()
    assert not doc.exclude.any() and window.canvas.mask_item.pixels[10, 50, 3] == 0
    window.redo()
    window.act_exclude.trigger()  # back to painting the hole
    assert doc.layer == "hole"
    _drag_rect(window.canvas, (22.2, 17.2), (42.8, 31.8))
    assert doc.mask[20, 30] and not doc.exclude[20, 30]

    sent = doc.exclude.copy()
    run_removal(qtbot, window)
    (exclude,), = [requests]
    np.testing.assert_array_equal(exclude, sent)
    assert doc.exclude.any() and not doc.mask.any()  # the removal keeps the exclude mask for the next pass

    window.act_exclude.trigger()
    doc.mark_saved()  # no question about the cleaned photo
    assert window.open_path(png_file)
    finish_files(qtbot, window)
    assert not window.document.exclude.any() and window.document.layer == "hole"
    assert not window.act_exclude.isChecked()
    window.document.fill_rect(22, 17, 42, 31)
    run_removal(qtbot, window)
    assert requests[-1] is None  # no exclude mask: the whole photo may be sampled
