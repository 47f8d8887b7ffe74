"""Crash recovery: autosave slots under user_data_dir()/"autosave", and finding
the ones a crashed session left behind.

Each open document has a slot, named by a session id:
    SESSION.studio   the document, a normal project file (core/project.py)
    SESSION.json     {"pid", "started", "saved_at", "source", "title", "interval"}
                     pid: the process that owns the slot; started / saved_at:
                     seconds since the epoch; source: the project file the
                     document came from, or null; title: what the window showed;
                     interval: autosave period in seconds (how stale is "dead"
                     where a pid cannot be checked).
Both are written atomically, the .studio first, so a kill -9 at any moment
leaves a complete .studio (the previous one or the new one) and a .json that
describes it, at worst one autosave old. A slot whose owner is no longer
running is an orphan; the next start-up offers it back.

Session ids carry the pid ("YYYYmmdd-HHMMSS-PID-RANDOM") so a .studio whose
.json never got written (killed between the two renames of the very first
autosave) can still be judged alive or dead.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.atomic import atomic_write_text
from studio.core.document import Document, Layer
from studio.core.paths import user_data_dir
from studio.core.project import ProjectError, capture_project, load_project, read_thumbnail, write_project

AUTOSAVE_FOLDER = "autosave"
# Slots set aside because they could not be read: kept for a person to look at,
# never offered again.
DAMAGED_FOLDER = "damaged"
DEFAULT_INTERVAL_S = 60.0
# Where a pid cannot be checked (Windows, where os.kill(pid, 0) would
# terminate the process), a slot is dead when its .json has not been touched
# for this many autosave intervals; live sessions touch it every interval.
STALE_INTERVALS = 2
# Floor for that, so a 1 s interval does not make a busy-but-alive session
# (a long modal dialog, a swapped-out laptop) look dead.
MIN_STALE_S = 60.0
# /proc start times are whole clock ticks after a whole-second boot time.
_START_SLACK_S = 2.0
MAX_INFO_BYTES = 64 * 1024

_SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_PID_IN_ID_RE = re.compile(r"-(\d{1,10})-[0-9a-f]+$")

# When this process began keeping slots: written as "started", and compared
# with a live pid's start time to tell pid reuse from the original owner.
_SESSION_STARTED = time.time()
# Slots this process owns: a slot naming our own pid is only alive if we made
# it (sandboxes and containers hand out the same pid on every launch).
_OWN_SESSIONS: set[str] = set()


class RecoveryError(Exception):
    """An autosave that cannot be recovered; str() is one readable line."""


@dataclass(frozen=True, eq=False)
class Orphan:
    """An autosave slot whose session is no longer running.

    path: the .studio; info_path: the .json; pid/started/saved_at as in the
    .json (None where unknown; times in seconds since the epoch); source: the
    project file the document came from, or None; title: its window title;
    error: one line saying why it cannot be recovered, None if it can;
    thumbnail: uint8 hxwx4 preview (long side <= 256 px), None when unreadable.
    """

    session_id: str
    path: Path
    info_path: Path
    pid: int | None
    started: float | None
    saved_at: float | None
    source: Path | None
    title: str
    error: str | None
    thumbnail: np.ndarray | None

    @property
    def recoverable(self) -> bool:
        return self.error is None


# --- slots ---------------------------------------------------------------------


def autosave_dir() -> Path:
    """user_data_dir()/autosave (not created here)."""
    return user_data_dir() / AUTOSAVE_FOLDER


def new_session_id() -> str:
    """A fresh slot name owned by this process, e.g. "20250301-140312-4242-9f3a1c07"."""
    session_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"
    _OWN_SESSIONS.add(session_id)
    return session_id


def autosave_path(session_id: str) -> Path:
    """The .studio of a slot."""
    return autosave_dir() / f"{_check_id(session_id)}.studio"


def info_path(session_id: str) -> Path:
    """The .json of a slot."""
    return autosave_dir() / f"{_check_id(session_id)}.json"


def copy_for_autosave(doc: Document, pixels: list[np.ndarray] | None = None) -> Document:
    """A copy of what a project file holds (layers, mask, active layer) that
    shares no array with `doc`, so it can be written on another thread while
    `doc` goes on changing: commands write layer pixels in place. The
    composite and thumbnail are left for write_autosave on the worker.

    pixels: copies of every layer's pixels (bottom..top) and then of the
    mask, made already while `doc` did not change (the app makes them a band
    at a time between GUI events); None copies them here, one memcpy (70 to
    160 ms for three 4096^2 layers)."""
    if pixels is None:
        pixels = [layer.pixels.copy() for layer in doc.layers] + [doc.mask.copy()]
    *own, mask = pixels
    layers = [Layer(layer.id, layer.name, layer_pixels, layer.opacity, layer.visible, layer.locked,
                    layer.blend, copy.deepcopy(layer.recipe)) for layer, layer_pixels in zip(doc.layers, own)]
    twin = Document.from_layers(doc.width, doc.height, layers, mask, doc.active_id)
    twin.active_id = doc.active_id  # from_layers would pick the top layer for None
    return twin


def write_autosave(doc: Document, session_id: str, source: str | os.PathLike | None, title: str,
                   interval: float = DEFAULT_INTERVAL_S) -> Path:
    """Save `doc` into the slot `session_id` (this process becomes its owner).

    source: the project file the document belongs to, or None; title: the name
    the user sees; interval: the autosave period in seconds (0 = off is
    written as the default). Returns the .studio path. Raises ProjectError
    (ValueError for a malformed document). Off the GUI thread, pass a
    copy_for_autosave() of the document.
    """
    _OWN_SESSIONS.add(_check_id(session_id))
    target = autosave_path(session_id)
    write_project(capture_project(doc, copy_pixels=False), target)  # doc is the worker's own copy
    # Only now the .json: until it is replaced it describes the previous,
    # still complete pair (title and source rarely change between the two).
    _write_info(session_id, {
        "pid": os.getpid(),
        "started": _SESSION_STARTED,
        "saved_at": time.time(),
        "source": None if source is None else str(source),
        "title": str(title),
        "interval": float(interval) if interval and interval > 0 else DEFAULT_INTERVAL_S,
    })
    return target


def heartbeat(session_id: str) -> None:
    """Mark the slot as still owned (touch its .json) where it exists. Needed
    where liveness is judged by age (Windows); harmless elsewhere."""
    with contextlib.suppress(OSError):
        os.utime(info_path(session_id))


def discard(session_id: str) -> None:
    """Remove a slot and any temporary file a killed write left (clean close,
    or the document was saved). Missing files are fine."""
    _check_id(session_id)
    folder = autosave_dir()
    for path in (autosave_path(session_id), info_path(session_id), *_leftovers(folder, session_id)):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()
    _OWN_SESSIONS.discard(session_id)


# --- orphans -------------------------------------------------------------------


def find_orphans() -> list[Orphan]:
    """The slots whose owning process is gone, newest autosave first.

    Read-only. A slot that cannot be read comes back with `error` set (one
    line), never as an exception; slots of running sessions (this one
    included) are left out.
    """
    folder = autosave_dir()
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    ids = {name.rsplit(".", 1)[0] for name in names
           if name.endswith((".studio", ".json")) and _SESSION_RE.match(name.rsplit(".", 1)[0])}
    orphans = [orphan for orphan in map(_inspect, sorted(ids)) if orphan is not None]
    return sorted(orphans, key=lambda o: -(o.saved_at or 0.0))


def sweep_leftovers() -> int:
    """Delete temporary files that writes killed mid-way left in slots that no
    longer exist, when their session is gone (the very first autosave of a
    session interrupted). Returns how many were removed."""
    folder = autosave_dir()
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file() and e.name.startswith(".")]
    except OSError:
        return 0
    removed = 0
    for name in names:
        session_id = name[1:].split(".", 1)[0]
        if not _SESSION_RE.match(session_id) or (folder / f"{session_id}.studio").exists() \
                or (folder / f"{session_id}.json").exists():
            continue
        found = _PID_IN_ID_RE.search(session_id)
        pid = int(found.group(1)) if found else None
        if _owner_alive(session_id, pid, None, _mtime(folder / name), DEFAULT_INTERVAL_S):
            continue
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
            removed += 1
    return removed


def recover(orphan: Orphan, adopt_as: str | None = None) -> Document:
    """Load an orphan's document and claim its slot, so it is offered only once.

    adopt_as: a session id of this process (new_session_id()); the slot is
    moved there and becomes that session's autosave, so the document stays
    safe if the app crashes again before it is saved. Without it the slot is
    removed once loaded. A slot that turns out unreadable is set aside
    (autosave/damaged/) and RecoveryError raised; so is one another window
    claimed first.
    """
    name = f"'{orphan.title}'"
    if orphan.error is not None:
        raise RecoveryError(f"cannot recover {name}: {orphan.error}")
    folder = autosave_dir()
    claimed = autosave_path(adopt_as) if adopt_as is not None else folder / f".{orphan.session_id}.claimed.studio"
    try:
        # The rename is the claim: of two windows racing, only one finds the file.
        os.rename(orphan.path, claimed)
    except FileNotFoundError as exc:
        raise RecoveryError(f"cannot recover {name}: it was already recovered or discarded") from exc
    except OSError as exc:
        raise RecoveryError(f"cannot recover {name}: {_describe(exc)}") from exc
    if adopt_as is not None:
        _OWN_SESSIONS.add(adopt_as)
        with contextlib.suppress(OSError):
            _write_info(adopt_as, {
                "pid": os.getpid(),
                "started": _SESSION_STARTED,
                "saved_at": orphan.saved_at if orphan.saved_at is not None else time.time(),
                "source": None if orphan.source is None else str(orphan.source),
                "title": orphan.title,
                "interval": DEFAULT_INTERVAL_S,
            })
    _remove_slot_files(folder, orphan.session_id, keep=claimed)
    try:
        doc = load_project(claimed)
    except ProjectError as exc:
        _set_aside_files([claimed, *([info_path(adopt_as)] if adopt_as is not None else [])], orphan.session_id)
        if adopt_as is not None:
            _OWN_SESSIONS.discard(adopt_as)
        raise RecoveryError(f"cannot recover {name}: {exc}") from exc
    if adopt_as is None:
        with contextlib.suppress(FileNotFoundError):
            claimed.unlink()
    return doc


def set_aside(orphan: Orphan) -> Path:
    """Move an orphan's files to autosave/damaged/ (kept for a person to look
    at, never offered again); returns that folder."""
    return _set_aside_files([orphan.path, orphan.info_path], orphan.session_id)


# --- inside ----------------------------------------------------------------------


def _check_id(session_id: str) -> str:
    if not isinstance(session_id, str) or not _SESSION_RE.match(session_id):
        raise ValueError(f"bad autosave session id {session_id!r} (letters, digits, - and _ only)")
    return session_id


def _write_info(session_id: str, info: dict) -> None:
    atomic_write_text(info_path(session_id), json.dumps(info, indent=1, ensure_ascii=False))


def _leftovers(folder: Path, session_id: str) -> list[Path]:
    """Temporary files of atomic writes a kill interrupted, and claims a crash
    interrupted: ".SESSION.studio.XXXX.tmp", ".SESSION.json.XXXX.tmp", ".SESSION.claimed.studio"."""
    prefixes = (f".{session_id}.studio.", f".{session_id}.json.", f".{session_id}.claimed.")
    try:
        return [folder / e.name for e in os.scandir(folder) if e.name.startswith(prefixes)]
    except OSError:
        return []


def _remove_slot_files(folder: Path, session_id: str, keep: Path) -> None:
    """The old .json and temporary files of a claimed slot; `keep` is the claimed document."""
    for path in (folder / f"{session_id}.json", *_leftovers(folder, session_id)):
        if path != keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _set_aside_files(paths: list[Path], session_id: str) -> Path:
    damaged = autosave_dir() / DAMAGED_FOLDER
    damaged.mkdir(parents=True, exist_ok=True)
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, damaged / path.name)
    for path in _leftovers(autosave_dir(), session_id):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return damaged


def _inspect(session_id: str) -> Orphan | None:
    """The slot as an Orphan, or None while its owner runs."""
    studio, info_file = autosave_path(session_id), info_path(session_id)
    info = _read_info(info_file)
    pid = info.get("pid")
    if pid is None:
        found = _PID_IN_ID_RE.search(session_id)
        pid = int(found.group(1)) if found else None
    started = info.get("started")
    interval = info.get("interval") or DEFAULT_INTERVAL_S
    newest = _mtime(info_file) or _mtime(studio)
    if _owner_alive(session_id, pid, started, newest, interval):
        return None

    error = None
    thumbnail = None
    if not studio.is_file():
        error = "the autosaved document is missing"
    else:
        try:
            thumbnail = read_thumbnail(studio)  # opens the zip and checks every entry name: cheap, no layers
        except ProjectError as exc:
            error = str(exc)
    source = info.get("source")
    return Orphan(
        session_id=session_id,
        path=studio,
        info_path=info_file,
        pid=pid,
        started=started,
        saved_at=info.get("saved_at") or _mtime(studio),
        source=Path(source) if source else None,
        title=info.get("title") or (Path(source).stem if source else "Untitled"),
        error=error,
        thumbnail=thumbnail,
    )


def _read_info(path: Path) -> dict:
    """The valid fields of a slot's .json ({} when missing or unreadable). A
    damaged .json costs only the title and times (and the pid falls back to the
    one in the session id): the .studio is what counts."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INFO_BYTES + 1)
        raw = json.loads(data) if len(data) <= MAX_INFO_BYTES else None
    except (OSError, ValueError, RecursionError):
        raw = None
    if not isinstance(raw, dict):
        return {}
    info: dict = {}
    pid = raw.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 1 << 31:
        info["pid"] = pid
    for key in ("started", "saved_at", "interval"):
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            info[key] = float(value)
    for key in ("source", "title"):
        value = raw.get(key)
        if isinstance(value, str) and value and "\0" not in value:
            info[key] = " ".join(value.split())[:500] if key == "title" else value
    return info


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _owner_alive(session_id: str, pid: int | None, started: float | None, touched: float | None,
                 interval: float) -> bool:
    if pid == os.getpid():
        return session_id in _OWN_SESSIONS
    if os.name == "nt" or pid is None:
        # No safe pid probe here: judge by when the owner last touched the slot.
        stale_after = max(STALE_INTERVALS * interval, MIN_STALE_S)
        return touched is not None and time.time() - touched <= stale_after
    return _pid_alive(pid, started)


def _pid_alive(pid: int, started: float | None) -> bool:
    """True if process `pid` (> 0) runs and may be the one that started the
    session at `started` (seconds since the epoch)."""
    if pid <= 0:  # os.kill(0 or -1, ...) would address process groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    state = _linux_process(pid)
    if state is None:
        return True
    status, start = state
    if status in ("Z", "X"):  # a zombie is dead; it only waits for its parent
        return False
    # A process that began after the session did cannot be its owner: the pid was reused.
    return started is None or start is None or start <= started + _START_SLACK_S


def _linux_process(pid: int) -> tuple[str, float | None] | None:
    """(state letter, start time in seconds since the epoch) from /proc, or None
    where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the name may hold spaces and parentheses
    try:
        status, ticks = fields[0], int(fields[19])
        with open("/proc/stat") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return status, btime + ticks / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, StopIteration, OSError):
        return (fields[0] if fields else "?"), None


def _describe(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return " ".join((exc.strerror or str(exc) or type(exc).__name__).split()).lower()
