"""Keys that belong to the canvas wherever the keyboard focus is, as in
Krita: the one-key shortcuts (B, E, M, L, V, I, R, P, [ and ]...),
holding Tab to compare and holding Space to pan. Qt lets the focused widget claim a key first (a
list's type-ahead search, a spin box's editor, any panel taking Tab to move
the focus), so with the focus in a panel those keys did nothing. This
application event filter hands them to the window instead, unless the
artist is typing into a text field (a name, a path, the log's search)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget


def typing_into(widget: QWidget | None) -> bool:
    """Whether keys pressed in `widget` are text the artist is typing."""
    if isinstance(widget, QLineEdit):
        # A spin box's own editor counts as the spin box: it takes digits, not letters or Tab.
        return not widget.isReadOnly() and not isinstance(widget.parent(), QAbstractSpinBox)
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    return False


class CanvasKeys(QObject):
    """Installed on the application for `window`; hold_tab(bool) and
    hold_space(bool) are what holding Tab and Space do; `canvas` is the widget
    that handles its own keys when it has the focus."""

    def __init__(self, window: QWidget, canvas: QWidget, hold_tab, hold_space):
        super().__init__(window)
        self.window, self.canvas, self.hold_tab, self.hold_space = window, canvas, hold_tab, hold_space
        QApplication.instance().installEventFilter(self)

    def _single_keys(self) -> set[int]:
        """The window's shortcuts that are one key with no modifier."""
        keys = set()
        for action in self.window.findChildren(QAction):
            for sequence in action.shortcuts():
                if sequence.count() == 1 and not sequence[0].keyboardModifiers():
                    keys.add(sequence[0].key())
        return keys

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress, QEvent.KeyRelease):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self.window:
            return False
        # The key's own receiver (the focused widget, as a rule) says whether it is typing.
        if event.modifiers() & ~Qt.KeypadModifier or typing_into(watched):
            return False
        if kind == QEvent.ShortcutOverride:
            # Not claimed by the focused widget: Qt then runs the window's shortcut.
            return event.key() in self._single_keys()
        if event.key() == Qt.Key_Tab:
            if not event.isAutoRepeat():
                self.hold_tab(kind == QEvent.KeyPress)
            return True
        if event.key() == Qt.Key_Space and watched is not self.canvas and not self.canvas.isAncestorOf(watched):
            # Not a click of the focused button or check box: the canvas pans, as in Krita.
            if not event.isAutoRepeat():
                self.hold_space(kind == QEvent.KeyPress)
            return True
        return False
