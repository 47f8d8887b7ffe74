"""What the user is told when something fails: one line, never a traceback."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def one_line(exc: BaseException) -> str:
    """An exception as one readable line. Our own errors, ValueError and
    OSError already read well; anything else gets its type name in front so
    the line still means something."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    if isinstance(exc, (ValueError, OSError)) or type(exc).__module__.startswith("studio"):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """A modal warning box with one line of text."""
    QMessageBox.warning(parent, title, message.splitlines()[0] if message else title)
