"""How much memory a job may take, and the one line that refuses a job that would not fit.

Every path that decodes a picture or a project (open, stylize, inpaint, upscale,
the trainer's scan, .studio and .ora loading) estimates from the header alone
what the job will need: pixels times the bytes per pixel its pipeline was
measured to take (the figures live beside each pipeline: core.imageio,
core.layered_archive, engine.style, engine.inpaint, engine.upscale,
train.data, ui.document_files), and refuses before decoding anything when that
is over the budget:

    error: IMG is 60000 x 2000; styling it needs about 30.4 GB, 5.1 GB are free; try --max-size 12032

The pixel limit (core.imageio.DEFAULT_MAX_PIXELS) alone is not enough: a
120-megapixel picture passes it, and styling one takes tens of gigabytes.

The budget is the memory available now: on Linux MemAvailable from
/proc/meminfo, lowered to the room left under the process's cgroup v2 limit
when there is one (containers); on Windows GlobalMemoryStatusEx's available
physical memory; elsewhere half the physical memory (sysconf), since there is
no portable "available"; 4 GB when none of these answers. No dependency
(psutil) for it: these few reads are all it needs. STUDIO_MEMORY_BUDGET
(bytes, or with a unit: 512M, 4G, 1.5GB, 2GiB) replaces it, for tests and for
people who want to leave room for other programs.

How the figures were measured: the peak resident memory of the real job (the
CLI command in-process after a warm-up run on a 64 px picture, the real main
window offscreen, or the call itself), VmHWM from /proc/self/status after the
peak was reset through /proc/self/clear_refs just before the job, one job per
fresh process, at two or three picture sizes (1024 to 4096 px squares of a
noisy gradient) so that the per-pixel slope and the fixed part can be told
apart; CPU provider, Python 3.11 on a 2-core Linux VM. A GPU keeps the
networks' maps in its own memory, so there these figures overstate what the
host needs. They round up: the estimate is an upper bound of the measured
peaks, not a prediction to the megabyte.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

BUDGET_ENV = "STUDIO_MEMORY_BUDGET"
# What is assumed when the system cannot say (a platform none of the readers
# below knows): a modest laptop's free memory.
FALLBACK_BYTES = 4 * 10**9
# --max-size and similar hints are rounded down to this many px.
SIDE_STEP = 64

_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?))?b?\s*", re.IGNORECASE)


class MemoryBudgetError(ValueError):
    """A job that would not fit in the memory budget; str() is one line."""


@dataclass(frozen=True)
class PixelJob:
    """A job whose memory is its picture's pixels times a measured figure.
    doing: how the refusal names it ("decoding it", "opening it")."""

    doing: str
    bytes_per_pixel: int

    def need(self, width: int, height: int) -> int:
        return int(width) * int(height) * self.bytes_per_pixel


@dataclass(frozen=True)
class Budget:
    """bytes: what a job may take; from_env: set by STUDIO_MEMORY_BUDGET
    rather than read from the system."""

    bytes: int
    from_env: bool = False

    def allows(self, need: int) -> bool:
        return need <= self.bytes

    def describe(self) -> str:
        """The budget's half of a refusal: "5.1 GB are free"."""
        if self.from_env:
            return f"the budget is {format_bytes(self.bytes)} ({BUDGET_ENV})"
        return f"{format_bytes(self.bytes)} are free"

    def refusal(self, subject: str, doing: str, need: int, hint: str = "") -> str:
        """'SUBJECT; DOING needs about NEED, BUDGET[; HINT]' on one line."""
        line = f"{subject}; {doing} needs about {format_bytes(need)}, {self.describe()}"
        return f"{line}; {hint}" if hint else line

    def check(self, subject: str, doing: str, need: int, hint: str = "") -> None:
        """MemoryBudgetError (the refusal) when `need` bytes do not fit."""
        if not self.allows(need):
            raise MemoryBudgetError(self.refusal(subject, doing, need, hint))

    def largest_side(self, width: int, height: int, need_at: Callable[[int], int]) -> int | None:
        """The longest side, a multiple of SIDE_STEP px below max(width,
        height), at which need_at(side) fits; None when not even SIDE_STEP
        does. need_at must grow with the side."""
        low, high = 0, (max(width, height) - 1) // SIDE_STEP  # in steps; low fits (or is 0)
        while low < high:
            middle = (low + high + 1) // 2
            if self.allows(need_at(middle * SIDE_STEP)):
                low = middle
            else:
                high = middle - 1
        return low * SIDE_STEP or None


def picture_subject(name: str, width: int, height: int) -> str:
    """The subject of a refusal about one picture: 'IMG is 60000 x 2000'."""
    return f"{name} is {width} x {height}"


def current_budget() -> Budget:
    """STUDIO_MEMORY_BUDGET when set, else the memory available now.
    MemoryBudgetError when the variable is not a size."""
    text = os.environ.get(BUDGET_ENV, "").strip()
    if text:
        return Budget(_parse_size(text), from_env=True)
    return Budget(available_memory())


def available_memory() -> int:
    """Bytes the system can give this process now without swapping (see the
    module docstring for where the number comes from)."""
    if sys.platform.startswith("linux"):
        free = _meminfo_available()
        room = _cgroup_room()
        known = [v for v in (free, room) if v is not None]
        if known:
            return min(known)
    elif sys.platform == "win32":
        free = _windows_available()
        if free is not None:
            return free
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return FALLBACK_BYTES


def format_bytes(count: int) -> str:
    """Bytes for people, in decimal units: '9.6 GB', '512 MB', '980 bytes'."""
    if count < 1000:
        return f"{int(count)} bytes"
    value, unit = float(count), "bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            break
    return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"


class SharedBudget:
    """One budget for jobs running at once on several threads (the trainer's
    decoding workers): each holds its estimate while it runs and waits while
    the others' holdings leave it no room, so together they never pass the
    budget. A job alone is always let through; the caller refuses one that is
    over the whole budget (budget.allows) before holding."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self._held = 0
        self._room = threading.Condition()

    @contextlib.contextmanager
    def hold(self, need: int) -> Iterator[None]:
        with self._room:
            self._room.wait_for(lambda: self._held == 0 or self._held + need <= self.budget.bytes)
            self._held += need
        try:
            yield
        finally:
            with self._room:
                self._held -= need
                self._room.notify_all()


def _parse_size(text: str) -> int:
    found = _SIZE.fullmatch(text)
    if not found:
        raise MemoryBudgetError(f"{BUDGET_ENV} must be a size such as 4G or 512M, got {text!r}")
    number, unit, binary = found.group(1), (found.group(2) or "").lower(), found.group(3)
    return int(float(number) * (1024 if binary else 1000) ** _POWERS[unit])


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """Room under this process's cgroup v2 memory limit: the limit less what the
    group uses, not counting inactive file cache (the kernel drops that first,
    as MemAvailable assumes). None without a limit."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            entry = next((line[3:].strip() for line in fh if line.startswith("0::")), None)
        if entry is None:
            return None
        folder = Path("/sys/fs/cgroup") / entry.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((folder / "memory.current").read_text())
        stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
        return max(0, int(limit) - used + int(stat.get("inactive_file", 0)))
    except (OSError, ValueError):
        return None


def _windows_available() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                    ("available", ctypes.c_ulonglong), ("total_page", ctypes.c_ulonglong),
                    ("available_page", ctypes.c_ulonglong), ("total_virtual", ctypes.c_ulonglong),
                    ("available_virtual", ctypes.c_ulonglong), ("available_extended", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.available)
