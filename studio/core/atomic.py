"""Atomic file writes: temporary file in the same folder, flush, fsync, rename.

A crash or kill -9 mid-write leaves either the old file or the new one, never a
torn file, because rename within one folder is atomic on every desktop OS.

The temporary file is private (mkstemp makes it 0600); before the rename it
gets the mode the user's umask gives a new file (0644 under the usual 022),
so other programs and users can read what we save, as with any editor.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator

_umask_lock = threading.Lock()


def umask() -> int:
    """The process's umask (read without changing it where the OS allows)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _umask_lock:  # elsewhere the only way to read it is to set it and put it back
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def new_file_mode() -> int:
    """What open() would give a new file: 0666 less the umask."""
    return 0o666 & ~umask()


def new_folder_mode() -> int:
    """What mkdir would give a new folder: 0777 less the umask."""
    return 0o777 & ~umask()


class FolderNotWritable(OSError):
    """The folder a file was to be written in cannot take it. Its text names
    that folder, never the temporary file the write would have gone through."""

    def __init__(self, folder: Path, cause: OSError):
        super().__init__(cause.errno, cause.strerror, str(folder))  # errors.os_error_line names the folder
        self.folder = folder

    def __str__(self) -> str:
        why = (self.strerror or "cannot be written").lower()
        return f"cannot write in {self.folder} ({why})"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`.

    The caller writes the whole file to the yielded path (any library that takes
    a filename works). On an exception the temporary file is removed and `path`
    is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise FolderNotWritable(target.parent, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # a file system without modes (FAT, some shares) keeps its own
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not supported on Windows, where it is moot.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
