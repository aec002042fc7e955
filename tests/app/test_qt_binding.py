"""The installed Qt binding keeps Python's reference counts: PySide6 6.12.0 on Python < 3.12 released one reference
to None on every call of a method returning nothing (and to True/False on some signal emissions), so a long editing
session ended with "Fatal Python error: none_dealloc" once None's count ran out (about 11,000 calls in an editor
that has not imported PyTorch)."""

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel


class _Emitter(QObject):
    changed = Signal(bool)


def test_void_calls_and_signals_keep_the_reference_counts(qapp):
    label = QLabel("x")
    emitter = _Emitter()
    emitter.changed.connect(lambda value: None)
    counts = {obj: sys.getrefcount(obj) for obj in (None, True, False)}
    for i in range(200):
        label.setText(str(i))
        label.update()
        QApplication.processEvents()
        emitter.changed.emit(i % 2 == 0)
    for obj, before in counts.items():
        assert abs(sys.getrefcount(obj) - before) < 50, f"{obj!r}: {before} -> {sys.getrefcount(obj)} references"
