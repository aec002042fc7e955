"""How the editor window is put together: its actions (with shortcuts), menus, toolbars and status bar.

Each function adds its widgets and actions to the :class:`app.qt_main_window.QtMainWindow` it is given, as attributes
the window's methods use (``act_*``, ``tool_actions``, ``size_slider``, ``model_combo`` ...), and connects them to its
slots.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QSlider, QSpinBox, QToolBar, QToolButton

from app.qt_canvas import MAX_TOOL_SIZE
from engine.device import cuda_absence
from resources import ICONS_DIR

DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)"))
SIZE_SLIDER_STEPS = 1000
"""The size slider's positions, spread logarithmically over 1..MAX_TOOL_SIZE pixels."""


def slider_to_size(position: int) -> int:
    """Size slider position (0..SIZE_SLIDER_STEPS) -> diameter in pixels, logarithmic over 1..MAX_TOOL_SIZE."""
    return max(1, round(MAX_TOOL_SIZE ** (position / SIZE_SLIDER_STEPS)))


def size_to_slider(size: float) -> int:
    return round(SIZE_SLIDER_STEPS * math.log(max(1.0, size)) / math.log(MAX_TOOL_SIZE))


def _icon(name: str) -> QIcon:
    """The icon ``resources/icons/NAME.svg``; a missing file is a packaging error, raised (the tests build every
    window, so each icon the code names is checked)."""
    path = ICONS_DIR / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"icon {path} is missing")
    return QIcon(str(path))


def _enter_pressed(window) -> None:
    """Enter removes, except while the brush-size box has the focus: there it applies the typed size and hands
    the keyboard back to the photo."""
    if window.size_spin.hasFocus():
        window.size_spin.interpretText()
        window.canvas.setFocus()
        return
    window.remove()


def _action(window, text: str, slot, shortcut=None, *, checkable: bool = False, tip: str = "",
            icon: str = "") -> QAction:
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
    if icon:
        action.setIcon(_icon(icon))
    if checkable:
        action.triggered.connect(slot)  # the slot takes the new checked state
    else:
        action.triggered.connect(lambda _checked=False: slot())  # ``checked`` would land in a slot's first argument
    window.addAction(action)
    return action


