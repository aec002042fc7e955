"""The GUI's helper thread: results reach the GUI thread, and the helper yields the CPU to it."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from PySide6.QtCore import QObject

from app.qt_background import HELPER_NICENESS, BackgroundTasks


def _thread_niceness() -> tuple[str, int]:
    return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_work_runs_on_the_helper_thread_and_its_result_reaches_the_gui_thread(qtbot):
    owner = QObject()
    tasks = BackgroundTasks(owner)
    delivered = []
    tasks.submit(lambda result: delivered.append((threading.current_thread().name, result)), lambda x: x * 2, 21)
    qtbot.waitUntil(lambda: bool(delivered), timeout=10_000)
    assert delivered == [(threading.current_thread().name, 42)]


@pytest.mark.skipif(sys.platform != "linux", reason="the nice value is per thread on Linux only")
def test_the_helper_thread_runs_at_a_lower_cpu_priority_than_the_gui_thread(qtbot):
    owner = QObject()
    tasks = BackgroundTasks(owner)
    delivered = []
    tasks.submit(delivered.append, _thread_niceness)
    qtbot.waitUntil(lambda: bool(delivered), timeout=10_000)
    name, niceness = delivered[0]
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert name.startswith("gui-helper")
    assert niceness == min(19, gui + HELPER_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui  # the GUI thread keeps its own
