"""The dark and light themes: switching, the saved preference, the dialog row."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDialogButtonBox

from studio.ui import preferences as prefs
from studio.ui.app import create_application
from studio.ui.curve_plot import CurvePlot
from studio.ui.preferences_dialog import PreferencesDialog
from studio.ui.qimage import array_from_qimage
from studio.ui.theme import DARK, LIGHT, THEMES, apply_theme, current


@pytest.fixture(autouse=True)
def dark_afterwards(qapp):
    """Every test leaves the app dark, as the rest of the suite expects."""
    yield
    apply_theme(qapp, "dark")


def _rgb(colour) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


def test_switching_applies_the_palette_and_back(qapp):
    apply_theme(qapp, "light")
    assert current() is LIGHT
    assert qapp.palette().color(QPalette.Window) == LIGHT.window
    assert qapp.palette().color(QPalette.WindowText) == LIGHT.text
    assert LIGHT.window.lightness() > 200 and LIGHT.text.lightness() < 60  # light chrome, dark text
    assert LIGHT.base.name() in qapp.styleSheet()
    apply_theme(qapp, "dark")
    assert current() is DARK and qapp.palette().color(QPalette.Window) == DARK.window
    with pytest.raises(ValueError, match="unknown theme 'neon'"):
        apply_theme(qapp, "neon")
    assert current() is DARK  # a refused name changes nothing


def test_the_canvas_stays_neutral_grey_in_every_theme():
    for theme in THEMES.values():
        r, g, b = _rgb(theme.canvas)
        assert max(r, g, b) - min(r, g, b) <= 4 and max(r, g, b) < 128


def test_painted_widgets_follow_a_switch(qtbot, qapp):
    plot = CurvePlot("Loss")
    plot.add_curve("d", "D", "warning")  # a theme role: recoloured with the theme
    qtbot.addWidget(plot)
    plot.resize(200, 96)
    plot.show()
    for name in ("light", "dark", "light"):
        apply_theme(qapp, name)
        pixels = array_from_qimage(plot.grab().toImage())
        middle = pixels[84, 20, :3]  # inside the frame, clear of text
        assert tuple(int(v) for v in middle) == _rgb(THEMES[name].base)
        assert plot.curves["d"].colour == THEMES[name].warning


def test_the_preference_round_trips_and_starts_the_app(qapp):
    assert prefs.THEMES == ("dark", "light") and prefs.saved_theme() == "dark"
    prefs.save_theme("light")
    assert prefs.saved_theme() == "light"
    assert prefs.load_preferences().theme == "light"
    app = create_application()  # as `studio` starts: in the saved theme
    assert app is qapp and current() is LIGHT
    assert np.array_equal(_rgb(qapp.palette().color(QPalette.Base)), _rgb(LIGHT.base))


def test_the_dialog_shows_the_row_and_the_window_applies_it(qtbot, qapp, window):
    dialog = PreferencesDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.theme_combo.isVisibleTo(dialog)
    assert [dialog.theme_combo.itemText(i) for i in range(dialog.theme_combo.count())] == ["Dark", "Light"]
    assert dialog.theme_combo.currentData() == "dark"
    dialog.changed.connect(window._preferences_changed)
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))
    with qtbot.waitSignal(dialog.changed) as signal:
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert signal.args == [["theme"]]
    assert prefs.saved_theme() == "light"
    assert current() is LIGHT and qapp.palette().color(QPalette.Window) == LIGHT.window
    assert window.palette().color(QPalette.Window) == LIGHT.window  # the open window, not only new ones
