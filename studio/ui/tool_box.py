"""The tool box: a vertical bar of tools, a bar of the brush's options, and
the single-key shortcuts artists know from Krita (B brush, E eraser toggle,
M mask brush, Shift+M mask eraser, Ctrl+R rectangle, L lasso, V move, I
eyedropper, [ and ] brush size)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import QColorDialog, QLabel, QSlider, QSpinBox, QToolBar, QToolButton, QWidget

from studio.ui.canvas_tools import (MAX_SIZE, MIN_SIZE, BrushTool, EyedropperTool, LassoTool, MoveTool,
                                    RectSelectTool, Tool, ToolSettings)

# (key, shortcut, tooltip): the order of the bar.
TOOLS = (("brush", "B", "Brush: paint on the active layer (Ctrl+click picks a colour)"),
         ("eraser", "E", "Eraser (E toggles between brush and eraser)"),
         ("mask", "M", "Mask brush: paint the selection the AI tools act on"),
         ("unmask", "Shift+M", "Mask eraser: remove from the selection"),
         ("rectangle", "Ctrl+R", "Rectangle selection (Shift adds, Alt subtracts, a click deselects)"),
         ("lasso", "L", "Lasso selection (Shift adds, Alt subtracts)"),
         ("move", "V", "Move the active layer"),
         ("eyedropper", "I", "Eyedropper: pick the brush colour from the image"))


class ToolBox(QObject):
    toolChanged = Signal(str)

    def __init__(self, window, canvas, report: Callable[[str], None]):
        super().__init__(window)
        self.canvas = canvas
        self.settings = ToolSettings(self)
        self.tools: dict[str, Tool] = {
            "brush": BrushTool("paint", self.settings, report),
            "eraser": BrushTool("erase", self.settings, report),
            "mask": BrushTool("mask", self.settings, report),
            "unmask": BrushTool("unmask", self.settings, report),
            "rectangle": RectSelectTool(self.settings, report),
            "lasso": LassoTool(self.settings, report),
            "move": MoveTool(self.settings, report),
            "eyedropper": EyedropperTool(self.settings, report),
        }
        self.current = "brush"
        self.tool_bar = QToolBar("Tools", window)
        self.tool_bar.setObjectName("tools_bar")
        self.tool_bar.setOrientation(Qt.Vertical)
        self.tool_bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for key, shortcut, tip in TOOLS:
            action = QAction(self.tools[key].name, self)
            action.setCheckable(True)
            action.setToolTip(f"{tip} ({shortcut})")
            action.triggered.connect(lambda _checked=False, k=key: self.select(k))
            group.addAction(action)
            self.tool_bar.addAction(action)
            self.actions[key] = action
            if key != "eraser":  # E is a toggle, below
                action.setShortcut(QKeySequence(shortcut))
        self.eraser_toggle = QAction("Toggle Eraser", self)
        self.eraser_toggle.setShortcut(QKeySequence("E"))
        self.eraser_toggle.triggered.connect(self.toggle_eraser)
        self.bigger = QAction("Bigger Brush", self)
        self.bigger.setShortcut(QKeySequence("]"))
        self.bigger.triggered.connect(self.settings.grow)
        self.smaller = QAction("Smaller Brush", self)
        self.smaller.setShortcut(QKeySequence("["))
        self.smaller.triggered.connect(self.settings.shrink)
        self.options_bar = self._options_bar(window)
        self.settings.changed.connect(self._settings_changed)
        self._settings_changed()
        self.select("brush")

    def shortcut_actions(self) -> list[QAction]:
        """Actions with no button, to add to the window so their keys work."""
        return [self.eraser_toggle, self.bigger, self.smaller]

    def select(self, key: str) -> None:
        self.current = key
        self.actions[key].setChecked(True)
        self.canvas.set_tool(self.tools[key])
        self.toolChanged.emit(self.tools[key].name)

    def toggle_eraser(self) -> None:
        self.select("brush" if self.current == "eraser" else "eraser")

    # -- options -----------------------------------------------------------------------------

    def _options_bar(self, window) -> QToolBar:
        bar = QToolBar("Tool Options", window)
        bar.setObjectName("tool_options_bar")
        self.size_spin = QSpinBox()
        self.size_spin.setRange(int(MIN_SIZE), int(MAX_SIZE))
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter ([ smaller, ] bigger)")
        self.size_spin.valueChanged.connect(lambda v: self.settings.set(size=v))
        self.hardness_slider = self._slider("Hardness: 100% is a crisp edge, 0% a soft falloff",
                                            lambda v: self.settings.set(hardness=v / 100))
        self.opacity_slider = self._slider("Opacity of a stroke (overlapping dabs never exceed it)",
                                           lambda v: self.settings.set(opacity=v / 100))
        self.colour_button = QToolButton()
        self.colour_button.setToolTip("Brush colour (the eyedropper, I, picks it from the image)")
        self.colour_button.clicked.connect(self._choose_colour)
        for label, widget in (("Size", self.size_spin), ("Hardness", self.hardness_slider),
                              ("Opacity", self.opacity_slider), ("Colour", self.colour_button)):
            bar.addWidget(QLabel(f" {label} "))
            bar.addWidget(widget)
        self.tool_label = QLabel()
        spacer = QWidget()
        spacer.setMinimumWidth(12)
        bar.addWidget(spacer)
        bar.addWidget(self.tool_label)
        self.toolChanged.connect(lambda name: self.tool_label.setText(f"  {name}"))
        return bar

    @staticmethod
    def _slider(tip: str, slot) -> QSlider:
        slider = QSlider(Qt.Horizontal)
        slider.setRange(0, 100)
        slider.setFixedWidth(110)
        slider.setToolTip(tip)
        slider.valueChanged.connect(slot)
        return slider

    def _settings_changed(self) -> None:
        s = self.settings
        for widget, value in ((self.size_spin, round(s.size)), (self.hardness_slider, round(s.hardness * 100)),
                              (self.opacity_slider, round(s.opacity * 100))):
            if widget.value() != value:
                widget.blockSignals(True)  # showing the value must not round it back into the settings
                widget.setValue(value)
                widget.blockSignals(False)
        swatch = QPixmap(18, 18)
        swatch.fill(QColor(*s.colour))
        self.colour_button.setIcon(swatch)
        self.canvas.viewport().update()  # the brush outline shows the new size

    def _choose_colour(self) -> None:
        colour = QColorDialog.getColor(QColor(*self.settings.colour), self.colour_button, "Brush Colour")
        if colour.isValid():
            self.settings.set(colour=(colour.red(), colour.green(), colour.blue()))