def build_actions(window) -> None:
    """The window's actions (``window.act_*``, ``window.tool_actions``), with their shortcuts and slots."""
    key = QKeySequence.StandardKey
    window.act_open = _action(window, "&Open...", window.open_dialog, key.Open, tip="Open a photo (Ctrl+O)")
    window.act_save = _action(window, "&Save", window.save, key.Save, tip="Save the cleaned photo (Ctrl+S)")
    window.act_paste = _action(window, "&Paste photo", window.paste_photo, key.Paste,
                               tip="Open the image on the clipboard (Ctrl+V)")
    window.act_copy = _action(window, "&Copy photo", window.copy_photo, key.Copy,
                              tip="Copy the current (cleaned) photo to the clipboard (Ctrl+C)")
    window.act_save_as = _action(window, "Save &as...", window.save_as, "Ctrl+Shift+S")
    window.act_export_mask = _action(window, "Export &mask...", window.export_mask, tip="PNG, white = hole")
    window.act_import_mask = _action(window, "&Load mask...", window.import_mask, tip="PNG, white = hole")
    window.act_export_alpha = _action(window, "Export &alpha map...", window.export_alpha)
    window.act_keep_gps = _action(window, "Keep &location (GPS) when saving", window._set_keep_gps, checkable=True,
                                  tip="Off: the photo's GPS position is removed from saved files")
    window.act_keep_gps.setChecked(bool(window.settings.keep_gps))
    window.act_finetune = _action(window, "&Fine-tune on a folder...", window.open_finetune)
    window.act_quit = _action(window, "&Quit", window.close, key.Quit)

    window.act_undo = _action(window, "&Undo", window.undo, key.Undo, icon="undo")
    window.act_redo = _action(window, "&Redo", window.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], icon="redo")
    window.act_remove = _action(window, "&Remove", window.remove, "Ctrl+R", tip="Fill the painted area (Enter, Ctrl+R)",
                                icon="remove")
    window.act_cancel = _action(window, "&Cancel removal", window.cancel, "Esc", tip="Stop the running removal (Esc)")
    window.act_clear = _action(window, "C&lear mask", window.clear_mask, "Ctrl+Shift+A")
    window.act_invert = _action(window, "&Invert mask", window.invert_mask, "Ctrl+I")
    window.act_reuse_mask = _action(window, "Reuse last &mask", window.reuse_last_mask, "Ctrl+Shift+R",
                                    tip="Paint the last removal's mask again, e.g. for another pass")
    window.act_grow = _action(window, "&Grow mask...", lambda: window.grow_mask(None), "Ctrl+G")
    window.act_shrink = _action(window, "Shrin&k mask...", lambda: window.shrink_mask(None), "Ctrl+Shift+G")
    for seq in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        QShortcut(QKeySequence(seq), window, lambda: _enter_pressed(window))

    window.tool_group = QActionGroup(window)
    window.tool_actions: dict[str, QAction] = {}
    for tool, text, shortcut, tip in (
        ("brush", "&Brush", "B", "Paint what should go (B); right-drag erases"),
        ("eraser", "&Eraser", "E", "Erase from the mask (E)"),
        ("lasso", "&Lasso", "L", "Draw an outline, filled on release (L); Alt subtracts"),
        ("rect", "Rec&tangle", "R", "Drag a rectangle (R); Alt subtracts"),
        ("object", "&Object", "O", "Drag a box around an object: GrabCut finds its outline (O); Alt subtracts"),
    ):
        action = _action(window, text, lambda _=False, t=tool: window.set_tool(t), shortcut, checkable=True,
                         tip=tip, icon=tool)
        window.tool_group.addAction(action)
        window.tool_actions[tool] = action
    window.tool_actions["brush"].setChecked(True)
    window.act_exclude = _action(window, "Sampling: e&xclude", window.set_sampling_exclude, "X", checkable=True,
                                 icon="exclude", tip="The mask tools paint where the fill must not copy from (X); "
                                 "X again paints the hole. Honoured by PatchMatch, OpenCV and a network's pre-fill")
    window.act_smaller = _action(window, "Smaller brush", lambda: window.step_tool_size(-1), "[")
    window.act_bigger = _action(window, "Bigger brush", lambda: window.step_tool_size(+1), "]")

    window.act_zoom_in = _action(window, "Zoom &in", window.canvas.zoom_in, ["Ctrl++", "Ctrl+="])
    window.act_zoom_out = _action(window, "Zoom &out", window.canvas.zoom_out, "Ctrl+-")
    window.act_fit = _action(window, "&Fit", lambda: window.canvas.zoom_fit(), "Ctrl+0")
    window.act_actual = _action(window, "&100 %", window.canvas.zoom_actual, "Ctrl+1")
    window.act_split = _action(window, "&Split compare", window.toggle_split, "C", checkable=True,
                               tip="Original left, result right (C)")
    window.act_alpha = _action(window, "&Alpha map", window.toggle_alpha, "A", checkable=True,
                               tip="Heat map of the last removal's composition alpha (A)", icon="alpha")
    window.act_alpha_alone = _action(window, "Alpha map &alone", window.toggle_alpha_alone, "Shift+A",
                                     checkable=True)
    window.act_raw = _action(window, "Ra&w prediction", window.toggle_raw, "W", checkable=True,
                             tip="The model's output before composition (W)")
    window.act_show_mask = _action(window, "Show &mask", window.canvas.set_mask_shown, "M", checkable=True,
                                   tip="Show or hide the painted mask (M); painting still works while hidden")
    window.act_show_mask.setChecked(True)
    window.act_preferences = _action(window, "&Preferences...", window.show_preferences, "Ctrl+,",
                                     tip="JPEG quality, mask colour and opacity, undo memory")
    window.act_shortcuts = _action(window, "&Keyboard shortcuts", window.show_shortcuts, "F1")
    window.act_about = _action(window, "&About FusionPaint", window.show_about)


