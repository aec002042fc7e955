"""The editor's model and device selectors: listing the models (with the user model files the registry skipped),
choosing one, and the fine-tuning dialog that adds new ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QLabel, QMessageBox

from app.messages import no_weights_text, sentence
from app.qt_window_layout import make_action
from app.qt_window_mixin import WindowMixin
from engine.device import cuda_absence
from engine.errors import FusionPaintError
from engine.model_spec import ModelSpec, NetworkSpec
from engine.registry import default_model_name, get_spec, list_models, skipped_user_models

if TYPE_CHECKING:
    from app.qt_finetune_dialog import FineTuneDialog
    from app.qt_worker_bridge import QtWorkerBridge
    from app.settings import Settings

DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)"))
"""The device selector's choices: (value for the engine, label)."""

CLASSICAL_ONLY_SHORT = ("No network has trained weights yet: removals use a classical fill. PatchMatch copies "
                        "texture from the rest of the photo; OpenCV's fills suit small blemishes, specks and wires.")

CLASSICAL_ONLY_NOTE = (
    CLASSICAL_ONLY_SHORT + " Large objects in front of detailed scenes can leave repeated patches or smears. DFNet "
    "and DMFN learn to fill large holes once their weights are installed, or after File > Fine-tune on a folder..."
)
"""Said once at the first start (the short form, in the status bar) and always in the model selector's tooltip while
no network has weights."""

SKIPPED_SHOWN = 2
"""How many skipped model files the status-bar note names with their reasons (the model selector's tooltip lists
them all)."""

SKIPPED_REASON_CHARS = 70
"""A reason longer than this is cut short in the status-bar note."""


def _skipped_entries(skipped: dict[Path, str]) -> list[tuple[str, str]]:
    """(file name, reason) of each skipped weights file, by file name; the models folder is left out of reasons."""
    return [(weights.name, reason.replace(f"{weights.parent}{os.sep}", ""))
            for weights, reason in sorted(skipped.items())]


def skipped_models_note(skipped: dict[Path, str]) -> str | None:
    """The status-bar note about the user model files the registry skipped (``engine.registry.skipped_user_models``):
    the first ``SKIPPED_SHOWN`` with their reasons (each cut to ``SKIPPED_REASON_CHARS``), then how many more; None
    when none was skipped."""
    if not skipped:
        return None
    shown = []
    for name, reason in _skipped_entries(skipped)[:SKIPPED_SHOWN]:
        if len(reason) > SKIPPED_REASON_CHARS:
            reason = reason[: SKIPPED_REASON_CHARS - 1].rstrip() + "\u2026"
        shown.append(f"{name} ({reason})")
    more = len(skipped) - len(shown)
    count = ("1 model in the models folder was skipped" if len(skipped) == 1
             else f"{len(skipped)} models in the models folder were skipped")
    return f"{count}: {'; '.join(shown)}" + (f"; {more} more in the model selector's tooltip" if more else "")


def skipped_models_tooltip(skipped: dict[Path, str]) -> str:
    """Every skipped user model file with its full reason, one a line, for the model selector's tooltip ("" when
    none)."""
    lines = [f"{name} ({reason})" for name, reason in _skipped_entries(skipped)]
    return "Skipped in the models folder:\n" + "\n".join(lines) if lines else ""


