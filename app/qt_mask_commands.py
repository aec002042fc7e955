"""The editor's mask commands: the tool and its size, the sampling exclude layer, undo and redo, clear, invert,
grow, shrink and reuse of the last mask, and the overlay's style.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QSlider, QSpinBox

from app.qt_canvas import MAX_TOOL_SIZE
from app.qt_window_layout import make_action
from app.qt_window_mixin import WindowMixin

if TYPE_CHECKING:
    from app.document import Document
    from app.qt_canvas import QtCanvas
    from app.removal_session import RemovalSession
    from app.settings import Settings

BRUSH_VIEW_PX = 30
"""Diameter, in screen pixels at "fit", that the brush and eraser get when a photo is opened."""
SIZE_SLIDER_STEPS = 1000
"""The size slider's positions, spread logarithmically over 1..MAX_TOOL_SIZE pixels."""


def slider_to_size(position: int) -> int:
    """Size slider position (0..SIZE_SLIDER_STEPS) -> diameter in pixels, logarithmic over 1..MAX_TOOL_SIZE."""
    return max(1, round(MAX_TOOL_SIZE ** (position / SIZE_SLIDER_STEPS)))


def size_to_slider(size: float) -> int:
    """Diameter in pixels (1..MAX_TOOL_SIZE) -> size slider position (0..SIZE_SLIDER_STEPS)."""
    return round(SIZE_SLIDER_STEPS * math.log(max(1.0, size)) / math.log(MAX_TOOL_SIZE))


class MaskCommands(WindowMixin):
    """Tool and mask commands of :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    settings: Settings
    document: Document | None
    canvas: QtCanvas
    removals: RemovalSession
    file_task: str | None

    if TYPE_CHECKING:
        @property
        def busy(self) -> bool: ...
        def message(self, text: str, timeout_ms: int = 6000) -> None: ...
        def _update_actions(self) -> None: ...

    def _build_mask_controls(self) -> None:
        """The mask commands' actions (``act_undo``, ``act_redo``, ``act_clear``, ``act_invert``, ``act_reuse_mask``,
        ``act_grow``, ``act_shrink``, ``act_exclude``, ``act_smaller``, ``act_bigger``), one checkable action per
        tool (``tool_actions`` by tool name, exclusive in ``tool_group``) and the tool size's logarithmic slider and
        box (``size_slider``, ``size_spin``: diameter in image pixels, 1..MAX_TOOL_SIZE)."""
        key = QKeySequence.StandardKey
        self.act_undo = make_action(self, "&Undo", self.undo, key.Undo, icon_name="undo")
        self.act_redo = make_action(self, "&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], icon_name="redo")
        self.act_clear = make_action(self, "C&lear mask", self.clear_mask, "Ctrl+Shift+A")
        self.act_invert = make_action(self, "&Invert mask", self.invert_mask, "Ctrl+I")
        self.act_reuse_mask = make_action(self, "Reuse last &mask", self.reuse_last_mask, "Ctrl+Shift+R",
                                          tip="Paint the last removal's mask again, e.g. for another pass")
        self.act_grow = make_action(self, "&Grow mask...", lambda: self.grow_mask(None), "Ctrl+G")
        self.act_shrink = make_action(self, "Shrin&k mask...", lambda: self.shrink_mask(None), "Ctrl+Shift+G")

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, shortcut, tip in (
            ("brush", "&Brush", "B", "Paint what should go (B); right-drag erases"),
            ("eraser", "&Eraser", "E", "Erase from the mask (E)"),
            ("lasso", "&Lasso", "L", "Draw an outline, filled on release (L); Alt subtracts"),
            ("rect", "Rec&tangle", "R", "Drag a rectangle (R); Alt subtracts"),
            ("object", "&Object", "O", "Drag a box around an object: GrabCut finds its outline (O); Alt subtracts"),
        ):
            action = make_action(self, text, lambda _=False, t=tool: self.set_tool(t), shortcut, checkable=True,
                                 tip=tip, icon_name=tool)
            self.tool_group.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["brush"].setChecked(True)
        self.act_exclude = make_action(
            self, "Sampling: e&xclude", self.set_sampling_exclude, "X", checkable=True, icon_name="exclude",
            tip="The mask tools paint where the fill must not copy from (X); X again paints the hole. Honoured by "
            "PatchMatch, OpenCV and a network's pre-fill")
        self.act_smaller = make_action(self, "Smaller brush", lambda: self.step_tool_size(-1), "[")
        self.act_bigger = make_action(self, "Bigger brush", lambda: self.step_tool_size(+1), "]")

        size_tip = ("Brush / eraser diameter in image pixels: type it, drag the slider, press [ and ], "
                    "Alt + wheel or Alt + right-drag on the photo")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)  # logarithmic: fine steps for small sizes
        self.size_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the canvas ([ ], Tab, space)
        self.size_slider.setRange(0, SIZE_SLIDER_STEPS)
        self.size_slider.setFixedWidth(130)
        self.size_slider.setToolTip(size_tip)
        self.size_slider.valueChanged.connect(lambda value: self.set_tool_size(slider_to_size(value)))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_TOOL_SIZE)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip(size_tip)
        self.size_spin.setKeyboardTracking(False)  # applied on Enter or when focus leaves, not per digit
        self.size_spin.valueChanged.connect(self.set_tool_size)
        self._show_tool_size(self.canvas.brush_size)

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
