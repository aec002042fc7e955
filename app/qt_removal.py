"""Running a removal from the editor: the snapshot sent to the engine worker, its progress, and applying its
result as one undo step.

On a 24 MP photo each of these would hold the GUI thread for tens of ms, so: at Enter the GUI thread copies only the
bounding boxes of the hole and exclude masks, and a helper thread makes the job's full-size masks from them; the
undo record's copies of the result are made on a helper thread; and the result's pixels are written (and converted
for display) in slices of about 1 MP, one per turn of the event loop (:meth:`app.document.Document.begin_result`),
the removal counting as running until the last one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QToolButton

from app.document import MaskBox
from app.messages import no_weights_text, sentence
from app.qt_background import outcome
from app.qt_result_views import result_maps
from app.qt_window_layout import make_action
from app.qt_window_mixin import WindowMixin
from app.removal_session import FinishedRemoval
from engine.errors import FusionPaintError
from engine.registry import get_spec
from engine.worker import InpaintJob

if TYPE_CHECKING:
    from PySide6.QtWidgets import QSpinBox

    from app.document import Document
    from app.history import ImagePatch
    from app.qt_background import BackgroundTasks
    from app.qt_canvas import QtCanvas
    from app.qt_object_select import ObjectSelection
    from app.qt_worker_bridge import QtWorkerBridge
    from app.removal_session import RemovalSession
    from engine.pipeline import InpaintResult


def make_job(image, hole: MaskBox, exclude: MaskBox, model: str, device: str, request_id: int) -> InpaintJob:
    """The engine's job for ``image`` (uint8 (H, W, 3), read-only, shared) and the masks' boxes: the full-size hole
    and exclude mask (None when empty) are made here, on a helper thread."""
    return InpaintJob.snapshot(image, hole.full(), model, device, request_id=request_id, share_image=True,
                               exclude=None if exclude.empty else exclude.full())


class RemovalRunner(WindowMixin):
    """Remove, cancel and the engine worker's replies for :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    document: Document | None
    canvas: QtCanvas
    bridge: QtWorkerBridge
    objects: ObjectSelection
    removals: RemovalSession
    last_result: InpaintResult | None
    file_task: str | None
    size_spin: QSpinBox
    device_label: QLabel
    _result_prep: BackgroundTasks
    _model_name: str

    if TYPE_CHECKING:
        @property
        def busy(self) -> bool: ...
        @property
        def device(self) -> str: ...
        def message(self, text: str, timeout_ms: int = 6000) -> None: ...
        def _update_actions(self) -> None: ...
        def _update_alpha_view(self) -> None: ...

    def _build_removal_controls(self) -> None:
        """``act_remove`` (also Enter), ``act_cancel`` (Esc), and the status bar's ``progress_bar`` (0..1000),
        ``cancel_button`` and ``time_label`` (the last removal's time)."""
        self.act_remove = make_action(self, "&Remove", self.remove, "Ctrl+R",
                                      tip="Fill the painted area (Enter, Ctrl+R)", icon_name="remove")
        self.act_cancel = make_action(self, "&Cancel removal", self.cancel, "Esc",
                                      tip="Stop the running removal (Esc)")
        for seq in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(seq), self, self._enter_pressed)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the removal (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        self.time_label = QLabel("")
        self._slice_timer = QTimer(self)  # writes the next slice of a result being applied
        self._slice_timer.setSingleShot(True)
        self._slice_timer.setInterval(0)
        self._slice_timer.timeout.connect(self._apply_next_slice)
        self._applying: tuple[InpaintResult, ImagePatch | None] | None = None  # (result, patch) while it is written

    def _enter_pressed(self) -> None:
        """Enter removes, except while the brush-size box has the focus: there it applies the typed size and hands
        the keyboard back to the photo."""
        if self.size_spin.hasFocus():
            self.size_spin.interpretText()
            self.canvas.setFocus()
            return
        self.remove()

    def remove(self) -> None:
        """Send a snapshot of the image and masks to the engine worker (made on a helper thread)."""
        doc = self.document
        if doc is None:
            self.message("Open a photo first.")
            return
        if self.busy:
            self.message("A removal is already running (Esc cancels it).")
            return
        if self.file_task:
            self.message(f"Wait: {self.file_task}")
            return
        self.canvas.cancel_gesture()
        if not doc.mask.any():
            self.message("The mask is empty: paint over what should go (brush, lasso or rectangle), then Remove.")
            return
        try:
            spec = get_spec(self._model_name)
        except FusionPaintError as exc:
            QMessageBox.warning(self, "Model unavailable", sentence(str(exc)))
            return
        if not spec.has_weights:
            QMessageBox.information(self, "No weights", no_weights_text(spec))
            return
        hole, exclude = doc.mask_snapshot()  # only the masks' boxes: they stay editable while the removal runs
        request_id = self.removals.begin()
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self._update_actions()
        self.message(f"Removing with {spec.title}...", 0)
        # the pixels cannot change while a removal runs, so the job shares them
        self._result_prep.submit(lambda made: self._on_job_made(request_id, made), outcome, make_job, doc.image,
                                 hole, exclude, self._model_name, self.device, request_id)

    def _on_job_made(self, request_id: int, made) -> None:
        """Submit the job made on the helper thread (``made``: (job, None) or (None, the exception))."""
        if not self.removals.is_current(request_id):
            return  # cancelled meanwhile
        job, error = made if made is not None else (None, "the removal's job could not be made")
        if job is not None:
            self.removals.attach(job)
            try:
                self.bridge.submit(job)
                return
            except RuntimeError as exc:
                error = exc
        self._end_run()
        QMessageBox.critical(self, "Cannot remove", sentence(str(error)))

    def cancel(self) -> None:
        """Esc: drop the boxes the object tool is searching, else stop the running removal, else abort an unfinished
        lasso or rectangle."""
        if self.objects.cancel():
            return
        if self.busy:
            if self.removals.running_hole is None:  # its job is still being made: nothing was sent yet
                self._end_run()
                self.message("Removal cancelled; nothing changed.")
            elif self.bridge.cancel():
                self.message("Cancelling...", 0)
        else:
            self.canvas.cancel_gesture()

    def _end_run(self) -> None:
        self.removals.end()
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_actions()

    def _on_progress(self, request_id: int, fraction: float, text: str) -> None:
        if not self.removals.is_current(request_id):
            return
        self.progress_bar.setValue(int(round(1000 * max(0.0, min(1.0, fraction)))))
        left = self.removals.time_left_s(fraction)
        if text and left is not None:
            text += f" - about {max(1, round(left))} s left"
        if text:
            self.statusBar().showMessage(text)

    def _on_finished(self, request_id: int, result) -> None:
        if not self.removals.is_current(request_id) or self.document is None:
            return  # stale result of a superseded or cancelled job
        # the undo record's copies (tens of MB on a large photo) are made on a helper thread: the pixels cannot
        # change until this removal is applied
        self._result_prep.submit(lambda patch: self._on_result_prepared(request_id, result, patch),
                                 self.document.image_patch, result)

    def _on_result_prepared(self, request_id: int, result, patch) -> None:
        if not self.removals.is_current(request_id):
            return
        if self.canvas.gesture_active:
            self.removals.defer(result, patch)  # applied when the stroke or lasso ends
            return
        self._begin_applying(result, patch)

    def _apply_deferred_result(self) -> None:
        deferred = self.removals.take_deferred()
        if deferred is not None:
            self._begin_applying(*deferred)

    def _begin_applying(self, result, patch) -> None:
        """Apply a finished removal as one undo step, its pixels in slices (:meth:`_apply_next_slice`); only the
        mask it was computed from is cleared (at once). The removal runs until the last slice is written."""
        if self.document is None:
            self._end_run()
            return
        try:
            self.document.begin_result(result, hole=self.removals.running_hole, patch=patch)
        except ValueError as exc:
            self._end_run()
            QMessageBox.critical(self, "Cannot apply the result", sentence(str(exc)))
            return
        self._applying = (result, patch)
        self._slice_timer.start()

    def _apply_next_slice(self) -> None:
        """Write one slice of the result being applied; after the last, show the removal as finished."""
        if self._applying is None or self.document is None or not self.busy:  # the window closed meanwhile
            self._applying = None
            return
        if self.document.apply_result_slice() is not None:
            self._slice_timer.start()
            return
        result, patch = self._applying
        self._applying = None
        self._show_finished(self.removals.finish(result, patch))

    def _show_finished(self, finished: FinishedRemoval) -> None:
        """The applied removal's views, device, time and message. The time reported is the true one, from the
        request (Enter) to the result on screen."""
        result = finished.result
        self._end_run()
        self.last_result = result
        self.canvas.set_result_maps(result_maps(result, finished.hole))
        self._update_alpha_view()
        self.device_label.setText(f"Device: {result.device}")
        elapsed = time.perf_counter() - finished.started
        model_time = result.timings.get("total")
        detail = f" (engine {model_time:.2f} s)" if model_time is not None else ""
        self.time_label.setText(f"Last removal: {elapsed:.2f} s")
        if result.notes:  # what the user must know comes first (the time and device have their own labels)
            self.message(" ".join(sentence(note) for note in result.notes), 15_000)
        else:
            self.message(f"Removed with {result.model_title} on {result.device} in {elapsed:.2f} s{detail}.")
        self._update_actions()

    def _on_failed(self, request_id: int, text: str) -> None:
        if not self.removals.is_current(request_id):
            return
        self._end_run()
        self.message("Removal failed.")
        QMessageBox.warning(self, "Removal failed", sentence(text))

    def _on_cancelled(self, request_id: int) -> None:
        if not self.removals.is_current(request_id):
            return
        self._end_run()
        self.message("Removal cancelled; nothing changed.")
