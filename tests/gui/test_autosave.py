"""Autosave and crash recovery for real: child processes running an Autosaver
are killed with SIGKILL (at random moments, and once in the middle of a write),
and what the next start-up offers must be a whole document the child really
had. Plus the Autosaver's timer and the recovery dialog, driven by qtbot."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from studio.core import recovery
from studio.core.commands import PixelEdit
from studio.core.document import Document
from studio.core.project import load_project
from studio.ui import banded_copy
from studio.ui.autosave import Autosaver, RecoveryDialog, offer_recovery

_spec = importlib.util.spec_from_file_location("autosave_child", Path(__file__).with_name("autosave_child.py"))
child_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child_script)

INTERVAL_S = 0.1
# Edits the child may lose: those after the last autosave that finished, i.e.
# one interval plus the write in flight (measured: 0.05-0.09 s lost in all),
# plus room for scheduling on a busy 2-core box.
LOSS_WINDOW_S = INTERVAL_S + 1.0


def _fingerprint(doc: Document) -> str:
    h = hashlib.blake2b(digest_size=16)
    for layer in doc.layers:
        h.update(f"{layer.name}|{layer.opacity}|{layer.visible}|{layer.blend}".encode())
        h.update(layer.pixels.tobytes())
    h.update(doc.mask.tobytes())
    return h.hexdigest()


class States:
    """Fingerprints of the child's document after edit 0, 1, 2, ..."""

    def __init__(self) -> None:
        self._doc = child_script.base_document()
        self.prints = [_fingerprint(self._doc)]

    def index(self, doc: Document, up_to: int) -> int | None:
        while len(self.prints) <= up_to:
            child_script.edit(self._doc, len(self.prints))
            self.prints.append(_fingerprint(self._doc))
        found = _fingerprint(doc)
        return next((k for k in range(up_to + 1) if self.prints[k] == found), None)


