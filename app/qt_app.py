"""Starts the FusionPaint editor: ``run_app(paths)`` creates the QApplication and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from resources import ICONS_DIR


def _application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        # Fractional scale factors (125 %, 150 %) are passed through unrounded so the canvas can map one
        # image pixel to one physical pixel at "100 %" and stay sharp on high-DPI screens.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    app.setApplicationName("FusionPaint")
    app.setOrganizationName("FusionPaint")
    app.setWindowIcon(QIcon(str(ICONS_DIR / "fusionpaint.svg")))
    return app


def run_app(paths: list[str]) -> int:
    """Open the editor with the first photo of ``paths`` (if any) and run the event loop; returns the exit code."""
    app = _application()
    from app.qt_main_window import QtMainWindow

    window = QtMainWindow()
    window.show()
    if paths:
        first = str(Path(paths[0]))
        QTimer.singleShot(0, lambda: window.open_path(first))
        if len(paths) > 1:
            QTimer.singleShot(0, lambda: window.message(f"Opened the first of {len(paths)} photos; "
                                                        "the editor shows one photo at a time."))
    return int(app.exec())
