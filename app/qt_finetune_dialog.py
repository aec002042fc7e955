"""The "Fine-tune on a folder..." dialog: trains a model on the user's photos in a separate process.

The trainer runs as ``python -m main train ... --json-progress`` in a :class:`QProcess` (the editor never imports
the trainer); its stdout carries one JSON object per line (see trainer/progress.py for the events). The dialog
shows the phase (reading photos, training, scoring) with its progress, the step of the step the run is expected to
reach, the losses, images per second, the time left and the latest preview (rows of input | result | alpha | ground
truth). Cancel sends SIGTERM (``QProcess.terminate``): the trainer writes its checkpoint and
exits, so the run can be resumed with ``fusionpaint train --resume RUN_FOLDER``. When the run ends the
dialog shows the before/after figures on the held-out photos and the run folder's size, and emits
``model_ready(name)`` when a model was exported (a run that did not help exports none unless "Keep the model even if
it does not help" is ticked).

Earlier runs (kept in the user's runs folder so they can be resumed) are listed with the disk each uses, and can be
resumed, renamed or deleted; the list and those actions also go through the command line (``fusionpaint runs``).

On Windows ``terminate`` cannot reach a console process, so a run that has not stopped after
``STOP_GRACE_MS`` is killed (its last periodic checkpoint is kept).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.qt_background import BackgroundTasks
from app.qt_dialogs import ContentScroll, FittedDialog
from engine.units import format_duration

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Folder holding main.py; the trainer process starts there."""
STOP_GRACE_MS = 120_000
"""How long Cancel waits for the trainer to write its checkpoint before killing it."""
PREVIEW_COLUMNS = 4
"""Columns of a trainer preview (trainer.preview.preview_grid): input, result, alpha or hole, original."""
PREVIEW_HEIGHT = 360
"""Height a preview is shown at, at least, where the dialog's width allows (its content scrolls on a small screen)."""
_METRIC_ROWS = (("l1_percent_hole", "L1 in hole (%)", "lower"), ("psnr_hole", "PSNR in hole (dB)", "higher"),
                ("ssim", "SSIM", "higher"), ("bpe", "BPE (%)", "lower"),
                ("gram_dist", "Texture distance in hole (Gram-d)", "lower"),
                ("sharpness", "Sharpness in hole (1 = as sharp as the photo)", "closer to 1"))


LOSS_NAMES = {
    "total": "total", "l1": "colour difference", "perceptual": "likeness of features", "style": "likeness of texture",
    "tv": "smoothness in the hole", "mae": "colour difference", "self_guided": "detail where it is off",
    "fm_vgg": "likeness of features", "fm_dis": "likeness to the judge", "adv": "realism", "align": "alignment",
    "d": "judge",
}
"""Plain words for the trainer's loss names in the progress line."""


