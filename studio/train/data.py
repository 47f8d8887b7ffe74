"""Training images: walk a folder, keep every file core's image reader can open,
explain every file it cannot use, and turn the rest into uint8 RxR squares.

Preprocessing: alpha composited on a background colour, then a centred square
(`crop`: the central square of the short side; `pad`: the whole image padded
with the background colour; `auto`: pad for pictures with transparent pixels,
crop for opaque ones), Lanczos-resized to R x R.

With keep_alpha (a generator that draws transparency) each square also
keeps its alpha channel: 4xRxR, that composite and the alpha.

The results are cached on disk, keyed by the file's content hash plus
resolution, fit and background, so a second run over the same folder (any run
folder) decodes nothing:

    <cache root>/datasets/v1-r<R>-<fit>-<rrggbb>/<sha[:2]>/<sha256>.rgb   raw uint8 3xRxR
    <cache root>/datasets/v1-r<R>-<fit>-<rrggbb>-alpha/<sha[:2]>/<sha256>.rgba   raw uint8 4xRxR
    <cache root>/datasets/folders/<sha256 of the folder path>.json       stat index

The stat index maps each file (path, size, mtime) to its hash, size in pixels
and, for bad files, the reason, so a warm start neither hashes nor re-probes.
Cache root: core.paths.cache_root() ($STUDIO_CACHE_DIR, else
$STUDIO_USER_DIR/cache, else the platform cache folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from studio.core.atomic import atomic_path, atomic_write_text
from studio.core.errors import one_line
from studio.core.framing import FITS, prepare_image
from studio.core.paths import cache_root
from studio.core.imageio import ImageError, load_image, open_image
from studio.core.memory_budget import MemoryBudgetError, PixelJob, SharedBudget, current_budget, picture_subject
from studio.train.errors import DataError

PREPROCESS_VERSION = "v1"  # bump when prepare_image changes, so old cache entries are not reused
NAMED_BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}
# Metrics need a reference set the generator never trained on. Below this many
# usable images a held-out set would cost the model too much of its data, so
# metrics then compare with (a sample of) the training images instead.
HOLDOUT_MIN_IMAGES = 80
HOLDOUT_FRACTION = 0.05
HOLDOUT_MIN, HOLDOUT_MAX = 8, 200
# Skip reasons, as the protocol names them ("exact duplicate of <path>" adds the path).
REASONS = ("truncated", "not an image", "empty", "too small", "unreadable", "over the pixel limit",
           "over the memory budget", "exact duplicate")
# Decoding and preparing one picture at its peak (core.memory_budget says how it
# was measured): 56 bytes per px for a transparent PNG fit by padding (its
# float composite), 16 for an opaque JPEG cropped.
PREPARING = PixelJob("reading it", 56)


class ScanInterrupted(Exception):
    """should_stop() said yes while the folder was being read."""


@dataclass
class Skipped:
    """A file the dataset does not use. reason: one of REASONS (a duplicate's
    reason names the file it duplicates); detail: one line for people."""

    path: str
    reason: str
    detail: str

    def as_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason, "detail": self.detail}


@dataclass
class Dataset:
    """train / held_out: uint8 [N, C, R, R] on the CPU: RGB (C = 3), or RGB
    and alpha (C = 4, keep_alpha). held_out is empty when the folder is too
    small to spare images (then metrics use train)."""

    train: torch.Tensor
    held_out: torch.Tensor
    train_files: list[str]
    held_out_files: list[str]
    skipped: list[Skipped]
    summary: dict = field(default_factory=dict)  # the protocol's "dataset" event, minus "event"


@dataclass
class _Facts:
    """What is known about one file without decoding its pixels."""

    path: Path
    rel: str
    size: int
    mtime_ns: int
    sha256: str | None = None
    width: int = 0
    height: int = 0
    alpha: bool = False
    error: str | None = None  # a REASONS entry
    detail: str | None = None

    def index_entry(self) -> dict:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256, "width": self.width,
                "height": self.height, "alpha": self.alpha, "error": self.error, "detail": self.detail}


def parse_background(text: str) -> tuple[int, int, int]:
    """'white', 'black' or '#rrggbb' -> (r, g, b) in 0..255; DataError otherwise."""
    value = str(text).strip().lower()
    if value in NAMED_BACKGROUNDS:
        return NAMED_BACKGROUNDS[value]
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    raise DataError(f"--background must be white, black or #rrggbb, got {text!r}")


def background_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def min_side(resolution: int) -> int:
    """Shortest side (px) an image needs for `resolution`: half of it. Smaller
    images would be upscaled more than 2x and teach the model blur."""
    return (resolution + 1) // 2


def holdout_count(usable: int) -> int:
    """How many of `usable` images are held out for metrics: 5%, at least 8 and
    at most 200, once there are HOLDOUT_MIN_IMAGES; none below that."""
    if usable < HOLDOUT_MIN_IMAGES:
        return 0
    return int(min(HOLDOUT_MAX, max(HOLDOUT_MIN, round(usable * HOLDOUT_FRACTION))))


def list_files(folder: str | os.PathLike) -> tuple[list[Path], list[Skipped]]:
    """Every regular file under `folder`, recursively, following symbolic links
    but entering each real folder once (so link loops end). Hidden names (.*)
    and the folder's own dataset.json (provenance, not an image) are left out.
    Returns (files sorted by path, problems met on the way: unreadable folders,
    broken links, special files)."""
    root = Path(folder)
    if not root.exists():
        raise DataError(f"data folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"data path is not a folder: {root}")
    files: list[Path] = []
    problems: list[Skipped] = []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        here = stack.pop()
        try:
            st = here.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a link back to a folder already walked (a loop, or a second door)
                continue
            seen.add(key)
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            problems.append(Skipped(str(here), "unreadable", f"cannot list folder: {one_line(exc)}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .DS_Store, .git, half-written temp files of atomic writes
            path = Path(entry.path)
            try:
                if entry.is_dir():
                    subfolders.append(path)
                    continue
                if entry.is_file():
                    if not (here == root and entry.name == "dataset.json"):
                        files.append(path)
                    continue
                what = "broken link" if entry.is_symlink() else "not a regular file"
            except OSError as exc:
                what = f"cannot follow link: {one_line(exc)}"
            problems.append(Skipped(str(path), "unreadable", what))
        stack.extend(reversed(subfolders))
    files.sort(key=lambda p: p.relative_to(root).as_posix())
    return files, problems


def short_sides(folder: str | os.PathLike) -> list[int]:
    """The short side (px) of each picture under `folder` whose header reads:
    what a run's sizes would keep, known before anything is decoded."""
    files, _ = list_files(folder)
    sides = []
    for path in files:
        try:
            with open_image(path) as im:
                sides.append(min(im.size))
        except (ImageError, OSError):
            continue  # the scan names it with its reason
    return sides


