"""What the canvas paints: the image item whose pixels are a numpy view, and the screen-fixed labels (the split
view's tags, the heat map's legend) drawn over the photo.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.image_maps import LEGEND_TICKS, heat_colors, heat_position, rgb_to_bgra
from app.qt_canvas_images import bgra_view
from engine.regions import Box


def draw_tag(painter: QPainter, at: QPointF, text: str, right_aligned: bool = False) -> QRectF:
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


def draw_heat_legend(painter: QPainter, legend: tuple[str, str, str], bottom_left: QPointF, room: float) -> QRectF:
    """The heat map's legend in a dark panel whose bottom-left corner is at ``bottom_left`` (screen pixels), at most
    ``room`` wide: its title, the colour scale with the alpha values of :data:`LEGEND_TICKS` marked, and what 0 and 1
    mean in the hole and outside it. Returns the panel."""
    title, inside, outside = legend
    metrics = painter.fontMetrics()
    pad, line, strip_h = 8, metrics.height(), 10
    text_width = max(metrics.horizontalAdvance(text) for text in legend) + 4
    width = max(60.0, min(float(text_width), room - 2 * pad))
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
        self.pixels = bgra_view(self._qimage)
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
