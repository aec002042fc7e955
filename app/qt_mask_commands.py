"""The editor's mask commands: the tool and its size, the sampling exclude layer, undo and redo, clear, invert,
grow, shrink and reuse of the last mask, and the overlay's style.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QInputDialog

from app.qt_canvas import MAX_TOOL_SIZE
from app.qt_window_layout import size_to_slider

BRUSH_VIEW_PX = 30
"""Diameter, in screen pixels at "fit", that the brush and eraser get when a photo is opened."""


class MaskCommands:
    """Tool and mask commands of :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)
        self._show_tool_size(self._current_tool_size())

    def set_sampling_exclude(self, on: bool) -> None:
        """Make the mask tools paint the exclude mask (``on``: where the fill must not copy from) or the hole."""
        self.act_exclude.setChecked(on)
        if self.document is None:
            return
        self.canvas.cancel_gesture()
        self.document.set_layer("exclude" if on else "hole")
        self.message("Sampling: exclude - paint where the fill must not copy from; X paints the hole again." if on
                     else "Painting the hole: what should go.")

    def set_tool_size(self, size: float) -> None:
        """Diameter in image pixels (1..MAX_TOOL_SIZE) of the current tool (the brush for lasso and rectangle)."""
        self.canvas.set_tool_size(size)  # the canvas reports it back through tool_size_changed

    def _show_tool_size(self, size: float) -> None:
        for widget, value in ((self.size_spin, round(size)), (self.size_slider, size_to_slider(size))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)

    def _current_tool_size(self) -> float:
        return self.canvas.eraser_size if self.canvas.tool == "eraser" else self.canvas.brush_size

    def step_tool_size(self, direction: int) -> None:
        """``[`` / ``]``: about 10 % smaller / bigger (at least 1 px)."""
        size = round(self._current_tool_size())
        self.set_tool_size(size + direction * max(1, round(size * 0.1)))

    def _fit_tool_sizes(self) -> None:
        """A new photo: brush and eraser ``BRUSH_VIEW_PX`` screen pixels wide at "fit", whatever its size."""
        size = min(MAX_TOOL_SIZE, max(1, round(BRUSH_VIEW_PX / max(self.canvas.fit_scale(), 1e-6))))
        self.canvas.brush_size = self.canvas.eraser_size = float(size)
        self._show_tool_size(size)

    def undo(self) -> None:
        if self.document is not None and not self.busy and not self.file_task:
            self.canvas.cancel_gesture()
            self.document.undo()
            self._after_history_change()

    def redo(self) -> None:
        if self.document is not None and not self.busy and not self.file_task:
            self.document.redo()
            self._after_history_change()

    def _after_history_change(self) -> None:
        self._update_actions()

    def clear_mask(self) -> None:
        if self.document is not None:
            self.document.clear_mask()
            self._update_actions()

    def reuse_last_mask(self) -> None:
        """Add the last removal's mask to the current one (one undo step), ready for another pass."""
        last_hole = self.removals.last_hole
        if self.document is not None and last_hole is not None:
            self.document.set_mask(np.asarray(self.document.mask) | last_hole, layer="hole")
            self._update_actions()

    def invert_mask(self) -> None:
        if self.document is not None:
            self.document.invert_mask()
            self._update_actions()

    def _ask_px(self, title: str) -> int | None:
        value, ok = QInputDialog.getInt(self, title, "Pixels:", 8, 1, 500)
        return value if ok else None

    def grow_mask(self, px: int | None = None) -> None:
        """Dilate the mask by ``px`` pixels (asks when None)."""
        self._grow_or_shrink("Grow mask", px, grow=True)

    def shrink_mask(self, px: int | None = None) -> None:
        """Erode the mask by ``px`` pixels (asks when None)."""
        self._grow_or_shrink("Shrink mask", px, grow=False)

    def _grow_or_shrink(self, title: str, px: int | None, grow: bool) -> None:
        if self.document is None:
            return
        px = self._ask_px(title) if px is None else px
        if px:
            (self.document.grow_mask if grow else self.document.shrink_mask)(int(px))
            self._update_actions()

    def set_overlay_style(self, color: str, opacity: float) -> None:
        self.settings.overlay_color = color
        self.settings.overlay_opacity = float(opacity)
        self.canvas.set_overlay_style(color, opacity)
