"""The editing canvas: a QGraphicsView that shows a Document and turns mouse gestures into mask edits.

Scene coordinates are image pixel coordinates: pixel (col i, row j) covers [i, i+1) x [j, j+1), so the
mask stays exact at any zoom. The canvas never owns pixels or mask: it reads ``Document.image`` /
``Document.mask`` and calls the Document's editing methods; the Document's listener tells it which box
changed, and only that box is converted and repainted:

- the photo is one :class:`QtImageItem` (a QImage in Format_RGB32 whose memory is a numpy view); an image
  change copies only the changed box into it and repaints that rectangle;
- the mask overlay is another QImage (premultiplied ARGB) updated box by box; its opacity is the item's;
- the original photo (hold-to-compare / split view), the raw prediction and the alpha heat map are extra
  items created on first use.

Zoom is the view's scale (view pixels per image pixel, in device-independent pixels); "100 %" maps one
image pixel to one physical screen pixel, so photos stay sharp on high-DPI screens.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QCursor, QImage, QPainter, QPainterPath, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QPushButton,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from app.qt_background import BackgroundTasks
from engine.imageio import SUPPORTED_EXTENSIONS
from engine.regions import Box

TOOLS = ("brush", "eraser", "lasso", "rect", "object")
MAX_TOOL_SIZE = 2000
"""Largest brush or eraser diameter, image pixels."""
EXCLUDE_COLOR = "#22b8ff"
"""Overlay colour of the exclude mask (where the fill must not sample), shown at the hole overlay's opacity."""
MIN_ZOOM = 0.01
MAX_ZOOM = 64.0
WHEEL_STEP = 1.2


SPLIT_GRAB_PX = 6
"""Screen pixels either side of the split divider where a left drag moves it instead of painting."""


def _bgra_view(image: QImage) -> np.ndarray:
    """Writable numpy view (H, W, 4) uint8 (B, G, R, A in memory) onto a 32-bit QImage's pixels."""
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    flat = np.frombuffer(image.bits(), np.uint8)
    return flat.reshape(h, bpl)[:, : 4 * w].reshape(h, w, 4)


HEAT_STOPS = np.array(
    [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99],
     [170, 220, 50], [253, 231, 37]], np.float32)
"""The heat map's colour scale (viridis: perceptually even, readable with colour blindness; its 0 is a dark purple,
not black, so it stands out from the black behind "alpha map alone")."""
HEAT_GAMMA = 0.4
"""An alpha value sits at ``alpha ** HEAT_GAMMA`` of the colour scale, so a map mostly near 0 (DFNet's) still shows
its values: 0.05 is a third of the way up, 0.1 two fifths."""
LEGEND_TICKS = (0.0, 0.1, 0.5, 1.0)
"""Alpha values marked on the heat map's legend."""


def heat_colors(positions: np.ndarray) -> np.ndarray:
    """Map positions in [0, 1] (any shape) on the heat map's scale (:data:`HEAT_STOPS`) to RGB uint8 (..., 3)."""
    stops = np.linspace(0.0, 1.0, len(HEAT_STOPS), dtype=np.float32)
    v = np.clip(positions, 0.0, 1.0).astype(np.float32)
    out = np.empty(v.shape + (3,), np.uint8)
    for c in range(3):
        out[..., c] = np.interp(v, stops, HEAT_STOPS[:, c]).astype(np.uint8)
    return out


def heat_position(alpha: np.ndarray | float) -> np.ndarray:
    """Where alpha values in [0, 1] sit on the heat map's colour scale (0..1): ``alpha ** HEAT_GAMMA``."""
    return np.clip(np.asarray(alpha, np.float32), 0.0, 1.0) ** HEAT_GAMMA


def dropped_photos(mime) -> list[str]:
    """Local files of a drag (QMimeData) whose extension is a photo format FusionPaint opens."""
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return [path for path in paths if path.lower().endswith(tuple(SUPPORTED_EXTENSIONS))]


def rgb_to_bgra(rgb: np.ndarray, out: np.ndarray) -> None:
    """Write RGB uint8 (h, w, 3) into ``out``, a (h, w, 4) uint8 B, G, R, A view, with A = 255 (OpenCV, in place)."""
    converted = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA, dst=out)
    if converted is not out and not np.may_share_memory(converted, out):  # OpenCV could not write into the view
        out[...] = converted


def _opaque_pixel(color: QColor) -> np.uint32:
    """``color`` as one opaque pixel of a 32-bit QImage (B, G, R, A in memory)."""
    return np.array([color.blue(), color.green(), color.red(), 255], np.uint8).view(np.uint32)[0]


def _rgb_image(rgb: np.ndarray) -> QImage:
    """RGB uint8 (H, W, 3) as a new RGB32 QImage."""
    image = QImage(rgb.shape[1], rgb.shape[0], QImage.Format.Format_RGB32)
    rgb_to_bgra(rgb, _bgra_view(image))
    return image


def _transparent_image(height: int, width: int) -> QImage:
    """A new fully transparent premultiplied ARGB32 image. Cleared by numpy, which releases Python's lock:
    ``QImage.fill`` holds it (45 ms for 24 MP, the GUI thread frozen meanwhile when called on a helper thread)."""
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    _bgra_view(image)[...] = 0
    return image


def display_images(rgb: np.ndarray) -> tuple[QImage, QImage]:
    """The canvas's images for a photo's RGB uint8 (H, W, 3) pixels: (photo in RGB32, a transparent mask overlay in
    premultiplied ARGB32). QImages, not pixmaps, so a 24 MP photo's ~200 MB of them can be made off the GUI thread
    (see :meth:`QtCanvas.set_document`)."""
    height, width = rgb.shape[:2]
    return _rgb_image(rgb), _transparent_image(height, width)


