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

Mouse gestures and keys are handled by :class:`app.qt_canvas_gestures.CanvasGestures`; the images are built by
:mod:`app.qt_canvas_images` from the numpy maps of :mod:`app.image_maps`; the items that paint them are in
:mod:`app.qt_canvas_items`.

Zoom is the view's scale (view pixels per image pixel, in device-independent pixels); "100 %" maps one
image pixel to one physical screen pixel, so photos stay sharp on high-DPI screens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.image_maps import ResultMaps
from app.qt_background import BackgroundTasks
from app.qt_canvas_gestures import CanvasGestures
from app.qt_canvas_images import display_images, heat_image, hole_outline, opaque_pixel, raw_image, rgb_image
from app.qt_canvas_items import QtImageItem, draw_heat_legend, draw_tag
from engine.formats import SUPPORTED_EXTENSIONS
from engine.regions import Box

if TYPE_CHECKING:
    from app.document import Document

TOOLS = ("brush", "eraser", "lasso", "rect", "object")
MAX_TOOL_SIZE = 2000
"""Largest brush or eraser diameter, image pixels."""
EXCLUDE_COLOR = "#22b8ff"
"""Overlay colour of the exclude mask (where the fill must not sample), shown at the hole overlay's opacity."""
MIN_ZOOM = 0.01
MAX_ZOOM = 64.0
WHEEL_STEP = 1.2


class QtCanvas(CanvasGestures, QGraphicsView):
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

        self.document: Document | None = None
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

    def set_document(self, document: Document | None, images: tuple[QImage, QImage] | None = None) -> None:
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
        assert self.photo_item is not None, "made with the document"
        if kind in ("mask", "exclude"):
            self._update_mask_box(box)
        elif kind == "image":
            self.photo_item.set_rgb(self.document.image, self._clip_box(box))
        else:  # unknown kind: refresh both
            self.photo_item.set_rgb(self.document.image)
            self._update_mask_box(None)

    def _clip_box(self, box: Box | None) -> Box:
        assert self.document is not None, "a photo is shown"
        h, w = self.document.height, self.document.width
        if box is None:
            return (0, 0, h, w)
        y0, x0, y1, x1 = box
        return (max(0, y0), max(0, x0), min(h, y1), min(w, x1))

    def _update_mask_box(self, box: Box | None) -> None:
        """Convert only ``box`` of the document's hole and exclude masks into overlay pixels and repaint it (the hole
        over the exclude mask where both are set: the hole is filled either way)."""
        assert self.document is not None and self.mask_item is not None, "a photo is shown"
        y0, x0, y1, x1 = self._clip_box(box)
        if y1 <= y0 or x1 <= x0:
            return
        sub = self.document.mask[y0:y1, x0:x1]
        out = self.mask_item.pixels.view(np.uint32)[y0:y1, x0:x1, 0]
        # hole pixels get the colour, the others 0 (transparent): 0/1 times the colour, one pass
        np.multiply(sub.view(np.uint8), opaque_pixel(self._overlay_color), out=out)
        excluded = self.document.exclude[y0:y1, x0:x1]
        if excluded.any():  # ~20 ms more for a whole 24 MP photo
            np.copyto(out, opaque_pixel(QColor(EXCLUDE_COLOR)), where=excluded & ~sub)
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

    # ------------------------------------------------------------------ views

    def _ensure_original_item(self) -> QtImageItem:
        if self.original_item is None:
            assert self.document is not None, "a photo is shown"
            self.original_item = QtImageItem(rgb_image(self.document.photo.rgb))
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
        assert self.photo_item is not None and self.mask_item is not None, "made with the document"
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

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802
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
            self._label_rects.append(draw_tag(painter, QPointF(divider - 8, 8), "Original", right_aligned=True))
            self._label_rects.append(draw_tag(painter, QPointF(divider + 8, 8), "Result"))
        if raw:
            assert self.maps is not None
            text = painter.fontMetrics().elidedText(self.maps.raw_label, Qt.TextElideMode.ElideRight, room - 12)
            self._label_rects.append(draw_tag(painter, QPointF(12, 8), text))
        if legend:
            assert self.maps is not None
            self._label_rects.append(draw_heat_legend(painter, self.maps.legend,
                                                       QPointF(12, self.viewport().height() - 12), room))
        painter.restore()
