"""Fixtures for the editor tests: tiny synthetic photos, non-blocking dialogs and a main window that cleans up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import synthetic_rgb

EXIF_MAKE = "FusionPaintTestCamera"


def write_photo(path: Path, rgb: np.ndarray, *, exif_make: str | None = EXIF_MAKE) -> Path:
    """Write ``rgb`` with Pillow; JPEGs get an EXIF Make tag and quality 95."""
    im = Image.fromarray(rgb)
    kwargs = {}
    if exif_make is not None:
        exif = Image.Exif()
        exif[0x010F] = exif_make
        kwargs["exif"] = exif.tobytes()
    if path.suffix.lower() in (".jpg", ".jpeg"):
        kwargs["quality"] = 95
    im.save(path, **kwargs)
    return path


@pytest.fixture
def photo_file(tmp_path) -> Path:
    """A 64 x 48 JPEG with EXIF in a temporary folder."""
    return write_photo(tmp_path / "photo.jpg", synthetic_rgb())


@pytest.fixture
def png_file(tmp_path) -> Path:
    """A lossless 64 x 48 PNG (exact pixel comparisons)."""
    return write_photo(tmp_path / "photo.png", synthetic_rgb(), exif_make=None)


@dataclass
class DialogLog:
    """What the patched QMessageBox / QFileDialog / QInputDialog were asked, and what they answer."""

    shown: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, title, text)
    question_answer: object = None
    save_path: str = ""
    open_path: str = ""
    int_answer: tuple[int, bool] = (4, True)

    def kinds(self) -> list[str]:
        return [kind for kind, _title, _text in self.shown]


@pytest.fixture
def dialogs(monkeypatch) -> DialogLog:
    """Patch every static dialog the window uses so no test can block on a modal dialog."""
    from PySide6.QtWidgets import QColorDialog, QFileDialog, QInputDialog, QMessageBox

    log = DialogLog(question_answer=QMessageBox.StandardButton.No)

    def recorder(kind):
        def show(_parent, title, text, *args, **kwargs):
            log.shown.append((kind, title, text))
            if kind == "question":
                return log.question_answer
            return QMessageBox.StandardButton.Ok
        return show

    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, recorder(kind))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (log.save_path, ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (log.open_path, ""))
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: log.int_answer)
    from PySide6.QtGui import QColor

    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor())
    return log


def finish_files(qtbot, window) -> None:
    """Wait until the window has decoded or written its photo (open and save run on a helper thread)."""
    qtbot.waitUntil(lambda: window.file_task is None, timeout=10_000)


@pytest.fixture
def make_main_window(qtbot, dialogs):
    """Factory for main windows (400 x 320 canvas area); every window is closed and its worker stopped."""
    from PySide6.QtWidgets import QMessageBox

    from app.qt_main_window import QtMainWindow

    windows = []

    def make(**kwargs):
        window = QtMainWindow(**kwargs)
        qtbot.addWidget(window)
        window.resize(720, 560)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    dialogs.question_answer = QMessageBox.StandardButton.Discard
    for window in windows:
        if window.isVisible():
            window.close()
        window.bridge.shutdown(wait=True)


@pytest.fixture
def main_window(make_main_window):
    """One main window, closed and cleaned up after the test."""
    return make_main_window()