class Child:
    """autosave_child.py in its own process; its stdout lines with the time they arrived."""

    def __init__(self, tmp_path: Path, resume: int | None = None) -> None:
        args = [sys.executable, str(Path(__file__).with_name("autosave_child.py")), str(INTERVAL_S)]
        if resume is not None:
            args.append(str(resume))
        self.stderr_path = tmp_path / f"child-{time.monotonic_ns()}.err"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        self.lines: list[tuple[float, str, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            kind, _, value = line.strip().partition(" ")
            self.lines.append((time.monotonic(), kind, value))

    def values(self, kind: str, before: float = float("inf")) -> list[str]:
        return [v for t, k, v in list(self.lines) if k == kind and t <= before]

    def wait_for(self, kind: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.values(kind)
            if found:
                return found[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        self.kill()
        pytest.fail(f"child never said {kind!r}; stdout {self.lines[-5:]}, stderr "
                    f"{self.stderr_path.read_text()[-2000:]}")

    def kill(self) -> float:
        """SIGKILL, reap (a zombie would still look alive), return when."""
        when = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(10)
        assert not self.values("failed"), self.values("failed")
        return when


def _temp_files(session_id: str) -> list[str]:
    return [n for n in os.listdir(recovery.autosave_dir()) if n.startswith(f".{session_id}.studio.")]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_killed_session_leaves_a_whole_document_from_its_last_interval(tmp_path, qtbot):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    states = States()
    resume = None
    report = []
    for mode in ("random", "mid-write", "random"):
        child = Child(tmp_path, resume)
        session_id = child.wait_for("ready")
        child.wait_for("saved")
        if mode == "mid-write":
            deadline = time.monotonic() + 30
            while not _temp_files(session_id) and time.monotonic() < deadline:
                time.sleep(0.0005)
            killed = child.kill()
            # The write was cut short: its temporary file is still there...
            assert _temp_files(session_id), "never caught a write in progress"
        else:
            time.sleep(rng.uniform(0.3, 1.6))
            killed = child.kill()

        # ...and what is offered is the previous, complete autosave.
        orphans = recovery.find_orphans()
        assert [(o.session_id, o.error) for o in orphans] == [(session_id, None)], (seed, mode)
        doc = load_project(orphans[0].path)
        last_edit = int(child.values("edit")[-1])
        k = states.index(doc, last_edit)
        assert k is not None, f"the autosave is no state the child had (seed {seed}, {mode})"
        saved = [int(v) for v in child.values("saved")]
        assert k >= max(saved), (seed, mode, k, saved)  # never older than the last write that finished
        before_window = [int(v) for v in child.values("edit", before=killed - LOSS_WINDOW_S)]
        assert k >= max(before_window, default=0), (seed, mode, k, before_window[-1:])
        report.append((mode, k, last_edit))
        resume = k  # the next start recovers it and carries on (the files move to its own slot)

    # The last crash is recovered the app's way, through the dialog.
    def click_recover() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RecoveryDialog)
        dialog.recover_button.click()

    QTimer.singleShot(0, click_recover)
    [recovered] = offer_recovery(None)
    assert states.index(recovered.document, resume) == resume, report
    assert recovery.find_orphans() == []
    # Only the adopted slot remains: no leftover of any killed write or earlier session.
    assert sorted(os.listdir(recovery.autosave_dir())) == [f"{recovered.session_id}.json",
                                                           f"{recovered.session_id}.studio"]


# --- the Autosaver in this process ----------------------------------------------------


def _noise_doc(seed: int = 0) -> Document:
    return Document.from_image(np.random.default_rng(seed).integers(0, 256, (40, 56, 4), dtype=np.uint8))


def _paint(doc: Document, value: int) -> None:
    layer = doc.layers[0]
    doc.apply(PixelEdit(layer.id, (4, 4, 20, 12), layer.pixels[4:12, 4:20].copy(),
                        np.full((8, 16, 4), value, np.uint8)))


def _idle(qtbot, saver: Autosaver, ms: int) -> list[str]:
    """Let the timer run `ms`; the saved messages it produced."""
    got: list[str] = []
    saver.saved.connect(got.append)
    qtbot.wait(ms)
    qtbot.waitUntil(lambda: not saver.is_busy(), timeout=10_000)
    saver.saved.disconnect(got.append)
    return got


def test_the_timer_writes_after_a_change_and_not_otherwise(qtbot):
    doc = _noise_doc()
    saver = Autosaver(doc, interval=0.05, title="Noise", source="/tmp/noise.studio")
    path = recovery.autosave_path(saver.session_id)
    assert _idle(qtbot, saver, 250) == [] and not path.exists()  # nothing changed: nothing written

    _paint(doc, 9)
    with qtbot.waitSignal(saver.saved, timeout=10_000) as blocker:
        pass
    assert blocker.args[0].startswith("Autosaved at ")
    qtbot.waitUntil(lambda: not saver.is_busy())
    assert saver.written_revision == doc.revision
    assert np.array_equal(load_project(path).layers[0].pixels, doc.layers[0].pixels)
    info = json.loads(recovery.info_path(saver.session_id).read_text())
    assert (info["title"], info["source"], info["pid"]) == ("Noise", "/tmp/noise.studio", os.getpid())

    written = path.stat().st_mtime_ns
    assert _idle(qtbot, saver, 300) == []  # no change since: no write
    assert path.stat().st_mtime_ns == written

    _paint(doc, 200)
    qtbot.waitSignal(saver.saved, timeout=10_000).wait()
    qtbot.waitUntil(lambda: not saver.is_busy())
    assert np.array_equal(load_project(path).layers[0].pixels, doc.layers[0].pixels)

    saver.close()
    assert not path.exists() and not recovery.info_path(saver.session_id).exists()


def test_saving_or_undoing_to_the_saved_state_empties_the_slot(qtbot):
    doc = _noise_doc(1)
    saver = Autosaver(doc, interval=0.05)
    path = recovery.autosave_path(saver.session_id)
    _paint(doc, 1)
    qtbot.waitSignal(saver.saved, timeout=10_000).wait()
    doc.undo()  # back to the state on disk: nothing to recover
    qtbot.waitUntil(lambda: not path.exists(), timeout=10_000)

    doc.redo()
    qtbot.waitSignal(saver.saved, timeout=10_000).wait()
    qtbot.waitUntil(lambda: not saver.is_busy())
    doc.mark_saved()
    saver.document_saved()
    assert not path.exists()
    assert _idle(qtbot, saver, 200) == [] and not path.exists()
    saver.close()


def test_a_stroke_in_progress_is_not_autosaved_half_done(qtbot):
    doc = _noise_doc(2)
    saver = Autosaver(doc, interval=0)
    _paint(doc, 5)
    layer = doc.layers[0]
    layer.pixels[20:30, 20:30] = 0  # a brush stroke painting in place...
    doc.touch((20, 20, 30, 30))
    assert saver.autosave_now() is False  # ...is waited for
    assert saver.autosave_now() is True  # but only for one tick
    qtbot.waitUntil(lambda: not saver.is_busy(), timeout=10_000)
    saver.close()


def test_an_edit_while_the_document_is_copied_is_not_written_half_done(qtbot, monkeypatch):
    monkeypatch.setattr(banded_copy, "BAND_BUDGET_S", 0.0)  # one band per turn of the event loop...
    monkeypatch.setattr(banded_copy, "BAND_BYTES", 1)  # ...of one row: the copy takes many turns
    doc = _noise_doc(5)
    saver = Autosaver(doc, interval=0)
    path = recovery.autosave_path(saver.session_id)
    _paint(doc, 6)
    assert saver.autosave_now() is True and saver.is_busy()  # copying
    _paint(doc, 7)  # its rows would mix two states: the copy is dropped, nothing is written
    assert not saver.is_busy()
    qtbot.wait(50)
    assert not path.exists()
    assert saver.autosave_now() is True  # the next tick copies the document as it is now
    qtbot.waitUntil(lambda: saver.written_revision == doc.revision, timeout=10_000)
    qtbot.waitUntil(lambda: not saver.is_busy(), timeout=10_000)
    assert np.array_equal(load_project(path).layers[0].pixels, doc.layers[0].pixels)
    saver.close()


def test_turning_autosave_off_stops_writing_and_removes_the_slot(qtbot):
    doc = _noise_doc(3)
    saver = Autosaver(doc, interval=0.05)
    _paint(doc, 7)
    qtbot.waitSignal(saver.saved, timeout=10_000).wait()
    saver.set_interval(0)
    assert saver.interval == 0 and not recovery.autosave_path(saver.session_id).exists()
    _paint(doc, 8)
    assert _idle(qtbot, saver, 250) == [] and not recovery.autosave_path(saver.session_id).exists()
    with pytest.raises(ValueError, match="autosave interval"):
        saver.set_interval(-1)
    saver.set_interval(0.05)  # back on: the change made while off is written
    qtbot.waitSignal(saver.saved, timeout=10_000).wait()
    saver.close()


def test_a_write_that_fails_is_reported_in_one_line(qtbot, user_dir):
    user_dir.mkdir(parents=True, exist_ok=True)
    (user_dir / "autosave").write_text("a file where the folder should be")
    doc = _noise_doc(4)
    saver = Autosaver(doc, interval=0.05)
    _paint(doc, 3)
    with qtbot.waitSignal(saver.failed, timeout=10_000) as blocker:
        pass
    assert blocker.args[0].startswith("Autosave failed: cannot save ") and "\n" not in blocker.args[0]
    qtbot.waitUntil(lambda: not saver.is_busy())
    saver.set_interval(0)
    saver.close()


# --- the start-up offer ------------------------------------------------------------------


def _crashed_slot(doc: Document, title: str) -> str:
    """A slot left by a process that is gone."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    session_id = f"20240101-000000-{proc.pid}-{os.urandom(4).hex()}"
    recovery.write_autosave(doc, session_id, None, title)
    info = json.loads(recovery.info_path(session_id).read_text())
    info["pid"] = proc.pid
    recovery.info_path(session_id).write_text(json.dumps(info))
    return session_id


def _answer(button: str, uncheck: tuple[int, ...] = ()) -> None:
    def act() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RecoveryDialog)
        for row in uncheck:
            dialog.list.item(row).setCheckState(Qt.Unchecked)
        getattr(dialog, f"{button}_button").click()

    QTimer.singleShot(0, act)


def test_offer_recovery_recovers_the_checked_and_deletes_the_rest(qtbot):
    assert offer_recovery(None) == []  # nothing to offer: no dialog
    first, second = _noise_doc(5), _noise_doc(6)
    _crashed_slot(first, "First")
    time.sleep(0.01)
    _crashed_slot(second, "Second")  # newer: listed first
    broken = _crashed_slot(_noise_doc(7), "Broken")
    recovery.autosave_path(broken).write_bytes(b"not a zip")

    dialog = RecoveryDialog(recovery.find_orphans())
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert any(t.startswith("Broken") and "cannot be recovered: " in t and "not a zip" in t for t in texts)
    assert dialog.message.text() == "Latent Studio closed unexpectedly. Recover 2 unsaved documents?"
    # Newest first; the damaged one cannot be ticked.
    assert [(o.title, dialog.list.item(i).checkState() == Qt.Checked) for i, o in enumerate(dialog.orphans)] == \
        [("Broken", False), ("Second", True), ("First", True)]
    dialog.deleteLater()

    _answer("later")
    assert offer_recovery(None) == []
    assert len(recovery.find_orphans()) == 3  # Not Now keeps everything

    row_of_first = [o.title for o in recovery.find_orphans()].index("First")
    _answer("recover", uncheck=(row_of_first,))
    [got] = offer_recovery(None)
    assert got.title == "Second" and got.source is None
    assert np.array_equal(got.document.layers[0].pixels, second.layers[0].pixels)
    assert recovery.find_orphans() == []  # First deleted, Broken set aside, Second adopted
    assert (recovery.autosave_dir() / recovery.DAMAGED_FOLDER / f"{broken}.studio").exists()

    # The adopted slot belongs to an Autosaver now; it keeps the document safe until saved.
    saver = Autosaver(got.document, session_id=got.session_id, interval=0.05, title=got.title, unsaved=True)
    assert saver.written_revision == got.document.revision
    assert _idle(qtbot, saver, 200) == []  # already in the slot
    assert recovery.autosave_path(got.session_id).exists()
    saver.document_saved()
    assert not recovery.autosave_path(got.session_id).exists()
    saver.close()


def test_offer_recovery_discard_deletes_everything(qtbot):
    _crashed_slot(_noise_doc(8), "Gone")
    _answer("discard")
    assert offer_recovery(None) == []
    assert recovery.find_orphans() == [] and os.listdir(recovery.autosave_dir()) == []
