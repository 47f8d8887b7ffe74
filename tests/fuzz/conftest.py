"""Fixtures of the fuzz tests: a World of files (world.py) and the checker
of `studio` command lines (refusal.py)."""

from __future__ import annotations

import pytest
from refusal import Refusals
from world import World

from studio.cli import main


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    world = World(tmp_path / "world")
    monkeypatch.chdir(world.cwd)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # install-desktop's fallback, never the real one
    return world


@pytest.fixture
def refusals(capfd, monkeypatch, world) -> Refusals:
    """Checks `studio` command lines (studio.cli.main)."""
    return Refusals(capfd, monkeypatch, main, [world.out, world.cwd])
