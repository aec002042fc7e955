"""The FusionPaint main window: menus, toolbars, status bar, files, removal jobs and views.

The window owns one :class:`app.document.Document` (pixels, mask, undo history; no Qt), one
:class:`app.qt_canvas.QtCanvas` (the view and mask tools) and one :class:`app.qt_worker_bridge.QtWorkerBridge`
(the engine worker thread). A removal sends an immutable ``InpaintJob`` snapshot; while it runs the canvas
only zooms and pans, so the result always applies to the state it was computed from.
"""

from __future__ import annotations

import copy
import functools
import html
import os
import time
from pathlib import Path

import numpy as np
import PIL.Image
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
)

from app.document import Document
from app.image_maps import ResultMaps
from app.qt_background import BackgroundTasks
from app.qt_canvas import MAX_TOOL_SIZE, QtCanvas
from app.qt_canvas_gestures import dropped_photos
from app.qt_canvas_images import display_images
from app.qt_dialogs import ContentScroll, FittedDialog
from app.qt_object_select import ObjectSelection
from app.qt_window_layout import build_actions, build_menus, build_status_bar, build_toolbars, size_to_slider
from app.qt_worker_bridge import QtWorkerBridge
from app.removal_session import FinishedRemoval, RemovalSession
from app.settings import Settings, add_recent_file, read_settings, save_settings
from engine.errors import FusionPaintError, ImageError, WriteError
from engine.imageio import SUPPORTED_EXTENSIONS, Photo, load_image, load_mask, save_image, save_mask
from engine.model_spec import ModelSpec
from engine.registry import default_model_name, get_spec, list_models, skipped_user_models
from engine.worker import EngineWorker

APP_TITLE = "FusionPaint"
BRUSH_VIEW_PX = 30
"""Diameter, in screen pixels at "fit", that the brush and eraser get when a photo is opened."""
NOT_LEARNED_LABEL = "feathered composition mask (not learned)"
HOLE_MASK_LABEL = "hole mask (not learned)"
"""The alpha view's label for a model composited hard (seam band 0): the map is the hole itself."""
CLASSICAL_ONLY_SHORT = ("No network has trained weights yet: removals use a classical fill. PatchMatch copies "
                        "texture from the rest of the photo; OpenCV's fills suit small blemishes, specks and wires.")
CLASSICAL_ONLY_NOTE = (
    CLASSICAL_ONLY_SHORT + " Large objects in front of detailed scenes can leave repeated patches or smears. DFNet "
    "and DMFN learn to fill large holes once their weights are installed, or after File > Fine-tune on a folder..."
)
"""Said once at the first start (the short form, in the status bar) and always in the model selector's tooltip while
no network has weights."""


def _document_for_display(photo: Photo, max_history_bytes: int):
    """A new Document of ``photo`` and its canvas images (helper thread): (Document, (photo QImage, overlay QImage))."""
    return Document(photo, max_history_bytes=max_history_bytes), display_images(photo.rgb)


def _open_for_display(path: Path, max_history_bytes: int):
    """Decode a photo into a Document and make its canvas images (helper thread: copying a 24 MP photo's pixels
    froze the window for up to 0.3 s on the GUI thread): (Document, (photo QImage, overlay QImage))."""
    return _document_for_display(load_image(path), max_history_bytes)


