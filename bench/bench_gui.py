"""Editor benchmark on a 24-megapixel photo: start-up, brush latency, GUI-thread stalls and a 20-removal session.

Prints a table and a JSON line; not a test. Usage:
    python bench/bench_gui.py [--width 6000 --height 4000 --events 100 --removals 20 --repeats 3 --model opencv-telea]
Runs offscreen unless a display is set. Targets: window on screen <= 1.5 s after the process starts, median brush
latency <= 16 ms, peak RSS <= 1.5 GB.

Start-up = from launching ``python -c`` (a fresh process, median of 3) to the main window shown and its first
events processed, the way ``fusionpaint`` starts the editor.

Brush latency = time from delivering one mouse-move event (button held) to the end of the viewport
repaint it caused (the paint event has been handled), at two zooms: fit-to-window and 100 %.

Stalls = the longest time the GUI thread went without running its event loop (a 5 ms timer's longest gap; target
<= 100 ms) while opening the photo, during a removal of a lasso covering 13 % of it (from Enter to the result on
screen; target: no more than the engine's own time + 0.3 s), and when the alpha map ("alone") and the raw view are
turned on after it, while the object tool finds the disc in a box dragged around it (GrabCut on a helper
thread; from the mouse release to its mask on screen), and for the sampling area: while a brush stroke paints the
exclude mask across the photo (at fit zoom, with its latency) and during the lasso removal that honours it. Each is
measured ``--repeats`` times (default 3): the median, and the worst ("_worst").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FUSIONPAINT_HOME", tempfile.mkdtemp(prefix="fusionpaint_bench_"))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from memory import peak_rss_bytes  # noqa: E402  (bench/memory.py, beside this script)
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QPointF, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.helpers import send_mouse  # noqa: E402

MB = 1024 * 1024


OBJECT = (0.8, 0.3, 0.12)
"""The photo's object for the object tool: a dark red disc, its centre (x, y) as fractions of the width and height and
its radius as a fraction of the height (clear of the lasso removal's ellipse)."""


def make_photo(path: Path, width: int, height: int) -> Path:
    """A synthetic photo: smooth gradients plus noise, and a dark red disc (:data:`OBJECT`) (JPEG quality 92)."""
    import cv2

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([xx / width * 200 + 30, yy / height * 180 + 40, (xx + yy) / (width + height) * 120 + 60], axis=2)
    cv2.circle(rgb, (round(OBJECT[0] * width), round(OBJECT[1] * height)), round(OBJECT[2] * height),
               (120, 20, 30), -1)
    rgb += rng.normal(0, 6, size=(height, width, 1)).astype(np.float32)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


class PaintCounter(QObject):
    """Counts paint events of the viewport."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


STARTUP_CODE = (
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication([])\n"
    "from app.qt_main_window import QtMainWindow\n"
    "window = QtMainWindow(); window.show(); app.processEvents()\n"
    "print('shown', flush=True)\n"
)


def startup_seconds(runs: int = 3) -> float:
    """Median seconds from launching a fresh Python process to the editor's window on screen."""
    import subprocess

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", STARTUP_CODE], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "shown", "the editor did not start"
        times.append(time.perf_counter() - t0)
        child.wait(timeout=60)
    return statistics.median(times)


def rss() -> int:
    return psutil.Process().memory_info().rss


def brush_latency(app, window, events: int, zoom: str) -> list[float]:
    """Latencies in ms of ``events`` mouse moves of one brush stroke across the visible photo."""
    canvas = window.canvas
    if zoom == "fit":
        canvas.zoom_fit()
    else:
        canvas.zoom_actual()
        canvas.centerOn(canvas.document.width / 2, canvas.document.height / 2)
    app.processEvents()
    counter = PaintCounter()
    canvas.viewport().installEventFilter(counter)
    vp = canvas.viewport().rect()
    a = QPointF(vp.width() * 0.15, vp.height() * 0.3)
    b = QPointF(vp.width() * 0.85, vp.height() * 0.7)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, a)
    app.processEvents()
    out = []
    for i in range(1, events + 1):
        p = a + (b - a) * (i / events)
        before = counter.count
        t0 = time.perf_counter()
        send_mouse(canvas, QEvent.Type.MouseMove, p)
        deadline = t0 + 2.0
        while counter.count == before and time.perf_counter() < deadline:
            app.processEvents()
        out.append((time.perf_counter() - t0) * 1000.0)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, b)
    app.processEvents()
    canvas.viewport().removeEventFilter(counter)
    return out