@dataclass(frozen=True)
class ResultMaps:
    """What the alpha and raw views of one removal show.

    windows: (box, alpha uint8 (h, w, 3), 255 = model output; raw RGB uint8 (h, w, 3)) per context window, as in
    ``engine.pipeline.WindowResult``. hole: bool (H, W), the mask the removal filled; band_px: its seam band (the
    pixels beyond it were copied from the photo). legend: the heat map's title and what its 0 and 1 mean in the hole
    and outside it; raw_label: what the raw view shows.
    """

    windows: tuple[tuple[Box, np.ndarray, np.ndarray], ...]
    hole: np.ndarray
    band_px: int
    legend: tuple[str, str, str]
    raw_label: str


def _seam_weights(hole: np.ndarray, band_px: int) -> np.ndarray:
    """uint8 (h, w): the seam band's feather weights of ``hole`` (bool) as ``engine.pipeline.feather_weights``
    makes them, times 255: 255 on the hole, 255 * (1 - d / (band_px + 1)) at distance d <= band_px, 0 beyond."""
    hole8 = hole.view(np.uint8)
    if band_px <= 0:
        return cv2.compare(hole8, 0, cv2.CMP_GT)
    distance = cv2.distanceTransform(cv2.compare(hole8, 0, cv2.CMP_EQ), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    within = cv2.threshold(distance, float(band_px), 1.0, cv2.THRESH_BINARY_INV)[1]
    weights = cv2.addWeighted(distance, -255.0 / (band_px + 1), distance, 0.0, 255.0)
    return cv2.convertScaleAbs(cv2.multiply(weights, within))


def _seam_region(hole: np.ndarray, band_px: int) -> np.ndarray:
    """uint8 (h, w): 255 on ``hole`` (bool) and within ``band_px`` of it (what a removal may change), else 0."""
    return cv2.compare(_seam_weights(hole, band_px), 0, cv2.CMP_GT)


def _copy_masked(src: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    """Copy ``src`` into ``out`` (a view of its shape) where ``mask`` (uint8 (h, w)) is not 0 (OpenCV, in place)."""
    copied = cv2.copyTo(src, mask, out)
    if copied is not out and not np.may_share_memory(copied, out):  # OpenCV could not write into the view
        out[...] = copied


def heat_image(height: int, width: int, windows, hole: np.ndarray, band_px: int, alone: bool) -> QImage:
    """The heat map of composition alpha ``windows`` ((box, uint8 (h, w, 3) or (h, w)), 255 = model output) as a
    (height, width) premultiplied ARGB32 image, coloured on the ``hole`` (bool (H, W)) and its ``band_px`` seam band,
    transparent elsewhere. Over the photo (``alone`` False) the hole is opaque whatever its alpha (there 0 is the
    pre-fill, not the photo) and the band fades with its alpha to the photo; alone, all of it is opaque. Colours
    follow :func:`heat_position`.

    A QImage, not a pixmap, so it can be built off the GUI thread; OpenCV does the per-pixel work, which lets the GUI
    thread run meanwhile (numpy's indexing would hold Python's lock for tens of ms)."""
    image = _transparent_image(height, width)
    pixels = _bgra_view(image)
    opaque, fading = _heat_tables()
    for (y0, x0, y1, x1), alpha in windows:
        if alpha.ndim == 3:  # mean of the 3 channels, rounded
            level = cv2.transform(alpha, np.full((1, 3), 1.0 / 3.0, np.float32))
        else:
            level = alpha
        levels = cv2.merge([level] * 4)
        crop = hole[y0:y1, x0:x1]
        out = pixels[y0:y1, x0:x1]
        _copy_masked(cv2.LUT(levels, opaque if alone else fading), _seam_region(crop, band_px), out)
        if not alone:
            _copy_masked(cv2.LUT(levels, opaque), crop.view(np.uint8), out)
    return image


@functools.cache
def _heat_tables() -> tuple[np.ndarray, np.ndarray]:
    """(opaque, fading): (1, 256, 4) uint8 premultiplied B, G, R, A of the heat map for each alpha level 0..255.
    The fading table's opacity is the level's place on the colour scale (0: the photo shows through)."""
    position = heat_position(np.arange(256, dtype=np.float32) / 255.0)
    rgb = heat_colors(position).astype(np.float32)
    tables = []
    for weight in (np.ones_like(position), position):
        table = np.empty((1, 256, 4), np.uint8)
        for c, src in ((0, 2), (1, 1), (2, 0)):
            table[0, :, c] = (rgb[:, src] * weight + 0.5).astype(np.uint8)
        table[0, :, 3] = (255.0 * weight + 0.5).astype(np.uint8)
        tables.append(table)
    return tables[0], tables[1]


def raw_image(height: int, width: int, windows, hole: np.ndarray, band_px: int) -> QImage:
    """The raw view's image: each window's raw model output ((box, RGB uint8 (h, w, 3))) where the removal used it,
    as a (height, width) premultiplied ARGB32 image: opaque on the ``hole``, fading out across its ``band_px`` seam
    band as the feather does, transparent beyond (the photo shows there: the output beyond the band was never used
    and is not meaningful). Built off the GUI thread, as :func:`heat_image` (windows never overlap)."""
    image = _transparent_image(height, width)
    pixels = _bgra_view(image)
    for (y0, x0, y1, x1), raw in windows:
        weights = _seam_weights(hole[y0:y1, x0:x1], band_px)
        pixels[y0:y1, x0:x1] = cv2.multiply(cv2.cvtColor(raw, cv2.COLOR_RGB2BGRA), cv2.merge([weights] * 4),
                                            scale=1.0 / 255.0)
    return image


def hole_outline(hole: np.ndarray, boxes) -> QPainterPath:
    """The outline of ``hole`` (bool (H, W)) within ``boxes``, in image coordinates through the centres of its edge
    pixels, simplified to within a pixel (built off the GUI thread)."""
    path = QPainterPath()
    for y0, x0, y1, x1 in boxes:
        crop = np.ascontiguousarray(hole[y0:y1, x0:x1]).view(np.uint8)
        contours, _ = cv2.findContours(crop, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            points = cv2.approxPolyDP(contour, 0.7, True)[:, 0, :] + (x0 + 0.5, y0 + 0.5)
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points.tolist()]))
            path.closeSubpath()
    return path


