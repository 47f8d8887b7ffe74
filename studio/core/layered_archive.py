"""What the layered file formats share (.studio projects: project.py; OpenRaster:
openraster.py): zip archives of PNG layers, written deterministically and read as
hostile input. Only listed names are read, every size is checked before and
while reading, nothing is extracted to disk, and every failure is a ProjectError
whose str() is one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from studio.core.errors import one_line
# imageio's list of what Pillow raises on damaged input; shared so both readers agree.
from studio.core.imageio import DECODE_ERRORS, DEFAULT_MAX_PIXELS
from studio.core.memory_budget import MemoryBudgetError, current_budget

# Far beyond what a person builds by hand (Krita's own UI slows down well before),
# yet it bounds the work a hostile manifest can ask for.
MAX_LAYERS = 1000
# Layers, mask, thumbnail, manifest (stack.xml, merged image), and some room for
# files a later version adds.
MAX_ENTRIES = MAX_LAYERS + 16
# All layers together, decoded: 16 x imageio's per-image limit = 2 Gi pixels = 8 GiB
# of RGBA. Admits 4096^2 x 128 layers or 8192^2 x 32; stops a small file of many
# tiny all-transparent PNGs from asking for terabytes.
MAX_TOTAL_PIXELS = 16 * DEFAULT_MAX_PIXELS
# Peak memory of opening a layered file, bytes (core.memory_budget says how it
# was measured; 1, 4 and 8 RGBA layers of noise at 2048 and 4096 px): each
# layer the document keeps, 4 per canvas px, and once per canvas px the layer
# being read (its PNG bytes, Pillow's image, the array): 11 for a .studio,
# 15 for an .ora (which also places each layer on a canvas of its own).
LAYER_BYTES = 4
READ_BYTES = 15
# Fastest zlib level: about 8x quicker than Pillow's default 6 for ~15% more bytes,
# which matters for Ctrl+S and autosave on 4096^2 layers.
PNG_COMPRESS_LEVEL = 1

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# Fixed timestamp: the same document always gives the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# What zipfile raises on damaged archives, besides BadZipFile: truncated data
# (EOFError, OSError), bad deflate streams (zlib.error), encrypted entries
# (RuntimeError), unknown compression (NotImplementedError), undecodable names
# (UnicodeDecodeError, a ValueError) and broken headers (struct.error, OverflowError).
_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OverflowError,
    IndexError,
    KeyError,
)


class ProjectError(Exception):
    """A project file that cannot be read or written; str() is one readable line."""


class BadArchive(Exception):
    """A reason inside one file; open_archive prefixes it with 'cannot open NAME: '."""


def encode_png(array: np.ndarray, shape: tuple[int, ...], what: str) -> bytes:
    a = np.asarray(array)
    if a.dtype != np.uint8 or a.shape != tuple(shape):
        raise ValueError(f"cannot save the {what}: expected uint8 {tuple(shape)}, got {a.dtype} {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def add_entry(zf: zipfile.ZipFile, name: str, data: bytes, compression: int = zipfile.ZIP_STORED) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16  # rw-r--r-- for people who unzip it
    zf.writestr(info, data)


def describe_os_error(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "the folder does not exist"
    return " ".join((exc.strerror or str(exc) or type(exc).__name__).split()).lower()


@contextlib.contextmanager
def open_archive(path: str | os.PathLike, kind: str) -> Iterator[zipfile.ZipFile]:
    """The open, entry-checked ZipFile of `path`, a layered file of `kind` ("a
    Latent Studio project"); every failure inside the block becomes one
    ProjectError "cannot open NAME: reason"."""
    p = Path(path)
    name = p.name or str(p)
    try:
        fh = open(p, "rb")
    except IsADirectoryError as exc:
        raise ProjectError(f"cannot open {name}: it is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise ProjectError(f"cannot open {name}: no such file") from exc
    except OSError as exc:
        raise ProjectError(f"cannot open {name}: {describe_os_error(exc)}") from exc
    try:
        with fh, _open_zip(fh, kind) as zf:
            check_entries(zf)
            yield zf
    except BadArchive as exc:
        raise ProjectError(f"cannot open {name}: {exc}") from exc
    except MemoryError as exc:
        raise ProjectError(f"cannot open {name}: not enough memory to load it") from exc


def _open_zip(fh: Any, kind: str) -> zipfile.ZipFile:
    if os.fstat(fh.fileno()).st_size == 0:
        raise BadArchive("file is empty")
    try:
        return zipfile.ZipFile(fh)
    except _ZIP_ERRORS as exc:
        fh.seek(0)
        if fh.read(4) in _ZIP_SIGNATURES:
            raise BadArchive("file is damaged or truncated (it starts like a zip file)") from exc
        raise BadArchive(f"not {kind} (not a zip file)") from exc


def check_entries(zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise BadArchive(f"the archive has {len(infos):,} entries, over the limit of {MAX_ENTRIES:,}")
    seen: set[str] = set()
    for info in infos:
        for name in {info.filename, info.orig_filename}:
            plain = name[:-1] if name.endswith("/") else name  # folder entries some zip tools add
            problem = name_problem(plain)
            if problem:
                raise BadArchive(f"the archive holds an unsafe name {show(name)} ({problem})")
        if info.filename in seen:
            raise BadArchive(f"the archive holds {show(info.filename)} twice")
        seen.add(info.filename)


def check_canvas(width: int, height: int, layers: int) -> None:
    pixels = width * height
    if pixels > DEFAULT_MAX_PIXELS:
        raise BadArchive(
            f"the canvas is {width} x {height} = {pixels:,} pixels, over the limit of {DEFAULT_MAX_PIXELS:,}"
        )
    if pixels * layers > MAX_TOTAL_PIXELS:
        raise BadArchive(
            f"{layers} layers of {width} x {height} are {pixels * layers:,} pixels in all, "
            f"over the limit of {MAX_TOTAL_PIXELS:,}"
        )


def check_memory(width: int, height: int, layers: int, stored: tuple[int, int] | None = None) -> None:
    """BadArchive when opening `layers` layers on a width x height canvas would
    not fit in the memory budget; `stored`: the size of a layer's PNG that is
    bigger than the canvas (.ora layers may be), read before it is placed."""
    read = max(width * height, stored[0] * stored[1] if stored else 0) * READ_BYTES
    need = layers * width * height * LAYER_BYTES + read
    subject = f"it holds {layers} layer{'s' if layers != 1 else ''} of {width} x {height}"
    if stored:
        subject += f", one stored as {stored[0]} x {stored[1]}"
    try:
        current_budget().check(subject, "opening it", need)
    except MemoryBudgetError as exc:
        raise BadArchive(str(exc)) from None


def name_problem(name: str) -> str | None:
    """Why `name` could escape or confuse a folder it were extracted to; None if safe."""
    if not name:
        return "empty"
    if len(name) > 255:
        return "too long"
    if "\\" in name:
        return "backslash"
    if name.startswith("/"):
        return "absolute path"
    if ":" in name:
        return "drive letter or stream"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control character"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "empty, '.' or '..' path part"
    return None


def member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        return zf.getinfo(name)
    except KeyError:
        raise BadArchive(f"{show(name)} is missing from the archive") from None


def png_byte_cap(width: int, height: int, channels: int) -> int:
    """The most bytes a PNG of that size can honestly take: raw samples plus filter
    bytes, stored-deflate and chunk overheads (under 1%), and 1 MiB for metadata."""
    raw = height * (width * channels + 1)
    return raw + raw // 100 + (1 << 20)


def check_size(info: zipfile.ZipInfo, cap: int) -> None:
    if info.file_size > cap:
        raise BadArchive(f"{show(info.filename)} is {info.file_size:,} bytes, over the limit of {cap:,}")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The bytes of one entry; the size is checked from the header first and then,
    since headers can lie, while reading."""
    check_size(info, cap)
    if info.flag_bits & 0x1:
        raise BadArchive(f"{show(info.filename)} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BadArchive(f"{show(info.filename)} uses a compression this app does not read")
    try:
        with zf.open(info) as fh:
            data = fh.read(cap + 1)
    except _ZIP_ERRORS as exc:
        raise BadArchive(f"{show(info.filename)} is damaged ({one_line(exc)})") from exc
    if len(data) > cap:
        raise BadArchive(f"{show(info.filename)} is over the limit of {cap:,} bytes")
    return data


@contextlib.contextmanager
def open_png(name: str, data: bytes) -> Iterator[Image.Image]:
    """A Pillow image of the PNG `data` (pixels not yet decoded); Pillow's errors
    inside the block become BadArchive."""
    if not data.startswith(PNG_SIGNATURE):
        raise BadArchive(f"{show(name)} is not a PNG image")
    # Pillow's warning above 89 MP is silenced once for the process (importing
    # imageio did it): our pixel limit, checked from the manifest, is the one that counts.
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            yield im
    except UnidentifiedImageError as exc:  # its text names a BytesIO object
        raise BadArchive(f"{show(name)} is a damaged PNG (unreadable header)") from exc
    except DECODE_ERRORS as exc:
        raise BadArchive(f"{show(name)} is a damaged PNG ({one_line(exc)})") from exc


def decode_png(data: bytes, name: str, mode: str, width: int, height: int) -> np.ndarray:
    """uint8 HxWx4 (mode RGBA) or HxW (mode L) pixels of a PNG entry, which must be
    exactly that mode and the canvas size (checked before decoding)."""
    with open_png(name, data) as im:
        if im.size != (width, height):
            raise BadArchive(
                f"{show(name)} is {im.width} x {im.height} pixels, the canvas is {width} x {height}"
            )
        if im.mode != mode:
            raise BadArchive(f"{show(name)} has colour mode {im.mode}, expected {mode}")
        im.load()
        return np.array(im, dtype=np.uint8)


def parse_json(data: bytes, name: str) -> Any:
    """The JSON document `data` (entry `name`), finite numbers only."""
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise BadArchive(f"{name} is not valid JSON ({one_line(exc)[:120]})") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def show(value: Any) -> str:
    """A short one-line rendering of a value taken from a hostile file."""
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."
