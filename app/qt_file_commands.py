"""The editor's file commands: open (dialog, drop, recent files), paste and copy, save and save as, and the mask and
alpha map exports. Photos are decoded and encoded on a helper thread; the GUI thread only swaps the result in.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import PIL.Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.document import Document
from app.messages import sentence
from app.qt_background import outcome
from app.qt_canvas_gestures import dropped_photos
from app.qt_canvas_images import display_images
from app.qt_window_layout import make_action
from app.qt_window_mixin import WindowMixin
from app.settings import add_recent_file
from engine.errors import ImageError, WriteError
from engine.formats import SUPPORTED_EXTENSIONS
from engine.imageio import Photo, load_image, save_image
from engine.masks_io import load_mask, save_mask

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from app.qt_background import BackgroundTasks
    from app.settings import Settings
    from engine.pipeline import InpaintResult

MAX_PASTE_PIXELS = PIL.Image.MAX_IMAGE_PIXELS
"""A pasted image obeys the same size limit as a photo file (Pillow's decompression-bomb limit)."""


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


def _image_filter() -> str:
    patterns = " ".join(f"*{ext}" for ext in SUPPORTED_EXTENSIONS)
    return f"Images ({patterns});;All files (*)"


class FileCommands(WindowMixin):
    """Open, paste, copy, save and export commands of :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    settings: Settings
    document: Document | None
    save_path: Path | None
    last_result: InpaintResult | None
    file_task: str | None
    recent_menu: QMenu
    _files: BackgroundTasks

    if TYPE_CHECKING:
        def message(self, text: str, timeout_ms: int = 6000) -> None: ...
        def _refuse_while_working(self, what: str) -> bool: ...
        def _set_document(self, document: Document | None, images: tuple[QImage, QImage] | None = None) -> None: ...
        def _update_actions(self) -> None: ...
        def _update_title(self) -> None: ...
        def _save_settings_quietly(self) -> None: ...

    def _build_file_actions(self) -> None:
        """The File menu's actions: ``act_open``, ``act_paste``, ``act_copy``, ``act_save``, ``act_save_as``,
        ``act_export_mask``, ``act_import_mask``, ``act_export_alpha``, ``act_keep_gps`` and ``act_quit``."""
        key = QKeySequence.StandardKey
        self.act_open = make_action(self, "&Open...", self.open_dialog, key.Open, tip="Open a photo (Ctrl+O)")
        self.act_save = make_action(self, "&Save", self.save, key.Save, tip="Save the cleaned photo (Ctrl+S)")
        self.act_paste = make_action(self, "&Paste photo", self.paste_photo, key.Paste,
                                     tip="Open the image on the clipboard (Ctrl+V)")
        self.act_copy = make_action(self, "&Copy photo", self.copy_photo, key.Copy,
                                    tip="Copy the current (cleaned) photo to the clipboard (Ctrl+C)")
        self.act_save_as = make_action(self, "Save &as...", self.save_as, "Ctrl+Shift+S")
        self.act_export_mask = make_action(self, "Export &mask...", self.export_mask, tip="PNG, white = hole")
        self.act_import_mask = make_action(self, "&Load mask...", self.import_mask, tip="PNG, white = hole")
        self.act_export_alpha = make_action(self, "Export &alpha map...", self.export_alpha)
        self.act_keep_gps = make_action(self, "Keep &location (GPS) when saving", self._set_keep_gps,
                                        checkable=True, tip="Off: the photo's GPS position is removed from saved files")
        self.act_keep_gps.setChecked(bool(self.settings.keep_gps))
        self.act_quit = make_action(self, "&Quit", self.close, key.Quit)

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

        self._files.submit(finish, outcome, function, *args)

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
            QMessageBox.critical(self, "Cannot open photo", sentence(str(error)))
            return
        document, images = opened
        self._set_document(document, images)
        self.settings.last_folder = str(path.parent)
        add_recent_file(self.settings, str(path))
        self._rebuild_recent_menu()
        self._save_settings_quietly()
        self.message(f"Opened {path.name}: {document.width} x {document.height} px, {document.photo.format}")

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
        if MAX_PASTE_PIXELS is not None and image.width() * image.height() > MAX_PASTE_PIXELS:
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
            QMessageBox.critical(self, "Cannot paste", sentence(text))
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
        assert self.document is not None, "asked with a photo open"
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
        assert self.document is not None, "asked with a photo open"
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
        assert doc is not None, "saved with a photo open"

        def written(warnings: tuple[str, ...] | None, error: BaseException | None) -> None:
            if error is not None:
                QMessageBox.critical(self, "Cannot save", sentence(str(error)))
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

    def _ask_png_target(self, title: str, stem_suffix: str) -> Path | None:
        """Ask where to export a PNG, proposing the photo's name plus ``stem_suffix`` beside it; None when the user
        cancels or keeps an existing file."""
        src = (self.document.photo.path if self.document else None) or Path.cwd() / "photo"
        path, _ = QFileDialog.getSaveFileName(self, title, str(src.with_name(f"{src.stem}{stem_suffix}.png")),
                                              "PNG (*.png)", options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return None
        target = Path(path).with_suffix(".png")
        return target if self._confirm_replace(target) else None

    def export_mask(self) -> None:
        if self.document is None:
            return
        target = self._ask_png_target("Export mask", "_mask")
        if target is None:
            return
        try:
            save_mask(target, np.asarray(self.document.mask))
        except (ImageError, WriteError, OSError) as exc:
            QMessageBox.critical(self, "Cannot export mask", sentence(str(exc)))
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
            QMessageBox.critical(self, "Cannot load mask", sentence(str(exc)))
            return
        self.document.set_mask(hole)
        self.message("; ".join(warnings) if warnings else f"Mask loaded from {Path(path).name}")

    def export_alpha(self) -> None:
        if self.last_result is None:
            self.message("No removal yet: the alpha map exists after the first removal.")
            return
        target = self._ask_png_target("Export alpha map", "_alpha")
        if target is None:
            return
        rgb = self.last_result.alpha_map()
        try:
            save_image(target, rgb)
        except (ImageError, WriteError, OSError) as exc:
            QMessageBox.critical(self, "Cannot export alpha map", sentence(str(exc)))
            return
        self.message(f"Alpha map saved to {target} (RGB, 255 = network output)")