def load_dataset(folder: str | os.PathLike, resolution: int, fit: str = "crop",
                 background: tuple[int, int, int] = (255, 255, 255), threads: int = 0,
                 progress: Callable[[str, int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, shortest: int | None = None,
                 keep_alpha: bool = False) -> Dataset:
    """Read `folder` into a Dataset (see Dataset). Never stops on a bad file:
    each is listed in .skipped with its reason. threads: decoding workers (0 =
    one per CPU). progress(stage, done, total) is called from this thread after
    each file, stage "reading" (hashing, headers) then "preparing" (decoding,
    resizing); should_stop() returning True raises ScanInterrupted. Raises DataError
    when the folder is missing or holds no usable image.
    shortest: the least short side (px) an image must have, else it is
    skipped as "too small" (default: min_side(resolution), at most a 2x
    enlargement).
    keep_alpha: 4 channels per image (see the module's docstring)."""
    t0 = time.perf_counter()
    if fit not in FITS:
        raise DataError(f"--fit must be {', '.join(FITS)}, got {fit!r}")
    root = Path(folder).resolve()
    files, skipped = list_files(root)
    index_path = _index_path(root)
    index = _read_index(index_path)
    variant = _variant_dir(resolution, fit, background, keep_alpha)
    workers = max(1, threads or os.cpu_count() or 1)
    try:
        # The workers decode at once: together they stay within one budget.
        memory = SharedBudget(current_budget())
    except MemoryBudgetError as exc:
        raise DataError(str(exc)) from None

    def tick(stage: str, done: int, total: int) -> None:
        if should_stop is not None and should_stop():
            raise ScanInterrupted()
        if progress is not None:
            progress(stage, done, total)

    facts: list[_Facts] = []
    candidates: list[_Facts] = []
    pixels: dict[str, np.ndarray] = {}
    decoded = 0
    pool = ThreadPoolExecutor(workers)
    try:
        # 1. Facts about each file (hash, size, or why it is bad): from the stat
        #    index when the file is unchanged, else from its header and bytes.
        for f in pool.map(lambda p: _facts(p, root, index), files):
            facts.append(f)
            tick("reading", len(facts), len(files))
        # 2. Which files are used: the first of each content hash, big enough.
        by_hash: dict[str, str] = {}
        for f in facts:
            if f.error:
                skipped.append(Skipped(str(f.path), f.error, f.detail or f.error))
            elif f.sha256 in by_hash:
                skipped.append(Skipped(str(f.path), f"exact duplicate of {by_hash[f.sha256]}",
                                       f"same bytes as {by_hash[f.sha256]}"))
            elif min(f.width, f.height) < (shortest or min_side(resolution)):
                skipped.append(Skipped(str(f.path), "too small",
                                       f"{f.width}x{f.height} px; this run needs at least "
                                       f"{shortest or min_side(resolution)} px on the short side"))
            else:
                by_hash[f.sha256] = str(f.path)
                candidates.append(f)
        # 3. Pixels: from the cache, or decoded (a truncated file shows up
        #    only here) and cached.
        jobs = [(f, pool.submit(_pixels, f, variant, resolution, fit, background, keep_alpha, memory))
                for f in candidates]
        for i, (f, job) in enumerate(jobs):
            result, was_decoded, problem = job.result()
            decoded += was_decoded
            if problem is not None:
                f.error, f.detail = problem
                skipped.append(Skipped(str(f.path), f.error, f.detail))
            else:
                pixels[f.sha256] = result
            tick("preparing", i + 1, len(jobs))
    finally:
        # On an interruption the running decodes finish (one per worker), the
        # queued ones are dropped, and what was learnt so far is kept.
        pool.shutdown(wait=True, cancel_futures=True)
        _write_index(index_path, root, facts)

    usable = [f for f in candidates if f.error is None]
    if not usable:
        counts = _reason_counts(skipped)
        why = ", ".join(f"{n} {r}" for r, n in counts.items()) or "no files"
        if "too small" in counts:
            why += f"; this run's sizes need a short side of at least {shortest or min_side(resolution)} px"
        raise DataError(f"no usable images in {root} ({len(files)} files: {why})")
    # Held-out images: the first by content hash, so the split does not depend
    # on file names or order and stays put when images are added.
    by_sha = sorted(usable, key=lambda f: f.sha256)
    k = holdout_count(len(usable))
    held = {f.sha256 for f in by_sha[:k]}
    train = [f for f in usable if f.sha256 not in held]
    held_out = [f for f in usable if f.sha256 in held]
    empty = torch.zeros((0, 4 if keep_alpha else 3, resolution, resolution), dtype=torch.uint8)
    stack = lambda fs: torch.from_numpy(np.stack([pixels[f.sha256] for f in fs])) if fs else empty  # noqa: E731

    skipped.sort(key=lambda s: s.path)
    summary = _summary(root, usable, train, held_out, skipped, decoded, resolution, fit, background,
                       time.perf_counter() - t0)
    return Dataset(stack(train), stack(held_out), [str(f.path) for f in train], [str(f.path) for f in held_out],
                   skipped, summary)


def read_dataset_info(folder: str | os.PathLike) -> dict:
    """The folder's dataset.json (name, licence, attribution...) if it has one,
    so provenance travels from the data to the exported manifest; {} otherwise."""
    path = Path(folder) / "dataset.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


# -- one file -----------------------------------------------------------------

def _facts(path: Path, root: Path, index: dict) -> _Facts:
    rel = path.relative_to(root).as_posix()
    try:
        st = path.stat()
    except OSError as exc:
        return _Facts(path, rel, 0, 0, error="unreadable", detail=one_line(exc))
    f = _Facts(path, rel, st.st_size, st.st_mtime_ns)
    known = index.get(rel)
    if known and known.get("size") == f.size and known.get("mtime_ns") == f.mtime_ns:
        f.sha256, f.width, f.height = known.get("sha256"), int(known.get("width", 0)), int(known.get("height", 0))
        f.alpha, f.error, f.detail = bool(known.get("alpha")), known.get("error"), known.get("detail")
        if f.error or f.sha256:
            return f
    if f.size == 0:
        f.error, f.detail = "empty", "file is empty"
        return f
    try:
        with open_image(path) as im:  # header only: a 2 GB video is not hashed
            f.width, f.height = im.size
            f.alpha = "A" in im.mode or "transparency" in im.info
        f.sha256 = _hash_file(path)
    except ImageError as exc:
        f.error, f.detail = _reason(str(exc)), str(exc)
    except OSError as exc:
        f.error, f.detail = "unreadable", one_line(exc)
    return f


def _pixels(f: _Facts, variant: Path, resolution: int, fit: str, background: tuple[int, int, int],
            keep_alpha: bool, memory: SharedBudget) -> tuple[np.ndarray | None, int, tuple[str, str] | None]:
    """(uint8 CxRxR, 1 if decoded now else 0, (reason, detail) if unusable).
    Decoding waits for room in `memory`; a picture over all of it is skipped."""
    channels = 4 if keep_alpha else 3
    entry = variant / f.sha256[:2] / f"{f.sha256}.{'rgba' if keep_alpha else 'rgb'}"
    want = channels * resolution * resolution
    try:
        data = entry.read_bytes()
        if len(data) == want:
            return np.frombuffer(data, np.uint8).reshape(channels, resolution, resolution), 0, None
    except OSError:
        pass
    need = PREPARING.need(f.width, f.height)  # the header's size, from _facts
    if not memory.budget.allows(need):
        subject = picture_subject(f.path.name, f.width, f.height)
        return None, 0, ("over the memory budget", memory.budget.refusal(subject, PREPARING.doing, need))
    with memory.hold(need):
        try:
            rgba = load_image(f.path, job=PREPARING)
        except ImageError as exc:
            return None, 1, (_reason(str(exc)), str(exc))
        except OSError as exc:
            return None, 1, ("unreadable", one_line(exc))
        # The real answers, now that the pixels are here: alpha from the pixels,
        # not the mode; the size after EXIF rotation, not the header's.
        f.alpha = bool(rgba[..., 3].min() < 255)
        f.height, f.width = rgba.shape[:2]
        out = prepare_image(rgba, resolution, fit, background, keep_alpha)
        del rgba  # freed before the holding ends, so the budget's count stays true
    try:
        with atomic_path(entry) as tmp:
            tmp.write_bytes(out.tobytes())
    except OSError as exc:  # a full or read-only cache disk slows the next start, nothing more
        print(f"warning: cannot write the image cache {entry}: {one_line(exc)}", file=sys.stderr)
    return out, 1, None


def _reason(message: str) -> str:
    """Map core's one-line ImageError text to a protocol reason."""
    text = message.lower()
    if "needs about" in text:  # core.memory_budget's refusal, from load_image
        return "over the memory budget"
    if "file is empty" in text:
        return "empty"
    if "over the limit" in text:
        return "over the pixel limit"
    if "truncated" in text:
        return "truncated"
    if "not an image" in text:
        return "not an image"
    return "unreadable"


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- the cache ----------------------------------------------------------------

def _variant_dir(resolution: int, fit: str, background: tuple[int, int, int], keep_alpha: bool) -> Path:
    name = f"{PREPROCESS_VERSION}-r{resolution}-{fit}-{background_hex(background)[1:]}"
    return cache_root() / "datasets" / (name + "-alpha" if keep_alpha else name)


def _index_path(root: Path) -> Path:
    return cache_root() / "datasets" / "folders" / (hashlib.sha256(str(root).encode()).hexdigest()[:32] + ".json")


def _read_index(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["files"] if data.get("format") == 1 and isinstance(data.get("files"), dict) else {}
    except (OSError, ValueError, AttributeError, KeyError):
        return {}  # no index or a damaged one: the files are simply probed again


def _write_index(path: Path, root: Path, facts: list[_Facts]) -> None:
    body = {"format": 1, "root": str(root), "files": {f.rel: f.index_entry() for f in facts}}
    try:
        atomic_write_text(path, json.dumps(body, separators=(",", ":")))
    except OSError as exc:
        print(f"warning: cannot write the dataset index {path}: {one_line(exc)}", file=sys.stderr)


# -- the summary --------------------------------------------------------------

def _reason_counts(skipped: list[Skipped]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in skipped:
        key = "exact duplicate" if s.reason.startswith("exact duplicate") else s.reason
        counts[key] = counts.get(key, 0) + 1
    return counts


def _summary(root: Path, usable: list[_Facts], train: list[_Facts], held_out: list[_Facts], skipped: list[Skipped],
             decoded: int, resolution: int, fit: str, background: tuple[int, int, int], seconds: float) -> dict:
    widths = [f.width for f in usable]
    heights = [f.height for f in usable]
    median = [int(statistics.median(widths)), int(statistics.median(heights))]
    aspect = {"portrait": sum(h > w for w, h in zip(widths, heights)),
              "landscape": sum(w > h for w, h in zip(widths, heights)),
              "square": sum(w == h for w, h in zip(widths, heights))}
    alpha = sum(f.alpha for f in usable)
    counts = _reason_counts(skipped)
    skipped_text = (f"{len(skipped)} skipped (" + ", ".join(f"{n} {r}" for r, n in counts.items()) + ")"
                    if skipped else "0 skipped")
    held_text = (f"{len(train):,} for training, {len(held_out):,} held out for metrics" if held_out
                 else "all for training, metrics against training images")
    line = (f"{len(usable):,} images in {root.name or root} ({held_text}), {skipped_text}; "
            f"median {median[0]}x{median[1]} px, {alpha:,} with transparency "
            f"(on {background_hex(background)}), fit {fit} to {resolution}x{resolution}; "
            f"{'from cache' if decoded == 0 else f'{decoded:,} decoded'} in {seconds:.1f} s")
    return {
        "images": len(usable), "train": len(train), "held_out": len(held_out),
        "skipped": [s.as_dict() for s in skipped],
        "sizes": {"min": [min(widths), min(heights)], "max": [max(widths), max(heights)],
                  "median": median},
        "aspect": aspect, "alpha": alpha, "cached": decoded == 0, "decoded": decoded,
        "seconds": round(seconds, 2), "summary": line,
    }
