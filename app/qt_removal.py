"""Running a removal from the editor: the snapshot sent to the engine worker, its progress, and applying its
result as one undo step (the undo record's copies are made on a helper thread).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QToolButton

from app.messages import no_weights_text, sentence
from app.qt_result_views import result_maps
from app.qt_window_layout import make_action
from app.removal_session import FinishedRemoval
from engine.errors import FusionPaintError
from engine.registry import get_spec


class RemovalRunner:
    """Remove, cancel and the engine worker's replies for :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

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

    def _enter_pressed(self) -> None:
        """Enter removes, except while the brush-size box has the focus: there it applies the typed size and hands
        the keyboard back to the photo."""
        if self.size_spin.hasFocus():
            self.size_spin.interpretText()
            self.canvas.setFocus()
            return
        self.remove()

    def remove(self) -> None:
        """Send a snapshot of the image and mask to the engine worker."""
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
        job = self.removals.start(doc, self._model_name, self.device)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self._update_actions()
        self.message(f"Removing with {spec.title}...", 0)
        try:
            self.bridge.submit(job)
        except RuntimeError as exc:
            self._end_run()
            QMessageBox.critical(self, "Cannot remove", sentence(str(exc)))

    def cancel(self) -> None:
        """Esc: drop the boxes the object tool is searching, else stop the running removal, else abort an unfinished
        lasso or rectangle."""
        if self.objects.cancel():
            return
        if self.busy:
            if self.bridge.cancel():
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
        self._apply_finished(self.removals.finish(result, patch))

    def _apply_deferred_result(self) -> None:
        finished = self.removals.finish_deferred()
        if finished is not None:
            self._apply_finished(finished)

    def _apply_finished(self, finished: FinishedRemoval) -> None:
        """Apply a finished removal as one undo step; only the mask it was computed from is cleared. The time
        reported is the true one, from the request (Enter) to the result on screen."""
        result = finished.result
        self._end_run()
        if self.document is None:
            return
        try:
            self.document.apply_result(result, hole=finished.hole, patch=finished.patch)
        except ValueError as exc:
            QMessageBox.critical(self, "Cannot apply the result", sentence(str(exc)))
            return
        self.last_result = result
        self.canvas.set_result_maps(result_maps(result, finished.hole))
        self._update_alpha_view()
        self.device_label.setText(f"Device: {result.device}")
        elapsed = time.perf_counter() - finished.started
        model_time = result.timings.get("total")
        detail = f" (engine {model_time:.2f} s)" if model_time is not None else ""
        self.time_label.setText(f"Last removal: {elapsed:.2f} s")
        try:
            title = get_spec(result.model).title
        except FusionPaintError:  # removed from the models folder meanwhile
            title = result.model
        if result.notes:  # what the user must know comes first (the time and device have their own labels)
            self.message(" ".join(sentence(note) for note in result.notes), 15_000)
        else:
            self.message(f"Removed with {title} on {result.device} in {elapsed:.2f} s{detail}.")
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
