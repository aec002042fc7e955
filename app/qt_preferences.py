"""Edit > Preferences: the saved photos' JPEG/WebP quality, the mask overlay's colour and opacity, and the memory the
undo history may hold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from app.qt_dialogs import FittedDialog
from app.settings import MAX_UNDO_MB, MIN_UNDO_MB, Settings


class PreferencesDialog(FittedDialog):
    """Shows ``settings``' values; :meth:`apply_to` writes the edited ones back (after Accept)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(int(settings.jpeg_quality))
        self.quality_spin.setToolTip("JPEG and WebP quality of saved photos (higher: better and larger)")
        self.color = QColor(settings.overlay_color)
        self.color_button = QPushButton()
        self.color_button.clicked.connect(self._choose_color)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(5, 100)
        self.opacity_slider.setValue(round(100 * settings.overlay_opacity))
        self.opacity_slider.setToolTip("How opaque the painted mask is, in percent")
        self.undo_spin = QSpinBox()
        self.undo_spin.setRange(MIN_UNDO_MB, MAX_UNDO_MB)
        self.undo_spin.setSingleStep(128)
        self.undo_spin.setSuffix(" MB")
        self.undo_spin.setValue(int(settings.undo_memory_mb))
        self.undo_spin.setToolTip("Memory the undo history of a photo may hold; the oldest steps go first")
        mask_row = QHBoxLayout()
        mask_row.addWidget(self.color_button)
        mask_row.addWidget(self.opacity_slider, 1)
        form = QFormLayout(self)
        form.addRow("JPEG / WebP quality:", self.quality_spin)
        form.addRow("Mask colour and opacity:", mask_row)
        form.addRow("Undo memory:", self.undo_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._show_color()

    def _choose_color(self) -> None:
        color = QColorDialog.getColor(self.color, self, "Mask colour")
        if color.isValid():
            self.color = color
            self._show_color()

    def _show_color(self) -> None:
        self.color_button.setText(self.color.name())
        self.color_button.setStyleSheet(f"background: {self.color.name()}; color: "
                                        f"{'black' if self.color.lightness() > 140 else 'white'}")

    def apply_to(self, settings: Settings) -> None:
        """Write the dialog's values into ``settings``."""
        settings.jpeg_quality = self.quality_spin.value()
        settings.overlay_color = self.color.name()
        settings.overlay_opacity = self.opacity_slider.value() / 100.0
        settings.undo_memory_mb = self.undo_spin.value()