class ModelPicker(WindowMixin):
    """The model and device selectors of :class:`app.qt_main_window.QtMainWindow` (mixed in)."""

    # what it uses of the window (:mod:`app.qt_main_window`) and of the other commands mixed into it
    settings: Settings
    bridge: QtWorkerBridge
    _model_name: str
    _finetune_dialog: FineTuneDialog | None

    if TYPE_CHECKING:
        def message(self, text: str, timeout_ms: int = 6000) -> None: ...
        def _focus_canvas(self, *_args: object) -> None: ...

    def _build_model_controls(self) -> None:
        """``act_finetune`` (File > Fine-tune on a folder...), the model and device selectors (``model_combo``,
        ``device_combo``; a GPU that cannot be used is offered greyed out with the reason) and ``device_label``."""
        self.act_finetune = make_action(self, "&Fine-tune on a folder...", self.open_finetune)
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(230)
        self.model_combo.setMaximumWidth(340)
        self.model_combo.activated.connect(self._on_model_chosen)
        self.model_combo.activated.connect(self._focus_canvas)
        self.device_combo = QComboBox()
        for value, text in DEVICES:
            self.device_combo.addItem(text, value)
        devices = self.device_combo.model()
        assert isinstance(devices, QStandardItemModel)  # a combo box's own model
        absent = cuda_absence()
        if absent is not None:  # offered, but greyed out with the reason
            index = self.device_combo.findData("cuda")
            devices.item(index).setEnabled(False)
            self.device_combo.setItemData(index, f"Not available: {absent}", Qt.ItemDataRole.ToolTipRole)
        index = self.device_combo.findData(self.settings.device)
        if index < 0 or not devices.item(index).isEnabled():
            index = 0  # Auto
        self.device_combo.setCurrentIndex(index)
        self.device_combo.activated.connect(self._on_device_chosen)
        self.device_combo.activated.connect(self._focus_canvas)
        self.device_label = QLabel("Device: -")

    def refresh_models(self, select: str | None = None) -> str | None:
        """Fill the model selector from engine.registry.list_models(); models without weights are marked. User model
        files the registry skipped are named in the status bar (see :func:`skipped_models_note`, also returned) and
        listed in full in the selector's tooltip."""
        select = select or self._model_name
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._specs: list[ModelSpec] = list_models()
        skipped = skipped_user_models()
        for spec in self._specs:
            label = spec.title if spec.has_weights else f"{spec.title} (no weights)"
            if isinstance(spec, NetworkSpec) and spec.card is not None and spec.card.helped is False:
                label += " - no better than before fine-tuning"
            self.model_combo.addItem(label, spec.name)
            self.model_combo.setItemData(self.model_combo.count() - 1, spec.alpha_meaning, Qt.ItemDataRole.ToolTipRole)
        tip = CLASSICAL_ONLY_NOTE if self._classical_only() else "The model that fills the holes"
        self.model_combo.setToolTip("\n\n".join(filter(None, (tip, skipped_models_tooltip(skipped)))))
        index = self.model_combo.findData(select)
        if index < 0 or not self._specs[index].has_weights:
            index = self.model_combo.findData(default_model_name())
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)
        if self.model_combo.count():
            self._model_name = self.model_combo.currentData()
        note = skipped_models_note(skipped)
        if note:
            self.message(note, 30_000)
        return note

    def _classical_only(self) -> bool:
        """True while no network in the selector has weights: every removal uses a classical fill."""
        return not any(isinstance(spec, NetworkSpec) and spec.has_weights for spec in self._specs)

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def device(self) -> str:
        return self.device_combo.currentData() or "auto"

    def select_model(self, name: str) -> bool:
        """Choose a model by registry name (as if picked in the selector). False if it cannot be used."""
        index = self.model_combo.findData(name)
        if index < 0:
            return False
        self.model_combo.setCurrentIndex(index)
        return self._on_model_chosen(index)

    def _on_model_chosen(self, index: int) -> bool:
        name = self.model_combo.itemData(index)
        try:
            spec = get_spec(name)
        except FusionPaintError as exc:
            QMessageBox.warning(self, "Model unavailable", sentence(str(exc)))
            self._revert_model_combo()
            return False
        if not spec.has_weights:
            QMessageBox.information(self, "No weights", no_weights_text(spec))
            self._revert_model_combo()
            return False
        self._model_name = name
        self.settings.model = name
        if isinstance(spec, NetworkSpec):
            self.message(f"Loading {spec.title}...")
            self.bridge.switch_model(name, self.device)
        else:
            self.message(f"Model: {spec.title}")
        return True

    def _revert_model_combo(self) -> None:
        index = self.model_combo.findData(self._model_name)
        self.model_combo.setCurrentIndex(max(0, index))

    def _on_device_chosen(self, _index: int) -> None:
        self.settings.device = self.device
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                self.message("No CUDA GPU found: removals will fail on 'GPU'. Choose Auto or CPU.", 10000)

    def _on_model_loaded(self, info) -> None:
        self.device_label.setText(f"Device: {info.device}")
        self.message(f"{info.spec.title} ready on {info.device}")

    def _on_model_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Cannot load model", message)

    def open_finetune(self) -> None:
        """Open the fine-tuning dialog (imported lazily: it is optional)."""
        try:
            from app.qt_finetune_dialog import FineTuneDialog
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            QMessageBox.warning(self, "Fine-tuning unavailable", f"The fine-tuning dialog cannot be opened: {exc}")
            return
        dialog = self._finetune_dialog
        if dialog is None:
            dialog = FineTuneDialog(self, folder=self.settings.finetune_folder)
            dialog.model_ready.connect(self._on_finetuned_model)
            dialog.state_changed.connect(lambda state: self._remember_finetune_folder(dialog, state))
            self._finetune_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _remember_finetune_folder(self, dialog, state: str) -> None:
        if state == "running":
            self.settings.finetune_folder = dialog.folder_edit.text().strip()

    def _on_finetuned_model(self, name: str) -> None:
        """Offer a new fine-tuned model in the selector; the model in use stays selected (the user compares the
        dialog's before/after figures and chooses)."""
        note = self.refresh_models()
        if self.model_combo.findData(name) >= 0:
            text = f"Fine-tuned model {name} is in the model list: choose it there to try it."
        else:
            text = f"Fine-tuned model {name} is not in the model list."
        self.message(" ".join(filter(None, (text, note))), 30_000 if note else 6000)
