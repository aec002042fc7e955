"""The editor's views of the photo and of the last removal: hold-to-compare, split compare, the raw prediction and
the alpha heat map, with the words that say what each shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QToolButton

from app.image_maps import ResultMaps
from app.qt_window_layout import icon, make_action
from app.qt_window_mixin import WindowMixin
from engine.model_spec import short_title

if TYPE_CHECKING:
    from app.document import Document
    from app.qt_canvas import QtCanvas
    from app.settings import Settings
    from engine.pipeline import InpaintResult


def alpha_name(result) -> str:
    """The short name of ``result``'s composition map (an engine.pipeline.InpaintResult's), e.g. "hole mask (not
    learned)": its ``alpha_meaning`` up to the colon."""
    return result.alpha_meaning.split(":", 1)[0]


def result_maps(result, hole: np.ndarray) -> ResultMaps:
    """What the alpha and raw views show of ``result`` (an engine.pipeline.InpaintResult computed for ``hole``),
    with the words for what the alpha's 0 and 1 mean in the hole and outside it."""
    model, band = short_title(result.model_title), result.band_px  # "DFNet", "OpenCV Telea"
    output = f"{model}'s output"
    if result.alpha_learned:
        low = f"{result.prefill_title}'s pre-fill" if result.prefill_title else "black (no pre-fill)"
        legend = (f"Alpha: {model}'s {alpha_name(result)}", f"In the hole (outlined): 0 = {low}, 1 = {output}",
                  f"Outside it: 0 = the photo, 1 = {output}" + (f" (up to {band} px out)" if band else ""))
    elif band:
        legend = (f"Alpha: {alpha_name(result)}", f"In the hole (outlined): 1 = {output}",
                  f"Outside it: 1 to 0 across the {band} px seam band, 0 = the photo")
    else:
        legend = (f"Alpha: {alpha_name(result)}", f"In the hole (outlined): 1 = {output}", "Outside it: 0 = the photo")
    where = f"in the hole, fading out across its {band} px seam band" if band else "in the hole"
    raw_label = f"Raw prediction: {output} before blending, {where}; the photo elsewhere"
    return ResultMaps(windows=tuple((w.box, w.alpha, w.raw) for w in result.windows), hole=hole, band_px=band,
                      legend=legend, raw_label=raw_label)


