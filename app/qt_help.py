"""The editor's Help menu and preferences: the keyboard shortcuts table, About (version and licenses) and the
preferences dialog's effect on the window.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox, QVBoxLayout

from app.qt_dialogs import ContentScroll, FittedDialog
from app.qt_window_layout import make_action
from app.qt_window_mixin import WindowMixin
from engine.model_spec import ClassicalSpec, NetworkSpec
from engine.registry import list_models

if TYPE_CHECKING:
    from app.document import Document
    from app.settings import Settings


class HelpCommands(WindowMixin):
    """Help > Keyboard shortcuts, Help > About and Edit > Preferences of :class:`app.qt_main_window.QtMainWindow`
    (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    settings: Settings
    document: Document | None

    if TYPE_CHECKING:
        def set_overlay_style(self, color: str, opacity: float) -> None: ...
        def _save_settings_quietly(self) -> None: ...

    def _build_help_actions(self) -> None:
        """``act_preferences`` (Edit > Preferences...), ``act_shortcuts`` and ``act_about`` (the Help menu)."""
        self.act_preferences = make_action(self, "&Preferences...", self.show_preferences, "Ctrl+,",
                                           tip="JPEG quality, mask colour and opacity, undo memory")
        self.act_shortcuts = make_action(self, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = make_action(self, "&About FusionPaint", self.show_about)

    def show_preferences(self) -> None:
        """Edit > Preferences: JPEG quality, mask colour and opacity, undo memory; applied and saved on OK."""
        from app.qt_preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.apply_preferences(dialog)

    def apply_preferences(self, dialog) -> None:
        dialog.apply_to(self.settings)
        self.set_overlay_style(self.settings.overlay_color, self.settings.overlay_opacity)
        if self.document is not None:
            self.document.history.set_max_bytes(self.settings.undo_memory_mb * 2**20)
        self._save_settings_quietly()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) of every action with a shortcut, read from the actions themselves, plus the mouse
        and held-key gestures."""
        rows = [("Enter", "Remove the painted area")]
        for action in self.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys:
                rows.append((keys, action.text().replace("&", "").removesuffix("...")))
        rows += [
            ("Tab or \\ (hold)", "Show the original photo"),
            ("Wheel", "Zoom about the cursor"),
            ("Space + drag, middle drag", "Pan"),
            ("Right drag (brush)", "Erase"),
            ("Alt + lasso, rectangle or object", "Subtract from the mask"),
            ("Alt + wheel (brush, eraser)", "Change the size"),
        ]
        return rows

    def shortcuts_dialog(self) -> FittedDialog:
        """Help > Keyboard shortcuts: the table of :meth:`shortcut_rows`, scrolling on a screen too small for it;
        deleted when closed."""
        rows = "".join(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(text)}</td></tr>"
                       for keys, text in self.shortcut_rows())
        dialog = FittedDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        table = QLabel(f"<table cellspacing='4'>{rows}</table>")
        table.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(ContentScroll(table), 1)
        layout.addWidget(buttons)
        return dialog

    def show_shortcuts(self) -> None:
        self.shortcuts_dialog().exec()

    def about_text(self) -> str:
        """Version and the licenses of the code, the sample photo and any installed weights (HTML)."""
        from importlib import metadata

        try:
            version = metadata.version("fusionpaint")
        except metadata.PackageNotFoundError:
            version = "(not installed)"
        specs = list_models()
        weights = [f"<li>{html.escape(spec.title)}: {html.escape(spec.license)}</li>"
                   for spec in specs if isinstance(spec, NetworkSpec) and spec.has_weights]
        fills = [f"<li>{html.escape(spec.title)}: {html.escape(spec.license)}</li>"
                 for spec in specs if isinstance(spec, ClassicalSpec)]
        return (
            f"<h3>FusionPaint {html.escape(version)}</h3>"
            "<p>Removes unwanted objects from photos with DFNet and DMFN deep inpainting, or a classical fill.</p>"
            "<p>Code: MIT license. Sample photo (coffee.png): CC0, from the scikit-image sample data.</p>"
            + (f"<p>Installed weights:</p><ul>{''.join(weights)}</ul>" if weights
               else "<p>No network weights are installed: removals use a classical fill.</p>")
            + f"<p>Classical fills:</p><ul>{''.join(fills)}</ul>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, "About FusionPaint", self.about_text())
