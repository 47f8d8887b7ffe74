"""Error text for people: every message the CLI prints after `error:` and
every message box is one line, whatever the exception underneath said."""

from __future__ import annotations


def one_line(exc: BaseException | str) -> str:
    """The text of an exception (or a string) on one line, runs of white
    space folded to one space; an exception without text gives its type's
    name, so a message never ends in nothing."""
    text = " ".join(str(exc).split())
    if not text and isinstance(exc, BaseException):
        return type(exc).__name__
    return text


def os_error_line(exc: OSError) -> str:
    """An operating-system error about a path, for the CLI's `error:` line:
    the path (its middle left out when long, so the line stays one line)
    and the system's reason."""
    name = exc.filename if exc.filename is not None else ""
    name = str(name)
    if len(name) > 80:
        name = f"{name[:38]}...{name[-38:]}"
    reason = (exc.strerror or one_line(exc)).lower()
    return f"{name}: {reason}" if name else reason