def _draw_tag(painter: QPainter, at: QPointF, text: str, right_aligned: bool = False) -> QRectF:
    """A small label on a dark rounded box, its top-left (or top-right) corner at ``at`` (screen pixels); returns
    the box."""
    metrics = painter.fontMetrics()
    width, height = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
    box = QRectF(at.x() - width if right_aligned else at.x(), at.y(), width, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 160))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    return box


def _draw_heat_legend(painter: QPainter, legend: tuple[str, str, str], bottom_left: QPointF, room: float) -> QRectF:
    """The heat map's legend in a dark panel whose bottom-left corner is at ``bottom_left`` (screen pixels), at most
    ``room`` wide: its title, the colour scale with the alpha values of :data:`LEGEND_TICKS` marked, and what 0 and 1
    mean in the hole and outside it. Returns the panel."""
    title, inside, outside = legend
    metrics = painter.fontMetrics()
    pad, line, strip_h = 8, metrics.height(), 10
    width = max(metrics.horizontalAdvance(text) for text in legend) + 4
    width = max(60.0, min(float(width), room - 2 * pad))
    height = 4 * line + strip_h + 12
    x, y = bottom_left.x() + pad, bottom_left.y() - pad - height
    panel = QRectF(x - pad, y - pad, width + 2 * pad, height + 2 * pad)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 180))
    painter.drawRoundedRect(panel, 4, 4)
    painter.setPen(QColor(255, 255, 255))

    def text_line(top: float, text: str) -> None:
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width))
        painter.drawText(QRectF(x, top, width, line), Qt.AlignmentFlag.AlignLeft, elided)

    text_line(y, title)
    strip_w = int(width)
    colours = heat_colors(np.linspace(0.0, 1.0, strip_w))
    strip = QImage(np.ascontiguousarray(colours[None, :, :]).tobytes(), strip_w, 1, 3 * strip_w,
                   QImage.Format.Format_RGB888)
    top = y + line + 4
    painter.drawImage(QRectF(x, top, strip_w, strip_h), strip)
    for value in LEGEND_TICKS:
        at = x + float(heat_position(value)) * strip_w
        painter.drawLine(QPointF(at, top + strip_h), QPointF(at, top + strip_h + 3))
        label = f"{value:g}"
        half = metrics.horizontalAdvance(label) / 2
        left = min(max(at - half, x), x + strip_w - 2 * half)
        painter.drawText(QRectF(left, top + strip_h + 3, 2 * half + 1, line), Qt.AlignmentFlag.AlignLeft, label)
    text_line(top + strip_h + 5 + line, inside)
    text_line(top + strip_h + 5 + 2 * line, outside)
    return panel


class QtImageItem(QGraphicsItem):
    """A (H, W) image item at scene (0, 0) whose pixels live in a QImage with a numpy view.

    ``pixels``: the (H, W, 4) uint8 view, B, G, R, A order. Only the exposed part is drawn; ``clip_width``
    limits drawing to columns [0, clip_width) (split view).
    """

    def __init__(self, image: QImage, parent: QGraphicsItem | None = None):
        """An item showing ``image`` itself (a 32-bit QImage, built elsewhere, for example off the GUI thread)."""
        super().__init__(parent)
        self._qimage = image
        self.pixels = _bgra_view(self._qimage)
        self._bounds = QRectF(0, 0, image.width(), image.height())
        self.clip_width: float | None = None
        self.smooth = True
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    @property
    def qimage(self) -> QImage:
        return self._qimage

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        return self._bounds

    def set_rgb(self, rgb: np.ndarray, box: Box | None = None) -> None:
        """Copy RGB uint8 (H, W, 3) pixels of ``box`` (all if None) in and repaint that box."""
        y0, x0, y1, x1 = box if box is not None else (0, 0, rgb.shape[0], rgb.shape[1])
        rgb_to_bgra(rgb[y0:y1, x0:x1], self.pixels[y0:y1, x0:x1])
        self.changed((y0, x0, y1, x1))

    def changed(self, box: Box) -> None:
        """``pixels`` changed inside ``box``: repaint it."""
        y0, x0, y1, x1 = box
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = option.exposedRect.intersected(self._bounds)
        if self.clip_width is not None:
            rect = rect.intersected(QRectF(0, 0, self.clip_width, self._bounds.height()))
        if rect.isEmpty():
            return
        x0, y0 = max(0, math.floor(rect.left())), max(0, math.floor(rect.top()))
        x1 = min(int(self._bounds.width()), math.ceil(rect.right()))
        y1 = min(int(self._bounds.height()), math.ceil(rect.bottom()))
        if self.clip_width is not None:
            x1 = min(x1, math.ceil(self.clip_width))
        if x1 <= x0 or y1 <= y0:
            return
        # Smooth up to 3x; closer in, image pixels are crisp squares (the mask item is never smoothed).
        scale = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and scale < 3.0)
        target = QRectF(x0, y0, x1 - x0, y1 - y0)
        painter.drawImage(target, self._qimage, target)