class StallMeter:
    """The longest gap, in seconds, between ticks of a 5 ms timer on the GUI thread: how long it was blocked."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def __enter__(self) -> StallMeter:
        self.last, self.longest = time.perf_counter(), 0.0
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._tick()
        self.timer.stop()


def settle(app, seconds: float = 0.2) -> None:
    """Run the event loop for ``seconds`` (pending paints and timers)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def lasso_removal(app, window, repeats: int = 3) -> dict:
    """Remove a lasso covering 13 % of the photo, then turn on the alpha map alone and the raw view; ``repeats``
    times (undoing the removal in between). Medians, and the worst stall of all repeats."""
    doc = window.document
    hole = lasso_hole(doc)
    figures: dict[str, list[float]] = {}
    for _ in range(repeats):
        doc.set_mask(hole)
        settle(app)
        with StallMeter() as removal:
            t0 = time.perf_counter()
            window.remove()
            while window.busy and time.perf_counter() - t0 < 600:
                app.processEvents()
                time.sleep(0.001)
            app.processEvents()  # the result's repaint
            on_screen = time.perf_counter() - t0
        engine = window.last_result.timings["total"]
        settle(app)
        with StallMeter() as alpha:
            window.act_alpha_alone.trigger()
            settle(app, 0.5)
        window.act_alpha_alone.trigger()
        settle(app)
        with StallMeter() as raw:
            window.act_raw.trigger()
            settle(app, 0.5)
        window.act_raw.trigger()
        settle(app)
        doc.undo()
        for key, value in (("lasso_enter_to_screen_s", on_screen), ("lasso_engine_s", engine),
                           ("lasso_stall_ms", removal.longest * 1000), ("alpha_alone_stall_ms", alpha.longest * 1000),
                           ("raw_view_stall_ms", raw.longest * 1000)):
            figures.setdefault(key, []).append(value)
    out = {key: statistics.median(values) for key, values in figures.items()}
    out.update({f"{key}_worst": max(values) for key, values in figures.items() if key.endswith("stall_ms")})
    return out


def object_selection(app, window, repeats: int = 3) -> dict:
    """Drag the object tool's box around the photo's disc (at fit zoom) and wait for its mask, ``repeats`` times
    (clearing the mask in between): the time from the release to the mask on screen and the longest GUI stall
    meanwhile (medians and the worst), and the share of the disc the mask covers."""
    doc, canvas = window.document, window.canvas
    canvas.zoom_fit()
    window.set_tool("object")
    cx, cy, r = OBJECT[0] * doc.width, OBJECT[1] * doc.height, OBJECT[2] * doc.height
    a, b = canvas.map_from_image(cx - 1.25 * r, cy - 1.25 * r), canvas.map_from_image(cx + 1.25 * r, cy + 1.25 * r)
    figures: dict[str, list[float]] = {}
    for _ in range(repeats):
        doc.clear_mask()
        settle(app)
        with StallMeter() as stall:
            send_mouse(canvas, QEvent.Type.MouseButtonPress, a)
            send_mouse(canvas, QEvent.Type.MouseMove, b)
            t0 = time.perf_counter()
            send_mouse(canvas, QEvent.Type.MouseButtonRelease, b)
            while window.objects.busy and time.perf_counter() - t0 < 600:
                app.processEvents()
                time.sleep(0.001)
            app.processEvents()  # the mask's repaint
            found = time.perf_counter() - t0
        yy, xx = np.ogrid[0:doc.height, 0:doc.width]
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= (r - 2) ** 2
        for key, value in (("object_release_to_screen_s", found), ("object_stall_ms", stall.longest * 1000),
                           ("object_disc_covered", float(doc.mask[disc].mean()))):
            figures.setdefault(key, []).append(value)
    doc.clear_mask()
    window.set_tool("brush")
    out = {key: statistics.median(values) for key, values in figures.items()}
    out["object_stall_ms_worst"] = max(figures["object_stall_ms"])
    return out


