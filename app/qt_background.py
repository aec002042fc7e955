"""Work off the GUI thread, collected by the GUI thread: see :class:`BackgroundTasks`."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer

_T = TypeVar("_T")

HELPER_NICENESS = 5
"""How many nice steps lower than the GUI thread's a helper thread's CPU priority is (Linux): when both cores are
busy, the GUI thread's short turns of the event loop run before the helper's long work."""


def lower_thread_priority() -> None:
    """Lower the calling thread's CPU priority by `HELPER_NICENESS` (Linux, where the nice value is per thread;
    elsewhere, or where the system refuses, nothing changes)."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + HELPER_NICENESS))
    except OSError:
        pass


class BackgroundTasks(QObject):
    """Runs work (image building, a command line) on one helper thread, at a lower CPU priority than the GUI
    thread's, and hands each result to its callback on the GUI thread. The GUI thread polls every 10 ms while
    anything is pending, so the helper thread never touches a Qt object that may be gone: when the owner is closed
    and deleted, the timer goes with it and no callback runs. Work that failed hands over None. The work itself must
    not use QObjects (a QImage is fine)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Future[Any], Callable[[Any], None]]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._deliver)

    def submit(self, then: Callable[[_T | None], None], function: Callable[..., _T], *args: Any) -> None:
        """Run ``function(*args)`` on the helper thread, then ``then(result or None)`` on the GUI thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui-helper",
                                                initializer=lower_thread_priority)
        self._pending.append((self._executor.submit(function, *args), then))
        self._timer.start()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self) -> None:
        """Block until the work submitted so far has run (its callbacks still come from the event loop)."""
        wait_for([future for future, _ in self._pending])

    def _deliver(self) -> None:
        finished = [item for item in self._pending if item[0].done()]
        self._pending = [item for item in self._pending if not item[0].done()]
        if not self._pending:
            self._timer.stop()
        for future, then in finished:
            then(None if future.cancelled() or future.exception() is not None else future.result())


def outcome(function, *args):
    """(function(*args), None), or (None, the exception it raised): a helper thread's result for the GUI thread."""
    try:
        return function(*args), None
    except Exception as exc:
        return None, exc
