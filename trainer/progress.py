"""Progress output of a training run: a tqdm bar for people, or JSON lines for programs (the editor's dialog).

JSON mode writes one object per line to stdout and nothing else there; each has ``"event"`` plus fields:

- ``start``: model, device, steps (int or null), minutes (float or null; the whole run's budget), scoring_s (the
  seconds of it kept for the before/after scoring at the end), batch, photos, held_out, run_dir
- ``step``: step, steps (null when only a time budget is set), losses {name: float}, lr, images_per_s, eta_s
- ``preview``: step, path (PNG: rows of input | result | alpha | ground truth)
- ``checkpoint``: step, path
- ``evaluation``: photos, before, after (metric dicts, see trainer.loop), helped (bool or null), summary (str)
- ``done``: model_name, weights, card, before, after, helped, summary, steps, time_s
- ``stopped``: step, reason ("SIGTERM", "SIGINT"), checkpoint
- ``log``: message
- ``error``: message

Non-finite floats are written as null so every line is strict JSON.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO

from engine.units import format_duration


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
        self._bar = None

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
        if event == "start":
            self._open_bar(fields.get("steps"))
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
        elif event == "done":
            self.close()
            self.log(f"model '{fields.get('model_name')}' saved: {fields.get('weights')}")
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

    def _open_bar(self, steps: int | None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def _update_bar(self, fields: dict) -> None:
        if self._bar is None:
            self._open_bar(fields.get("steps"))
        bar = self._bar
        bar.n = int(fields.get("step", 0))
        losses = fields.get("losses") or {}
        postfix = {k: f"{v:.4g}" for k, v in losses.items() if isinstance(v, float)}
        postfix["img/s"] = f"{fields.get('images_per_s', 0.0):.2f}"
        postfix["eta"] = format_duration(fields.get("eta_s"))
        bar.set_postfix(postfix, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
