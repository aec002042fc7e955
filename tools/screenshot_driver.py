"""Drive the editor through open -> mask -> remove -> alpha view and save a PNG of each state.

Usage: python tools/screenshot_driver.py OUT_DIR [--sample coffee.png] [--model NAME]
Run it under a display (tools/screenshots.sh starts Xvfb); QT_QPA_PLATFORM=offscreen works too.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QBuffer, QEvent, QIODevice  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from resources import SAMPLES_DIR  # noqa: E402
from tests.helpers import send_mouse  # noqa: E402


def save_screenshot(qimage, path: Path) -> None:
    """Save a QImage as a true-colour JPEG (quality 92, no chroma subsampling: text stays crisp, no banding)."""
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buf, "PNG")
    Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB").save(path, quality=92, subsampling=0, optimize=True)


def pump(app: QApplication, seconds: float = 0.2) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def paint_mask(window, mask_file: Path | None) -> None:
    """Paint the object: brush strokes over the sample's mask (or over the synthetic pole)."""
    from engine.masks_io import load_mask

    doc, canvas = window.document, window.canvas
    if mask_file is not None and mask_file.is_file():
        hole, _warnings = load_mask(mask_file, (doc.height, doc.width))
    else:
        hole = np.zeros((doc.height, doc.width), bool)
        hole[100:520, 430:470] = True
    ys, xs = np.nonzero(hole)
    window.set_tool_size(max(6, int(0.12 * min(np.ptp(ys) + 1, np.ptp(xs) + 1))))
    radius = canvas.current_radius()
    step = max(2, int(radius))
    # Raster strokes across the mask's rows, clipped to the mask, like a person painting over the object.
    for y in range(int(ys.min()), int(ys.max()) + 1, step):
        cols = xs[ys == y]
        if cols.size == 0:
            continue
        a = canvas.map_from_image(float(cols.min()) + 0.5, y + 0.5)
        b = canvas.map_from_image(float(cols.max()) + 0.5, y + 0.5)
        send_mouse(canvas, QEvent.Type.MouseButtonPress, a)
        send_mouse(canvas, QEvent.Type.MouseMove, b)
        send_mouse(canvas, QEvent.Type.MouseButtonRelease, b)
    doc.set_mask(np.asarray(doc.mask) | hole)  # close any gaps the strokes left
    window.grow_mask(4)
    # Leave the brush circle visible on the canvas.
    mid = canvas.map_from_image(float(xs.mean()), float(ys.max()) + radius + 15)
    send_mouse(canvas, QEvent.Type.MouseMove, mid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sample", default="coffee.png")
    parser.add_argument("--model", default=None, help="a model name (default: the editor's default model)")
    parser.add_argument("--size", default="1200x760")
    args = parser.parse_args(argv)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.qt_main_window import QtMainWindow

    photo = SAMPLES_DIR / args.sample
    mask_file = photo.with_name(f"{photo.stem}_mask.png")
    if not photo.is_file():
        raise SystemExit(f"sample photo not found: {photo}")
    width, height = (int(v) for v in args.size.split("x"))
    window = QtMainWindow()
    window.resize(width, height)
    window.move(0, 0)
    window.show()
    pump(app, 0.5)
    window.open_path(photo)
    while window.file_task:  # decoded on a helper thread
        pump(app, 0.05)
    if window.document is None:
        print(f"error: cannot open {photo}", file=sys.stderr)
        return 1
    if args.model is not None:
        window.select_model(args.model)
    pump(app)
    window.act_fit.trigger()
    pump(app)
    shots = []

    def shot(name: str) -> None:
        pump(app, 0.3)
        deadline = time.perf_counter() + 30
        while window.canvas.images_pending and time.perf_counter() < deadline:  # heat map, raw view
            pump(app, 0.05)
        pump(app, 0.1)
        path = out / f"{name}.jpg"
        save_screenshot(window.grab().toImage(), path)
        shots.append(path)

    shot("01_opened")
    paint_mask(window, mask_file)
    shot("02_mask")
    window.remove()
    deadline = time.perf_counter() + 300
    while window.busy and time.perf_counter() < deadline:
        pump(app, 0.05)
    if window.busy or window.last_result is None:
        print("error: the removal did not finish", file=sys.stderr)
        return 1
    window.canvas._update_cursor_circle(None)
    shot("03_result")
    if shutil.which("import") and os.environ.get("DISPLAY"):
        pump(app, 0.3)
        subprocess.run(["import", "-window", "root", str(out / "screen_result.png")], check=False, timeout=60)
    window.canvas.set_split_position(0.72)
    window.act_split.trigger()
    shot("04_split_compare")
    window.act_split.trigger()
    window.alpha_slider.setValue(75)
    window.act_alpha.trigger()
    shot("05_alpha_overlay")
    window.act_alpha_alone.trigger()
    shot("06_alpha_alone")
    window.act_alpha.trigger()
    window.document.mark_saved()  # nothing to ask at exit
    window.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
