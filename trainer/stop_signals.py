"""Stopping a training run by signal: SIGTERM or Ctrl+C (SIGINT) ask the run to stop at the next step boundary,
after its checkpoint is written; a second Ctrl+C aborts at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

EXIT_STOPPED = {"SIGINT": 130, "SIGTERM": 143}
"""Process exit codes of a run stopped by a signal (after its checkpoint was written)."""


class StopSignals:
    """SIGTERM / SIGINT set ``reason`` instead of killing the process; a second SIGINT raises KeyboardInterrupt.

    A context manager: the handlers are installed on entry (from the main thread only) and the previous ones put back
    on exit.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        # what signal.signal returns and takes back: a handler, SIG_DFL / SIG_IGN, or None (set outside Python)
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | signal.Handlers | None] = {}

    def _handler(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if name == "SIGINT" and self.reason == "SIGINT":
            raise KeyboardInterrupt
        self.reason = self.reason or name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
