"""Autosave slots and crash recovery (studio.core.recovery) on real files and
real processes: which slots are orphans, what they give back, and damaged ones
reported in one line instead of raised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from studio.core import recovery
from studio.core.commands import PixelEdit, SetLayerProps
from studio.core.document import Document, Layer
from studio.core.project import load_project, save_project
from studio.core.recovery import RecoveryError

W, H = 48, 32


def _doc(seed: int = 0) -> Document:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    top = np.zeros((H, W, 4), np.uint8)
    top[4:20, 10:30] = (10, 200, 30, 180)
    doc = Document.from_layers(W, H, [Layer(1, "Base", base), Layer(2, "Top", top, opacity=0.5, blend="multiply")])
    doc.apply(PixelEdit(1, (0, 0, 8, 8), base[:8, :8].copy(), np.full((8, 8, 4), 77, np.uint8)))
    doc.apply(PixelEdit("mask", (5, 5, 25, 15), doc.mask[5:15, 5:25].copy(), np.full((10, 20), 255, np.uint8)))
    doc.apply(SetLayerProps(2, name="Glaze", visible=False))
    return doc


def _same(a: Document, b: Document) -> None:
    assert (a.width, a.height) == (b.width, b.height)
    assert [(x.name, x.opacity, x.visible, x.locked, x.blend) for x in a.layers] == \
           [(x.name, x.opacity, x.visible, x.locked, x.blend) for x in b.layers]
    for x, y in zip(a.layers, b.layers):
        assert np.array_equal(x.pixels, y.pixels)
    assert np.array_equal(a.mask, b.mask)


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has run and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


@pytest.fixture
def sleeper():
    """A live child process (killed and reaped at the end)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.05)
    yield proc
    proc.kill()
    proc.wait()


def _set_info(session_id: str, **fields) -> None:
    path = recovery.info_path(session_id)
    info = json.loads(path.read_text())
    info.update(fields)
    path.write_text(json.dumps(info))


def _orphan_slot(doc: Document, pid: int, source=None, title="Sketch") -> str:
    """A slot as a crashed process `pid` would have left it."""
    session_id = f"20240101-000000-{pid}-{os.urandom(4).hex()}"
    recovery.write_autosave(doc, session_id, source, title)
    _set_info(session_id, pid=pid)
    return session_id


def test_write_makes_a_complete_pair_that_is_not_an_orphan_while_we_run(user_dir):
    doc = _doc()
    session_id = recovery.new_session_id()
    before = time.time()
    path = recovery.write_autosave(doc, session_id, "/work/sketch.studio", "sketch", interval=30)

    assert path == user_dir / "autosave" / f"{session_id}.studio" == recovery.autosave_path(session_id)
    _same(load_project(path), doc)
    info = json.loads(recovery.info_path(session_id).read_text())
    assert info["pid"] == os.getpid() and info["source"] == "/work/sketch.studio" and info["title"] == "sketch"
    assert info["started"] <= before <= info["saved_at"] <= time.time() and info["interval"] == 30
    assert recovery.find_orphans() == []  # this process is alive and owns it
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, f"{session_id}.json"])


def test_a_dead_session_is_offered_once_and_recovers_the_document(dead_pid):
    doc = _doc(1)
    session_id = _orphan_slot(doc, dead_pid, source="/tmp/a.studio", title="a")

    [orphan] = recovery.find_orphans()
    assert orphan.recoverable and orphan.error is None
    assert (orphan.session_id, orphan.pid, orphan.title, orphan.source) == (session_id, dead_pid, "a", Path("/tmp/a.studio"))
    assert orphan.thumbnail.dtype == np.uint8 and orphan.thumbnail.shape == (H, W, 4)
    assert abs(orphan.saved_at - time.time()) < 60

    _same(recovery.recover(orphan), doc)
    assert recovery.find_orphans() == []
    assert list(recovery.autosave_dir().iterdir()) == []  # claimed and removed, nothing left behind
    with pytest.raises(RecoveryError, match="already recovered") as err:
        recovery.recover(orphan)
    assert "\n" not in str(err.value)


