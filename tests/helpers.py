"""Small helpers shared by several test modules."""

from pathlib import Path

import numpy as np
from PIL import Image


def synthetic_rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """The tests' photo: uint8 (H, W, 3) RGB, smooth gradients with a little noise (seeded) and a dark square
    "object" in the middle third."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    np.full_like(xx, 128)], axis=2).astype(np.int32)
    rgb += rng.integers(-4, 5, size=rgb.shape)
    rgb[height // 3: 2 * height // 3, width // 3: 2 * width // 3] = (20, 20, 20)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def write_photo_folder(folder: Path, n: int = 4, size: int = 64) -> Path:
    """Write ``n`` distinct synthetic RGB photos (size x size PNG, smooth gradients) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size]
    for i in range(n):
        rgb = np.stack([(x * 4 + 40 * i) % 256, (y * 4) % 256, ((x + y) * 2 + 60 * i) % 256], -1)
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"photo{i}.png")
    return folder


def send_mouse(canvas, kind, pos, button=None, modifiers=None) -> None:
    """Deliver one mouse event of ``kind`` (QEvent.Type) at viewport position ``pos`` (QPointF) to a QGraphicsView
    ``canvas``, with the buttons held made explicit (unlike QTest.mouseMove): ``button`` (default left) is pressed
    for press and move, released for release. Used by the GUI tests, the GUI benchmark and the screenshot driver."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    button = Qt.MouseButton.LeftButton if button is None else button
    modifiers = Qt.KeyboardModifier.NoModifier if modifiers is None else modifiers
    viewport = canvas.viewport()
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    changed = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button
    event = QMouseEvent(kind, QPointF(pos), viewport.mapToGlobal(QPointF(pos)), changed, held, modifiers)
    QApplication.sendEvent(viewport, event)


def without_weights(monkeypatch, name: str, folder: Path) -> None:
    """For the test's duration, the built-in network ``name`` looks as if its weights file were not installed."""
    from dataclasses import replace

    from engine import registry

    absent = replace(registry.get_spec(name), weights_file=folder / "absent.safetensors")
    monkeypatch.setitem(registry._BUILTIN, name, absent)
