"""Building the canvas's QImages from numpy pixels: the photo and its mask overlay, the alpha heat map, the raw
view and the hole's outline. Everything here may run on a helper thread (QImages, not pixmaps); OpenCV does the
per-pixel work, so the GUI thread keeps running meanwhile.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainterPath, QPolygonF

from app.image_maps import copy_masked, heat_tables, rgb_to_bgra, seam_region, seam_weights


def bgra_view(image: QImage) -> np.ndarray:
    """Writable numpy view (H, W, 4) uint8 (B, G, R, A in memory) onto a 32-bit QImage's pixels."""
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    flat = np.frombuffer(image.bits(), np.uint8)
    return flat.reshape(h, bpl)[:, : 4 * w].reshape(h, w, 4)


def opaque_pixel(color: QColor) -> np.uint32:
    """``color`` as one opaque pixel of a 32-bit QImage (B, G, R, A in memory)."""
    return np.array([color.blue(), color.green(), color.red(), 255], np.uint8).view(np.uint32)[0]


def rgb_image(rgb: np.ndarray) -> QImage:
    """RGB uint8 (H, W, 3) as a new RGB32 QImage."""
    image = QImage(rgb.shape[1], rgb.shape[0], QImage.Format.Format_RGB32)
    rgb_to_bgra(rgb, bgra_view(image))
    return image


def transparent_image(height: int, width: int) -> QImage:
    """A new fully transparent premultiplied ARGB32 image. Cleared by numpy, which releases Python's lock:
    ``QImage.fill`` holds it (45 ms for 24 MP, the GUI thread frozen meanwhile when called on a helper thread)."""
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    bgra_view(image)[...] = 0
    return image


def display_images(rgb: np.ndarray) -> tuple[QImage, QImage]:
    """The canvas's images for a photo's RGB uint8 (H, W, 3) pixels: (photo in RGB32, a transparent mask overlay in
    premultiplied ARGB32). QImages, not pixmaps, so a 24 MP photo's ~200 MB of them can be made off the GUI thread
    (see :meth:`QtCanvas.set_document`)."""
    height, width = rgb.shape[:2]
    return rgb_image(rgb), transparent_image(height, width)


def heat_image(height: int, width: int, windows, hole: np.ndarray, band_px: int, alone: bool) -> QImage:
    """The heat map of composition alpha ``windows`` ((box, uint8 (h, w, 3) or (h, w)), 255 = model output) as a
    (height, width) premultiplied ARGB32 image, coloured on the ``hole`` (bool (H, W)) and its ``band_px`` seam band,
    transparent elsewhere. Over the photo (``alone`` False) the hole is opaque whatever its alpha (there 0 is the
    pre-fill, not the photo) and the band fades with its alpha to the photo; alone, all of it is opaque. Colours
    follow :func:`heat_position`.

    A QImage, not a pixmap, so it can be built off the GUI thread; OpenCV does the per-pixel work, which lets the GUI
    thread run meanwhile (numpy's indexing would hold Python's lock for tens of ms)."""
    image = transparent_image(height, width)
    pixels = bgra_view(image)
    opaque, fading = heat_tables()
    for (y0, x0, y1, x1), alpha in windows:
        if alpha.ndim == 3:  # mean of the 3 channels, rounded
            level = cv2.transform(alpha, np.full((1, 3), 1.0 / 3.0, np.float32))
        else:
            level = alpha
        levels = cv2.merge([level] * 4)
        crop = hole[y0:y1, x0:x1]
        out = pixels[y0:y1, x0:x1]
        copy_masked(cv2.LUT(levels, opaque if alone else fading), seam_region(crop, band_px), out)
        if not alone:
            copy_masked(cv2.LUT(levels, opaque), crop.view(np.uint8), out)
    return image


def raw_image(height: int, width: int, windows, hole: np.ndarray, band_px: int) -> QImage:
    """The raw view's image: each window's raw model output ((box, RGB uint8 (h, w, 3))) where the removal used it,
    as a (height, width) premultiplied ARGB32 image: opaque on the ``hole``, fading out across its ``band_px`` seam
    band as the feather does, transparent beyond (the photo shows there: the output beyond the band was never used
    and is not meaningful). Built off the GUI thread, as :func:`heat_image` (windows never overlap)."""
    image = transparent_image(height, width)
    pixels = bgra_view(image)
    for (y0, x0, y1, x1), raw in windows:
        weights = seam_weights(hole[y0:y1, x0:x1], band_px)
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