def test_recover_can_adopt_the_slot_so_a_second_crash_loses_nothing(dead_pid):
    doc = _doc(2)
    _orphan_slot(doc, dead_pid, title="b")
    [orphan] = recovery.find_orphans()
    mine = recovery.new_session_id()

    _same(recovery.recover(orphan, adopt_as=mine), doc)

    assert sorted(p.name for p in recovery.autosave_dir().iterdir()) == [f"{mine}.json", f"{mine}.studio"]
    info = json.loads(recovery.info_path(mine).read_text())
    assert info["pid"] == os.getpid() and info["title"] == "b" and info["saved_at"] == orphan.saved_at
    assert recovery.find_orphans() == []  # ours now, and we are alive
    _set_info(mine, pid=dead_pid)  # ...until this session dies as well
    [again] = recovery.find_orphans()
    assert again.session_id == mine
    _same(recovery.recover(again), doc)


def test_a_live_process_is_not_an_orphan_until_it_dies(sleeper):
    session_id = _orphan_slot(_doc(), sleeper.pid)
    _set_info(session_id, started=time.time())
    assert recovery.find_orphans() == []
    sleeper.kill()
    sleeper.wait()  # a zombie would still answer os.kill(pid, 0)
    assert [o.session_id for o in recovery.find_orphans()] == [session_id]


def test_an_unreaped_zombie_is_dead():
    proc = subprocess.Popen([sys.executable, "-c", ""])
    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{proc.pid}/stat").exists() \
            and Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    try:
        if not Path("/proc").is_dir():
            pytest.skip("no /proc to tell a zombie from a live process")
        session_id = _orphan_slot(_doc(), proc.pid)
        assert [o.session_id for o in recovery.find_orphans()] == [session_id]
    finally:
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc")
def test_a_reused_pid_does_not_keep_a_dead_session_alive(sleeper):
    # The slot's session began an hour before the process now holding its pid.
    session_id = _orphan_slot(_doc(), sleeper.pid)
    _set_info(session_id, started=time.time() - 3600)
    assert [o.session_id for o in recovery.find_orphans()] == [session_id]


def test_our_own_pid_on_a_slot_we_did_not_make_is_an_orphan(tmp_path):
    # Sandboxes give the app the same pid on every launch: the crashed run's
    # slot then names our pid, yet it is not ours.
    session_id = "20240101-000000-1-abcdef"
    doc = _doc(3)
    save_project(doc, recovery.autosave_path(session_id))
    recovery.info_path(session_id).write_text(json.dumps(
        {"pid": os.getpid(), "started": time.time(), "saved_at": time.time(), "source": None, "title": "mine?"}))
    [orphan] = recovery.find_orphans()
    assert orphan.title == "mine?"
    _same(recovery.recover(orphan), doc)


def test_a_document_whose_json_never_got_written_is_still_offered(dead_pid):
    # Killed between the two renames of a session's first autosave: the pid in the id decides.
    session_id = f"20240101-000000-{dead_pid}-0a1b2c3d"
    doc = _doc(4)
    save_project(doc, recovery.autosave_path(session_id))
    [orphan] = recovery.find_orphans()
    assert orphan.recoverable and orphan.title == "Untitled" and orphan.source is None and orphan.pid == dead_pid
    _same(recovery.recover(orphan), doc)


def test_damaged_orphans_are_reported_in_one_line_never_raised(dead_pid):
    good = _orphan_slot(_doc(5), dead_pid, title="good")
    truncated = _orphan_slot(_doc(6), dead_pid, title="truncated")
    path = recovery.autosave_path(truncated)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    garbage_info = _orphan_slot(_doc(7), dead_pid, title="lost title")
    recovery.info_path(garbage_info).write_text("{not json")
    missing = _orphan_slot(_doc(8), dead_pid, title="missing")
    recovery.autosave_path(missing).unlink()

    found = {o.session_id: o for o in recovery.find_orphans()}
    assert set(found) == {good, truncated, garbage_info, missing}
    assert found[good].recoverable
    assert "damaged or truncated" in found[truncated].error and "\n" not in found[truncated].error
    assert found[truncated].thumbnail is None
    assert found[missing].error == "the autosaved document is missing"
    # A damaged .json costs the title, not the document (the pid comes from the session id).
    assert found[garbage_info].recoverable and found[garbage_info].title == "Untitled"
    _same(recovery.recover(found[garbage_info]), _doc(7))

    with pytest.raises(RecoveryError, match="cannot recover 'truncated': .*damaged or truncated") as err:
        recovery.recover(found[truncated])
    assert "\n" not in str(err.value)
    damaged = recovery.set_aside(found[truncated])
    recovery.set_aside(found[missing])
    assert sorted(p.name for p in damaged.iterdir()) == sorted(
        [f"{truncated}.studio", f"{truncated}.json", f"{missing}.json"])
    assert [o.session_id for o in recovery.find_orphans()] == [good]


