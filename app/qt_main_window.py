"""The FusionPaint main window: its state (the document, the last result, what runs), construction, the actions'
enabled states, the title, settings and closing.

The window owns one :class:`app.document.Document` (pixels, mask, undo history; no Qt), one
:class:`app.qt_canvas.QtCanvas` (the view and mask tools) and one :class:`app.qt_worker_bridge.QtWorkerBridge`
(the engine worker thread). A removal sends an immutable ``InpaintJob`` snapshot; while it runs the canvas
only zooms and pans, so the result always applies to the state it was computed from.

Its commands are mixed in, one job a module: files (:mod:`app.qt_file_commands`), the model selector
(:mod:`app.qt_model_picker`), removals (:mod:`app.qt_removal`), the result views (:mod:`app.qt_result_views`), mask
edits (:mod:`app.qt_mask_commands`), help and preferences (:mod:`app.qt_help`). Each makes its own actions and
controls in a ``_build_*`` method; :mod:`app.qt_window_layout` places them in the menus, toolbars and status bar.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox

from app.document import Document
from app.qt_background import BackgroundTasks, outcome
from app.qt_canvas import QtCanvas
from app.qt_file_commands import FileCommands
from app.qt_help import HelpCommands
from app.qt_mask_commands import MaskCommands
from app.qt_model_picker import CLASSICAL_ONLY_SHORT, ModelPicker
from app.qt_object_select import ObjectSelection
from app.qt_removal import RemovalRunner
from app.qt_result_views import ResultViews
from app.qt_window_layout import build_menus, build_status_bar, build_toolbars
from app.qt_worker_bridge import QtWorkerBridge
from app.removal_session import RemovalSession
from app.settings import Settings, read_settings, save_settings
from engine.errors import WriteError
from engine.regions import Box
from engine.registry import default_model_name
from engine.worker import EngineWorker

APP_TITLE = "FusionPaint"
FIRST_WINDOW_SIZE = (1280, 860)
"""Size of the first window, in device-independent pixels, on a screen that has room for it."""


def first_window_size(screen) -> tuple[int, int]:
    """The first window's size: ``FIRST_WINDOW_SIZE``, shrunk to 90 % of the screen's available area (task bars
    excluded) on a small or highly scaled screen, so the status bar is never off screen. Later runs restore the
    user's own geometry."""
    width, height = FIRST_WINDOW_SIZE
    if screen is None:
        return width, height
    area = screen.availableGeometry()
    return min(width, int(area.width() * 0.9)), min(height, int(area.height() * 0.9))