def _paste_for_display(image: QImage, max_history_bytes: int):
    """A clipboard image as an untitled Document and its canvas images (helper thread; a QImage may be read on any
    thread): (Document, (photo QImage, overlay QImage))."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(rgba.constBits(), np.uint8).reshape(rgba.height(), rgba.bytesPerLine())
    pixels = rows[:, : 4 * rgba.width()].reshape(rgba.height(), rgba.width(), 4)
    alpha = pixels[..., 3].copy() if image.hasAlphaChannel() and (pixels[..., 3] < 255).any() else None
    photo = Photo(rgb=np.ascontiguousarray(pixels[..., :3]), alpha=alpha, source_mode="RGBA" if alpha is not None
                  else "RGB", format="PNG", exif=None, icc_profile=None, dpi=None, path=None)
    return _document_for_display(photo, max_history_bytes)


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


def _short_title(name: str | None) -> str:
    """A model's title without its parenthesis ("PatchMatch", "DFNet"), for the views' labels."""
    try:
        return get_spec(name).title.split(" (")[0]
    except FusionPaintError:  # removed from the models folder meanwhile
        return str(name)


def result_maps(result, hole: np.ndarray) -> ResultMaps:
    """What the alpha and raw views show of ``result`` (an engine.pipeline.InpaintResult computed for ``hole``),
    with the words for what the alpha's 0 and 1 mean in the hole and outside it."""
    model, band = _short_title(result.model), result.band_px
    output = f"{model}'s output"
    if result.alpha_learned:
        try:
            fill = get_spec(result.model).input_fill
        except FusionPaintError:
            fill = None
        low = f"{_short_title(fill)}'s pre-fill" if fill else "black (no pre-fill)"
        legend = (f"Alpha: {model}'s learned composition map", f"In the hole (outlined): 0 = {low}, 1 = {output}",
                  f"Outside it: 0 = the photo, 1 = {output}" + (f" (up to {band} px out)" if band else ""))
    elif band:
        legend = (f"Alpha: {NOT_LEARNED_LABEL}", f"In the hole (outlined): 1 = {output}",
                  f"Outside it: 1 to 0 across the {band} px seam band, 0 = the photo")
    else:
        legend = (f"Alpha: {HOLE_MASK_LABEL}", f"In the hole (outlined): 1 = {output}", "Outside it: 0 = the photo")
    where = f"in the hole, fading out across its {band} px seam band" if band else "in the hole"
    raw_label = f"Raw prediction: {output} before blending, {where}; the photo elsewhere"
    return ResultMaps(windows=tuple((w.box, w.alpha, w.raw) for w in result.windows), hole=hole, band_px=band,
                      legend=legend, raw_label=raw_label)


def _outcome(function, *args):
    """(function(*args), None), or (None, the exception it raised): a helper thread's result for the GUI thread."""
    try:
        return function(*args), None
    except Exception as exc:
        return None, exc


