"""Progress output of a training run: a tqdm bar for people, or JSON lines for programs (the editor's dialog).

JSON mode writes one object per line to stdout and nothing else there; each has ``"event"`` plus fields:

- ``phase``: name ("reading" photos, "pre-filling" training samples, "training", "scoring" held-out pairs), done,
  total (of that phase), message
- ``start``: model, device, steps (int or null), minutes (float or null; the whole run's budget), scoring_s (the
  seconds kept for the before/after scoring at the end), batch, photos, held_out, run_dir, prefilled_samples (the
  pool's samples; 0 without a pool)
- ``estimate`` (after the first timed steps): steps_expected (the step the run should reach), step_s (seconds per
  step), images_per_s, minimum (the fewest steps worth a run), enough (bool), needed_minutes (null when enough)
- ``step``: step, steps (null when only a time budget is set), steps_expected, losses {name: float}, lr,
  images_per_s, eta_s (seconds of training left), time_left_s (seconds left of the whole run, scoring included)
- ``preview``: step, path (PNG: rows of input | result | alpha | ground truth)
- ``checkpoint``: step, path
- ``evaluation``: photos, pairs (scored), pairs_offered, before, after (metric dicts, see trainer.loop), helped (bool
  or null), summary (str)
- ``done``: model_name (null when nothing was exported), weights, card, before, after, helped, summary, steps,
  time_s, run_dir, run_bytes (the run folder's size), finished (true for a finished run resumed to no effect)
- ``stopped``: step, reason ("SIGTERM", "SIGINT"), checkpoint, run_dir, run_bytes
- ``log``: message
- ``error``: message

Non-finite floats are written as null so every line is strict JSON.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from engine.units import format_duration

if TYPE_CHECKING:  # tqdm is imported when the first bar is shown
    from tqdm import tqdm


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


class Progress:
    """Reports a run's events. ``enabled=False`` (ranks other than 0) drops everything."""

    def __init__(self, *, json_lines: bool = False, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.json_lines = json_lines
        self.enabled = enabled
        self._stream = stream
        self._bar: tqdm[Any] | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event (JSON mode) or a readable line / bar update (text mode)."""
        if not self.enabled:
            return
        if self.json_lines:
            self.stream.write(json.dumps({"event": event, **_clean(fields)}) + "\n")
            self.stream.flush()
            return
        if event == "phase":
            self._phase_bar(fields)
        elif event == "estimate":
            if fields.get("enough"):
                self.log(f"this run is expected to reach step {fields.get('steps_expected')} "
                         f"({fields.get('step_s', 0.0):.1f} s per step, "
                         f"{fields.get('images_per_s', 0.0):.2f} images/s)")
        elif event == "start":
            self.log(
                f"training {fields.get('model')} on {fields.get('photos')} photos "
                f"({fields.get('held_out')} held out) on {fields.get('device')}, batch {fields.get('batch')}"
            )
        elif event == "step":
            self._update_bar(fields)
        elif event in ("preview", "checkpoint"):
            self.log(f"{event} (step {fields.get('step')}): {fields.get('path')}")
        elif event == "evaluation":
            self.log(str(fields.get("summary", "")))
        elif event == "stopped":
            self.log(f"stopped ({fields.get('reason')}) at step {fields.get('step')}; "
                     f"checkpoint: {fields.get('checkpoint')}")
            self.log(run_folder_line(fields))
        elif event == "done":
            self.close()
            if fields.get("model_name"):
                self.log(f"model '{fields.get('model_name')}' saved: {fields.get('weights')}")
            elif not fields.get("finished"):
                self.log("no model exported")
            self.log(run_folder_line(fields))
        elif event == "error":
            self.close()
            print(f"error: {fields.get('message')}", file=sys.stderr)
        else:
            self.log(str(fields.get("message", fields)))

    def log(self, message: str) -> None:
        """A free-text line (a ``log`` event in JSON mode); never breaks the bar."""
        if not self.enabled:
            return
        if self.json_lines:
            self.emit("log", message=message)
        elif self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def _phase_bar(self, fields: dict) -> None:
        """One bar per phase: photos read, steps trained (of the expected), pairs scored."""
        from tqdm import tqdm

        name = fields.get("name")
        bar = self._bar
        if bar is None or bar.desc != name:
            self.close()
            units = {"reading": "photo", "pre-filling": "sample", "training": "step", "scoring": "pair"}
            unit = units.get(name, "it") if isinstance(name, str) else "it"
            total = fields.get("total") or None
            bar = self._bar = tqdm(total=total, desc=name, unit=unit, dynamic_ncols=True, file=sys.stderr)
        if name != "training":
            bar.total = fields.get("total") or None
            bar.n = int(fields.get("done") or 0)
            bar.refresh()

    def _update_bar(self, fields: dict) -> None:
        if self._bar is None or self._bar.desc != "training":
            self._phase_bar({"name": "training"})
        bar = self._bar
        assert bar is not None, "_phase_bar opens the training bar"
        bar.n = int(fields.get("step", 0))
        expected = fields.get("steps_expected")
        if expected:
            bar.total = int(expected)  # shown as "x/y": y is the step the run is expected to reach
        losses = fields.get("losses") or {}
        postfix = {k: f"{v:.4g}" for k, v in losses.items() if isinstance(v, float)}
        postfix["img/s"] = f"{fields.get('images_per_s', 0.0):.2f}"
        postfix["left"] = format_duration(fields.get("time_left_s", fields.get("eta_s")))
        bar.set_postfix(postfix, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_folder_line(fields: dict) -> str:
    """Where the run is kept and the disk it uses, with how to resume or delete it."""
    folder = fields.get("run_dir")
    megabytes = (fields.get("run_bytes") or 0) / 2**20
    name = Path(str(folder)).name
    return (f"run folder {folder}: {megabytes:.1f} MB (resume with 'fusionpaint train --resume {folder}', delete "
            f"with 'fusionpaint runs delete {name}')")
