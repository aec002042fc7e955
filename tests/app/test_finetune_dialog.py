"""The fine-tune dialog runs the trainer as a process, shows its progress and stops it cleanly."""

import json

import pytest
import torch
from PySide6.QtCore import QProcess

from app.qt_finetune_dialog import FineTuneDialog
from tests.helpers import without_weights, write_photo_folder


def test_command_goes_through_main(qtbot, tmp_path):
    from engine.registry import trainable_specs

    dialog = FineTuneDialog(folder=str(tmp_path), arch="dmfn", minutes=5)
    qtbot.addWidget(dialog)
    combo = dialog.model_combo
    offered = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    assert offered == [(spec.title, spec.arch) for spec in trainable_specs()]  # the registry's networks
    dialog.name_edit.setText("mine")
    args = dialog.command()
    assert args[:3] == ["-m", "main", "train"]
    assert args[args.index("--model") + 1] == "dmfn" and args[args.index("--minutes") + 1] == "5"
    assert "--json-progress" in args and args[args.index("--name") + 1] == "mine"


def test_the_preview_caption_names_what_the_network_shows(qtbot, tmp_path):
    """The third preview panel is the learned alpha for a network that learns one, else the hole."""
    from PIL import Image

    from engine.registry import trainable_specs

    preview = tmp_path / "preview.png"
    Image.new("RGB", (64, 16)).save(preview)
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    assert dialog.model_combo.currentData() == trainable_specs()[0].arch  # no arch given: the first network
    for spec in trainable_specs():
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(spec.arch))
        dialog.handle_event({"event": "preview", "path": str(preview)})
        titles = [title.text() for title in dialog.preview_titles]
        assert titles == ["input (hole grey)", "result", "learned alpha" if spec.alpha_learned else "hole",
                          "original"]


def test_after_a_run_the_dialog_fits_a_small_screen_and_the_titles_clear_the_preview(qtbot, tmp_path, monkeypatch):
    from PIL import Image
    from PySide6.QtCore import QRect

    import app.qt_dialogs as qt_dialogs

    area = QRect(0, 0, 1366, 728)  # a 1366 x 768 laptop with a task bar
    monkeypatch.setattr(qt_dialogs, "available_area", lambda window: area)
    preview = tmp_path / "preview.png"
    Image.new("RGB", (1024, 1024), (90, 90, 90)).save(preview)  # 4 rows of 4 panels of 256 px
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.frameGeometry().height() <= area.height()
    losses = {"total": 1.5, "l1": 0.1, "perceptual": 0.2, "style": 0.3, "tv": 0.01}
    dialog.handle_event({"event": "start", "model": "dfnet", "photos": 40, "held_out": 5, "device": "CPU"})
    dialog.handle_event({"event": "step", "step": 5, "steps": 10, "losses": losses, "images_per_s": 2.0, "eta_s": 30})
    dialog.handle_event({"event": "preview", "path": str(preview)})
    before = {"overall": {"l1_percent_hole": 9.0, "psnr_hole": 20.0, "ssim": 0.8, "bpe": 3.0}}
    after = {"overall": {"l1_percent_hole": 8.0, "psnr_hole": 21.0, "ssim": 0.82, "bpe": 2.5}}
    dialog.handle_event({"event": "done", "model_name": "mine", "before": before, "after": after,
                         "summary": "Fine-tuning helped on the held-out photos"})
    for line in range(40):
        dialog._append_log(f"line {line}")
    qtbot.wait(50)
    # the run's widgets never make the dialog need more than the screen: a window manager would squeeze it
    room = area.height() - (dialog.frameGeometry().height() - dialog.height())
    assert dialog.minimumSizeHint().height() <= room and dialog.height() <= room
    for button in (dialog.start_button, dialog.cancel_button, dialog.close_button):
        top_left = button.mapTo(dialog, button.rect().topLeft())
        assert dialog.rect().contains(top_left) and top_left.y() + button.height() <= dialog.height()
    label, pixmap = dialog.preview_label.geometry(), dialog.preview_label.pixmap()
    left = label.x() + (label.width() - pixmap.width()) // 2  # centred at the label's top
    column = pixmap.width() / len(dialog.preview_titles)
    for i, title in enumerate(dialog.preview_titles):
        box = title.geometry()
        assert title.isVisible() and box.bottom() < label.top()  # above the images, never over them
        assert abs(box.left() - (left + i * column)) <= 2 and abs(box.width() - column) <= 1  # over its column
        assert title.heightForWidth(box.width()) <= box.height()  # its words fit


