"""The app's looks: Fusion style, a neutral palette and one accent colour.

Two themes, dark (the default) and light. Artists judge colour on the canvas,
so the chrome around it stays a quiet, low-saturation grey (as in Krita,
Blender, Photoshop), only focus and selection carry the accent, and the canvas
itself stays a neutral darkish grey in both themes: a white surround would
make every painting look darker than it is.

Widgets that paint or style themselves read `current()` when they paint or
build, never a colour copied at import time, so `apply_theme` can switch the
look of a running app.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio.core.paths import assets_dir

ICONS = assets_dir() / "icons"


@dataclass(frozen=True)
class Theme:
    """The colour roles of one look (all "#rrggbb" QColors)."""

    name: str
    accent: QColor  # focus, selection, the first curve
    window: QColor  # panels, dialogs
    base: QColor  # text fields, lists, plots
    alt_base: QColor
    text: QColor
    muted_text: QColor  # hints, captions, secondary labels
    heading: QColor  # group box titles, disclosure headers
    button: QColor
    canvas: QColor  # around the image: neutral grey in every theme
    warning: QColor  # notices, the second curve
    success: QColor  # the quality curve (SWD)
    frame: QColor  # group box and list borders
    indicator: QColor  # check box / radio button ring
    indicator_disabled: QColor
    disabled_text: QColor
    disabled_highlight: QColor
    accent_soft: QColor  # selected / pressed fill behind normal text
    primary: QColor  # the one primary button's fill (white text)
    primary_hover: QColor
    tooltip: QColor
    light: QColor  # Fusion's bevel shades, lightest to darkest
    midlight: QColor
    mid: QColor  # also faint guide lines in plots
    dark: QColor
    shadow: QColor


def _theme(name: str, **roles: str) -> Theme:
    return Theme(name, **{role: QColor(value) for role, value in roles.items()})


_DARK_ACCENT = QColor("#4a90d9")

DARK = _theme(
    "dark", accent="#4a90d9", window="#2b2b2d", base="#1f1f21", alt_base="#262628", text="#dcdcdc",
    muted_text="#8a8a8e", heading=QColor("#8a8a8e").lighter(130).name(), button="#353538", canvas="#18181a",
    warning="#e0b050", success="#6cc070", frame="#3c3c40", indicator="#6a6a70", indicator_disabled="#48484c",
    disabled_text="#6a6a6e", disabled_highlight="#404044", accent_soft=_DARK_ACCENT.darker(300).name(),
    primary=_DARK_ACCENT.darker(140).name(), primary_hover=_DARK_ACCENT.darker(120).name(), tooltip="#3a3a3e",
    light="#4a4a4e", midlight="#3e3e42", mid="#303033", dark="#1a1a1c", shadow="#0c0c0d",
)

# Text colours are chosen for WCAG contrast >= 4.5 on the window colour
# (accent text on white: 5.1, muted: 4.9, warning: 4.9).
LIGHT = _theme(
    "light", accent="#2f6fb8", window="#ececec", base="#fbfbfb", alt_base="#f3f3f4", text="#1e1e1e",
    muted_text="#65656a", heading="#4c4c52", button="#e2e2e4", canvas="#4a4a4d",
    warning="#8f5a00", success="#2e8540", frame="#bdbdc2", indicator="#7c7c82", indicator_disabled="#b4b4b8",
    disabled_text="#a0a0a4", disabled_highlight="#c8c8cc", accent_soft="#cfe0f4",
    primary="#2f6fb8", primary_hover="#3a7dc8", tooltip="#ffffff",
    light="#ffffff", midlight="#f4f4f5", mid="#c8c8cc", dark="#a0a0a4", shadow="#6e6e72",
)

THEMES: dict[str, Theme] = {"dark": DARK, "light": LIGHT}  # the first is the default

_current: Theme = DARK


def current() -> Theme:
    """The theme last applied with apply_theme (DARK before any)."""
    return _current


def theme_named(name: str) -> Theme:
    """The Theme called `name` (a key of THEMES); ValueError (one line) otherwise."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme '{name}' (choose {', '.join(THEMES)})") from None