class ResultViews(WindowMixin):
    """The view toggles of :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    settings: Settings
    document: Document | None
    canvas: QtCanvas
    last_result: InpaintResult | None

    if TYPE_CHECKING:
        def message(self, text: str, timeout_ms: int = 6000) -> None: ...

    def _build_view_controls(self) -> None:
        """The View menu's actions (``act_zoom_in``, ``act_zoom_out``, ``act_fit``, ``act_actual``, ``act_split``,
        ``act_raw``, ``act_alpha``, ``act_alpha_alone``, ``act_show_mask``), the hold-to-compare
        ``original_button``, the heat map's ``alpha_slider`` (opacity, 0..100 %) and ``alpha_label``, and the status
        bar's ``zoom_label``."""
        canvas = self.canvas
        self.act_zoom_in = make_action(self, "Zoom &in", canvas.zoom_in, ["Ctrl++", "Ctrl+="])
        self.act_zoom_out = make_action(self, "Zoom &out", canvas.zoom_out, "Ctrl+-")
        self.act_fit = make_action(self, "&Fit", lambda: canvas.zoom_fit(), "Ctrl+0")
        self.act_actual = make_action(self, "&100 %", canvas.zoom_actual, "Ctrl+1")
        self.act_split = make_action(self, "&Split compare", self.toggle_split, "C", checkable=True,
                                     tip="Original left, result right (C)")
        self.act_alpha = make_action(self, "&Alpha map", self.toggle_alpha, "A", checkable=True,
                                     tip="Heat map of the last removal's composition alpha (A)", icon_name="alpha")
        self.act_alpha_alone = make_action(self, "Alpha map &alone", self.toggle_alpha_alone, "Shift+A",
                                           checkable=True)
        self.act_raw = make_action(self, "Ra&w prediction", self.toggle_raw, "W", checkable=True,
                                   tip="The model's output before composition (W)")
        self.act_show_mask = make_action(self, "Show &mask", canvas.set_mask_shown, "M", checkable=True,
                                         tip="Show or hide the painted mask (M); painting still works while hidden")
        self.act_show_mask.setChecked(True)
        self.original_button = QToolButton()
        self.original_button.setText("Original")
        self.original_button.setIcon(icon("original"))
        self.original_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.original_button.setToolTip("Hold to see the original photo (or hold Tab / \\)")
        self.original_button.pressed.connect(lambda: self.show_original(True))
        self.original_button.released.connect(lambda: self.show_original(False))
        self.alpha_slider = QSlider(Qt.Orientation.Horizontal)
        self.alpha_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.alpha_slider.setRange(0, 100)
        self.alpha_slider.setFixedWidth(100)
        self.alpha_slider.setValue(int(round(100 * self.settings.alpha_opacity)))
        self.alpha_slider.setToolTip("Alpha heat-map opacity")
        self.alpha_slider.valueChanged.connect(self._on_alpha_opacity)
        self.alpha_label = QLabel()
        self.zoom_label = QLabel("")

    def show_original(self, on: bool) -> None:
        """Show the photo as loaded while ``on`` (hold Tab, backslash or the Original button)."""
        if self.document is None:
            return
        if on:
            self.canvas.set_view_mode("original")
        else:
            self.canvas.set_view_mode("split" if self.act_split.isChecked() else
                                      "raw" if self.act_raw.isChecked() else "result")

    def _on_original_held(self, on: bool) -> None:
        self.show_original(on)

    def toggle_split(self) -> None:
        if self.document is None:
            self.act_split.setChecked(False)
            return
        if self.act_split.isChecked():
            self.act_raw.setChecked(False)
            self._leave_alpha_alone()
        self.show_original(False)

    def toggle_raw(self) -> None:
        if self.last_result is None:
            self.act_raw.setChecked(False)
            return
        if self.act_raw.isChecked():
            self.act_split.setChecked(False)
            self._leave_alpha_alone()
        self.show_original(False)

    def _leave_alpha_alone(self) -> None:
        """Split compare or the raw view was chosen: "Alpha map alone" would hide it, so that view ends."""
        if self.act_alpha_alone.isChecked():
            self.act_alpha_alone.setChecked(False)
            self.act_alpha.setChecked(False)
            self._update_alpha_view()

    def toggle_alpha(self) -> None:
        if self.last_result is None:
            self.act_alpha.setChecked(False)
            self.message("No removal yet: the alpha map exists after the first removal.")
            return
        if not self.act_alpha.isChecked():
            self.act_alpha_alone.setChecked(False)
        self._update_alpha_view()

    def toggle_alpha_alone(self) -> None:
        if self.last_result is None:
            self.act_alpha_alone.setChecked(False)
            return
        if self.act_alpha_alone.isChecked():  # it hides every other view
            self.act_alpha.setChecked(True)
            self.act_split.setChecked(False)
            self.act_raw.setChecked(False)
            self.show_original(False)
        self._update_alpha_view()

    def _on_alpha_opacity(self, value: int) -> None:
        self.settings.alpha_opacity = value / 100.0
        self._update_alpha_view()

    def _update_alpha_view(self) -> None:
        if not self.act_alpha.isChecked() or self.last_result is None:
            self.canvas.set_alpha_mode("off")
            self.alpha_label.setText("")
            self.alpha_label.setToolTip("")
            return
        mode = "alone" if self.act_alpha_alone.isChecked() else "overlay"
        self.canvas.set_alpha_mode(mode, self.alpha_slider.value() / 100.0)
        self.alpha_label.setText(f" Alpha: {alpha_name(self.last_result)}")
        self.alpha_label.setToolTip(self.last_result.alpha_meaning)

    def _on_zoom_changed(self, _scale: float) -> None:
        self.zoom_label.setText(f"{self.canvas.zoom_percent():.0f} %")
