"""The installed PySide6 must not leak references to None/True (6.12.0 on
Python 3.11 does: the app aborts with "none_dealloc" after a minute of play).
pyproject.toml keeps that version out; this guards the pin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_many_qt_calls_and_emits_do_not_abort():
    code = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
class O(QObject):
    s = Signal(int)
o, w = O(), QWidget()
before = sys.getrefcount(None)
for i in range(100_000):
    w.update(); o.s.emit(i)
lost = before - sys.getrefcount(None)
print("ok" if sys.version_info >= (3, 12) or lost < 1000 else f"lost {lost} references to None")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.stdout + done.stderr)[-500:]
