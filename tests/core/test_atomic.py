"""Atomic writes: the old file or the new one, never a torn one, no litter."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from studio.core.animation import save_animation
from studio.core.atomic import FolderNotWritable, atomic_path, atomic_write_bytes, atomic_write_text, umask


def test_write_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "deep" / "er" / "file.txt"
    atomic_write_text(target, "first ☕")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_exception_leaves_old_file_intact_and_no_temporary(tmp_path):
    target = tmp_path / "model.json"
    atomic_write_bytes(target, b"old contents")

    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp != target
            tmp.write_bytes(b"half of the new")
            raise RuntimeError("disk on fire")

    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_keyboard_interrupt_also_cleans_up(tmp_path):
    target = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"x")
            raise KeyboardInterrupt
    assert not list(tmp_path.iterdir())


def test_library_writing_to_the_path_works(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:  # any library that takes a filename
            fh.write(bytes(range(256)))
    assert target.read_bytes() == bytes(range(256))
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_saved_files_get_the_mode_the_umask_gives_not_the_temporary_files(tmp_path):
    old = os.umask(0o022)
    try:
        assert umask() == 0o022
        atomic_write_text(tmp_path / "shared.txt", "for everyone to read")
        assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644
        frames = np.zeros((2, 8, 8, 3), np.uint8)
        save_animation(tmp_path / "frames", frames, fps=12)
        assert stat.S_IMODE((tmp_path / "frames").stat().st_mode) == 0o755
        os.umask(0o077)
        atomic_write_text(tmp_path / "private.txt", "mine")
        assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_folder_that_cannot_take_the_file_is_named_not_the_temporary_file(tmp_path):
    (tmp_path / "a-file").write_text("a file where a folder should be")
    with pytest.raises(FolderNotWritable) as caught:
        atomic_write_bytes(tmp_path / "a-file" / "out.png", b"x")
    assert str(caught.value).startswith(f"cannot write in {tmp_path / 'a-file'} (")
    assert ".tmp" not in str(caught.value) and isinstance(caught.value, OSError)
