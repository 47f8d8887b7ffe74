"""The .studio project file: a whole Document (layers, mask, props, recipes) in one zip.

Layout (format "latent-studio/project@1"):
    manifest.json      DEFLATED. {"format", "app_version", "width", "height",
                       "active_layer": index | null, "layers": [{"name", "file",
                       "opacity", "visible", "locked", "blend", "recipe"}, ...]
                       (bottom..top), "mask": "mask.png" (absent when the mask is empty),
                       "workspace": {...} (Document.workspace; absent when empty)}
    layers/0001.png    STORED (PNG is compressed already). RGBA, canvas size, one per layer.
    mask.png           STORED. L, canvas size; 0 = not selected, 255 = selected.
    thumbnail.png      STORED. RGBA composite, at most THUMBNAIL_SIZE px on its long side.

Saving goes through core/atomic.py, so a crash mid-save leaves the previous file whole.
Loading treats the file as hostile: only the names the manifest lists are read, every
size is checked before and while reading, nothing is extracted to disk, and every
failure is a ProjectError whose str() is one line.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

import studio
from studio.core.atomic import atomic_path
from studio.core.blending import BLEND_MODES
from studio.core.document import Document, DocumentError, Layer
from studio.core.errors import one_line
# imageio's list of what Pillow raises on damaged input; shared so both readers agree.
from studio.core.imageio import DECODE_ERRORS, DEFAULT_MAX_PIXELS, image_from_array

FORMAT = "latent-studio/project@1"
FORMAT_FAMILY = "latent-studio/project@"
SUFFIX = ".studio"
MANIFEST = "manifest.json"
MASK_FILE = "mask.png"
THUMBNAIL_FILE = "thumbnail.png"
THUMBNAIL_SIZE = 256

# Far beyond what a person builds by hand (Krita's own UI slows down well before),
# yet it bounds the work a hostile manifest can ask for.
MAX_LAYERS = 1000
# Layers, mask, thumbnail, manifest, and some room for files a later version adds.
MAX_ENTRIES = MAX_LAYERS + 16
# All layers together, decoded: 16 x imageio's per-image limit = 2 Gi pixels = 8 GiB
# of RGBA. Admits 4096^2 x 128 layers or 8192^2 x 32; stops a small file of many
# tiny all-transparent PNGs from asking for terabytes.
MAX_TOTAL_PIXELS = 16 * DEFAULT_MAX_PIXELS
# Recipes carry latents as base64 (about 700 bytes per 128 floats): 16 MiB is
# thousands of AI layers' worth.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_NAME_CHARS = 1000

# Fastest zlib level: about 8x quicker than Pillow's default 6 for ~15% more bytes,
# which matters for Ctrl+S and autosave on 4096^2 layers.
PNG_COMPRESS_LEVEL = 1

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
# Fixed timestamp: the same document always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
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


class _Invalid(Exception):
    """A reason inside one file; load_project prefixes it with 'cannot open NAME: '."""


@dataclass(frozen=True)
class ProjectSnapshot:
    """A Document's saveable state, copied so it can be written on another thread
    while the document goes on changing (autosave).

    layers: copies, bottom..top; mask: uint8 HxW or None when empty;
    thumbnail: uint8 hxwx4 straight-alpha composite, long side <= THUMBNAIL_SIZE.
    """

    width: int
    height: int
    active_index: int | None
    layers: tuple[Layer, ...]
    mask: np.ndarray | None
    thumbnail: np.ndarray
    workspace: dict = field(default_factory=dict)


def capture_project(doc: Document) -> ProjectSnapshot:
    """Copy what save needs out of `doc` (call on the thread that owns the document).

    The slow part, PNG encoding, is left to write_project, which may then run on
    a worker thread.
    """
    layers = tuple(
        Layer(
            id=layer.id,
            name=layer.name,
            pixels=np.array(layer.pixels, copy=True),
            opacity=layer.opacity,
            visible=layer.visible,
            locked=layer.locked,
            blend=layer.blend,
            recipe=copy.deepcopy(layer.recipe),
        )
        for layer in doc.layers
    )
    active = doc.active
    active_index = doc.index_of(active.id) if active is not None else None
    mask = doc.mask
    mask_copy = np.array(mask, copy=True) if mask is not None and np.any(mask) else None
    return ProjectSnapshot(doc.width, doc.height, active_index, layers, mask_copy, _thumbnail(doc.composite()),
                           copy.deepcopy(doc.workspace))


def write_project(snapshot: ProjectSnapshot, path: str | os.PathLike) -> None:
    """Write `snapshot` as a .studio file at `path`, atomically.

    Raises ProjectError when the file cannot be written (no write permission,
    disk full), ValueError for a layer or mask array of the wrong shape or dtype
    (uint8 HxWx4 / HxW at canvas size) or a recipe JSON cannot hold.
    """
    p = Path(path)
    manifest = _manifest(snapshot)
    manifest_text = json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False, default=_json_plain)
    try:
        with atomic_path(p) as tmp, zipfile.ZipFile(tmp, "w") as zf:
            _add(zf, MANIFEST, manifest_text.encode("utf-8"), zipfile.ZIP_DEFLATED)
            h, w = snapshot.height, snapshot.width
            for entry, layer in zip(manifest["layers"], snapshot.layers):
                _add(zf, entry["file"], _encode_png(layer.pixels, (h, w, 4), f"layer {layer.name!r}"))
            if snapshot.mask is not None:
                _add(zf, MASK_FILE, _encode_png(snapshot.mask, (h, w), "mask"))
            _add(zf, THUMBNAIL_FILE, _encode_png(snapshot.thumbnail, snapshot.thumbnail.shape, "thumbnail"))
    except OSError as exc:
        raise ProjectError(f"cannot save {p.name or p}: {_describe_os_error(exc)}") from exc


def save_project(doc: Document, path: str | os.PathLike) -> None:
    """Write `doc` to `path` (any name; .studio by convention) atomically.

    Marks nothing: the caller calls doc.mark_saved() when this returns.
    Raises ProjectError when the file cannot be written.
    """
    write_project(capture_project(doc), path)


def load_project(path: str | os.PathLike) -> Document:
    """Read a .studio file as a new Document (history empty, not modified).

    The canvas may have at most core.imageio.DEFAULT_MAX_PIXELS pixels. Raises
    ProjectError (one line, "cannot open NAME: reason") for anything that is not
    a readable project; never writes to disk.
    """
    with _archive(path) as zf:
        return _read_document(zf)


def read_thumbnail(path: str | os.PathLike) -> np.ndarray:
    """The stored composite preview of a .studio file: uint8 hxwx4 straight alpha,
    long side <= THUMBNAIL_SIZE. Cheap: reads no layer. Raises ProjectError."""
    with _archive(path) as zf:
        info = _member(zf, THUMBNAIL_FILE)
        data = _read(zf, info, _png_byte_cap(THUMBNAIL_SIZE, THUMBNAIL_SIZE, 4))
        with _png(THUMBNAIL_FILE, data) as im:
            if max(im.size) > THUMBNAIL_SIZE or im.mode != "RGBA":
                raise _Invalid(f"{THUMBNAIL_FILE} is {im.mode} {im.width} x {im.height}, not a thumbnail")
            im.load()
            return np.array(im, dtype=np.uint8)


# --- writing -----------------------------------------------------------------


def _manifest(snapshot: ProjectSnapshot) -> dict[str, Any]:
    layers = [
        {
            "name": str(layer.name),
            "file": f"layers/{i + 1:04d}.png",
            "opacity": float(layer.opacity),
            "visible": bool(layer.visible),
            "locked": bool(layer.locked),
            "blend": str(layer.blend),
            "recipe": layer.recipe,
        }
        for i, layer in enumerate(snapshot.layers)
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "app_version": studio.__version__,
        "width": int(snapshot.width),
        "height": int(snapshot.height),
        "active_layer": snapshot.active_index,
        "layers": layers,
    }
    if snapshot.mask is not None:
        manifest["mask"] = MASK_FILE
    if snapshot.workspace:
        manifest["workspace"] = snapshot.workspace
    return manifest


def _thumbnail(composite: np.ndarray) -> np.ndarray:
    im = image_from_array(composite)
    # Pillow resizes RGBA premultiplied, so transparent pixels do not bleed dark fringes.
    im.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return np.array(im.convert("RGBA"), dtype=np.uint8)


def _encode_png(array: np.ndarray, shape: tuple[int, ...], what: str) -> bytes:
    a = np.asarray(array)
    if a.dtype != np.uint8 or a.shape != tuple(shape):
        raise ValueError(f"cannot save the {what}: expected uint8 {tuple(shape)}, got {a.dtype} {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _add(zf: zipfile.ZipFile, name: str, data: bytes, compression: int = zipfile.ZIP_STORED) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16  # rw-r--r-- for people who unzip it
    zf.writestr(info, data)


def _json_plain(value: Any) -> Any:
    # Recipes may carry numpy scalars (seeds, strengths); arrays must be encoded first.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} values cannot go into a project manifest (JSON only)")


def _describe_os_error(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "the folder does not exist"
    return " ".join((exc.strerror or str(exc) or type(exc).__name__).split()).lower()


# --- reading -----------------------------------------------------------------


@contextlib.contextmanager
def _archive(path: str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    """The open, entry-checked ZipFile of `path`; every failure inside the block
    becomes one ProjectError "cannot open NAME: reason"."""
    p = Path(path)
    name = p.name or str(p)
    try:
        fh = open(p, "rb")
    except IsADirectoryError as exc:
        raise ProjectError(f"cannot open {name}: it is a folder, not a file") from exc
    except FileNotFoundError as exc:
        raise ProjectError(f"cannot open {name}: no such file") from exc
    except OSError as exc:
        raise ProjectError(f"cannot open {name}: {_describe_os_error(exc)}") from exc
    try:
        with fh, _open_zip(fh) as zf:
            _check_entries(zf)
            yield zf
    except _Invalid as exc:
        raise ProjectError(f"cannot open {name}: {exc}") from exc
    except MemoryError as exc:
        raise ProjectError(f"cannot open {name}: not enough memory to load it") from exc


def _open_zip(fh: Any) -> zipfile.ZipFile:
    if os.fstat(fh.fileno()).st_size == 0:
        raise _Invalid("file is empty")
    try:
        return zipfile.ZipFile(fh)
    except _ZIP_ERRORS as exc:
        fh.seek(0)
        if fh.read(4) in _ZIP_SIGNATURES:
            raise _Invalid("file is damaged or truncated (it starts like a zip file)") from exc
        raise _Invalid("not a Latent Studio project (not a zip file)") from exc


def _check_entries(zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _Invalid(f"the archive has {len(infos):,} entries, over the limit of {MAX_ENTRIES:,}")
    seen: set[str] = set()
    for info in infos:
        for name in {info.filename, info.orig_filename}:
            plain = name[:-1] if name.endswith("/") else name  # folder entries some zip tools add
            problem = _name_problem(plain)
            if problem:
                raise _Invalid(f"the archive holds an unsafe name {_show(name)} ({problem})")
        if info.filename in seen:
            raise _Invalid(f"the archive holds {_show(info.filename)} twice")
        seen.add(info.filename)


def _read_document(zf: zipfile.ZipFile) -> Document:
    manifest = _parse_manifest(_read(zf, _member(zf, MANIFEST), MAX_MANIFEST_BYTES))
    width, height = manifest["width"], manifest["height"]
    _check_canvas(width, height, len(manifest["layers"]))
    layer_cap = _png_byte_cap(width, height, 4)
    mask_cap = _png_byte_cap(width, height, 1)
    # Look up every entry before decoding anything, so a bad file fails fast.
    layer_infos = [_member(zf, entry["file"]) for entry in manifest["layers"]]
    mask_name = manifest.get("mask")
    mask_info = _member(zf, mask_name) if mask_name is not None else None
    for info in layer_infos:
        _check_size(info, layer_cap)
    if mask_info is not None:
        _check_size(mask_info, mask_cap)

    layers = []
    for number, (entry, info) in enumerate(zip(manifest["layers"], layer_infos), start=1):
        pixels = _decode_png(_read(zf, info, layer_cap), info.filename, "RGBA", width, height)
        layers.append(Layer(number, entry["name"], pixels, entry["opacity"], entry["visible"],
                            entry["locked"], entry["blend"], entry["recipe"]))
    mask = None
    if mask_info is not None:
        mask = _decode_png(_read(zf, mask_info, mask_cap), mask_info.filename, "L", width, height)
    active = manifest["active_layer"]
    try:
        doc = Document.from_layers(width, height, layers, mask, layers[active].id if active is not None else None)
    except DocumentError as exc:  # the checks above should leave nothing for it to find
        raise _Invalid(str(exc)) from exc
    if active is None:
        doc.active_id = None  # from_layers would pick the top layer; keep what was saved
    doc.workspace = manifest["workspace"]
    return doc


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise _Invalid(f"{MANIFEST} is not valid JSON ({one_line(exc)[:120]})") from exc
    if not isinstance(value, dict):
        raise _Invalid(f"{MANIFEST} is not a JSON object")
    found = value.get("format")
    if not isinstance(found, str) or not found.startswith(FORMAT_FAMILY):
        raise _Invalid(f"not a Latent Studio project ({MANIFEST} has format {_show(found)})")
    if found != FORMAT:
        raise _Invalid(f"it is a {_show(found)} project, newer than this app reads ({FORMAT})")

    width = _int(value, "width", 1, 1 << 31)
    height = _int(value, "height", 1, 1 << 31)
    layers = _field(value, "layers", list, "a list")
    if len(layers) > MAX_LAYERS:
        raise _Invalid(f"{MANIFEST} lists {len(layers):,} layers, over the limit of {MAX_LAYERS:,}")
    entries = [_parse_layer(entry, i) for i, entry in enumerate(layers)]
    active = _field(value, "active_layer", (int, type(None)), "a layer index or null")
    if active is not None and not 0 <= active < len(entries):
        raise _Invalid(f"{MANIFEST}: active_layer {active} is not one of the {len(entries)} layers")
    mask = value.get("mask")
    if mask is not None:
        _check_file_name(mask, "mask")
    workspace = value.get("workspace", {})
    return {
        "width": width,
        "height": height,
        "layers": entries,
        "active_layer": active,
        "mask": mask,
        # The panels' state is a convenience: one that is not an object is dropped, not fatal.
        "workspace": workspace if isinstance(workspace, dict) else {},
    }


def _check_canvas(width: int, height: int, layers: int) -> None:
    pixels = width * height
    if pixels > DEFAULT_MAX_PIXELS:
        raise _Invalid(
            f"the canvas is {width} x {height} = {pixels:,} pixels, over the limit of {DEFAULT_MAX_PIXELS:,}"
        )
    if pixels * layers > MAX_TOTAL_PIXELS:
        raise _Invalid(
            f"{layers} layers of {width} x {height} are {pixels * layers:,} pixels in all, "
            f"over the limit of {MAX_TOTAL_PIXELS:,}"
        )


def _parse_layer(entry: Any, index: int) -> dict[str, Any]:
    where = f"layers[{index}]"
    if not isinstance(entry, dict):
        raise _Invalid(f"{MANIFEST}: {where} is not a JSON object")
    name = _field(entry, "name", str, "text", where)
    if len(name) > MAX_NAME_CHARS:
        raise _Invalid(f"{MANIFEST}: {where}.name is {len(name):,} characters, over {MAX_NAME_CHARS:,}")
    opacity = _field(entry, "opacity", (int, float), "a number from 0 to 1", where)
    if not 0.0 <= opacity <= 1.0:
        raise _Invalid(f"{MANIFEST}: {where}.opacity must be a number from 0 to 1, got {_show(opacity)}")
    blend = _field(entry, "blend", str, "a blend mode", where)
    if blend not in BLEND_MODES:
        raise _Invalid(
            f"{MANIFEST}: {where}.blend {_show(blend)} is not a blend mode ({', '.join(BLEND_MODES)})"
        )
    file = _field(entry, "file", str, "a file name", where)
    _check_file_name(file, f"{where}.file")
    return {
        "name": name,
        "file": file,
        "opacity": float(opacity),
        "visible": _field(entry, "visible", bool, "true or false", where),
        "locked": _field(entry, "locked", bool, "true or false", where),
        "blend": blend,
        "recipe": _field(entry, "recipe", (dict, type(None)), "an object or null", where),
    }


def _field(obj: dict[str, Any], key: str, kinds: Any, wanted: str, where: str = "") -> Any:
    label = f"{where}.{key}" if where else key
    if key not in obj:
        raise _Invalid(f"{MANIFEST}: {label} is missing")
    value = obj[key]
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    # bool is an int to Python but never a number or an index in a manifest.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise _Invalid(f"{MANIFEST}: {label} must be {wanted}, got {_show(value)}")
    return value


def _int(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = _field(obj, key, int, f"a whole number from {low} to {high:,}")
    if not low <= value <= high:
        raise _Invalid(f"{MANIFEST}: {key} must be a whole number from {low} to {high:,}, got {_show(value)}")
    return value


def _check_file_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise _Invalid(f"{MANIFEST}: {where} must be a file name, got {_show(name)}")
    problem = _name_problem(name)
    if problem:
        raise _Invalid(f"{MANIFEST}: {where} is an unsafe name {_show(name)} ({problem})")


def _name_problem(name: str) -> str | None:
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


def _member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        return zf.getinfo(name)
    except KeyError:
        raise _Invalid(f"{_show(name)} is missing from the archive") from None


def _png_byte_cap(width: int, height: int, channels: int) -> int:
    """The most bytes a PNG of that size can honestly take: raw samples plus filter
    bytes, stored-deflate and chunk overheads (under 1%), and 1 MiB for metadata."""
    raw = height * (width * channels + 1)
    return raw + raw // 100 + (1 << 20)


def _check_size(info: zipfile.ZipInfo, cap: int) -> None:
    if info.file_size > cap:
        raise _Invalid(f"{_show(info.filename)} is {info.file_size:,} bytes, over the limit of {cap:,}")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The bytes of one entry; the size is checked from the header first and then,
    since headers can lie, while reading."""
    _check_size(info, cap)
    if info.flag_bits & 0x1:
        raise _Invalid(f"{_show(info.filename)} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Invalid(f"{_show(info.filename)} uses a compression this app does not read")
    try:
        with zf.open(info) as fh:
            data = fh.read(cap + 1)
    except _ZIP_ERRORS as exc:
        raise _Invalid(f"{_show(info.filename)} is damaged ({one_line(exc)})") from exc
    if len(data) > cap:
        raise _Invalid(f"{_show(info.filename)} is over the limit of {cap:,} bytes")
    return data


@contextlib.contextmanager
def _png(name: str, data: bytes) -> Iterator[Image.Image]:
    """A Pillow image of the PNG `data` (pixels not yet decoded); Pillow's errors
    inside the block become _Invalid."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _Invalid(f"{_show(name)} is not a PNG image")
    with warnings.catch_warnings():
        # Our pixel limit, checked from the manifest, is the one that counts;
        # Pillow would warn above 89 MP.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                yield im
        except UnidentifiedImageError as exc:  # its text names a BytesIO object
            raise _Invalid(f"{_show(name)} is a damaged PNG (unreadable header)") from exc
        except DECODE_ERRORS as exc:
            raise _Invalid(f"{_show(name)} is a damaged PNG ({one_line(exc)})") from exc


def _decode_png(data: bytes, name: str, mode: str, width: int, height: int) -> np.ndarray:
    """uint8 HxWx4 (mode RGBA) or HxW (mode L) pixels of a PNG entry, which must be
    exactly that mode and the canvas size (checked before decoding)."""
    with _png(name, data) as im:
        if im.size != (width, height):
            raise _Invalid(
                f"{_show(name)} is {im.width} x {im.height} pixels, the canvas is {width} x {height}"
            )
        if im.mode != mode:
            raise _Invalid(f"{_show(name)} has colour mode {im.mode}, expected {mode}")
        im.load()
        return np.array(im, dtype=np.uint8)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _show(value: Any) -> str:
    """A short one-line rendering of a value taken from a hostile file."""
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."