def palette(theme: Theme) -> QPalette:
    """The QPalette of `theme`, for Fusion."""
    p = QPalette()
    roles = {
        QPalette.Window: theme.window, QPalette.WindowText: theme.text, QPalette.Base: theme.base,
        QPalette.AlternateBase: theme.alt_base, QPalette.ToolTipBase: theme.tooltip,
        QPalette.ToolTipText: theme.text, QPalette.PlaceholderText: theme.muted_text, QPalette.Text: theme.text,
        QPalette.Button: theme.button, QPalette.ButtonText: theme.text, QPalette.BrightText: QColor("#ff6060"),
        QPalette.Link: theme.accent, QPalette.Highlight: theme.accent, QPalette.HighlightedText: QColor("#ffffff"),
        QPalette.Light: theme.light, QPalette.Midlight: theme.midlight,
        QPalette.Mid: theme.mid, QPalette.Dark: theme.dark, QPalette.Shadow: theme.shadow,
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, theme.disabled_text)
    p.setColor(QPalette.Disabled, QPalette.Highlight, theme.disabled_highlight)
    return p


def style_sheet(theme: Theme) -> str:
    """The app-wide style sheet of `theme`: the few things Fusion's palette cannot say."""
    t = {role: getattr(theme, role).name() for role in Theme.__dataclass_fields__ if role != "name"}
    check = (ICONS / "check.svg").as_posix()
    return f"""
QMainWindow::separator {{ background: {theme.window.darker(125).name()}; width: 3px; height: 3px; }}
QDockWidget {{ titlebar-close-icon: none; font-weight: 600; }}
QDockWidget::title {{ background: {t['button']}; padding: 6px 8px; text-align: left; }}
QGroupBox {{
    border: 1px solid {t['frame']}; border-radius: 4px; margin-top: 12px; padding: 6px 4px 4px 4px;
}}
QGroupBox::title {{
    subcontrol-origin: margin; subcontrol-position: top left; left: 8px; padding: 0 4px;
    color: {t['heading']}; font-weight: 600;
}}
QToolButton#thumbnail {{
    border: 1px solid {t['frame']}; border-radius: 3px; background: {t['base']}; padding: 2px;
    color: {t['muted_text']}; font-size: 10px;
}}
QToolButton#thumbnail:hover {{ border-color: {t['accent']}; color: {t['text']}; }}
QToolButton#thumbnail:pressed {{ background: {t['accent_soft']}; }}
QListWidget#keyframes {{ background: {t['base']}; border: 1px solid {t['frame']}; border-radius: 3px; }}
QListWidget#keyframes::item {{ border: 1px solid transparent; border-radius: 3px; color: {t['muted_text']}; }}
QListWidget#keyframes::item:hover {{ border-color: {t['accent']}; }}
QListWidget#keyframes::item:selected {{
    border-color: {t['accent']}; background: {t['accent_soft']}; color: {t['text']};
}}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid {t['indicator']}; border-radius: 3px; background: {t['base']};
}}
QCheckBox::indicator:hover {{ border-color: {t['accent']}; }}
QCheckBox::indicator:checked {{
    background: {t['accent']}; border-color: {t['accent']}; image: url("{check}");
}}
QCheckBox::indicator:disabled {{ border-color: {t['indicator_disabled']}; }}
QToolButton#disclosure {{
    border: none; background: transparent; padding: 2px 0; color: {t['heading']};
}}
QToolButton#disclosure:hover {{ color: {t['accent']}; }}
QScrollArea#panel_scroll {{ border: none; background: transparent; }}
QLabel#hint {{ color: {t['muted_text']}; }}
QLabel#notice {{ color: {t['warning']}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QPushButton {{ padding: 4px 10px; }}
QPushButton#primary {{
    background: {t['primary']}; border: 1px solid {t['accent']}; border-radius: 3px; color: #ffffff;
}}
QPushButton#primary:hover {{ background: {t['primary_hover']}; }}
QPushButton#primary:disabled {{
    background: {t['button']}; border-color: {t['frame']}; color: {t['disabled_text']};
}}
"""


def apply_theme(app: QApplication, name: str = "dark") -> None:
    """Fusion style + the palette and style sheet of theme `name` (a key of
    THEMES), for the whole app; a running app repaints in the new look.
    ValueError (one line) for an unknown name."""
    global _current
    theme = theme_named(name)
    _current = theme
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(style_sheet(theme))