def lasso_hole(doc) -> np.ndarray:
    """A lasso-like hole covering 13 % of the photo: a tilted ellipse in its middle, bool (H, W)."""
    import cv2

    hole = np.zeros((doc.height, doc.width), np.uint8)
    axes = (int(doc.width * 0.23), int(doc.height * 0.18))  # pi * 0.23 * 0.18 = 13 % of the photo
    cv2.ellipse(hole, (doc.width // 2, doc.height // 2), axes, 20, 0, 360, 1, -1)
    return hole.astype(bool)


def sampling_exclude(app, window, events: int, repeats: int = 3) -> dict:
    """Paint the exclude mask with one brush stroke of ``events`` moves across the photo (Sampling: exclude, fit
    zoom), then remove the lasso hole with that sampling area, ``repeats`` times (undoing both in between): the
    stroke's median latency, the longest GUI stalls while painting and during the removal (medians and the worst),
    the removal's time from Enter to the result on screen, and the share of the photo excluded."""
    doc = window.document
    figures: dict[str, list[float]] = {}
    for _ in range(repeats):
        window.set_sampling_exclude(True)
        settle(app)
        with StallMeter() as painting:
            latencies = brush_latency(app, window, events, "fit")
        excluded = float(doc.exclude.mean())
        window.set_sampling_exclude(False)
        doc.set_mask(lasso_hole(doc))
        settle(app)
        with StallMeter() as removal:
            t0 = time.perf_counter()
            window.remove()
            while window.busy and time.perf_counter() - t0 < 600:
                app.processEvents()
                time.sleep(0.001)
            app.processEvents()
            on_screen = time.perf_counter() - t0
        settle(app)
        doc.undo()  # the removal
        doc.undo()  # the hole
        doc.undo()  # the exclude stroke
        settle(app)
        for key, value in (("exclude_brush_latency_ms", statistics.median(latencies)),
                           ("exclude_paint_stall_ms", painting.longest * 1000),
                           ("exclude_removal_to_screen_s", on_screen),
                           ("exclude_removal_stall_ms", removal.longest * 1000), ("excluded_share", excluded)):
            figures.setdefault(key, []).append(value)
    out = {key: statistics.median(values) for key, values in figures.items()}
    out.update({f"{key}_worst": max(values) for key, values in figures.items() if key.endswith("stall_ms")})
    return out


def removal_session(app, window, removals: int) -> dict:
    doc = window.document
    rng = np.random.default_rng(1)
    peak = rss()
    times = []
    for _ in range(removals):
        cx, cy = rng.uniform(0.1, 0.9) * doc.width, rng.uniform(0.1, 0.9) * doc.height
        doc.begin_stroke()
        doc.stroke_to(cx, cy, 60)
        doc.stroke_to(cx + 250, cy + 120, 60)
        doc.end_stroke()
        t0 = time.perf_counter()
        window.remove()
        while window.busy and time.perf_counter() - t0 < 600:
            app.processEvents()
            time.sleep(0.002)
            peak = max(peak, rss())
        times.append(time.perf_counter() - t0)
        peak = max(peak, rss())
    peak = max(peak, peak_rss_bytes())
    return {"removal_s_median": statistics.median(times), "peak_rss_mb": peak / MB, "final_rss_mb": rss() / MB,
            "history_mb": doc.history.nbytes / MB, "removals": removals}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FusionPaint editor benchmark")
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--removals", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="lasso removals measured for the stall figures")
    parser.add_argument("--model", default="opencv-telea")
    args = parser.parse_args(argv)

    startup_s = startup_seconds()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.qt_main_window import QtMainWindow

    base = rss()
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp) / "photo24mp.jpg", args.width, args.height)
        window = QtMainWindow()
        window.resize(1400, 900)
        window.show()
        app.processEvents()
        open_times, open_stalls = [], []
        for _ in range(3):
            with StallMeter() as opening:
                t0 = time.perf_counter()
                assert window.open_path(photo), "cannot open the benchmark photo"
                while window.file_task:  # decoded on a helper thread; the event loop runs meanwhile
                    app.processEvents()
                    time.sleep(0.001)
                assert window.document is not None, "cannot open the benchmark photo"
                open_times.append(time.perf_counter() - t0)
                app.processEvents()
            open_stalls.append(opening.longest * 1000)
            settle(app)
        open_s = statistics.median(open_times)
        after_open = rss()
        window.select_model(args.model)
        window.set_tool_size(60)
        lat = {zoom: brush_latency(app, window, args.events, zoom) for zoom in ("fit", "100%")}
        window.document.clear_mask()
        lasso = lasso_removal(app, window, args.repeats)
        window.document.clear_mask()
        objects = object_selection(app, window, args.repeats)
        sampling = sampling_exclude(app, window, args.events, args.repeats)
        session = removal_session(app, window, args.removals)
        window.document.mark_saved()
        window.close()
        window.bridge.shutdown()

    figures = {
        "photo": f"{args.width}x{args.height}",
        "platform": QApplication.platformName(),
        "startup_s": startup_s,
        "open_s": open_s,
        "open_stall_ms": statistics.median(open_stalls),
        "open_stall_ms_worst": max(open_stalls),
        **lasso,
        **objects,
        **sampling,
        "rss_after_open_mb": after_open / MB,
        "rss_baseline_mb": base / MB,
        **{f"brush_latency_ms_median_{z}": statistics.median(v) for z, v in lat.items()},
        **{f"brush_latency_ms_p95_{z}": float(np.percentile(v, 95)) for z, v in lat.items()},
        **session,
        "model": args.model,
    }
    print(f"{'figure':34s} {'value':>12s}  target")
    targets = {"startup_s": "<= 1.5", "brush_latency_ms_median_fit": "<= 16", "brush_latency_ms_median_100%": "<= 16",
               "peak_rss_mb": "<= 1536", "open_stall_ms": "<= 100", "lasso_stall_ms": "<= 100",
               "alpha_alone_stall_ms": "<= 100", "raw_view_stall_ms": "<= 100", "object_stall_ms": "<= 100",
               "exclude_paint_stall_ms": "<= 100", "exclude_removal_stall_ms": "<= 100",
               "exclude_brush_latency_ms": "<= 16", "lasso_enter_to_screen_s": "<= engine + 0.3"}
    for key, value in figures.items():
        text = f"{value:12.2f}" if isinstance(value, float) else f"{value!s:>12s}"
        print(f"{key:34s} {text}  {targets.get(key, '')}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
