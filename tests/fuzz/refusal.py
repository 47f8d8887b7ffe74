"""The check every command fuzz case makes: bad input ends with exit status 2,
exactly one line on stderr that starts with `error: ` and says it in our
words (not an exception's raw text), no traceback, nothing on stdout, and
nothing written, neither where the command was told to write nor in the
working folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest


# What an exception's own text looks like when it reaches the line unread.
PYTHON_TEXT = ("[Errno ", "PosixPath(", "Traceback", "object at 0x")


def clear(folder: Path) -> list[str]:
    """Empty `folder`; the names it held."""
    names = sorted(os.listdir(folder))
    for name in names:
        path = folder / name
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    return names


def nothing(out: str) -> bool:
    return out == ""


class Refusals:
    """Runs one entry point's cases in-process and keeps every one that was
    not a clean refusal, to be reported together at the end."""

    def __init__(self, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, entry: Callable,
                 watched: list[Path], stdout_ok: Callable[[str], bool] = nothing):
        self.capfd, self.monkeypatch, self.entry = capfd, monkeypatch, entry
        self.watched, self.stdout_ok = watched, stdout_ok
        self.tries = 0
        self.problems: list[str] = []

    def check(self, label: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.tries += 1
        self.capfd.readouterr()
        with self.monkeypatch.context() as patch:
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            try:
                code = self.entry(argv)
            except (Exception, SystemExit) as exc:  # a traceback, or argparse's own exit
                code = f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
        out, err = self.capfd.readouterr()
        wrong = []
        if code != 2:
            wrong.append(f"exit {code}")
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: ") or not err.endswith("\n"):
            wrong.append(f"stderr {err[-400:]!r}")
        elif any(raw in err for raw in PYTHON_TEXT):
            wrong.append(f"Python's words, not ours: {err[:300]!r}")
        if not self.stdout_ok(out):
            wrong.append(f"stdout {out[-200:]!r}")
        for folder in self.watched:
            left = clear(folder)
            if left:
                wrong.append(f"left {left[:3]} in {folder.name}/")
        if wrong:
            self.problems.append(f"{label}: {'; '.join(wrong)}\n    argv {[a[:80] for a in argv]}")

    def assert_clean(self) -> None:
        assert not self.problems, (f"{len(self.problems)} of {self.tries} cases were not one clean error line:\n"
                                   + "\n".join(self.problems))