def test_done_event_shows_figures_and_emits_model_ready(qtbot, tmp_path):
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    before = {"overall": {"l1_percent_hole": 9.0, "psnr_hole": 20.0, "ssim": 0.8, "bpe": 3.0}}
    after = {"overall": {"l1_percent_hole": 8.0, "psnr_hole": 21.0, "ssim": 0.82, "bpe": 2.5}}
    dialog.handle_event({"event": "step", "step": 5, "steps": 10, "losses": {"total": 1.5}, "images_per_s": 2.0,
                         "eta_s": 30.0})
    assert dialog.progress_bar.value() == 500 and "1.5" in dialog.loss_label.text()
    dialog.handle_event({"event": "done", "model_name": "mine", "before": before, "after": after,
                         "summary": "Fine-tuning helped"})
    assert "8.000" in dialog.result_label.text() and "helped" in dialog.result_label.text()
    assert dialog.model_name == "mine"
    with qtbot.waitSignal(dialog.model_ready, timeout=1000) as blocker:
        dialog._finished(0, QProcess.ExitStatus.NormalExit)
    assert blocker.args == ["mine"] and dialog.state == "done"


def test_a_run_that_did_not_help_exports_nothing_unless_kept(qtbot, tmp_path):
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    assert "--keep-unhelpful" not in dialog.command()
    dialog.keep_check.setChecked(True)
    assert "--keep-unhelpful" in dialog.command()
    dialog.handle_event({"event": "step", "step": 3, "steps": None, "steps_expected": 40, "losses": {"total": 1.0},
                         "images_per_s": 1.0, "eta_s": 50.0, "time_left_s": 75.0})
    assert "Step 3 of ~40" in dialog.status_label.text() and "1:15 left" in dialog.status_label.text()
    dialog.handle_event({"event": "done", "model_name": None, "helped": False, "summary": "Fine-tuning did not help",
                         "run_dir": str(tmp_path), "run_bytes": 3 * 2**20})
    assert "did not help" in dialog.status_label.text() and "uses 3 MB" in dialog.result_label.text()
    emitted = []
    dialog.model_ready.connect(emitted.append)
    dialog._finished(0, QProcess.ExitStatus.NormalExit)
    assert dialog.state == "done" and emitted == []


@pytest.mark.slow
def test_run_shows_progress_and_cancels(qtbot, tmp_path):
    data = write_photo_folder(tmp_path / "photos")
    run_dir = tmp_path / "run"
    dialog = FineTuneDialog(
        folder=str(data), arch="dfnet", minutes=30,
        extra_args=["--steps", "1000", "--batch", "2", "--device", "cpu", "--init", "random", "--no-evaluate",
                    "--preview-every", "1", "--run-dir", str(run_dir)],
    )
    qtbot.addWidget(dialog)
    ready = []
    dialog.model_ready.connect(ready.append)
    dialog.start()
    assert dialog.state == "running"
    qtbot.waitUntil(lambda: dialog.last_step is not None or dialog.state == "failed", timeout=180_000)
    assert dialog.state == "running", dialog.log_view.toPlainText()
    assert dialog.status_label.text().startswith("Step ")
    assert "total" in dialog.loss_label.text()
    qtbot.waitUntil(lambda: dialog.preview_label.pixmap() is not None and not dialog.preview_label.pixmap().isNull(),
                    timeout=60_000)
    dialog.cancel()
    assert dialog.state == "stopping" and dialog.status_label.text() == "Stopping: saving a checkpoint..."
    assert dialog.close_button.isEnabled()  # Stop is acknowledged at once and the window can be closed meanwhile
    qtbot.waitUntil(lambda: dialog.state in ("stopped", "failed"), timeout=180_000)
    assert dialog.state == "stopped", dialog.log_view.toPlainText()
    assert "Checkpoint kept" in dialog.status_label.text()
    assert not ready
    assert any(e["event"] == "stopped" for e in dialog.events)
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] >= 1
    json.dumps(dialog.events)  # every event was plain JSON