class QtMainWindow(FileCommands, ModelPicker, RemovalRunner, ResultViews, MaskCommands, HelpCommands,
                   QMainWindow):
    """The editor window. ``worker``: an EngineWorker to use (tests pass their own; default: a new one)."""

    def __init__(self, worker: EngineWorker | None = None, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings, settings_note = (settings, None) if settings is not None else read_settings()
        self.document: Document | None = None
        self.save_path: Path | None = None
        self.last_result = None
        self.removals = RemovalSession()
        self._files = BackgroundTasks(self)
        self.file_task: str | None = None  # "Opening NAME..." / "Saving NAME..." while a photo is read or written
        self._finetune_dialog = None  # created on first use, kept so a running fine-tune can be shown again
        self._settings_writer = BackgroundTasks(self)
        self._result_prep = BackgroundTasks(self)
        self._model_name = self.settings.model or default_model_name()

        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(*first_window_size(QApplication.primaryScreen()))
        self.canvas = QtCanvas(self)
        self.setCentralWidget(self.canvas)
        self.canvas.brush_size = float(self.settings.brush_size)
        self.canvas.eraser_size = float(self.settings.eraser_size)
        self.canvas.set_overlay_style(self.settings.overlay_color, self.settings.overlay_opacity)

        self.bridge = QtWorkerBridge(worker, self)
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.progress.connect(self._on_progress, queued)
        self.bridge.finished.connect(self._on_finished, queued)
        self.bridge.failed.connect(self._on_failed, queued)
        self.bridge.cancelled.connect(self._on_cancelled, queued)
        self.bridge.model_loaded.connect(self._on_model_loaded, queued)
        self.bridge.model_failed.connect(self._on_model_failed, queued)

        self._build_file_actions()
        self._build_model_controls()
        self._build_mask_controls()
        self._build_removal_controls()
        self._build_view_controls()
        self._build_help_actions()
        self.object_busy_label = QLabel("Finding the object... (Esc cancels)")
        self.object_busy_label.setVisible(False)
        self.size_info_label = QLabel("")  # the photo's size, pixels
        self.recent_menu = build_menus(self)
        self._rebuild_recent_menu()
        build_toolbars(self)
        build_status_bar(self)
        self.canvas.zoom_changed.connect(self._on_zoom_changed)
        self.canvas.tool_size_changed.connect(self._show_tool_size)
        self.canvas.open_requested.connect(self.open_dialog)
        self.canvas.files_dropped.connect(self._on_files_dropped)
        self.canvas.original_held.connect(self._on_original_held)
        self.canvas.gesture_finished.connect(self._apply_deferred_result)
        self.objects = ObjectSelection(self.canvas, self)
        self.objects.message.connect(self.message)
        self.objects.busy_changed.connect(self.object_busy_label.setVisible)
        self.refresh_models(select=self._model_name)
        if settings_note:
            self.message(settings_note, 30_000)
        elif not self.settings.intro_shown and self._classical_only():
            self.statusBar().showMessage(CLASSICAL_ONLY_SHORT, 30_000)  # once, at the first start
            self.settings.intro_shown = True
        self._restore_geometry()
        self._update_actions()

    # ================================================================== state helpers

    @property
    def busy(self) -> bool:
        """True while a removal runs."""
        return self.removals.busy

    def _update_actions(self) -> None:
        doc = self.document
        has_doc = doc is not None
        files_idle = self.file_task is None  # while a photo is read or written, nothing may change it
        idle = not self.busy and files_idle
        for action in (self.act_save, self.act_save_as, self.act_export_mask, self.act_remove):
            action.setEnabled(has_doc and idle)
        # the mask stays editable while a removal runs: the next pass can be painted meanwhile
        for action in (self.act_import_mask, self.act_clear, self.act_invert, self.act_grow, self.act_shrink,
                       self.act_exclude):
            action.setEnabled(has_doc and files_idle)
        self.act_reuse_mask.setEnabled(has_doc and self.removals.last_hole is not None)
        self.act_open.setEnabled(idle)
        self.act_paste.setEnabled(idle)
        self.act_copy.setEnabled(has_doc)
        self.recent_menu.setEnabled(idle)
        self.act_undo.setEnabled(doc is not None and idle and doc.can_undo)
        self.act_redo.setEnabled(doc is not None and idle and doc.can_redo)
        has_result = self.last_result is not None
        self.act_export_alpha.setEnabled(has_result and idle)
        self.act_alpha.setEnabled(has_result)
        self.act_alpha_alone.setEnabled(has_result)
        self.act_raw.setEnabled(has_result)
        self.act_split.setEnabled(has_doc)
        self.original_button.setEnabled(has_doc)
        self.act_cancel.setEnabled(True)  # Esc also aborts an unfinished lasso
        self.canvas.set_editable(has_doc and files_idle)
        self.model_combo.setEnabled(idle)
        self.device_combo.setEnabled(idle)
        self._update_title()

    def _update_title(self) -> None:
        doc = self.document
        if doc is None:
            self.setWindowTitle(APP_TITLE)
            return
        name = doc.photo.path.name if getattr(doc.photo, "path", None) else "untitled"
        if self.save_path is not None:
            name = f"{self.save_path.name} (from {name})"
        self.setWindowModified(doc.dirty)
        self.setWindowTitle(f"{name}[*] - {APP_TITLE}")

    def _on_document_changed(self, kind: str, box: Box | None) -> None:
        if not self.busy:
            assert self.document is not None, "it listens to the open document"
            self.act_undo.setEnabled(self.document.can_undo)
            self.act_redo.setEnabled(self.document.can_redo)
        if kind == "image":
            self._forget_result()
            self._update_title()

    def _forget_result(self) -> None:
        """The pixels changed (undo, redo, a new removal): the last removal's alpha and raw views no longer apply."""
        if self.last_result is None:
            return
        self.last_result = None
        for action in (self.act_alpha, self.act_alpha_alone, self.act_raw):
            action.setChecked(False)
        self.canvas.set_result_maps(None)
        self._update_alpha_view()
        self.show_original(False)
        self._update_actions()

    def _focus_canvas(self, *_args) -> None:
        """Give the keyboard back to the canvas (hold-to-compare, space-pan) after a toolbar choice."""
        self.canvas.setFocus()

    def message(self, text: str, timeout_ms: int = 6000) -> None:
        """Show ``text`` in the status bar."""
        self.statusBar().showMessage(text, timeout_ms)

    def _refuse_while_working(self, what: str) -> bool:
        """True, with the reason in the status bar, while a removal or a file task runs: ``what`` (e.g. "saving")
        cannot start now."""
        if self.busy:
            self.message(f"Wait for the removal to finish (or press Esc) before {what}.")
        elif self.file_task:
            self.message(f"Wait: {self.file_task}")
        return self.busy or self.file_task is not None

    def _set_document(self, document: Document | None, images: tuple[QImage, QImage] | None = None) -> None:
        """Make ``document`` current; ``images``: its canvas images when made with the decoding (see
        :func:`app.qt_canvas_images.display_images`)."""
        if self.document is not None:
            self.document.remove_listener(self._on_document_changed)
        self.document = document
        self.save_path = None
        self.last_result = None
        self.removals.forget_last_hole()
        self.canvas.set_document(document, images)
        self.objects.set_document(document)
        if document is not None:
            document.add_listener(self._on_document_changed)
            self.size_info_label.setText(f"{document.width} x {document.height}")
            self._fit_tool_sizes()
            self.canvas.setFocus()
        else:
            self.size_info_label.setText("")
        for action in (self.act_alpha, self.act_alpha_alone, self.act_raw, self.act_split, self.act_exclude):
            action.setChecked(False)  # a new photo's mask tools paint its hole (its exclude mask starts empty)
        self.alpha_label.setText("")
        self.time_label.setText("")  # the last removal's time belongs to the photo it was made on
        self._update_actions()

    # ================================================================== settings, closing

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            try:
                self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                pass

    def store_settings(self) -> None:
        """Copy the window's state into ``self.settings`` and write it."""
        s = self.settings
        s.brush_size = int(round(self.canvas.brush_size))
        s.eraser_size = int(round(self.canvas.eraser_size))
        s.model = self._model_name
        s.device = self.device
        s.alpha_opacity = self.alpha_slider.value() / 100.0
        s.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self._settings_writer.wait()  # an earlier write finishing after this one would put back older settings
        try:
            save_settings(self.settings)  # now: the window is closing
        except WriteError as exc:
            self.message(f"Settings not saved: {exc}")

    def _save_settings_quietly(self) -> None:
        """Write the settings on a helper thread (a write that waits for the disk must not freeze the window); a
        failure is said in the status bar."""
        def written(result: tuple[None, Exception | None] | None) -> None:
            assert result is not None, "outcome() never raises: a result always comes"
            if result[1]:
                self.message(f"Settings not saved: {result[1]}")

        self._settings_writer.submit(written, outcome, save_settings, copy.deepcopy(self.settings))

    def _stop_finetune_before_quitting(self) -> bool:
        """True when no fine-tuning runs. Otherwise ask; on Yes stop it (SIGTERM: it saves a checkpoint) and close
        the window once the trainer has exited. Returns False: the window stays open for now."""
        dialog = self._finetune_dialog
        if dialog is None or not dialog.busy:
            return True
        answer = QMessageBox.question(
            self, "Fine-tuning is running",
            "A fine-tuning run is still going. Stop it and quit? Its checkpoint is saved, so it can be resumed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            assert dialog.process is not None, "a busy dialog runs its trainer process"
            dialog.process.finished.connect(lambda *_: QTimer.singleShot(0, self.close))
            dialog.cancel()
            dialog.show()  # shows "Stopping: saving a checkpoint..."
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.file_task:  # a photo being written is never cut off
            self.message(f"Wait: {self.file_task}")
            event.ignore()
            return
        if not self._stop_finetune_before_quitting() or not self.maybe_save(then=self.close):
            event.ignore()
            return
        self.store_settings()
        self.objects.set_document(None)
        if self.busy:
            self.bridge.cancel()
        self.bridge.shutdown(wait=not self.busy)
        self._files.wait()
        self.removals.end()
        if self.document is not None:
            self.document.remove_listener(self._on_document_changed)
        event.accept()


__all__ = ["QtMainWindow"]
