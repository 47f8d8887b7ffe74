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

import copy
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import studio
from studio.core.atomic import atomic_path
from studio.core.blending import BLEND_MODES
from studio.core.document import Document, DocumentError, Layer
from studio.core.imageio import image_from_array
from studio.core.layered_archive import (
    MAX_LAYERS,
    BadArchive,
    ProjectError,
    add_entry,
    check_canvas,
    check_memory,
    check_size,
    decode_png,
    describe_os_error,
    encode_png,
    member,
    name_problem,
    open_archive,
    open_png,
    parse_json,
    png_byte_cap,
    read_member,
    show,
)

FORMAT = "latent-studio/project@1"
FORMAT_FAMILY = "latent-studio/project@"
SUFFIX = ".studio"
KIND = "a Latent Studio project"  # what a file that is not one is told it is not
MANIFEST = "manifest.json"
MASK_FILE = "mask.png"
THUMBNAIL_FILE = "thumbnail.png"
THUMBNAIL_SIZE = 256

# Recipes carry latents as base64 (about 700 bytes per 128 floats): 16 MiB is
# thousands of AI layers' worth.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_NAME_CHARS = 1000


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


def capture_project(doc: Document, copy_pixels: bool = True) -> ProjectSnapshot:
    """Copy what save needs out of `doc` (call on the thread that owns the document).

    The slow part, PNG encoding, is left to write_project, which may then run on
    a worker thread. copy_pixels=False takes the layers' and mask's arrays as
    they are, for a `doc` that is already a private copy (autosave's).
    """
    take = np.copy if copy_pixels else np.asarray
    layers = tuple(
        Layer(
            id=layer.id,
            name=layer.name,
            pixels=take(layer.pixels),
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
    mask_copy = take(mask) if mask is not None and np.any(mask) else None
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
            add_entry(zf, MANIFEST, manifest_text.encode("utf-8"), zipfile.ZIP_DEFLATED)
            h, w = snapshot.height, snapshot.width
            for entry, layer in zip(manifest["layers"], snapshot.layers):
                add_entry(zf, entry["file"], encode_png(layer.pixels, (h, w, 4), f"layer {layer.name!r}"))
            if snapshot.mask is not None:
                add_entry(zf, MASK_FILE, encode_png(snapshot.mask, (h, w), "mask"))
            add_entry(zf, THUMBNAIL_FILE, encode_png(snapshot.thumbnail, snapshot.thumbnail.shape, "thumbnail"))
    except OSError as exc:
        raise ProjectError(f"cannot save {p.name or p}: {describe_os_error(exc)}") from exc


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
    with open_archive(path, KIND) as zf:
        return _read_document(zf)


def read_thumbnail(path: str | os.PathLike) -> np.ndarray:
    """The stored composite preview of a .studio file: uint8 hxwx4 straight alpha,
    long side <= THUMBNAIL_SIZE. Cheap: reads no layer. Raises ProjectError."""
    with open_archive(path, KIND) as zf:
        info = member(zf, THUMBNAIL_FILE)
        data = read_member(zf, info, png_byte_cap(THUMBNAIL_SIZE, THUMBNAIL_SIZE, 4))
        with open_png(THUMBNAIL_FILE, data) as im:
            if max(im.size) > THUMBNAIL_SIZE or im.mode != "RGBA":
                raise BadArchive(f"{THUMBNAIL_FILE} is {im.mode} {im.width} x {im.height}, not a thumbnail")
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


def _json_plain(value: Any) -> Any:
    # Recipes may carry numpy scalars (seeds, strengths); arrays must be encoded first.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} values cannot go into a project manifest (JSON only)")


# --- reading -----------------------------------------------------------------


def _read_document(zf: zipfile.ZipFile) -> Document:
    manifest = _parse_manifest(read_member(zf, member(zf, MANIFEST), MAX_MANIFEST_BYTES))
    width, height = manifest["width"], manifest["height"]
    check_canvas(width, height, len(manifest["layers"]))
    check_memory(width, height, len(manifest["layers"]))
    layer_cap = png_byte_cap(width, height, 4)
    mask_cap = png_byte_cap(width, height, 1)
    # Look up every entry before decoding anything, so a bad file fails fast.
    layer_infos = [member(zf, entry["file"]) for entry in manifest["layers"]]
    mask_name = manifest.get("mask")
    mask_info = member(zf, mask_name) if mask_name is not None else None
    for info in layer_infos:
        check_size(info, layer_cap)
    if mask_info is not None:
        check_size(mask_info, mask_cap)

    layers = []
    for number, (entry, info) in enumerate(zip(manifest["layers"], layer_infos), start=1):
        pixels = decode_png(read_member(zf, info, layer_cap), info.filename, "RGBA", width, height)
        layers.append(Layer(number, entry["name"], pixels, entry["opacity"], entry["visible"],
                            entry["locked"], entry["blend"], entry["recipe"]))
    mask = None
    if mask_info is not None:
        mask = decode_png(read_member(zf, mask_info, mask_cap), mask_info.filename, "L", width, height)
    active = manifest["active_layer"]
    try:
        doc = Document.from_layers(width, height, layers, mask, layers[active].id if active is not None else None)
    except DocumentError as exc:  # the checks above should leave nothing for it to find
        raise BadArchive(str(exc)) from exc
    if active is None:
        doc.active_id = None  # from_layers would pick the top layer; keep what was saved
    doc.workspace = manifest["workspace"]
    return doc


def _parse_manifest(data: bytes) -> dict[str, Any]:
    value = parse_json(data, MANIFEST)
    if not isinstance(value, dict):
        raise BadArchive(f"{MANIFEST} is not a JSON object")
    found = value.get("format")
    if not isinstance(found, str) or not found.startswith(FORMAT_FAMILY):
        raise BadArchive(f"not a Latent Studio project ({MANIFEST} has format {show(found)})")
    if found != FORMAT:
        raise BadArchive(f"it is a {show(found)} project, newer than this app reads ({FORMAT})")

    width = _int(value, "width", 1, 1 << 31)
    height = _int(value, "height", 1, 1 << 31)
    layers = _field(value, "layers", list, "a list")
    if len(layers) > MAX_LAYERS:
        raise BadArchive(f"{MANIFEST} lists {len(layers):,} layers, over the limit of {MAX_LAYERS:,}")
    entries = [_parse_layer(entry, i) for i, entry in enumerate(layers)]
    active = _field(value, "active_layer", (int, type(None)), "a layer index or null")
    if active is not None and not 0 <= active < len(entries):
        raise BadArchive(f"{MANIFEST}: active_layer {active} is not one of the {len(entries)} layers")
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


def _parse_layer(entry: Any, index: int) -> dict[str, Any]:
    where = f"layers[{index}]"
    if not isinstance(entry, dict):
        raise BadArchive(f"{MANIFEST}: {where} is not a JSON object")
    name = _field(entry, "name", str, "text", where)
    if len(name) > MAX_NAME_CHARS:
        raise BadArchive(f"{MANIFEST}: {where}.name is {len(name):,} characters, over {MAX_NAME_CHARS:,}")
    opacity = _field(entry, "opacity", (int, float), "a number from 0 to 1", where)
    if not 0.0 <= opacity <= 1.0:
        raise BadArchive(f"{MANIFEST}: {where}.opacity must be a number from 0 to 1, got {show(opacity)}")
    blend = _field(entry, "blend", str, "a blend mode", where)
    if blend not in BLEND_MODES:
        raise BadArchive(
            f"{MANIFEST}: {where}.blend {show(blend)} is not a blend mode ({', '.join(BLEND_MODES)})"
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
        raise BadArchive(f"{MANIFEST}: {label} is missing")
    value = obj[key]
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    # bool is an int to Python but never a number or an index in a manifest.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise BadArchive(f"{MANIFEST}: {label} must be {wanted}, got {show(value)}")
    return value


def _int(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = _field(obj, key, int, f"a whole number from {low} to {high:,}")
    if not low <= value <= high:
        raise BadArchive(f"{MANIFEST}: {key} must be a whole number from {low} to {high:,}, got {show(value)}")
    return value


def _check_file_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise BadArchive(f"{MANIFEST}: {where} must be a file name, got {show(name)}")
    problem = name_problem(name)
    if problem:
        raise BadArchive(f"{MANIFEST}: {where} is an unsafe name {show(name)} ({problem})")
