"""The canvas's input: mouse gestures of the mask tools (brush strokes, lasso, rectangle, the object tool's box),
panning, the split divider, the brush circle under the pointer, held keys (space to pan, Tab or backslash for the
original) and dropped photo files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QCursor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

from engine.formats import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:
    from PySide6.QtCore import Signal
    from PySide6.QtWidgets import QGraphicsView as _Canvas  # what the mixin's ``self`` is, for the type checker

    from app.document import Document
else:
    _Canvas = object

SPLIT_GRAB_PX = 6
"""Screen pixels either side of the split divider where a left drag moves it instead of painting."""


def dropped_photos(mime) -> list[str]:
    """Local files of a drag (QMimeData) whose extension is a photo format FusionPaint opens."""
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    return [path for path in paths if path.lower().endswith(tuple(SUPPORTED_EXTENSIONS))]


class CanvasGestures(_Canvas):
    """Mouse, key and drop handling of :class:`app.qt_canvas.QtCanvas` (mixed in before QGraphicsView).

    It works on the canvas's state (``document``, ``tool``, ``editable``, zoom ``_scale``, the gesture fields set in
    ``QtCanvas.__init__``) and edits the mask only through the Document's methods, in image coordinates (see
    ``QtCanvas.map_to_image``).
    """

    # the canvas's state and signals it works on (set in ``QtCanvas.__init__`` and its class body)
    document: Document | None
    tool: str
    editable: bool
    brush_size: float
    eraser_size: float
    view_mode: str
    _scale: float
    _scene: QGraphicsScene
    _cursor_items: list[QGraphicsEllipseItem]
    _gesture_item: QGraphicsPathItem | QGraphicsRectItem | None
    _stroking: bool
    _lasso: list[tuple[float, float]]
    _rect_start: tuple[float, float] | None
    _gesture_subtract: bool
    _pan_from: QPointF | None
    _space_down: bool
    _held_keys: set[int]
    _split_x: float
    _split_drag: bool
    _size_drag: tuple[float, float] | None
    _last_cursor: tuple[float, float] | None
    files_dropped: ClassVar[Signal]
    original_held: ClassVar[Signal]
    gesture_finished: ClassVar[Signal]
    object_box_drawn: ClassVar[Signal]

    if TYPE_CHECKING:  # the canvas's methods it calls
        def current_radius(self) -> float: ...
        def set_tool_size(self, size: float) -> None: ...
        def set_split_position(self, fraction: float) -> None: ...
        def map_to_image(self, pos: QPointF) -> tuple[float, float]: ...

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
            if show and pos is not None:
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
        assert self._rect_start is not None, "shown while a rectangle is drawn"
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