def test_a_layer_that_fails_to_load_sets_the_slot_aside(dead_pid):
    # The thumbnail reads fine, so find_orphans cannot tell; recover can.
    session_id = _orphan_slot(_doc(9), dead_pid, title="bad layer")
    path = recovery.autosave_path(session_id)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries["layers/0001.png"] = entries["layers/0001.png"][:40]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    [orphan] = recovery.find_orphans()
    assert orphan.recoverable

    mine = recovery.new_session_id()
    with pytest.raises(RecoveryError, match="cannot recover 'bad layer': cannot open") as err:
        recovery.recover(orphan, adopt_as=mine)
    assert "\n" not in str(err.value)
    damaged = recovery.autosave_dir() / recovery.DAMAGED_FOLDER
    assert sorted(p.name for p in damaged.iterdir()) == [f"{mine}.json", f"{mine}.studio"]
    assert recovery.find_orphans() == []
    assert not recovery.autosave_path(mine).exists()


def test_discard_removes_the_pair_and_what_a_killed_write_left(user_dir):
    session_id = recovery.new_session_id()
    recovery.write_autosave(_doc(), session_id, None, "x")
    folder = recovery.autosave_dir()
    (folder / f".{session_id}.studio.k3j4.tmp").write_bytes(b"PK half")
    other = recovery.new_session_id()
    recovery.write_autosave(_doc(), other, None, "y")

    recovery.discard(session_id)
    recovery.discard(session_id)  # twice is fine
    assert sorted(p.name for p in folder.iterdir()) == [f"{other}.json", f"{other}.studio"]


def test_sweep_removes_leftovers_of_dead_sessions_only(dead_pid):
    folder = recovery.autosave_dir()
    folder.mkdir(parents=True)
    dead = folder / f".20240101-000000-{dead_pid}-00ff.studio.x1.tmp"
    live = folder / f".{recovery.new_session_id()}.studio.x2.tmp"
    for path in (dead, live):
        path.write_bytes(b"PK")
    assert recovery.sweep_leftovers() == 1
    assert [p.name for p in folder.iterdir()] == [live.name]


def test_no_folder_means_no_orphans_and_bad_ids_are_refused(user_dir):
    assert recovery.find_orphans() == []
    assert recovery.sweep_leftovers() == 0
    for bad in ("../escape", "", "a/b", ".hidden", "x" * 101):
        with pytest.raises(ValueError, match="bad autosave session id"):
            recovery.autosave_path(bad)


def test_a_write_that_fails_leaves_the_previous_pair(user_dir):
    session_id = recovery.new_session_id()
    first = _doc(10)
    recovery.write_autosave(first, session_id, None, "first")
    broken = _doc(11)
    broken.layers[0].pixels = broken.layers[0].pixels[:, :-1]  # wrong shape: the encoder refuses mid-write
    with pytest.raises(ValueError):
        recovery.write_autosave(broken, session_id, None, "second")
    _same(load_project(recovery.autosave_path(session_id)), first)
    assert json.loads(recovery.info_path(session_id).read_text())["title"] == "first"
    assert sorted(p.name for p in recovery.autosave_dir().iterdir()) == [f"{session_id}.json", f"{session_id}.studio"]


def test_the_copy_for_autosave_shares_no_pixels_and_keeps_everything_saved():
    doc = _doc(12)
    doc.layers[1].recipe = {"seed": 7, "model": {"name": "tiny"}}
    twin = recovery.copy_for_autosave(doc)
    _same(twin, doc)
    assert twin.active_id == doc.active_id and twin.layers[1].recipe == doc.layers[1].recipe
    assert not any(np.shares_memory(a.pixels, b.pixels) for a, b in zip(twin.layers, doc.layers))
    assert not np.shares_memory(twin.mask, doc.mask) and twin.layers[1].recipe is not doc.layers[1].recipe
    doc.active_id = None
    assert recovery.copy_for_autosave(doc).active_id is None
