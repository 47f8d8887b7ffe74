"""The dark look: Fusion style, a neutral grey palette and one accent colour.

Artists judge colour on the canvas, so the chrome around it stays a quiet,
low-saturation grey (as in Krita, Blender, Photoshop) and only focus and
selection carry the accent.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#4a90d9")
WINDOW = QColor("#2b2b2d")
BASE = QColor("#1f1f21")
ALT_BASE = QColor("#262628")
TEXT = QColor("#dcdcdc")
MUTED_TEXT = QColor("#8a8a8e")
BUTTON = QColor("#353538")
CANVAS = QColor("#18181a")
ICONS = Path(__file__).resolve().parents[2] / "assets" / "icons"
WARNING = QColor("#e0b050")

_STYLE_SHEET = f"""
QMainWindow::separator {{ background: {WINDOW.darker(125).name()}; width: 3px; height: 3px; }}
QDockWidget {{ titlebar-close-icon: none; font-weight: 600; }}
QDockWidget::title {{ background: {BUTTON.name()}; padding: 6px 8px; text-align: left; }}
QGroupBox {{
    border: 1px solid #3c3c40; border-radius: 4px; margin-top: 12px; padding: 6px 4px 4px 4px;
}}
QGroupBox::title {{
    subcontrol-origin: margin; subcontrol-position: top left; left: 8px; padding: 0 4px;
    color: {MUTED_TEXT.lighter(130).name()}; font-weight: 600;
}}
QToolButton#thumbnail {{
    border: 1px solid #3a3a3e; border-radius: 3px; background: {BASE.name()}; padding: 2px;
    color: {MUTED_TEXT.name()}; font-size: 10px;
}}
QToolButton#thumbnail:hover {{ border-color: {ACCENT.name()}; color: {TEXT.name()}; }}
QToolButton#thumbnail:pressed {{ background: {ACCENT.darker(250).name()}; }}
QListWidget#keyframes {{ background: {BASE.name()}; border: 1px solid #3a3a3e; border-radius: 3px; }}
QListWidget#keyframes::item {{ border: 1px solid transparent; border-radius: 3px; color: {MUTED_TEXT.name()}; }}
QListWidget#keyframes::item:hover {{ border-color: {ACCENT.name()}; }}
QListWidget#keyframes::item:selected {{ border-color: {ACCENT.name()}; background: {ACCENT.darker(300).name()}; }}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid #6a6a70; border-radius: 3px; background: {BASE.name()};
}}
QCheckBox::indicator:hover {{ border-color: {ACCENT.name()}; }}
QCheckBox::indicator:checked {{
    background: {ACCENT.name()}; border-color: {ACCENT.name()}; image: url("{(ICONS / "check.svg").as_posix()}");
}}
QCheckBox::indicator:disabled {{ border-color: #48484c; }}
QScrollArea#panel_scroll {{ border: none; background: transparent; }}
QLabel#hint {{ color: {MUTED_TEXT.name()}; }}
QLabel#notice {{ color: {WARNING.name()}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QPushButton {{ padding: 4px 10px; }}
QPushButton#primary {{ background: {ACCENT.darker(140).name()}; border: 1px solid {ACCENT.name()}; border-radius: 3px; }}
QPushButton#primary:hover {{ background: {ACCENT.darker(120).name()}; }}
QPushButton#primary:disabled {{ background: {BUTTON.name()}; border-color: #3c3c40; }}
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.Window: WINDOW, QPalette.WindowText: TEXT, QPalette.Base: BASE,
        QPalette.AlternateBase: ALT_BASE, QPalette.ToolTipBase: QColor("#3a3a3e"),
        QPalette.ToolTipText: TEXT, QPalette.PlaceholderText: MUTED_TEXT, QPalette.Text: TEXT,
        QPalette.Button: BUTTON, QPalette.ButtonText: TEXT, QPalette.BrightText: QColor("#ff6060"),
        QPalette.Link: ACCENT, QPalette.Highlight: ACCENT, QPalette.HighlightedText: QColor("#ffffff"),
        QPalette.Light: QColor("#4a4a4e"), QPalette.Midlight: QColor("#3e3e42"),
        QPalette.Mid: QColor("#303033"), QPalette.Dark: QColor("#1a1a1c"), QPalette.Shadow: QColor("#0c0c0d"),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor("#6a6a6e"))
    palette.setColor(QPalette.Disabled, QPalette.Highlight, QColor("#404044"))
    return palette


def apply_theme(app: QApplication) -> None:
    """Fusion style + dark palette + a small style sheet, for the whole app."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(_STYLE_SHEET)
