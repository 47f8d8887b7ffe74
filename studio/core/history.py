"""Undo/redo stacks of document commands, with a memory cap.

History only moves commands between its two stacks and calls their do/undo;
the Document wraps that with revision counting, cache invalidation and
listener calls.
"""

from __future__ import annotations

from typing import Any, Protocol

from studio.core.rect import Rect

DEFAULT_LIMIT_BYTES = 1 << 30  # 1 GiB of command data (before/after crops, removed layers)


class Command(Protocol):
    """What History stores. do/undo change the document and return the rect
    whose pixels changed for listeners (None: everything, e.g. canvas size or
    the layer list). nbytes: bytes of pixel data the command keeps alive while
    it sits on the undo stack (e.g. the before/after crops of a brush stroke)."""

    text: str

    @property
    def nbytes(self) -> int: ...

    def do(self, doc: Any) -> Rect | None: ...

    def undo(self, doc: Any) -> Rect | None: ...


class History:
    """Undo and redo stacks. Each entry carries a serial number; `state` (the
    serial of the newest done command) identifies the document's contents, so
    undoing back to the state that was saved reads as "not modified"."""

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.limit_bytes = int(limit_bytes)
        self._undo: list[tuple[int, Command, int]] = []  # (serial, command, nbytes at push)
        self._redo: list[tuple[int, Command, int]] = []
        self._serial = 0
        # The state under the oldest kept command: 0 at the start, else the
        # serial of the last command dropped by the cap (its result is the base).
        self._base = 0
        self.dropped = 0  # commands dropped by the memory cap, for the UI/tests

    # --- queries ---------------------------------------------------------------

    @property
    def state(self) -> int:
        """Identifies the current contents: equal states mean equal documents."""
        return self._undo[-1][0] if self._undo else self._base

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str | None:
        """Label of the command undo() would revert (e.g. "Brush"), None if none."""
        return self._undo[-1][1].text if self._undo else None

    @property
    def redo_text(self) -> str | None:
        return self._redo[-1][1].text if self._redo else None

    @property
    def nbytes(self) -> int:
        """Bytes held by the undo stack, as counted against `limit_bytes`."""
        return sum(entry[2] for entry in self._undo)

    def __len__(self) -> int:
        """Number of undoable commands."""
        return len(self._undo)

    # --- changes ---------------------------------------------------------------

    def push(self, command: Command) -> None:
        """Record a command that has just been done. Clears the redo stack (a new
        edit starts a new branch) and drops the oldest commands while the total
        exceeds the cap; the newest command is always kept, however big."""
        self._redo.clear()
        self._serial += 1
        self._undo.append((self._serial, command, int(command.nbytes)))
        total = self.nbytes
        while total > self.limit_bytes and len(self._undo) > 1:
            serial, _, size = self._undo.pop(0)
            self._base = serial
            self.dropped += 1
            total -= size

    def undo(self, doc: Any) -> Rect | None:
        """Undo the newest command on `doc` and move it to the redo stack.
        Returns its dirty rect. Raises IndexError when there is nothing to undo."""
        if not self._undo:
            raise IndexError("nothing to undo")
        entry = self._undo[-1]
        dirty = entry[1].undo(doc)  # only moved once undo succeeded
        self._redo.append(self._undo.pop())
        return dirty

    def redo(self, doc: Any) -> Rect | None:
        """Redo the newest undone command; raises IndexError when there is none."""
        if not self._redo:
            raise IndexError("nothing to redo")
        entry = self._redo[-1]
        dirty = entry[1].do(doc)
        self._undo.append(self._redo.pop())
        return dirty

    def clear(self) -> None:
        """Forget everything (e.g. after opening a file). The current state stays
        the base, so a saved document stays "not modified"."""
        self._base = self.state
        self._undo.clear()
        self._redo.clear()
