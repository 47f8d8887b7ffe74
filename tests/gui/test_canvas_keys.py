"""One-key shortcuts and hold-Tab work wherever the keyboard focus is in the
window, as in Krita, except while typing into a text field."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence

from studio.core.document import Document
from studio.ui.shortcuts_dialog import ShortcutsDialog


def _focus(qtbot, widget) -> None:
    widget.setFocus(Qt.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=2_000)


def test_tool_keys_work_with_the_focus_in_a_panel_or_a_spin_box(qtbot, window):
    tools = window.tools
    window.dock.raise_()
    for widget in (window.panel.strip, window.panel.seed_spin, tools.size_spin, window.panel.truncation_slider):
        tools.select("brush")
        _focus(qtbot, widget)
        qtbot.keyClick(widget, Qt.Key_M)
        assert tools.current == "mask", type(widget).__name__
        qtbot.keyClick(widget, Qt.Key_E)
        assert tools.current == "eraser", type(widget).__name__
    size = tools.settings.size
    qtbot.keyClick(tools.size_spin, Qt.Key_BracketRight)
    assert tools.settings.size > size
    # Digits still go to the spin box.
    tools.size_spin.lineEdit().selectAll()
    qtbot.keyClicks(tools.size_spin, "33")
    assert tools.size_spin.text().startswith("33")


def test_typing_a_name_is_not_a_shortcut(qtbot, window):
    window.train_dock.raise_()
    field = window.train_panel.name_edit
    _focus(qtbot, field)
    window.tools.select("brush")
    qtbot.keyClicks(field, "mel")
    assert field.text() == "mel" and window.tools.current == "brush"


def test_hold_tab_compares_with_the_focus_in_a_panel(qtbot, window, wait_frame):
    background = np.zeros((40, 60, 4), np.uint8)
    background[..., 3] = 255
    doc = Document.from_image(background, "background")
    window.files.adopt(doc, None, "painting.png")
    qtbot.mouseClick(window.panel.grid.buttons[0], Qt.LeftButton)
    wait_frame(window)
    window.actions_.place_action.trigger()
    assert len(doc.layers) == 2
    layer = doc.layers[-1]
    _focus(qtbot, window.panel.strip)
    qtbot.keyPress(window.panel.strip, Qt.Key_Tab)
    np.testing.assert_array_equal(window.canvas.image(), doc.composite_without(layer.id))
    assert window.panel.strip.hasFocus()  # Tab compared; it did not move the focus
    qtbot.keyRelease(window.panel.strip, Qt.Key_Tab)
    np.testing.assert_array_equal(window.canvas.image(), doc.composite())


def test_the_shortcuts_list_is_read_from_the_actions(qtbot, window):
    late = QAction("Brand New Thing", window)
    late.setShortcut(QKeySequence("Ctrl+Alt+J"))
    window.addAction(late)
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    table = dialog.table
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows["Brand New Thing"] == QKeySequence("Ctrl+Alt+J").toString(QKeySequence.NativeText)
    keys = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert rows["Toggle Eraser"] == "E" and rows["Open"] == "Ctrl+O" and "Hold Tab" in keys


def test_getting_started_is_one_illustrated_page_from_the_help_menu(qtbot, window):
    from pathlib import Path

    from PySide6.QtCore import QUrl

    from studio.ui.getting_started import GettingStarted

    page = GettingStarted(window)
    qtbot.addWidget(page)
    html = page.browser.toHtml()
    assert "Getting started" in html and "Train your own" in html
    source = html.split('<img src="', 1)[1].split('"', 1)[0]
    assert Path(QUrl(source).toLocalFile()).is_file()
    assert any(a.text() == "&Getting Started" for a in window.findChildren(QAction))


def test_holding_space_pans_with_the_focus_in_a_panel(qtbot, window):
    doc = Document(3000, 2000)
    window.files.adopt(doc, None, "big")
    window.resize(900, 600)
    window.canvas.actual_size()  # 100 %: the canvas is larger than the view, so it can pan
    window.style_dock.raise_()
    button = window.style_panel.preview_check  # Space would toggle it
    checked = button.isChecked()
    _focus(qtbot, button)
    bar = window.canvas.horizontalScrollBar()
    start = bar.value()
    qtbot.keyPress(button, Qt.Key_Space)
    viewport = window.canvas.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, pos=viewport.rect().center())
    qtbot.mouseMove(viewport, viewport.rect().center() + QPoint(-120, 0))
    qtbot.mouseRelease(viewport, Qt.LeftButton, pos=viewport.rect().center() + QPoint(-120, 0))
    qtbot.keyRelease(button, Qt.Key_Space)
    assert bar.value() == start + 120
    assert button.isChecked() == checked and len(doc.layers) == 0  # Space clicked nothing, the drag painted nothing