class QtCanvas(QGraphicsView):
    """Shows a Document and edits its mask with the brush, eraser, lasso and rectangle tools; the object tool's box
    is handed on (``object_box_drawn``) to be searched off the GUI thread (see :mod:`app.qt_object_select`).

    Mouse positions are mapped with the view's inverse transform to float image coordinates (see
    :meth:`map_to_image`) and passed to ``document.stroke_to(x, y, radius)`` / ``fill_polygon`` /
    ``fill_rect``. Brush and eraser sizes are diameters in image pixels. Wheel zooms under the cursor;
    the middle button or space + left drag pans; Tab or backslash held shows the original photo.
    Right-dragging with the brush erases. Alt with the lasso or rectangle subtracts from the mask.
    """

    zoom_changed = Signal(float)
    files_dropped = Signal(list)
    original_held = Signal(bool)
    gesture_finished = Signal()
    tool_size_changed = Signal(float)  # the brush's or eraser's new diameter, image pixels
    open_requested = Signal()  # the empty canvas's Open button
    object_box_drawn = Signal(float, float, float, float, bool)  # the object tool's corners x0, y0, x1, y1; Alt held

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cursor_items: list[QGraphicsEllipseItem] = []
        self._label_rects: list[QRectF] = []  # where drawForeground last drew its labels (viewport pixels)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setBackgroundBrush(QColor(48, 48, 52))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)

        self.document = None
        self._unlisten: Callable[[], None] | None = None
        self.tool = "brush"
        self.brush_size = 40.0
        self.eraser_size = 40.0
        self.editable = True
        self._overlay_color = QColor("#ff3050")
        self._overlay_opacity = 0.5

        self.photo_item: QtImageItem | None = None
        self.mask_item: QtImageItem | None = None
        self.original_item: QtImageItem | None = None
        self.raw_item: QtImageItem | None = None
        self.heat_item: QtImageItem | None = None
        self.outline_items: list[QGraphicsPathItem] = []  # the hole's outline over the heat map
        self._gesture_item: QGraphicsPathItem | QGraphicsRectItem | None = None

        self._scale = 1.0
        self._stroking = False
        self._lasso: list[tuple[float, float]] = []
        self._rect_start: tuple[float, float] | None = None
        self._gesture_subtract = False
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._held_keys: set[int] = set()
        self.view_mode = "result"  # result | original | split | raw
        self.alpha_mode = "off"  # off | overlay | alone
        self._alpha_opacity = 0.7
        self.mask_shown = True  # the mask overlay (hidden to judge the photo under it; it keeps being edited)
        self.maps: ResultMaps | None = None  # the last removal's, for the alpha and raw views
        self._heat_generation = 0  # bumped by every new map or mode: a heat image built for an older one is dropped
        self._heat_built_alone: bool | None = None  # the mode the current (or requested) heat image is for
        self._raw_generation = 0  # the same for the raw view's image
        self._raw_requested = False  # the raw view's image is built or being built for the current maps
        self._images = BackgroundTasks(self)
        self._split_x = 0.5
        self._split_drag = False
        self._size_drag: tuple[float, float] | None = None  # (viewport x, size) where an Alt + right drag began
        self._empty_hint = self._build_empty_hint()
        self._last_cursor: tuple[float, float] | None = None

    # ------------------------------------------------------------------ empty canvas

    def _build_empty_hint(self) -> QWidget:
        """What an empty canvas shows: an Open button and where photos can be dropped."""
        hint = QWidget(self.viewport())
        layout = QVBoxLayout(hint)
        button = QPushButton("Open a photo...")
        button.setMinimumHeight(36)
        button.clicked.connect(self.open_requested)
        label = QLabel(f"or drop one here ({', '.join(e.lstrip('.').upper() for e in SUPPORTED_EXTENSIONS)})")
        label.setStyleSheet("color: #c8c8cc")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(button)
        layout.addWidget(label)
        hint.adjustSize()
        return hint

    def _place_empty_hint(self) -> None:
        self._empty_hint.setVisible(self.document is None)
        size = self._empty_hint.sizeHint()
        self._empty_hint.resize(size)
        self._empty_hint.move((self.viewport().width() - size.width()) // 2,
                              (self.viewport().height() - size.height()) // 2)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_empty_hint()

    # ------------------------------------------------------------------ document

    def set_document(self, document, images: tuple[QImage, QImage] | None = None) -> None:
        """Show ``document`` (an app.document.Document) or nothing (None); resets the view items. ``images``: its
        :func:`display_images` when already made (on a helper thread, with the decoding); made here otherwise."""
        self.cancel_gesture()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._scene.clear()
        self.photo_item = self.mask_item = self.original_item = self.raw_item = self.heat_item = None
        self.outline_items = []
        self._cursor_items = []
        self._gesture_item = None
        self.document = document
        self.view_mode = "result"
        self.alpha_mode = "off"
        self.maps = None
        self._heat_generation += 1
        self._raw_generation += 1
        self._heat_built_alone = None
        self._raw_requested = False
        self._place_empty_hint()
        if document is None:
            self._scene.setSceneRect(QRectF())
            return
        h, w = document.height, document.width
        photo_image, overlay_image = images if images is not None else display_images(document.image)
        self.photo_item = QtImageItem(photo_image)
        self._scene.addItem(self.photo_item)
        self.mask_item = QtImageItem(overlay_image)
        self.mask_item.smooth = False
        self.mask_item.setZValue(10)
        self.mask_item.setOpacity(self._overlay_opacity)
        self._scene.addItem(self.mask_item)
        if document.mask.any():  # the new overlay is transparent already
            self._update_mask_box(None)
        pens = ((QColor(0, 0, 0, 200), Qt.PenStyle.SolidLine), (QColor(255, 255, 255), Qt.PenStyle.DashLine))
        for color, style in pens:
            pen = QPen(color, 1.0, style)
            pen.setCosmetic(True)
            item = QGraphicsEllipseItem()
            item.setPen(pen)
            item.setZValue(100)
            item.setVisible(False)
            self._scene.addItem(item)
            self._cursor_items.append(item)
        self._scene.setSceneRect(QRectF(0, 0, w, h))
        listener = self._on_document_changed
        document.add_listener(listener)
        remove = getattr(document, "remove_listener", None)
        self._unlisten = (lambda: remove(listener)) if remove is not None else None
        self.zoom_fit(upscale=False)

    def _on_document_changed(self, kind: str, box: Box | None) -> None:
        if self.document is None:
            return
        if kind in ("mask", "exclude"):
            self._update_mask_box(box)
        elif kind == "image":
            self.photo_item.set_rgb(self.document.image, self._clip_box(box))
        else:  # unknown kind: refresh both
            self.photo_item.set_rgb(self.document.image)
            self._update_mask_box(None)

    def _clip_box(self, box: Box | None) -> Box:
        h, w = self.document.height, self.document.width
        if box is None:
            return (0, 0, h, w)
        y0, x0, y1, x1 = box
        return (max(0, y0), max(0, x0), min(h, y1), min(w, x1))

    def _update_mask_box(self, box: Box | None) -> None:
        """Convert only ``box`` of the document's hole and exclude masks into overlay pixels and repaint it (the hole
        over the exclude mask where both are set: the hole is filled either way)."""
        y0, x0, y1, x1 = self._clip_box(box)
        if y1 <= y0 or x1 <= x0:
            return
        sub = self.document.mask[y0:y1, x0:x1]
        out = self.mask_item.pixels.view(np.uint32)[y0:y1, x0:x1, 0]
        # hole pixels get the colour, the others 0 (transparent): 0/1 times the colour, one pass
        np.multiply(sub.view(np.uint8), _opaque_pixel(self._overlay_color), out=out)
        excluded = self.document.exclude[y0:y1, x0:x1]
        if excluded.any():  # ~20 ms more for a whole 24 MP photo
            np.copyto(out, _opaque_pixel(QColor(EXCLUDE_COLOR)), where=excluded & ~sub)
        self.mask_item.changed((y0, x0, y1, x1))

    # ------------------------------------------------------------------ styles, tools

    def set_overlay_style(self, color: str, opacity: float) -> None:
        """Mask overlay colour "#RRGGBB" and opacity 0..1."""
        self._overlay_color = QColor(color) if QColor(color).isValid() else QColor("#ff3050")
        self._overlay_opacity = float(min(1.0, max(0.0, opacity)))
        if self.mask_item is not None:
            self.mask_item.setOpacity(self._overlay_opacity)
            self._update_mask_box(None)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r} (choose from {', '.join(TOOLS)})")
        self.cancel_gesture()
        self.tool = tool
        self._update_cursor_circle(None)
        self._update_cursor_shape()

    def set_editable(self, editable: bool) -> None:
        """Allow or forbid mask edits (zoom and pan always work)."""
        if not editable:
            self.cancel_gesture()
        self.editable = editable
        self._update_cursor_shape()

    def current_radius(self) -> float:
        return 0.5 * (self.eraser_size if self.tool == "eraser" else self.brush_size)

    def set_tool_size(self, size: float) -> None:
        """Diameter in image pixels of the current tool (brush or eraser)."""
        size = float(min(MAX_TOOL_SIZE, max(1.0, size)))
        if self.tool == "eraser":
            self.eraser_size = size
        else:
            self.brush_size = size
        self._update_cursor_circle(self._last_cursor)
        self.tool_size_changed.emit(size)

    # ------------------------------------------------------------------ zoom

    @property
    def zoom(self) -> float:
        """View pixels per image pixel (device-independent)."""
        return self._scale

    def _dpr(self) -> float:
        return self.devicePixelRatioF() or 1.0

    def set_zoom(self, scale: float, anchor_center: bool = False) -> None:
        scale = float(min(MAX_ZOOM, max(MIN_ZOOM, scale)))
        old_anchor = self.transformationAnchor()
        if anchor_center:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setTransform(QTransform.fromScale(scale, scale))
        self.setTransformationAnchor(old_anchor)
        self._scale = scale
        self._refresh_cursor_circle()
        self.zoom_changed.emit(scale)

    def zoom_in(self) -> None:
        self.set_zoom(self._scale * WHEEL_STEP, anchor_center=True)

    def zoom_out(self) -> None:
        self.set_zoom(self._scale / WHEEL_STEP, anchor_center=True)

    def zoom_actual(self) -> None:
        """One image pixel per physical screen pixel."""
        self.set_zoom(1.0 / self._dpr(), anchor_center=True)

    def fit_scale(self, upscale: bool = False) -> float:
        """The zoom (view pixels per image pixel) that fits the whole photo in the view; with ``upscale`` False
        never beyond 100 %. 1.0 without a photo or before the view has a size."""
        vp = self.viewport().size()
        if self.document is None or vp.width() < 2 or vp.height() < 2:
            return 1.0
        scale = min((vp.width() - 8) / self.document.width, (vp.height() - 8) / self.document.height)
        if not upscale:
            scale = min(scale, 1.0 / self._dpr())
        return scale if scale > 0 else 1.0

    def zoom_fit(self, upscale: bool = True) -> None:
        """Fit the whole photo in the view; with ``upscale`` False never beyond 100 %."""
        vp = self.viewport().size()
        if self.document is None or vp.width() < 2 or vp.height() < 2:
            return
        self.set_zoom(self.fit_scale(upscale), anchor_center=True)
        self.centerOn(self.document.width / 2, self.document.height / 2)

    def zoom_percent(self) -> float:
        """Zoom as the user sees it: 100 % = one image pixel per physical screen pixel."""
        return 100.0 * self._scale * self._dpr()

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if delta == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.AltModifier and self.tool in ("brush", "eraser"):
            self.set_tool_size(max(1.0, (self.eraser_size if self.tool == "eraser" else self.brush_size)
                                   * (1.1 if delta > 0 else 1 / 1.1)))
            return
        self.zoom_at(self._scale * WHEEL_STEP ** (delta / 120.0), event.position())
        self._refresh_cursor_circle(event.position())
        event.accept()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        super().scrollContentsBy(dx, dy)
        for rect in self._label_rects:  # the screen-fixed labels were scrolled with the pixels: paint them again
            box = rect.toAlignedRect().adjusted(-1, -1, 1, 1)
            self.viewport().update(box)
            self.viewport().update(box.translated(dx, dy))
        self._refresh_cursor_circle()

    def zoom_at(self, scale: float, pos: QPointF) -> None:
        """Zoom to ``scale`` keeping the image point under viewport position ``pos`` where it is (the wheel's
        zoom: explicit, since the view's own anchor follows a mouse position it only learns from its own events)."""
        x, y = self.map_to_image(pos)
        self.set_zoom(scale)
        moved = self.map_from_image(x, y) - QPointF(pos)
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(moved.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(moved.y()))

    # ------------------------------------------------------------------ coordinates

    def map_to_image(self, pos: QPointF) -> tuple[float, float]:
        """Viewport position (float, device-independent px) -> float image coordinates (x, y)."""
        inv, _ok = self.viewportTransform().inverted()
        p = inv.map(QPointF(pos))
        return p.x(), p.y()

    def map_from_image(self, x: float, y: float) -> QPointF:
        """Float image coordinates -> viewport position."""
        return self.viewportTransform().map(QPointF(x, y))

    # ------------------------------------------------------------------ mouse

    def _near_split_divider(self, x: float) -> bool:
        """True when image column ``x`` is within a few screen pixels of the split view's divider."""
        if self.view_mode != "split" or self.document is None:
            return False
        return abs(x - self._split_x * self.document.width) * self._scale <= SPLIT_GRAB_PX

    def _update_cursor_shape(self) -> None:
        if self._pan_from is not None:
            shape = Qt.CursorShape.ClosedHandCursor
        elif self._space_down:
            shape = Qt.CursorShape.OpenHandCursor
        elif self._split_drag or (self._last_cursor is not None and self._near_split_divider(self._last_cursor[0])):
            shape = Qt.CursorShape.SplitHCursor
        elif not self.editable or self.document is None:
            shape = Qt.CursorShape.ArrowCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(shape)

    def _update_cursor_circle(self, pos: tuple[float, float] | None) -> None:
        show = pos is not None and self.tool in ("brush", "eraser") and self.document is not None
        for item in self._cursor_items:
            item.setVisible(bool(show))
            if show:
                r = self.current_radius()
                item.setRect(QRectF(pos[0] - r, pos[1] - r, 2 * r, 2 * r))

    def _refresh_cursor_circle(self, pos: QPointF | None = None) -> None:
        """Put the shown brush circle back under the mouse after the view moved under it (a zoom or scroll).
        ``pos``: the mouse's viewport position (a wheel event's), else where the pointer is now."""
        if pos is None:
            if not (self._cursor_items and self._cursor_items[0].isVisible()):
                return
            pos = QPointF(self.viewport().mapFromGlobal(QCursor.pos()))
        self._last_cursor = self.map_to_image(pos)
        self._update_cursor_circle(self._last_cursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_from = event.position()
            self._update_cursor_shape()
            event.accept()
            return
        if self.document is None:
            return
        x, y = self.map_to_image(event.position())
        if button == Qt.MouseButton.LeftButton and self._near_split_divider(x):
            self._split_drag = True  # drag the split view's divider
            event.accept()
            return
        if not self.editable:
            return
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if self.tool in ("brush", "eraser") and button == Qt.MouseButton.RightButton and alt:
            # Alt + right drag: drag right to enlarge, left to shrink (as in other editors)
            self._size_drag = (event.position().x(), self.eraser_size if self.tool == "eraser" else self.brush_size)
            event.accept()
            return
        if self.tool in ("brush", "eraser") and button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            erase = self.tool == "eraser" or button == Qt.MouseButton.RightButton
            self.document.begin_stroke(erase=erase)
            self._stroking = True
            self.document.stroke_to(x, y, self.current_radius())
        elif self.tool == "lasso" and button == Qt.MouseButton.LeftButton:
            self._lasso = [(x, y)]
            self._gesture_subtract = alt
            self._show_gesture_path()
        elif self.tool in ("rect", "object") and button == Qt.MouseButton.LeftButton:
            self._rect_start = (x, y)
            self._gesture_subtract = alt
            self._show_gesture_rect(x, y)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        if self.document is None:
            return
        if self._size_drag is not None:
            start_x, start_size = self._size_drag
            self.set_tool_size(start_size + (pos.x() - start_x) / max(self._scale, 1e-6))
            event.accept()
            return
        x, y = self.map_to_image(pos)
        self._last_cursor = (x, y)
        self._update_cursor_circle((x, y))
        if self._split_drag:
            self.set_split_position(x / self.document.width)
            event.accept()
            return
        self._update_cursor_shape()
        if self._stroking:
            self.document.stroke_to(x, y, self.current_radius())
        elif self._lasso:
            lx, ly = self._lasso[-1]
            if (x - lx) ** 2 + (y - ly) ** 2 >= (0.5 / max(self._scale, 1e-6)) ** 2:
                self._lasso.append((x, y))
                self._show_gesture_path()
        elif self._rect_start is not None:
            self._show_gesture_rect(x, y)
        event.accept()

    @property
    def gesture_active(self) -> bool:
        """True while a brush stroke, lasso or rectangle is being drawn."""
        return self._stroking or bool(self._lasso) or self._rect_start is not None

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor_shape()
            event.accept()
            return
        if self.document is None:
            return
        if self._size_drag is not None:
            self._size_drag = None
            event.accept()
            return
        if self._split_drag:
            self._split_drag = False
            self._update_cursor_shape()
            event.accept()
            return
        was_active = self.gesture_active
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if self._stroking:
            self._stroking = False
            self.document.end_stroke()
        elif self._lasso:
            x, y = self.map_to_image(event.position())
            points = self._lasso + [(x, y)]
            subtract = self._gesture_subtract or alt
            self._lasso = []
            self._remove_gesture_item()
            if len(points) >= 3:
                self.document.fill_polygon(points, subtract=subtract)
        elif self._rect_start is not None:
            x0, y0 = self._rect_start
            x, y = self.map_to_image(event.position())
            subtract = self._gesture_subtract or alt
            self._rect_start = None
            self._remove_gesture_item()
            if self.tool == "object":
                self.object_box_drawn.emit(x0, y0, x, y, subtract)
            elif abs(x - x0) > 0 and abs(y - y0) > 0:
                self.document.fill_rect(min(x0, x), min(y0, y), max(x0, x), max(y0, y), subtract=subtract)
        event.accept()
        if was_active:
            self.gesture_finished.emit()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._update_cursor_circle(None)
        super().leaveEvent(event)

    def cancel_gesture(self) -> None:
        """Abort an unfinished lasso or rectangle; a running brush stroke is committed."""
        was_active = self.gesture_active
        if self._stroking and self.document is not None:
            self._stroking = False
            self.document.end_stroke()
        self._lasso = []
        self._rect_start = None
        self._remove_gesture_item()
        if was_active:
            self.gesture_finished.emit()

    def _gesture_pen(self) -> QPen:
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        return pen

    def _show_gesture_path(self) -> None:
        path = QPainterPath(QPointF(*self._lasso[0]))
        for p in self._lasso[1:]:
            path.lineTo(QPointF(*p))
        if not isinstance(self._gesture_item, QGraphicsPathItem):
            self._remove_gesture_item()
            self._gesture_item = QGraphicsPathItem()
            self._gesture_item.setPen(self._gesture_pen())
            self._gesture_item.setBrush(QBrush(QColor(255, 255, 255, 40)))
            self._gesture_item.setZValue(90)
            self._scene.addItem(self._gesture_item)
        self._gesture_item.setPath(path)

    def _show_gesture_rect(self, x: float, y: float) -> None:
        x0, y0 = self._rect_start
        rect = QRectF(QPointF(min(x0, x), min(y0, y)), QPointF(max(x0, x), max(y0, y)))
        if not isinstance(self._gesture_item, QGraphicsRectItem):
            self._remove_gesture_item()
            self._gesture_item = QGraphicsRectItem()
            self._gesture_item.setPen(self._gesture_pen())
            self._gesture_item.setBrush(QBrush(QColor(255, 255, 255, 40)))
            self._gesture_item.setZValue(90)
            self._scene.addItem(self._gesture_item)
        self._gesture_item.setRect(rect)

    def _remove_gesture_item(self) -> None:
        if self._gesture_item is not None:
            self._scene.removeItem(self._gesture_item)
            self._gesture_item = None

    # ------------------------------------------------------------------ keys

    def event(self, event) -> bool:
        # Tab would move the focus; here it is "hold to see the original".
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Tab:
            if event.type() == QEvent.Type.KeyPress:
                self.keyPressEvent(event)
            else:
                self.keyReleaseEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if event.isAutoRepeat():
            event.accept()
            return
        if key == Qt.Key.Key_Space:
            self._space_down = True
            self._update_cursor_shape()
        elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Backslash):
            self._held_keys.add(key)
            self.original_held.emit(True)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if event.isAutoRepeat():
            event.accept()
            return
        if key == Qt.Key.Key_Space:
            self._space_down = False
            self._update_cursor_shape()
        elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Backslash):
            self._held_keys.discard(key)
            if not self._held_keys:
                self.original_held.emit(False)
        else:
            super().keyReleaseEvent(event)
            return
        event.accept()

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space_down = False
        if self._held_keys:
            self._held_keys.clear()
            self.original_held.emit(False)
        super().focusOutEvent(event)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        """Photos are accepted; anything else is refused at the cursor (the "not allowed" pointer)."""
        if dropped_photos(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = dropped_photos(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            event.ignore()

    # ------------------------------------------------------------------ views

    def _ensure_original_item(self) -> QtImageItem:
        if self.original_item is None:
            self.original_item = QtImageItem(_rgb_image(self.document.photo.rgb))
            self.original_item.setZValue(1)
            self._scene.addItem(self.original_item)
        return self.original_item

    def set_view_mode(self, mode: str) -> None:
        """"result" (current pixels), "original" (the photo as loaded), "split" (original left of a
        divider, result right) or "raw" (the last removal's raw output in its hole, see :meth:`set_result_maps`)."""
        if mode not in ("result", "original", "split", "raw"):
            raise ValueError(f"unknown view mode {mode!r}")
        self.view_mode = mode
        if self.document is None:
            return
        if mode in ("original", "split"):
            item = self._ensure_original_item()
            item.setVisible(True)
            item.clip_width = None if mode == "original" else self._split_x * self.document.width
            item.update()
        elif self.original_item is not None:
            self.original_item.setVisible(False)
        if mode == "raw" and not self._raw_requested:
            self._build_raw_item()
        self._apply_visibility()
        self.viewport().update()

    def set_split_position(self, fraction: float) -> None:
        """Divider of the split view, 0..1 of the image width."""
        self._split_x = float(min(1.0, max(0.0, fraction)))
        if self.view_mode == "split":
            self.set_view_mode("split")

    def set_result_maps(self, maps: ResultMaps | None) -> None:
        """The last removal's maps for the alpha and raw views (None: no removal to show). A view's image is built on
        a helper thread when the view is shown (a 24 MP one takes a few hundred ms); never a full-size float map."""
        self.maps = maps
        self._heat_built_alone = None
        self._raw_requested = False
        self._drop_heat_item()
        self._raw_generation += 1
        if self.raw_item is not None:
            self._scene.removeItem(self.raw_item)
            self.raw_item = None
        if self.alpha_mode != "off":
            self._build_heat_item()
        if self.view_mode == "raw":
            self._build_raw_item()
        self._apply_visibility()

    def _build_raw_item(self) -> None:
        """Start building the raw view's image (see :func:`raw_image`); :meth:`_on_raw_built` shows it."""
        if self.maps is None or self.document is None:
            return
        self._raw_requested = True
        generation, maps = self._raw_generation, self.maps
        self._images.submit(lambda image: self._on_raw_built(generation, image), raw_image, self.document.height,
                            self.document.width, [(box, raw) for box, _alpha, raw in maps.windows], maps.hole,
                            maps.band_px)

    def _on_raw_built(self, generation: int, image: QImage | None) -> None:
        if generation != self._raw_generation or image is None or self.document is None:
            return
        self.raw_item = QtImageItem(image)
        self.raw_item.setZValue(2)
        self._scene.addItem(self.raw_item)
        self._apply_visibility()
        self.viewport().update()  # its label

    @property
    def images_pending(self) -> bool:
        """True while a heat map or raw view asked for is still being built."""
        return self._images.busy

    def _drop_heat_item(self) -> None:
        """Remove the heat map and its outline; one still being built is dropped when it arrives."""
        self._heat_generation += 1
        for item in [self.heat_item, *self.outline_items]:
            if item is not None:
                self._scene.removeItem(item)
        self.heat_item = None
        self.outline_items = []

    def _build_heat_item(self) -> None:
        """Start building the heat map of the current maps and the hole's outline on a helper thread;
        :meth:`_on_heat_built` shows them. Until then the photo shows."""
        self._drop_heat_item()
        self._heat_built_alone = None
        maps = self.maps
        if maps is None or self.document is None:
            return
        alone = self.alpha_mode == "alone"
        self._heat_built_alone = alone  # requested; shown when it arrives
        generation, height, width = self._heat_generation, self.document.height, self.document.width

        def build():
            image = heat_image(height, width, [(box, alpha) for box, alpha, _raw in maps.windows], maps.hole,
                               maps.band_px, alone)
            return image, hole_outline(maps.hole, [box for box, _alpha, _raw in maps.windows])

        self._images.submit(lambda built: self._on_heat_built(generation, built), build)

    def _on_heat_built(self, generation: int, built: tuple[QImage, QPainterPath] | None) -> None:
        if generation != self._heat_generation or built is None or self.document is None:
            return  # a newer map or mode was asked for meanwhile, or the build failed (nothing to show)
        image, outline = built
        item = QtImageItem(image)
        item.setZValue(20)
        item.setOpacity(1.0 if self.alpha_mode == "alone" else self._alpha_opacity)
        self.heat_item = item
        self._scene.addItem(item)
        for z, (color, width) in enumerate(((QColor(0, 0, 0, 200), 3.0), (QColor(255, 255, 255), 1.2))):
            pen = QPen(color, width)
            pen.setCosmetic(True)
            line = QGraphicsPathItem(outline)
            line.setPen(pen)
            line.setZValue(21 + z)
            self._scene.addItem(line)
            self.outline_items.append(line)
        self._apply_visibility()
        self.viewport().update()  # its legend

    def set_alpha_mode(self, mode: str, opacity: float = 0.7) -> None:
        """"off", "overlay" (heat map over the photo at ``opacity``) or "alone" (heat map on black)."""
        if mode not in ("off", "overlay", "alone"):
            raise ValueError(f"unknown alpha mode {mode!r}")
        self.alpha_mode = mode
        self._alpha_opacity = float(opacity)
        if mode != "off" and self._heat_built_alone != (mode == "alone"):  # none yet, or made for the other mode
            self._build_heat_item()
        elif self.heat_item is not None:
            self.heat_item.setOpacity(1.0 if mode == "alone" else self._alpha_opacity)
        self._apply_visibility()
        self.viewport().update()  # the legend

    def set_mask_shown(self, shown: bool) -> None:
        """Show or hide the mask overlay; painting still edits the mask while it is hidden."""
        self.mask_shown = bool(shown)
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        if self.document is None:
            return
        alone = self.alpha_mode == "alone" and self.heat_item is not None
        self.photo_item.setVisible(not alone)
        if self.original_item is not None:
            self.original_item.setVisible(not alone and self.view_mode in ("original", "split"))
        if self.raw_item is not None:
            self.raw_item.setVisible(not alone and self.view_mode == "raw")
        self.mask_item.setVisible(self.mask_shown and not alone and self.view_mode != "original")
        for item in [self.heat_item, *self.outline_items]:
            if item is not None:
                item.setVisible(self.alpha_mode != "off")
        self.setBackgroundBrush(QColor(0, 0, 0) if alone else QColor(48, 48, 52))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self.document is None:
            return
        split = self.view_mode == "split" and self.alpha_mode != "alone"
        if split:
            x = self._split_x * self.document.width
            pen = QPen(QColor(255, 255, 255), 2.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.document.height))
        raw = self.maps is not None and self.raw_item is not None and self.raw_item.isVisible()
        legend = self.maps is not None and self.heat_item is not None and self.alpha_mode != "off"
        self._label_rects = []
        if not (split or raw or legend):
            return
        # labels in screen pixels, whatever the zoom: the split view's sides, the raw view's, the heat map's legend
        divider = self.map_from_image(self._split_x * self.document.width, 0).x()
        room = self.viewport().width() - 24
        painter.save()
        painter.resetTransform()
        if split:
            self._label_rects.append(_draw_tag(painter, QPointF(divider - 8, 8), "Original", right_aligned=True))
            self._label_rects.append(_draw_tag(painter, QPointF(divider + 8, 8), "Result"))
        if raw:
            text = painter.fontMetrics().elidedText(self.maps.raw_label, Qt.TextElideMode.ElideRight, room - 12)
            self._label_rects.append(_draw_tag(painter, QPointF(12, 8), text))
        if legend:
            self._label_rects.append(_draw_heat_legend(painter, self.maps.legend,
                                                       QPointF(12, self.viewport().height() - 12), room))
        painter.restore()