def test_scoring_phase_and_plain_loss_names(qtbot, tmp_path):
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.handle_event({"event": "step", "step": 1, "steps": 10, "losses": {"l1": 0.05, "tv": 0.01, "total": 0.3},
                         "images_per_s": 2.0, "eta_s": 30.0})
    assert "colour difference 0.05" in dialog.loss_label.text()
    assert "smoothness in the hole 0.01" in dialog.loss_label.text()
    dialog.handle_event({"event": "phase", "name": "scoring",
                         "message": "Scoring before and after on 5 held-out photos..."})
    assert dialog.status_label.text() == "Scoring before and after on 5 held-out photos..."


def test_a_fine_tuned_model_can_be_the_start_of_another(qtbot, tmp_path):
    from engine.paths import user_models_dir
    from engine.registry import build_network
    from engine.weights import save_weights

    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    weights = save_weights(folder / "holiday.safetensors", build_network("dmfn").state_dict(), arch="dmfn")
    (folder / "holiday.json").write_text(json.dumps({"name": "holiday"}))
    dialog = FineTuneDialog(folder=str(tmp_path), arch="dmfn")
    qtbot.addWidget(dialog)
    starts = [dialog.start_combo.itemData(i) for i in range(dialog.start_combo.count())]
    assert starts == ["default", str(weights), "random"]  # the installed weights, the fine-tune, or random
    dialog.start_combo.setCurrentIndex(1)
    args = dialog.command()
    assert args[args.index("--init") + 1] == str(weights)
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("dfnet"))  # shipped weights, no fine-tune
    assert [dialog.start_combo.itemData(i) for i in range(dialog.start_combo.count())] == ["default", "random"]
    with without_weights("dmfn", tmp_path):
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("dmfn"))
        starts = [dialog.start_combo.itemData(i) for i in range(dialog.start_combo.count())]
    assert starts == [str(weights), "random"]  # no installed DMFN weights: the fine-tune or random


def test_the_time_left_includes_the_scoring_at_the_end(qtbot, tmp_path):
    dialog = FineTuneDialog(folder=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.handle_event({"event": "start", "model": "dfnet", "photos": 20, "held_out": 5, "device": "cpu",
                         "scoring_s": 90.0})
    dialog.handle_event({"event": "step", "step": 1, "steps": None, "losses": {"total": 0.3}, "images_per_s": 2.0,
                         "eta_s": 30.0})
    assert "2:00 left (scoring included)" in dialog.status_label.text()


def _fake_run(name, size, step):
    from engine.paths import user_runs_dir
    from trainer.runs import write_summary

    folder = user_runs_dir() / name
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"c" * size)
    write_summary(folder, arch="dfnet", step=step, data="/photos", saved=1_700_000_000.0 + step)
    return folder


def test_earlier_runs_are_listed_and_can_be_resumed_renamed_and_deleted(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    _fake_run("holiday", 3 * 2**20, 40)
    _fake_run("garden", 1000, 7)
    dialog = FineTuneDialog(folder=str(tmp_path), minutes=7)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.runs_table.rowCount() == 2, timeout=20_000)
    assert dialog.runs_table.item(0, 0).text() == "holiday" and dialog.runs_table.item(0, 2).text() == "40"
    assert dialog.runs_table.item(0, 4).text() == "3 MB" and "2 runs, 3 MB on disk" in dialog.runs_label.text()
    assert not dialog.resume_button.isEnabled()  # nothing selected

    dialog.runs_table.selectRow(0)
    assert dialog.resume_button.isEnabled()
    dialog._resume_dir = str(dialog.runs[0]["path"])
    args = dialog.command()
    assert args[args.index("--resume") + 1].endswith("holiday") and args[args.index("--minutes") + 1] == "7"
    dialog._resume_dir = None

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("holiday-2026", True))
    dialog.rename_selected()
    qtbot.waitUntil(lambda: dialog.runs_table.item(0, 0) is not None
                    and dialog.runs_table.item(0, 0).text() == "holiday-2026", timeout=20_000)
    assert dialog.status_label.text() == "Renamed holiday to holiday-2026."

    dialog.runs_table.selectRow(1)  # garden
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog.delete_selected()
    qtbot.waitUntil(lambda: dialog.runs_table.rowCount() == 1, timeout=20_000)
    assert dialog.status_label.text().startswith("Deleted garden")
    assert "1 run, 3 MB on disk" in dialog.runs_label.text()
