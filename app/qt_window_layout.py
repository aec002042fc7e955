"""How the editor window is laid out: the menu bar, the toolbars and the status bar, arranged from the actions and
controls that each command module of :class:`app.qt_main_window.QtMainWindow` makes (its ``_build_*`` method), and
the helpers they are made with (:func:`make_action`, :func:`icon`).

Nothing here adds attributes to the window: the functions only read the window's actions and controls and place
them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QToolBar

from resources import ICONS_DIR


def icon(name: str) -> QIcon:
    """The icon ``resources/icons/NAME.svg``; a missing file is a packaging error, raised (the tests build every
    window, so each icon the code names is checked)."""
    path = ICONS_DIR / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"icon {path} is missing")
    return QIcon(str(path))


def make_action(window, text: str, slot, shortcut=None, *, checkable: bool = False, tip: str = "",
                icon_name: str = "") -> QAction:
    """A QAction of ``window`` (so its shortcut works anywhere in it) that calls ``slot`` when triggered: with the
    new checked state when ``checkable``, else with no argument. ``shortcut``: one key sequence or a list of them."""
    action = QAction(text, window)
    if shortcut is not None:
        if isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    if icon_name:
        action.setIcon(icon(icon_name))
    if checkable:
        action.triggered.connect(slot)  # the slot takes the new checked state
    else:
        action.triggered.connect(lambda _checked=False: slot())  # ``checked`` would land in a slot's first argument
    window.addAction(action)
    return action


def _add_all(container, items) -> None:
    """Add each action of ``items`` to a menu or toolbar; None adds a separator."""
    for item in items:
        container.addSeparator() if item is None else container.addAction(item)


def build_menus(window) -> QMenu:
    """The menu bar, from the window's actions. Returns the (empty) File > Open recent menu."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _add_all(file_menu, (window.act_open, window.act_paste))
    recent_menu = file_menu.addMenu("Open &recent")
    _add_all(file_menu, (None, window.act_save, window.act_save_as, window.act_export_mask, window.act_export_alpha,
                         window.act_import_mask, window.act_keep_gps, None, window.act_finetune, None,
                         window.act_quit))
    _add_all(bar.addMenu("&Edit"), (
        window.act_undo, window.act_redo, None, window.act_copy, None, window.act_remove, window.act_cancel,
        window.act_reuse_mask, None, window.act_clear, window.act_invert, window.act_grow, window.act_shrink, None,
        window.act_preferences))
    _add_all(bar.addMenu("&Tools"), (*window.tool_actions.values(), None, window.act_exclude, None,
                                      window.act_smaller, window.act_bigger))
    _add_all(bar.addMenu("&View"), (
        window.act_zoom_in, window.act_zoom_out, window.act_fit, window.act_actual, None, window.act_split,
        window.act_raw, window.act_alpha, window.act_alpha_alone, None, window.act_show_mask))
    _add_all(bar.addMenu("&Help"), (window.act_shortcuts, window.act_about))
    return recent_menu


def _toolbar(window, title: str, name: str, style: Qt.ToolButtonStyle) -> QToolBar:
    """An empty toolbar of ``window``; ``name`` is its object name (the saved window state keys on it)."""
    toolbar = QToolBar(title, window)
    toolbar.setObjectName(name)
    toolbar.setToolButtonStyle(style)
    return toolbar


def build_toolbars(window) -> None:
    """The tools toolbar (left), and the remove and view toolbars (top) with the size, model, device and opacity
    controls."""
    tools = _toolbar(window, "Tools", "tools_toolbar", Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
    _add_all(tools, (*window.tool_actions.values(), None, window.act_exclude, None, window.act_undo,
                     window.act_redo))
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools)

    run = _toolbar(window, "Remove", "remove_toolbar", Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for widget in (QLabel(" Size "), window.size_slider, window.size_spin, None, QLabel(" Model "),
                   window.model_combo, QLabel(" Device "), window.device_combo):
        run.addSeparator() if widget is None else run.addWidget(widget)
    run.addSeparator()
    run.addAction(window.act_remove)
    remove_button = run.widgetForAction(window.act_remove)
    if remove_button is not None:
        remove_button.setStyleSheet("font-weight: bold; padding: 2px 10px;")
    window.addToolBar(run)

    views = _toolbar(window, "View", "view_toolbar", Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    views.addWidget(window.original_button)
    _add_all(views, (window.act_split, window.act_raw, None, window.act_alpha, window.act_alpha_alone))
    for widget in (QLabel(" Opacity "), window.alpha_slider, window.alpha_label):
        views.addWidget(widget)
    window.addToolBarBreak()
    window.addToolBar(views)


def build_status_bar(window) -> None:
    """The status bar's permanent widgets (progress, Cancel, the labels) and its first message."""
    bar = window.statusBar()
    for widget in (window.object_busy_label, window.progress_bar, window.cancel_button, window.size_info_label,
                   window.zoom_label, window.device_label, window.time_label):
        bar.addPermanentWidget(widget)
    bar.showMessage("Open a photo (Ctrl+O) or drop one here.")
