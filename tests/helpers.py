"""Small helpers shared by several test modules."""

import contextlib
from collections.abc import Iterator
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


def emblem_scene(height: int = 96, width: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A photo whose only magenta is an "emblem" touching the hole's right side, and a mask excluding it from the
    sampling area: (image uint8 (H, W, 3) RGB, hole bool (H, W), exclude bool (H, W)). Green noise elsewhere. Any
    fill that may sample the emblem copies magenta into the hole; see :func:`magenta_pixels`."""
    rng = np.random.default_rng(seed)
    image = (rng.integers(0, 60, (height, width, 1)) + np.array([40, 90, 40])).astype(np.uint8)
    cy, cx, sy, sx = height // 2, width // 2, height / 96, width / 128
    hole = np.zeros((height, width), bool)
    hole[round(cy - 15 * sy):round(cy + 15 * sy), round(cx - 24 * sx):round(cx + 20 * sx)] = True
    image[round(cy - 20 * sy):round(cy + 20 * sy), round(cx + 16 * sx):round(cx + 36 * sx)] = (250, 0, 250)
    exclude = np.zeros((height, width), bool)
    exclude[round(cy - 22 * sy):round(cy + 22 * sy), round(cx + 14 * sx):round(cx + 38 * sx)] = True
    return image, hole, exclude


def magenta_pixels(rgb: np.ndarray) -> int:
    """How many pixels of ``rgb`` (uint8 (..., 3), or float in [0, 1]) are magenta-ish, like :func:`emblem_scene`'s
    emblem (red above 60 %, green below 30 %)."""
    rgb = np.asarray(rgb, np.float32) / (255.0 if np.asarray(rgb).dtype == np.uint8 else 1.0)
    return int(((rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.3)).sum())


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


@contextlib.contextmanager
def without_weights(name: str, folder: Path) -> Iterator[None]:
    """Within the ``with`` block, the built-in network ``name`` looks as if its weights file (expected in ``folder``)
    were not installed."""
    from dataclasses import replace

    from engine.model_spec import temporarily_registered
    from engine.registry import get_spec

    absent = replace(get_spec(name), weights_file=folder / "absent.safetensors")
    with temporarily_registered(absent):
        yield


def smallest_run(arch: str) -> dict:
    """The smallest crop size (pixels) and batch the recipe of ``arch`` trains with on the CPU."""
    from trainer.arches import recipe_for
    from trainer.config import TrainConfig

    recipe = recipe_for(arch)
    for size in (64, 128, 256, 512):
        for batch in (1, 2):
            if recipe.config_problem(TrainConfig(arch=arch, data=".", size=size, batch=batch)) is None:
                return {"size": size, "batch": batch}
    raise AssertionError(f"no small size and batch for {arch}")