def build_menus(window) -> None:
    """The menu bar, from the window's actions."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(window.act_open)
    file_menu.addAction(window.act_paste)
    window.recent_menu = file_menu.addMenu("Open &recent")
    window._rebuild_recent_menu()
    file_menu.addSeparator()
    for action in (window.act_save, window.act_save_as, window.act_export_mask, window.act_export_alpha,
                   window.act_import_mask, window.act_keep_gps):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(window.act_finetune)
    file_menu.addSeparator()
    file_menu.addAction(window.act_quit)

    edit = bar.addMenu("&Edit")
    for action in (window.act_undo, window.act_redo, None, window.act_copy, None, window.act_remove, window.act_cancel,
                   window.act_reuse_mask, None, window.act_clear, window.act_invert, window.act_grow, window.act_shrink,
                   None, window.act_preferences):
        edit.addSeparator() if action is None else edit.addAction(action)

    tools = bar.addMenu("&Tools")
    for action in window.tool_actions.values():
        tools.addAction(action)
    tools.addSeparator()
    tools.addAction(window.act_exclude)
    tools.addSeparator()
    tools.addAction(window.act_smaller)
    tools.addAction(window.act_bigger)

    view = bar.addMenu("&View")
    for action in (window.act_zoom_in, window.act_zoom_out, window.act_fit, window.act_actual, None, window.act_split,
                   window.act_raw, window.act_alpha, window.act_alpha_alone, None, window.act_show_mask):
        view.addSeparator() if action is None else view.addAction(action)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(window.act_shortcuts)
    help_menu.addAction(window.act_about)

def build_toolbars(window) -> None:
    """The tools, remove and view toolbars with their size, model, device and opacity controls."""
    tools = QToolBar("Tools", window)
    tools.setObjectName("tools_toolbar")
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
    for action in window.tool_actions.values():
        tools.addAction(action)
    tools.addSeparator()
    tools.addAction(window.act_exclude)
    tools.addSeparator()
    tools.addAction(window.act_undo)
    tools.addAction(window.act_redo)
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools)

    run = QToolBar("Remove", window)
    run.setObjectName("remove_toolbar")
    run.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    run.addWidget(QLabel(" Size "))
    size_tip = ("Brush / eraser diameter in image pixels: type it, drag the slider, press [ and ], "
                "Alt + wheel or Alt + right-drag on the photo")
    window.size_slider = QSlider(Qt.Orientation.Horizontal)  # logarithmic: fine steps for small sizes
    window.size_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the canvas ([ ], Tab, space)
    window.size_slider.setRange(0, SIZE_SLIDER_STEPS)
    window.size_slider.setFixedWidth(130)
    window.size_slider.setToolTip(size_tip)
    window.size_slider.valueChanged.connect(lambda value: window.set_tool_size(slider_to_size(value)))
    run.addWidget(window.size_slider)
    window.size_spin = QSpinBox()
    window.size_spin.setRange(1, MAX_TOOL_SIZE)
    window.size_spin.setSuffix(" px")
    window.size_spin.setToolTip(size_tip)
    window.size_spin.setKeyboardTracking(False)  # applied on Enter or when focus leaves, not per digit
    window.size_spin.valueChanged.connect(window.set_tool_size)
    run.addWidget(window.size_spin)
    run.addSeparator()
    run.addWidget(QLabel(" Model "))
    window.model_combo = QComboBox()
    window.model_combo.setMinimumWidth(230)
    window.model_combo.setMaximumWidth(340)
    window.model_combo.activated.connect(window._on_model_chosen)
    window.model_combo.activated.connect(window._focus_canvas)
    run.addWidget(window.model_combo)
    run.addWidget(QLabel(" Device "))
    window.device_combo = QComboBox()
    for value, text in DEVICES:
        window.device_combo.addItem(text, value)
    absent = cuda_absence()
    if absent is not None:  # offered, but greyed out with the reason
        index = window.device_combo.findData("cuda")
        window.device_combo.model().item(index).setEnabled(False)
        window.device_combo.setItemData(index, f"Not available: {absent}", Qt.ItemDataRole.ToolTipRole)
    index = window.device_combo.findData(window.settings.device)
    if index < 0 or not window.device_combo.model().item(index).isEnabled():
        index = 0  # Auto
    window.device_combo.setCurrentIndex(index)
    window.device_combo.activated.connect(window._on_device_chosen)
    window.device_combo.activated.connect(window._focus_canvas)
    run.addWidget(window.device_combo)
    run.addSeparator()
    run.addAction(window.act_remove)
    remove_button = run.widgetForAction(window.act_remove)
    if remove_button is not None:
        remove_button.setStyleSheet("font-weight: bold; padding: 2px 10px;")
    window.addToolBar(run)

    views = QToolBar("View", window)
    views.setObjectName("view_toolbar")
    views.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.original_button = QToolButton()
    window.original_button.setText("Original")
    window.original_button.setIcon(_icon("original"))
    window.original_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.original_button.setToolTip("Hold to see the original photo (or hold Tab / \\)")
    window.original_button.pressed.connect(lambda: window.show_original(True))
    window.original_button.released.connect(lambda: window.show_original(False))
    views.addWidget(window.original_button)
    views.addAction(window.act_split)
    views.addAction(window.act_raw)
    views.addSeparator()
    views.addAction(window.act_alpha)
    views.addAction(window.act_alpha_alone)
    views.addWidget(QLabel(" Opacity "))
    window.alpha_slider = QSlider(Qt.Orientation.Horizontal)
    window.alpha_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    window.alpha_slider.setRange(0, 100)
    window.alpha_slider.setFixedWidth(100)
    window.alpha_slider.setValue(int(round(100 * window.settings.alpha_opacity)))
    window.alpha_slider.setToolTip("Alpha heat-map opacity")
    window.alpha_slider.valueChanged.connect(window._on_alpha_opacity)
    views.addWidget(window.alpha_slider)
    window.alpha_label = QLabel()
    views.addWidget(window.alpha_label)
    window.addToolBarBreak()
    window.addToolBar(views)
    window._show_tool_size(window.canvas.brush_size)

def build_status_bar(window) -> None:
    """The status bar's progress bar, Cancel button and labels."""
    bar = window.statusBar()
    window.progress_bar = QProgressBar()
    window.progress_bar.setRange(0, 1000)
    window.progress_bar.setFixedWidth(180)
    window.progress_bar.setVisible(False)
    window.cancel_button = QToolButton()
    window.cancel_button.setText("Cancel")
    window.cancel_button.setToolTip("Stop the removal (Esc)")
    window.cancel_button.clicked.connect(window.cancel)
    window.cancel_button.setVisible(False)
    window.object_busy_label = QLabel("Finding the object... (Esc cancels)")
    window.object_busy_label.setVisible(False)
    window.device_label = QLabel("Device: -")
    window.time_label = QLabel("")
    window.zoom_label = QLabel("")
    window.size_info_label = QLabel("")
    for widget in (window.object_busy_label, window.progress_bar, window.cancel_button, window.size_info_label,
                   window.zoom_label, window.device_label, window.time_label):
        bar.addPermanentWidget(widget)
    bar.showMessage("Open a photo (Ctrl+O) or drop one here.")