def _sentence(text: str) -> str:
    """An engine message as a sentence for a dialog: capital first letter, final full stop (the command line prints
    the same messages after "error: ")."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "!", "?", ")")) else text + "."


def _no_weights_text(spec: ModelSpec) -> str:
    """Why a network without weights cannot be used, and what to do (no file paths: they mean nothing here)."""
    return (f"{spec.title} has no trained weights yet, so it cannot remove objects. FusionPaint ships weights once "
            f"they fill better than the classical fills. Meanwhile use {get_spec(default_model_name()).title}, or "
            "train it on your own photos with File > Fine-tune on a folder...")


SKIPPED_SHOWN = 2
"""How many skipped model files the status-bar note names with their reasons (the model selector's tooltip lists
them all)."""
SKIPPED_REASON_CHARS = 70
"""A reason longer than this is cut short in the status-bar note."""


def _skipped_entries(skipped: dict[Path, str]) -> list[tuple[str, str]]:
    """(file name, reason) of each skipped weights file, by file name; the models folder is left out of reasons."""
    return [(weights.name, reason.replace(f"{weights.parent}{os.sep}", ""))
            for weights, reason in sorted(skipped.items())]


def skipped_models_note(skipped: dict[Path, str]) -> str | None:
    """The status-bar note about the user model files the registry skipped (``engine.registry.skipped_user_models``):
    the first ``SKIPPED_SHOWN`` with their reasons (each cut to ``SKIPPED_REASON_CHARS``), then how many more; None
    when none was skipped."""
    if not skipped:
        return None
    shown = []
    for name, reason in _skipped_entries(skipped)[:SKIPPED_SHOWN]:
        if len(reason) > SKIPPED_REASON_CHARS:
            reason = reason[: SKIPPED_REASON_CHARS - 1].rstrip() + "\u2026"
        shown.append(f"{name} ({reason})")
    more = len(skipped) - len(shown)
    count = ("1 model in the models folder was skipped" if len(skipped) == 1
             else f"{len(skipped)} models in the models folder were skipped")
    return f"{count}: {'; '.join(shown)}" + (f"; {more} more in the model selector's tooltip" if more else "")


def skipped_models_tooltip(skipped: dict[Path, str]) -> str:
    """Every skipped user model file with its full reason, one a line, for the model selector's tooltip ("" when
    none)."""
    lines = [f"{name} ({reason})" for name, reason in _skipped_entries(skipped)]
    return "Skipped in the models folder:\n" + "\n".join(lines) if lines else ""


def _image_filter() -> str:
    patterns = " ".join(f"*{ext}" for ext in SUPPORTED_EXTENSIONS)
    return f"Images ({patterns});;All files (*)"


MAX_PASTE_PIXELS = PIL.Image.MAX_IMAGE_PIXELS
"""A pasted image obeys the same size limit as a photo file (Pillow's decompression-bomb limit)."""


class QtMainWindow(QMainWindow):
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

        build_actions(self)
        build_menus(self)
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

    # ================================================================== construction

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
        self.act_undo.setEnabled(has_doc and idle and doc.can_undo)
        self.act_redo.setEnabled(has_doc and idle and doc.can_redo)
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

    def _on_document_changed(self, kind: str, box) -> None:
        if not self.busy:
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

    def _run_file_task(self, text: str, then, function, *args) -> None:
        """Run ``function(*args)`` (decoding or encoding a photo) on a helper thread, then ``then(result, error)``
        on the GUI thread (``error``: the exception it raised, else None).

        Meanwhile ``text`` shows in the status bar with a busy cursor, and the photo cannot change: removals, undo,
        painting and the other file commands wait (:attr:`file_task`); the window stays live.
        """
        self.file_task = text
        self.statusBar().showMessage(text)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self._update_actions()

        def finish(outcome) -> None:
            QApplication.restoreOverrideCursor()
            self.statusBar().clearMessage()
            self.file_task = None
            self._update_actions()
            then(*outcome)

        self._files.submit(finish, _outcome, function, *args)

    # ================================================================== files

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", self.settings.last_folder or "", _image_filter())
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Start opening a photo: it is decoded on a helper thread and becomes the document when ready; errors
        become a message box. False when it could not start (a removal or file task runs, the user kept unsaved
        changes, or they are being saved first: the photo opens after that save)."""
        if self._refuse_while_working("opening another photo"):
            return False
        if not self.maybe_save(then=lambda: self.open_path(path)):
            return False
        path = Path(path)
        self._run_file_task(f"Opening {path.name}...", lambda opened, error: self._on_opened(path, opened, error),
                            _open_for_display, path, self.settings.undo_memory_mb * 2**20)
        return True

    def _on_opened(self, path: Path, opened, error: BaseException | None) -> None:
        if isinstance(error, MemoryError):
            QMessageBox.critical(self, "Cannot open photo", f"{path.name}: not enough memory to open this photo")
            return
        if error is not None:
            QMessageBox.critical(self, "Cannot open photo", _sentence(str(error)))
            return
        document, images = opened
        self._set_document(document, images)
        self.settings.last_folder = str(path.parent)
        add_recent_file(self.settings, str(path))
        self._rebuild_recent_menu()
        self._save_settings_quietly()
        self.message(f"Opened {path.name}: {document.width} x {document.height} px, {document.photo.format}")

    def _set_document(self, document: Document | None, images=None) -> None:
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

    def _on_files_dropped(self, paths: list) -> None:
        if paths:
            self.open_path(paths[0])

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        """As on the canvas: photos accepted, other files refused at the cursor."""
        if dropped_photos(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = dropped_photos(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(entry).name)
            action.setToolTip(entry)
            action.triggered.connect(lambda _=False, p=entry: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def paste_photo(self) -> bool:
        """Open the image on the clipboard as a new, untitled photo. Returns True on success."""
        image = QApplication.clipboard().image()
        if image.isNull():
            self.message("The clipboard holds no image.")
            return False
        if self._refuse_while_working("pasting a photo"):
            return False
        if image.width() * image.height() > MAX_PASTE_PIXELS:
            QMessageBox.critical(self, "Cannot paste", f"The clipboard image ({image.width()} x {image.height()}) "
                                 "is too large.")
            return False
        if not self.maybe_save(then=self.paste_photo):
            return False
        self._run_file_task("Pasting...", self._on_pasted, _paste_for_display, image,
                            self.settings.undo_memory_mb * 2**20)
        return True

    def _on_pasted(self, opened, error: BaseException | None) -> None:
        if error is not None:
            text = "not enough memory to paste this image" if isinstance(error, MemoryError) else str(error)
            QMessageBox.critical(self, "Cannot paste", _sentence(text))
            return
        document, images = opened
        self._set_document(document, images)
        self.message(f"Pasted a {document.width} x {document.height} px image; Save asks where to write it.")

    def copy_photo(self) -> None:
        """Put the current pixels (with the result of every removal) on the clipboard."""
        if self.document is None:
            return
        rgb = np.ascontiguousarray(self.document.image)
        height, width = rgb.shape[:2]
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        QApplication.clipboard().setImage(image)
        self.message("Photo copied to the clipboard.")

    def proposed_save_path(self) -> Path:
        """``<name>_clean.<ext>`` next to the original (the original itself is never proposed)."""
        src = self.document.photo.path or Path(self.settings.last_folder or Path.cwd()) / "pasted.png"
        suffix = src.suffix if src.suffix.lower() in SUPPORTED_EXTENSIONS else ".png"
        return src.with_name(f"{src.stem}_clean{suffix}")

    def save(self, then=None) -> bool:
        """Start saving to the file chosen earlier in this session, else ask (proposing ``<name>_clean.<ext>``).
        The photo is encoded and written on a helper thread; ``then()`` runs once it is saved. False when no save
        started."""
        if self.document is None:
            return False
        if self.save_path is None:
            return self.save_as(then)
        return self._write(self.save_path, then)

    def save_as(self, then=None) -> bool:
        """Ask where to save, then start saving there (see :meth:`save`)."""
        if self.document is None:
            return False
        start = self.save_path or self.proposed_save_path()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save cleaned photo", str(start), _image_filter(),
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return False
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(start.suffix)
        if not self._confirm_replace(target):
            return False
        return self._write(target, then, remember=True)

    def _confirm_replace(self, target: Path) -> bool:
        if not target.exists():
            return True
        original = self.document.photo.path
        is_original = original is not None and target.resolve() == Path(original).resolve()
        text = (f"{target.name} is the original photo. Replace it with the cleaned version?"
                if is_original else f"{target.name} already exists. Replace it?")
        answer = QMessageBox.question(
            self, "Replace file?", text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _write(self, target: Path, then=None, remember: bool = False) -> bool:
        """Start writing the photo to ``target`` (atomically, on a helper thread); when it is written: mark the
        document saved, remember ``target`` for Save when ``remember``, and run ``then()``."""
        if self._refuse_while_working("saving"):
            return False
        doc = self.document

        def written(warnings: tuple[str, ...] | None, error: BaseException | None) -> None:
            if error is not None:
                QMessageBox.critical(self, "Cannot save", _sentence(str(error)))
                return
            doc.mark_saved(target)
            if remember:
                self.save_path = target
            self.settings.last_folder = str(target.parent)
            self._update_title()
            self.message(" ".join((f"Saved {target}.", *(warnings or ()))))
            if then is not None:
                then()

        self._run_file_task(f"Saving {target.name}...", written, functools.partial(
            save_image, target, doc.image, alpha=getattr(doc.photo, "alpha", None), like=doc.photo,
            quality=int(self.settings.jpeg_quality), keep_gps=bool(self.settings.keep_gps)))
        return True

    def _set_keep_gps(self, checked: bool) -> None:
        self.settings.keep_gps = bool(checked)
        self.message("Saved photos keep their GPS location" if checked else "Saved photos leave out their GPS location")

    def maybe_save(self, then) -> bool:
        """Ask about unsaved changes before ``then`` (what the user asked for: open, paste, quit). True: go on now
        (nothing to save, or Discard). False: stop here - Cancel, or Save, which runs ``then()`` once the photo is
        saved."""
        if self.document is None or not self.document.dirty:
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Unsaved changes", "The photo has unsaved changes. Save them?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )
        if answer == buttons.Save:
            self.save(then)
            return False
        return answer == buttons.Discard

    def export_mask(self) -> None:
        if self.document is None:
            return
        src = self.document.photo.path or Path.cwd() / "photo"
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", str(src.with_name(f"{src.stem}_mask.png")),
                                              "PNG (*.png)", options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        target = Path(path).with_suffix(".png")
        if not self._confirm_replace(target):
            return
        try:
            save_mask(target, np.asarray(self.document.mask))
        except (ImageError, WriteError, OSError) as exc:
            QMessageBox.critical(self, "Cannot export mask", _sentence(str(exc)))
            return
        self.message(f"Mask saved to {target} (white = hole)")

    def import_mask(self) -> None:
        if self.document is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", self.settings.last_folder or "", _image_filter())
        if not path:
            return
        try:
            hole, warnings = load_mask(path, (self.document.height, self.document.width))
        except ImageError as exc:
            QMessageBox.critical(self, "Cannot load mask", _sentence(str(exc)))
            return
        self.document.set_mask(hole)
        self.message("; ".join(warnings) if warnings else f"Mask loaded from {Path(path).name}")

    def export_alpha(self) -> None:
        if self.last_result is None:
            self.message("No removal yet: the alpha map exists after the first removal.")
            return
        src = (self.document.photo.path if self.document else None) or Path.cwd() / "photo"
        path, _ = QFileDialog.getSaveFileName(self, "Export alpha map", str(src.with_name(f"{src.stem}_alpha.png")),
                                              "PNG (*.png)", options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        target = Path(path).with_suffix(".png")
        if not self._confirm_replace(target):
            return
        rgb = self.last_result.alpha_map()
        try:
            save_image(target, rgb)
        except (ImageError, WriteError, OSError) as exc:
            QMessageBox.critical(self, "Cannot export alpha map", _sentence(str(exc)))
            return
        self.message(f"Alpha map saved to {target} (RGB, 255 = network output)")

    # ================================================================== mask edits

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)
        self._show_tool_size(self._current_tool_size())

    def set_sampling_exclude(self, on: bool) -> None:
        """Make the mask tools paint the exclude mask (``on``: where the fill must not copy from) or the hole."""
        self.act_exclude.setChecked(on)
        if self.document is None:
            return
        self.canvas.cancel_gesture()
        self.document.set_layer("exclude" if on else "hole")
        self.message("Sampling: exclude - paint where the fill must not copy from; X paints the hole again." if on
                     else "Painting the hole: what should go.")

    def set_tool_size(self, size: float) -> None:
        """Diameter in image pixels (1..MAX_TOOL_SIZE) of the current tool (the brush for lasso and rectangle)."""
        self.canvas.set_tool_size(size)  # the canvas reports it back through tool_size_changed

    def _show_tool_size(self, size: float) -> None:
        for widget, value in ((self.size_spin, round(size)), (self.size_slider, size_to_slider(size))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)

    def _current_tool_size(self) -> float:
        return self.canvas.eraser_size if self.canvas.tool == "eraser" else self.canvas.brush_size

    def step_tool_size(self, direction: int) -> None:
        """``[`` / ``]``: about 10 % smaller / bigger (at least 1 px)."""
        size = round(self._current_tool_size())
        self.set_tool_size(size + direction * max(1, round(size * 0.1)))

    def _fit_tool_sizes(self) -> None:
        """A new photo: brush and eraser ``BRUSH_VIEW_PX`` screen pixels wide at "fit", whatever its size."""
        size = min(MAX_TOOL_SIZE, max(1, round(BRUSH_VIEW_PX / max(self.canvas.fit_scale(), 1e-6))))
        self.canvas.brush_size = self.canvas.eraser_size = float(size)
        self._show_tool_size(size)

    def undo(self) -> None:
        if self.document is not None and not self.busy and not self.file_task:
            self.canvas.cancel_gesture()
            self.document.undo()
            self._after_history_change()

    def redo(self) -> None:
        if self.document is not None and not self.busy and not self.file_task:
            self.document.redo()
            self._after_history_change()

    def _after_history_change(self) -> None:
        self._update_actions()

    def clear_mask(self) -> None:
        if self.document is not None:
            self.document.clear_mask()
            self._update_actions()

    def reuse_last_mask(self) -> None:
        """Add the last removal's mask to the current one (one undo step), ready for another pass."""
        last_hole = self.removals.last_hole
        if self.document is not None and last_hole is not None:
            self.document.set_mask(np.asarray(self.document.mask) | last_hole, layer="hole")
            self._update_actions()

    def invert_mask(self) -> None:
        if self.document is not None:
            self.document.invert_mask()
            self._update_actions()

    def _ask_px(self, title: str) -> int | None:
        value, ok = QInputDialog.getInt(self, title, "Pixels:", 8, 1, 500)
        return value if ok else None

    def grow_mask(self, px: int | None = None) -> None:
        """Dilate the mask by ``px`` pixels (asks when None)."""
        self._grow_or_shrink("Grow mask", px, grow=True)

    def shrink_mask(self, px: int | None = None) -> None:
        """Erode the mask by ``px`` pixels (asks when None)."""
        self._grow_or_shrink("Shrink mask", px, grow=False)

    def _grow_or_shrink(self, title: str, px: int | None, grow: bool) -> None:
        if self.document is None:
            return
        px = self._ask_px(title) if px is None else px
        if px:
            (self.document.grow_mask if grow else self.document.shrink_mask)(int(px))
            self._update_actions()

    def set_overlay_style(self, color: str, opacity: float) -> None:
        self.settings.overlay_color = color
        self.settings.overlay_opacity = float(opacity)
        self.canvas.set_overlay_style(color, opacity)

    # ================================================================== models

    def refresh_models(self, select: str | None = None) -> str | None:
        """Fill the model selector from engine.registry.list_models(); models without weights are marked. User model
        files the registry skipped are named in the status bar (see :func:`skipped_models_note`, also returned) and
        listed in full in the selector's tooltip."""
        select = select or self._model_name
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._specs: list[ModelSpec] = list_models()
        skipped = skipped_user_models()
        for spec in self._specs:
            label = spec.title if spec.has_weights else f"{spec.title} (no weights)"
            if spec.card is not None and spec.card.get("helped") is False:
                label += " - no better than before fine-tuning"
            self.model_combo.addItem(label, spec.name)
            self.model_combo.setItemData(self.model_combo.count() - 1, spec.alpha_meaning, Qt.ItemDataRole.ToolTipRole)
        tip = CLASSICAL_ONLY_NOTE if self._classical_only() else "The model that fills the holes"
        self.model_combo.setToolTip("\n\n".join(filter(None, (tip, skipped_models_tooltip(skipped)))))
        index = self.model_combo.findData(select)
        if index < 0 or not self._specs[index].has_weights:
            index = self.model_combo.findData(default_model_name())
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)
        if self.model_combo.count():
            self._model_name = self.model_combo.currentData()
        note = skipped_models_note(skipped)
        if note:
            self.message(note, 30_000)
        return note

    def _classical_only(self) -> bool:
        """True while no network in the selector has weights: every removal uses a classical fill."""
        return not any(spec.kind == "network" and spec.has_weights for spec in self._specs)

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def device(self) -> str:
        return self.device_combo.currentData() or "auto"

    def select_model(self, name: str) -> bool:
        """Choose a model by registry name (as if picked in the selector). False if it cannot be used."""
        index = self.model_combo.findData(name)
        if index < 0:
            return False
        self.model_combo.setCurrentIndex(index)
        return self._on_model_chosen(index)

    def _on_model_chosen(self, index: int) -> bool:
        name = self.model_combo.itemData(index)
        try:
            spec = get_spec(name)
        except FusionPaintError as exc:
            QMessageBox.warning(self, "Model unavailable", _sentence(str(exc)))
            self._revert_model_combo()
            return False
        if not spec.has_weights:
            QMessageBox.information(self, "No weights", _no_weights_text(spec))
            self._revert_model_combo()
            return False
        self._model_name = name
        self.settings.model = name
        if spec.kind == "network":
            self.message(f"Loading {spec.title}...")
            self.bridge.switch_model(name, self.device)
        else:
            self.message(f"Model: {spec.title}")
        return True

    def _revert_model_combo(self) -> None:
        index = self.model_combo.findData(self._model_name)
        self.model_combo.setCurrentIndex(max(0, index))

    def _on_device_chosen(self, _index: int) -> None:
        self.settings.device = self.device
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                self.message("No CUDA GPU found: removals will fail on 'GPU'. Choose Auto or CPU.", 10000)

    def _on_model_loaded(self, info) -> None:
        self.device_label.setText(f"Device: {info.device}")
        self.message(f"{info.spec.title} ready on {info.device}")

    def _on_model_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Cannot load model", message)

    def open_finetune(self) -> None:
        """Open the fine-tuning dialog (imported lazily: it is optional)."""
        try:
            from app.qt_finetune_dialog import FineTuneDialog
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            QMessageBox.warning(self, "Fine-tuning unavailable", f"The fine-tuning dialog cannot be opened: {exc}")
            return
        dialog = self._finetune_dialog
        if dialog is None:
            dialog = FineTuneDialog(self, folder=self.settings.finetune_folder)
            dialog.model_ready.connect(self._on_finetuned_model)
            dialog.state_changed.connect(lambda state: self._remember_finetune_folder(dialog, state))
            self._finetune_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _remember_finetune_folder(self, dialog, state: str) -> None:
        if state == "running":
            self.settings.finetune_folder = dialog.folder_edit.text().strip()

    def _on_finetuned_model(self, name: str) -> None:
        """Offer a new fine-tuned model in the selector; the model in use stays selected (the user compares the
        dialog's before/after figures and chooses)."""
        note = self.refresh_models()
        if self.model_combo.findData(name) >= 0:
            text = f"Fine-tuned model {name} is in the model list: choose it there to try it."
        else:
            text = f"Fine-tuned model {name} is not in the model list."
        self.message(" ".join(filter(None, (text, note))), 30_000 if note else 6000)

    # ================================================================== removal

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
            QMessageBox.warning(self, "Model unavailable", _sentence(str(exc)))
            return
        if not spec.has_weights:
            QMessageBox.information(self, "No weights", _no_weights_text(spec))
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
            QMessageBox.critical(self, "Cannot remove", _sentence(str(exc)))

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
            QMessageBox.critical(self, "Cannot apply the result", _sentence(str(exc)))
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
            self.message(" ".join(_sentence(note) for note in result.notes), 15_000)
        else:
            self.message(f"Removed with {title} on {result.device} in {elapsed:.2f} s{detail}.")
        self._update_actions()

    def _on_failed(self, request_id: int, text: str) -> None:
        if not self.removals.is_current(request_id):
            return
        self._end_run()
        self.message("Removal failed.")
        QMessageBox.warning(self, "Removal failed", _sentence(text))

    def _on_cancelled(self, request_id: int) -> None:
        if not self.removals.is_current(request_id):
            return
        self._end_run()
        self.message("Removal cancelled; nothing changed.")

    # ================================================================== views

    def show_original(self, on: bool) -> None:
        """Show the photo as loaded while ``on`` (hold Tab, backslash or the Original button)."""
        if self.document is None:
            return
        if on:
            self.canvas.set_view_mode("original")
        else:
            self.canvas.set_view_mode("split" if self.act_split.isChecked() else
                                      "raw" if self.act_raw.isChecked() else "result")

    def _on_original_held(self, on: bool) -> None:
        self.show_original(on)

    def toggle_split(self) -> None:
        if self.document is None:
            self.act_split.setChecked(False)
            return
        if self.act_split.isChecked():
            self.act_raw.setChecked(False)
            self._leave_alpha_alone()
        self.show_original(False)

    def toggle_raw(self) -> None:
        if self.last_result is None:
            self.act_raw.setChecked(False)
            return
        if self.act_raw.isChecked():
            self.act_split.setChecked(False)
            self._leave_alpha_alone()
        self.show_original(False)

    def _leave_alpha_alone(self) -> None:
        """Split compare or the raw view was chosen: "Alpha map alone" would hide it, so that view ends."""
        if self.act_alpha_alone.isChecked():
            self.act_alpha_alone.setChecked(False)
            self.act_alpha.setChecked(False)
            self._update_alpha_view()

    def toggle_alpha(self) -> None:
        if self.last_result is None:
            self.act_alpha.setChecked(False)
            self.message("No removal yet: the alpha map exists after the first removal.")
            return
        if not self.act_alpha.isChecked():
            self.act_alpha_alone.setChecked(False)
        self._update_alpha_view()

    def toggle_alpha_alone(self) -> None:
        if self.last_result is None:
            self.act_alpha_alone.setChecked(False)
            return
        if self.act_alpha_alone.isChecked():  # it hides every other view
            self.act_alpha.setChecked(True)
            self.act_split.setChecked(False)
            self.act_raw.setChecked(False)
            self.show_original(False)
        self._update_alpha_view()

    def _on_alpha_opacity(self, value: int) -> None:
        self.settings.alpha_opacity = value / 100.0
        self._update_alpha_view()

    def _update_alpha_view(self) -> None:
        if not self.act_alpha.isChecked() or self.last_result is None:
            self.canvas.set_alpha_mode("off")
            self.alpha_label.setText("")
            return
        mode = "alone" if self.act_alpha_alone.isChecked() else "overlay"
        self.canvas.set_alpha_mode(mode, self.alpha_slider.value() / 100.0)
        if self.last_result.alpha_learned:
            self.alpha_label.setText(" Alpha: learned composition map")
        else:
            label = HOLE_MASK_LABEL if self.last_result.band_px == 0 else NOT_LEARNED_LABEL
            self.alpha_label.setText(f" Alpha: {label}")

    def _on_zoom_changed(self, _scale: float) -> None:
        self.zoom_label.setText(f"{self.canvas.zoom_percent():.0f} %")

    # ================================================================== help, preferences

    def show_preferences(self) -> None:
        """Edit > Preferences: JPEG quality, mask colour and opacity, undo memory; applied and saved on OK."""
        from app.qt_preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.apply_preferences(dialog)

    def apply_preferences(self, dialog) -> None:
        dialog.apply_to(self.settings)
        self.set_overlay_style(self.settings.overlay_color, self.settings.overlay_opacity)
        if self.document is not None:
            self.document.history.set_max_bytes(self.settings.undo_memory_mb * 2**20)
        self._save_settings_quietly()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) of every action with a shortcut, read from the actions themselves, plus the mouse
        and held-key gestures."""
        rows = [("Enter", "Remove the painted area")]
        for action in self.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys:
                rows.append((keys, action.text().replace("&", "").removesuffix("...")))
        rows += [
            ("Tab or \\ (hold)", "Show the original photo"),
            ("Wheel", "Zoom about the cursor"),
            ("Space + drag, middle drag", "Pan"),
            ("Right drag (brush)", "Erase"),
            ("Alt + lasso, rectangle or object", "Subtract from the mask"),
            ("Alt + wheel (brush, eraser)", "Change the size"),
        ]
        return rows

    def shortcuts_dialog(self) -> FittedDialog:
        """Help > Keyboard shortcuts: the table of :meth:`shortcut_rows`, scrolling on a screen too small for it;
        deleted when closed."""
        rows = "".join(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(text)}</td></tr>"
                       for keys, text in self.shortcut_rows())
        dialog = FittedDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        table = QLabel(f"<table cellspacing='4'>{rows}</table>")
        table.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(ContentScroll(table), 1)
        layout.addWidget(buttons)
        return dialog

    def show_shortcuts(self) -> None:
        self.shortcuts_dialog().exec()

    def about_text(self) -> str:
        """Version and the licenses of the code, the sample photo and any installed weights (HTML)."""
        from importlib import metadata

        try:
            version = metadata.version("fusionpaint")
        except metadata.PackageNotFoundError:
            version = "(not installed)"
        specs = list_models()
        weights = [f"<li>{html.escape(spec.title)}: {html.escape(spec.license)}</li>"
                   for spec in specs if spec.kind == "network" and spec.has_weights]
        fills = [f"<li>{html.escape(spec.title)}: {html.escape(spec.license)}</li>"
                 for spec in specs if spec.kind == "classical"]
        return (
            f"<h3>FusionPaint {html.escape(version)}</h3>"
            "<p>Removes unwanted objects from photos with DFNet and DMFN deep inpainting, or a classical fill.</p>"
            "<p>Code: MIT license. Sample photo (coffee.png): CC0, from the scikit-image sample data.</p>"
            + (f"<p>Installed weights:</p><ul>{''.join(weights)}</ul>" if weights
               else "<p>No network weights are installed: removals use a classical fill.</p>")
            + f"<p>Classical fills:</p><ul>{''.join(fills)}</ul>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, "About FusionPaint", self.about_text())

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
        self._settings_writer.submit(lambda outcome: outcome[1] and self.message(f"Settings not saved: {outcome[1]}"),
                                     _outcome, save_settings, copy.deepcopy(self.settings))

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


__all__ = ["QtMainWindow", "NOT_LEARNED_LABEL", "HOLE_MASK_LABEL"]
