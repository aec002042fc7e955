"""Dialogs that fit the screen: :class:`FittedDialog` never opens taller or wider than the screen's available area
(task bars excluded), and :class:`ContentScroll` lets its tall content scroll instead of pushing the buttons off the
screen (a 1366 x 768 laptop has about 700 px for a dialog and its title bar)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QFrame, QScrollArea, QWidget

FRAME_ALLOWANCE = QSize(8, 40)
"""What a window's frame (title bar, borders) is assumed to add before the window manager has said (first show)."""


def available_area(window: QWidget) -> QRect:
    """The available geometry of the screen ``window`` is on (the primary one before it has a screen)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect()


def fit_to_screen(window: QWidget) -> None:
    """Resize the top-level ``window`` to its size hint, or less, so that it and its frame fit the screen's available
    area. Its layout must allow that size (put tall content in a :class:`ContentScroll`)."""
    area = available_area(window)
    if area.isEmpty():
        return
    frame, inner = window.frameGeometry(), window.geometry()
    extra = QSize(frame.width() - inner.width(), frame.height() - inner.height())
    if extra.height() <= 0:  # not known yet
        extra = FRAME_ALLOWANCE
    wanted = window.size().expandedTo(window.sizeHint())
    window.resize(max(1, min(wanted.width(), area.width() - extra.width())),
                  max(1, min(wanted.height(), area.height() - extra.height())))


class FittedDialog(QDialog):
    """A dialog fitted to the screen each time it is shown (see :func:`fit_to_screen`); QDialog then places it
    inside the screen."""

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if not event.spontaneous():
            fit_to_screen(self)
        super().showEvent(event)


class ContentScroll(QScrollArea):
    """Scrolls a dialog's content vertically when the screen is too small for it. Its size hint is the content's
    own, so on a screen with room the dialog opens at its natural size, without a scroll bar; its minimum is small,
    so the dialog can always be fitted to the screen."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._content = content
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # its minimum width is the content's

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = self._content.sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth(),
                     hint.height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self._content.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width(),
                     super().minimumSizeHint().height())