class FineTuneDialog(FittedDialog):
    """Pick a folder, a base model and a time budget; run, watch, cancel; ``model_ready(name)`` at the end.

    ``state``: "idle", "running", "stopping", "done", "stopped" or "failed". ``extra_args`` are appended to the
    trainer's command line (e.g. ``["--device", "cpu"]``); ``module`` is the module run with ``python -m``.
    """

    model_ready = Signal(str)
    state_changed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        folder: str = "",
        arch: str | None = None,
        minutes: int = 20,
        extra_args: list[str] | None = None,
        module: str = "main",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune on a folder")
        self.setMinimumWidth(560)
        self.extra_args = list(extra_args or [])
        self.module = module
        self.state = "idle"
        self.model_name: str | None = None
        self.checkpoint: str | None = None
        self.run_dir: str | None = None
        self.last_step: dict | None = None
        self.finished_run = False
        """True once the trainer said the run is over (a ``done`` event), whether or not it exported a model."""
        self.events: list[dict] = []
        self._buffer = b""
        self._budget_s = 60.0 * minutes
        self._started_at: float | None = None
        self._scoring_s = 0.0
        self.process: QProcess | None = None

        self.folder_edit = QLineEdit(folder)
        self.folder_edit.setPlaceholderText("folder with your photos (searched recursively)")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        from engine.registry import trainable_specs

        self.model_combo = QComboBox()
        for spec in trainable_specs():  # what the registry says can be trained
            self.model_combo.addItem(spec.title, spec.arch)
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(arch)))  # None: the first network
        self.start_combo = QComboBox()
        self.model_combo.currentIndexChanged.connect(self._fill_start_combo)
        self._fill_start_combo()
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(1, 24 * 60)
        self.minutes_spin.setValue(minutes)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setToolTip("The whole run: reading the photos, training, and scoring before/after")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("automatic (model-folder-date)")
        self.keep_check = QCheckBox("Keep the model even if it does not help")
        self.keep_check.setToolTip("By default a model that scores worse than where it started is not exported")
        form = QFormLayout()
        form.addRow("Photos:", folder_row)
        form.addRow("Network:", self.model_combo)
        form.addRow("Start from:", self.start_combo)
        form.addRow("Time budget:", self.minutes_spin)
        form.addRow("Name:", self.name_edit)
        form.addRow("", self.keep_check)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.status_label = QLabel("Choose a folder of photos and press Start.")
        self.status_label.setWordWrap(True)
        self.loss_label = QLabel("")
        self.loss_label.setWordWrap(True)
        self.preview_label = QLabel()
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.preview_label.setMinimumHeight(160)
        self.preview_label.setToolTip("input (hole grey) | result | alpha | ground truth")
        # one title over each column of the preview, as wide as the column: they wrap, never overlap the images
        self.preview_titles = [QLabel() for _ in range(PREVIEW_COLUMNS)]
        titles_row = QHBoxLayout()
        titles_row.setSpacing(0)
        titles_row.addStretch(1)
        for title in self.preview_titles:
            title.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
            title.setWordWrap(True)
            title.setVisible(False)
            titles_row.addWidget(title)
        titles_row.addStretch(1)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setMaximumHeight(110)

        self.runs_table = QTableWidget(0, 5)
        self.runs_table.setHorizontalHeaderLabels(["Run", "Network", "Step", "Last saved", "Disk"])
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setWordWrap(False)
        header = self.runs_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.runs_table.setMinimumHeight(110)
        self.runs_table.setMaximumHeight(150)
        self.runs_table.itemSelectionChanged.connect(self._update_run_buttons)
        self.runs_label = QLabel("Looking for earlier runs...")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run for the time budget above, from its checkpoint")
        self.rename_button = QPushButton("Rename...")
        self.delete_button = QPushButton("Delete...")
        self.delete_button.setToolTip("Delete the run's checkpoint and previews (models exported from it stay)")
        self.resume_button.clicked.connect(self.resume_selected)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.runs_label, 1)
        for button in (self.resume_button, self.rename_button, self.delete_button):
            run_buttons.addWidget(button)
        runs_box = QGroupBox("Earlier runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.addWidget(self.runs_table)
        runs_layout.addLayout(run_buttons)
        self.runs: list[dict] = []
        self._runs_tasks = BackgroundTasks(self)  # 'fusionpaint runs' commands, off the GUI thread

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addLayout(form)
        content_layout.addWidget(runs_box)
        content_layout.addWidget(self.progress_bar)
        content_layout.addWidget(self.status_label)
        content_layout.addWidget(self.loss_label)
        content_layout.addLayout(titles_row)
        content_layout.addWidget(self.preview_label, 1)
        content_layout.addWidget(self.result_label)
        content_layout.addWidget(self.log_view)
        self.scroll = ContentScroll(content)  # on a small screen the content scrolls; the buttons stay in view
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.buttons)
        self._resume_dir: str | None = None
        self._set_state("idle")
        self.refresh_runs()

    # ------------------------------------------------------------------ commands

    def command(self) -> list[str]:
        """Arguments after the Python executable: ``-m main train ... --json-progress`` (``--resume FOLDER`` for
        :meth:`resume_selected`)."""
        keep = ["--keep-unhelpful"] if self.keep_check.isChecked() else []
        if self._resume_dir is not None:
            return ["-m", self.module, "train", "--resume", self._resume_dir, "--minutes",
                    str(self.minutes_spin.value()), "--json-progress", *keep, *self.extra_args]
        args = ["-m", self.module, "train", "--model", str(self.model_combo.currentData()),
                "--data", self.folder_edit.text().strip(), "--minutes", str(self.minutes_spin.value()),
                "--json-progress"]
        if "--init" not in self.extra_args:
            args += ["--init", str(self.start_combo.currentData())]
        if self.name_edit.text().strip():
            args += ["--name", self.name_edit.text().strip()]
        return args + keep + self.extra_args

    def start(self) -> None:
        """Start a new run with the settings above (ignored while one runs)."""
        if self.state in ("running", "stopping"):
            return
        folder = self.folder_edit.text().strip()
        if not folder or not Path(folder).is_dir():
            self.status_label.setText("Choose an existing folder of photos first.")
            return
        if not self._confirm_start_from_random():
            return
        self._resume_dir = None
        self._launch()

    def resume_selected(self) -> None:
        """Continue the selected earlier run from its checkpoint, for the time budget above."""
        run = self._selected_run()
        if self.state in ("running", "stopping") or run is None or not run.get("resumable"):
            return
        self._resume_dir = str(run["path"])
        self._launch()

    def _launch(self) -> None:
        self.events.clear()
        self.model_name = self.checkpoint = self.last_step = None
        self.finished_run = False
        self._buffer = b""
        self._budget_s = 60.0 * self.minutes_spin.value()
        self._started_at = time.monotonic()  # the budget covers the whole run: reading photos and scoring too
        self._scoring_s = 0.0
        self.result_label.clear()
        self.loss_label.clear()
        self.preview_label.clear()
        for title in self.preview_titles:
            title.setVisible(False)
        self.progress_bar.setValue(0)
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(self.command())
        process.setWorkingDirectory(str(PROJECT_ROOT))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self._append_log("$ python " + " ".join(self.command()))
        self._set_state("running")
        self.status_label.setText("Starting: reading the photos...")
        process.start()

    def _fill_start_combo(self) -> None:
        """Weights a run can start from, for the chosen network: the installed ones, the user's fine-tuned models
        of that network (so one fine-tune can be the base of the next), or random initialisation."""
        from engine.model_spec import NetworkSpec
        from engine.registry import list_models, network_spec

        arch = str(self.model_combo.currentData())
        self.start_combo.clear()
        installed = network_spec(arch)
        if installed.has_weights:
            self.start_combo.addItem(f"installed {installed.title} weights", "default")
        for spec in list_models():
            if isinstance(spec, NetworkSpec) and spec.arch == arch and spec.card is not None and spec.has_weights:
                self.start_combo.addItem(f"{spec.name} (fine-tuned)", str(spec.weights_file))
        self.start_combo.addItem("random weights (training from scratch)", "random")

    def _confirm_start_from_random(self) -> bool:
        """A run from random weights (chosen, or the only choice without installed weights): ask first."""
        from engine.registry import network_spec

        spec = network_spec(str(self.model_combo.currentData()))
        if self.start_combo.currentData() != "random" or "--init" in self.extra_args:
            return True
        answer = QMessageBox.question(
            self, "Start from random weights?",
            ("This" if spec.has_weights else f"No trained {spec.title} weights are installed, so this")
            + " run starts from random weights. Such a run "
            "needs many hours before it fills holes better than the classical fill: after an hour on a 2-core CPU "
            "it still fills worse. A model that scores worse than the fill you use now is marked so in the model "
            "list. Start anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def cancel(self) -> None:
        """Stop the run: SIGTERM, the trainer saves its checkpoint and exits; killed after STOP_GRACE_MS."""
        if self.process is None or self.state != "running":
            return
        self._set_state("stopping")
        self.status_label.setText("Stopping: saving a checkpoint...")
        self.process.terminate()
        process = self.process
        # the dialog is the timer's context: if it is deleted first, the timer never fires on a dead QProcess
        QTimer.singleShot(STOP_GRACE_MS, self, lambda: self._kill_if_running(process))

    def _kill_if_running(self, process: QProcess) -> None:
        if process is self.process and process.state() != QProcess.ProcessState.NotRunning:
            self._append_log("the trainer did not stop in time; killed (the last periodic checkpoint is kept)")
            process.kill()

    @property
    def busy(self) -> bool:
        """True while a trainer process runs (training, or saving its checkpoint after Stop)."""
        return self.state in ("running", "stopping")

    def reject(self) -> None:
        """Close the window. A running training goes on in the background (File > Fine-tune... shows the dialog
        again); only Stop, or quitting the editor, stops it."""
        if self.busy:
            self.hide()
            return
        super().reject()

    # ------------------------------------------------------------------ process output

    def _read_stdout(self) -> None:
        if self.process is not None:
            self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                event = json.loads(text)
            except ValueError:
                self._append_log(text)
                continue
            if isinstance(event, dict):
                self.handle_event(event)

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                self._append_log(line.rstrip())

    def handle_event(self, event: dict) -> None:
        """Update the dialog for one trainer event (see trainer/progress.py)."""
        self.events.append(event)
        kind = event.get("event")
        if kind == "start":
            self._scoring_s = float(event.get("scoring_s") or 0.0)
            self.run_dir = event.get("run_dir")
            self.status_label.setText(
                f"Training {event.get('model')} on {event.get('photos')} photos "
                f"({event.get('held_out')} held out for the before/after check) on {event.get('device')}."
            )
        elif kind == "phase":
            self.status_label.setText(str(event.get("message", "")))
            if event.get("name") in ("reading", "pre-filling", "scoring") and event.get("total"):
                self.progress_bar.setValue(int(1000 * min(1.0, event.get("done", 0) / event["total"])))
        elif kind == "estimate" and not event.get("enough"):
            self.status_label.setText("The time budget is too short for a useful run.")
        elif kind == "step":
            self.last_step = event
            expected = event.get("steps_expected") or event.get("steps")
            eta = event.get("eta_s")
            # the run stops at whichever limit comes first: the step count or the time budget
            fraction = event["step"] / expected if expected else 0.0
            if self._started_at is not None and self._budget_s > 0:
                fraction = max(fraction, (time.monotonic() - self._started_at) / self._budget_s)
            self.progress_bar.setValue(int(1000 * min(1.0, max(0.0, fraction))))
            left = event.get("time_left_s")
            if left is None and eta is not None:
                left = eta + self._scoring_s  # the budget includes the scoring at the end
            self.status_label.setText(
                f"Step {event['step']}{f' of ~{expected}' if expected else ''} (training), "
                f"{event.get('images_per_s') or 0:.2f} images/s, {format_duration(left)} left"
                + (" (scoring included)" if self._scoring_s else "")
            )
            losses = event.get("losses") or {}
            self.loss_label.setText("Losses (lower is better): " + ", ".join(
                f"{LOSS_NAMES.get(k, k)} {v:.4g}" for k, v in losses.items() if isinstance(v, (int, float))))
        elif kind == "preview":
            self._show_preview(QPixmap(str(event.get("path", ""))))
        elif kind == "checkpoint":
            self.checkpoint = event.get("path")
        elif kind == "stopped":
            self.checkpoint = event.get("checkpoint") or self.checkpoint
        elif kind == "evaluation":
            self.status_label.setText(str(event.get("summary", "")))
        elif kind == "done":
            self.model_name = event.get("model_name")
            self.finished_run = True
            self.progress_bar.setValue(1000)
            self.result_label.setText(self._results_html(event))
            QTimer.singleShot(0, self, lambda: self.scroll.ensureWidgetVisible(self.result_label))
            if self.model_name:
                self.status_label.setText(f"Done: the new model '{self.model_name}' is ready in the model list.")
            elif event.get("finished"):
                self.status_label.setText("This run is finished already; nothing was trained or exported.")
            else:
                self.status_label.setText("Done: no model was exported"
                                          + (" (fine-tuning did not help)." if event.get("helped") is False else "."))
        elif kind == "error":
            self.status_label.setText(f"Training failed: {event.get('message')}")
        elif kind == "log":
            self._append_log(str(event.get("message", "")))

    def _show_preview(self, pixmap: QPixmap) -> None:
        """Show a preview grid (columns: input, result, alpha or hole, original) scaled to the room it has, with
        each column's title above it."""
        if pixmap.isNull():
            return
        from engine.registry import network_spec

        shown = pixmap.scaled(max(200, self.preview_label.width()), max(PREVIEW_HEIGHT, self.preview_label.height()),
                              Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.preview_label.setPixmap(shown)
        third = "learned alpha" if network_spec(str(self.model_combo.currentData())).alpha_learned else "hole"
        for title, text in zip(self.preview_titles, ("input (hole grey)", "result", third, "original"), strict=True):
            title.setText(text)
            title.setFixedWidth(shown.width() // PREVIEW_COLUMNS)
            title.setVisible(True)

    def _results_html(self, event: dict) -> str:
        summary = event.get("summary") or ""
        before = (event.get("before") or {}).get("overall") or {}
        after = (event.get("after") or {}).get("overall") or {}
        folder = (f"<p>The run folder uses {_megabytes(event.get('run_bytes') or 0)} (kept for resuming; delete it "
                  "under Earlier runs).</p>" if event.get("run_dir") else "")
        if not before or not after:
            return f"<p>{summary}</p>{folder}"
        rows = "".join(
            f"<tr><td>{label}</td><td align='right'>{_num(before.get(key))}</td>"
            f"<td align='right'>{_num(after.get(key))}</td><td>({better} is better)</td></tr>"
            for key, label, better in _METRIC_ROWS
        )
        return (f"<p><b>{summary}</b></p><table cellspacing='6'><tr><th></th><th>before</th><th>after</th>"
                f"<th></th></tr>{rows}</table>{folder}")

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        self._read_stdout()
        if self._buffer.strip():
            self._buffer += b"\n"
            self._read_stdout()
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        if self.finished_run and exit_code == 0 and not crashed:
            self._set_state("done")
            if self.model_name:
                self.model_ready.emit(self.model_name)
        elif self.state == "stopping" or exit_code in (130, 143):
            stopped = next((e for e in reversed(self.events) if e.get("event") == "stopped"), {})
            size = f" ({_megabytes(stopped['run_bytes'])})" if stopped.get("run_bytes") else ""
            where = f" Checkpoint kept: {self.checkpoint}{size}" if self.checkpoint else ""
            self.status_label.setText("Stopped." + where)
            self._set_state("stopped")
        else:
            errors = [e.get("message") for e in self.events if e.get("event") == "error"]
            message = errors[-1] if errors else f"the trainer exited with code {exit_code}"
            too_short = any(e.get("event") == "estimate" and not e.get("enough") for e in self.events)
            self.status_label.setText(f"{'Not trained' if too_short else 'Training failed'}: {message}")
            self._set_state("failed")

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.status_label.setText(f"Could not start the trainer ({sys.executable}).")
            self._set_state("failed")

    # ------------------------------------------------------------------ earlier runs

    def refresh_runs(self) -> None:
        """List the runs again (``fusionpaint runs --json`` in a process; the table fills when it answers)."""
        self._runs_cli(["list", "--json"], self._show_runs)

    def _runs_cli(self, args: list[str], done) -> None:
        """Run ``fusionpaint runs ARGS`` in a process on a helper thread; ``done(exit_code, stdout, stderr)`` on the
        GUI thread when it ends (not at all if the dialog is gone by then)."""
        command = [sys.executable, "-m", self.module, "runs", *args]
        self._runs_tasks.submit(lambda result: done(*(result or (1, "", "error: the command did not run"))),
                                _run_command, command)

    def _show_runs(self, code: int, out: str, err: str) -> None:
        try:
            runs = json.loads(out) if code == 0 else None
        except ValueError:
            runs = None
        if not isinstance(runs, list):
            self.runs_label.setText("Could not list the runs: " + (err.strip().splitlines() or ["?"])[-1])
            return
        self.runs = runs
        self.runs_table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.get("saved") or 0))
            cells = (run.get("name", "?"), run.get("arch") or "?", "-" if run.get("step") is None else str(run["step"]),
                     saved, _megabytes(run.get("bytes", 0)))
            for column, text in enumerate(cells):
                self.runs_table.setItem(row, column, QTableWidgetItem(str(text)))
        total = sum(run.get("bytes", 0) for run in runs)
        self.runs_label.setText(f"{len(runs)} run{'s' if len(runs) != 1 else ''}, {_megabytes(total)} on disk"
                                if runs else "No earlier runs.")
        self._update_run_buttons()

    def _selected_run(self) -> dict | None:
        rows = self.runs_table.selectionModel().selectedRows()
        return self.runs[rows[0].row()] if rows and rows[0].row() < len(self.runs) else None

    def _update_run_buttons(self) -> None:
        run = self._selected_run()
        idle = self.state not in ("running", "stopping")
        self.resume_button.setEnabled(idle and run is not None and bool(run.get("resumable")))
        self.rename_button.setEnabled(idle and run is not None)
        self.delete_button.setEnabled(idle and run is not None)

    def rename_selected(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "New name (letters, digits, '.', '_', '-'):",
                                        text=run["name"])
        if ok and name.strip() and name.strip() != run["name"]:
            self._runs_cli(["rename", run["name"], name.strip()], self._after_run_change)

    def delete_selected(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        answer = QMessageBox.question(
            self, "Delete run?",
            f"Delete the run '{run['name']}' ({_megabytes(run.get('bytes', 0))}: its checkpoint and previews)? "
            "It cannot be resumed afterwards; models exported from it stay in the model list.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._runs_cli(["delete", run["name"]], self._after_run_change)

    def _after_run_change(self, code: int, out: str, err: str) -> None:
        lines = (err if code else out).strip().splitlines()
        text = (lines or [""])[-1].removeprefix("error: ")
        self.status_label.setText(text[:1].upper() + text[1:] + ("." if text and not text.endswith(".") else ""))
        self.refresh_runs()

    # ------------------------------------------------------------------ helpers

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of photos", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _append_log(self, line: str) -> None:
        self.log_view.appendPlainText(line)

    def _set_state(self, state: str) -> None:
        self.state = state
        busy = state in ("running", "stopping")
        for widget in (self.folder_edit, self.model_combo, self.start_combo, self.minutes_spin, self.name_edit,
                       self.keep_check):
            widget.setEnabled(not busy)
        self.start_button.setEnabled(not busy)
        self.cancel_button.setEnabled(state == "running")
        self.close_button.setEnabled(True)  # while stopping too: the checkpoint is written in the background
        self._update_run_buttons()
        if state in ("done", "stopped", "failed"):
            self.refresh_runs()  # the run just ended is in the list now, with its disk use
        self.state_changed.emit(state)


def _run_command(command: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``command`` run in the project folder (helper thread)."""
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, errors="replace")
    return done.returncode, done.stdout, done.stderr


def _megabytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MB" if count >= 2**20 else f"{count / 2**20:.1f} MB"


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"
