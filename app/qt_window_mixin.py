"""The base class of the main window's command mixins (:mod:`app.qt_file_commands` and the others that
:class:`app.qt_main_window.QtMainWindow` mixes in): QMainWindow for the type checker, so a mixin's ``self`` is the
window it is mixed into (a dialog's parent, its status bar and actions), and ``object`` at run time, so the window's
base classes and their order stay as written. Each mixin declares the attributes of the window and of the other
mixins that it uses.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow as WindowMixin
else:
    WindowMixin = object

__all__ = ["WindowMixin"]
