"""Atomic writes: the old file or the new one, never a torn one, no litter."""

from __future__ import annotations

import pytest

from studio.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text


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
