"""OpenRaster (.ora), the layered format Krita, GIMP and MyPaint share.

Layout written (OpenRaster 0.0.6):
    mimetype                   STORED, first: "image/openraster".
    stack.xml                  <image w h><stack> with one <layer> per layer, top first:
                               name, src, x, y, opacity, visibility, composite-op.
    data/0001.png ...          RGBA, canvas size.
    data/selection.png         the selection as a hidden layer (white, alpha = the
                               mask), so other programs keep it and show it on demand.
    mergedimage.png            the composite, canvas size.
    Thumbnails/thumbnail.png   the composite, at most 256 px on its long side.
    latent-studio/extras.json  what OpenRaster has no words for (recipes, locks,
                               the active layer, the panels' workspace), by layer src;
                               other programs ignore it.

Our four blend modes are the W3C compositing ones OpenRaster names with svg:
prefixes; another program's other modes open as normal and are counted in
OpenedRaster.notes. Reading is as wary as a .studio's (layered_archive.py):
stack.xml is parsed without DTDs or entities, sizes are checked before
decoding, layers are placed by x/y and cropped to the canvas, and nested
stacks (groups) are flattened into their layers with the group's opacity and
visibility passed down.
"""

from __future__ import annotations

import json
import os
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_path
from studio.core.document import Document, DocumentError, Layer
from studio.core.imageio import DEFAULT_MAX_PIXELS
from studio.core.layered_archive import (
    MAX_LAYERS,
    MAX_TOTAL_PIXELS,
    BadArchive,
    ProjectError,
    add_entry,
    check_canvas,
    check_memory,
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
from studio.core.project import ProjectSnapshot

SUFFIX = ".ora"
KIND = "an OpenRaster file"
MIMETYPE = b"image/openraster"
STACK = "stack.xml"
MERGED = "mergedimage.png"
THUMBNAIL = "Thumbnails/thumbnail.png"
SELECTION = "data/selection.png"
EXTRAS = "latent-studio/extras.json"
EXTRAS_FORMAT = "latent-studio/ora-extras@1"
BLEND_TO_OP = {"normal": "svg:src-over", "multiply": "svg:multiply", "screen": "svg:screen",
               "overlay": "svg:overlay"}
OP_TO_BLEND = {op: blend for blend, op in BLEND_TO_OP.items()}
MAX_STACK_BYTES = 4 * 1024 * 1024
MAX_EXTRAS_BYTES = 16 * 1024 * 1024  # recipes carry latents, as in a project's manifest
MAX_DEPTH = 32  # nested groups; Krita's UI stops being usable far earlier


@dataclass
class OpenedRaster:
    """A document read from an .ora, and what of the file could not be kept."""

    document: Document
    notes: list[str] = field(default_factory=list)


# --- writing -------------------------------------------------------------------


def write_openraster(snapshot: ProjectSnapshot, path: str | os.PathLike) -> None:
    """Write `snapshot` as an .ora at `path`, atomically. Raises ProjectError
    when the file cannot be written."""
    p = Path(path)
    w, h = snapshot.width, snapshot.height
    sources = [f"data/{i + 1:04d}.png" for i in range(len(snapshot.layers))]
    image = ET.Element("image", {"version": "0.0.6", "w": str(w), "h": str(h), "xres": "72", "yres": "72"})
    stack = ET.SubElement(image, "stack")
    if snapshot.mask is not None:
        ET.SubElement(stack, "layer", _layer_attributes("Selection", SELECTION, 1.0, False, "normal"))
    for layer, src in reversed(list(zip(snapshot.layers, sources))):  # OpenRaster lists the top layer first
        ET.SubElement(stack, "layer", _layer_attributes(layer.name, src, layer.opacity, layer.visible, layer.blend))
    extras = {"format": EXTRAS_FORMAT, "active_layer": snapshot.active_index,
              "selection": SELECTION if snapshot.mask is not None else None, "workspace": snapshot.workspace,
              "layers": {src: {"locked": layer.locked, "recipe": layer.recipe}
                         for layer, src in zip(snapshot.layers, sources)}}
    merged = Document.from_layers(w, h, snapshot.layers).render()
    try:
        with atomic_path(p) as tmp, zipfile.ZipFile(tmp, "w") as zf:
            add_entry(zf, "mimetype", MIMETYPE)
            add_entry(zf, STACK, ET.tostring(image, encoding="utf-8", xml_declaration=True), zipfile.ZIP_DEFLATED)
            for layer, src in zip(snapshot.layers, sources):
                add_entry(zf, src, encode_png(layer.pixels, (h, w, 4), f"layer {layer.name!r}"))
            if snapshot.mask is not None:
                selection = np.full((h, w, 4), 255, np.uint8)
                selection[..., 3] = snapshot.mask
                add_entry(zf, SELECTION, encode_png(selection, (h, w, 4), "selection"))
            add_entry(zf, MERGED, encode_png(merged, (h, w, 4), "merged image"))
            add_entry(zf, THUMBNAIL, encode_png(snapshot.thumbnail, snapshot.thumbnail.shape, "thumbnail"))
            add_entry(zf, EXTRAS, json.dumps(extras, ensure_ascii=False, allow_nan=False).encode("utf-8"),
                      zipfile.ZIP_DEFLATED)
    except OSError as exc:
        raise ProjectError(f"cannot save {p.name or p}: {describe_os_error(exc)}") from exc


def _layer_attributes(name: str, src: str, opacity: float, visible: bool, blend: str) -> dict[str, str]:
    return {"name": name, "src": src, "x": "0", "y": "0", "opacity": repr(float(opacity)),  # shortest exact
            "visibility": "visible" if visible else "hidden", "composite-op": BLEND_TO_OP[blend]}


# --- reading -------------------------------------------------------------------


def load_openraster(path: str | os.PathLike) -> OpenedRaster:
    """Read an .ora as a new Document (history empty, not modified). Raises
    ProjectError (one line, "cannot open NAME: reason") for anything that is
    not a readable OpenRaster file; never writes to disk."""
    with open_archive(path, KIND) as zf:
        return _read(zf)


def _read(zf: zipfile.ZipFile) -> OpenedRaster:
    width, height, entries = _parse_stack(read_member(zf, member(zf, STACK), MAX_STACK_BYTES))
    extras = _parse_extras(zf)
    selection_src = extras.get("selection")
    layers_meta = extras.get("layers", {})
    notes: list[str] = []
    check_canvas(width, height, len(entries))
    check_memory(width, height, len(entries))
    infos = [member(zf, entry["src"]) for entry in entries]  # every entry looked up before any decoding
    layers: list[Layer] = []
    mask = None
    unknown_ops = sorted({e["op"] for e in entries if e["op"] not in OP_TO_BLEND})
    if unknown_ops:
        notes.append(f"blend modes this app lacks opened as normal: {', '.join(unknown_ops)}")
    total = 0
    for entry, info in zip(entries, infos):
        pixels, size = _placed_layer(zf, info, entry, width, height, len(entries))
        total += size
        if total > MAX_TOTAL_PIXELS:
            raise BadArchive(f"the layers hold over {MAX_TOTAL_PIXELS:,} pixels in all")
        if entry["src"] == selection_src:
            mask = pixels[..., 3].copy()
            continue
        meta = layers_meta.get(entry["src"], {}) if isinstance(layers_meta, dict) else {}
        meta = meta if isinstance(meta, dict) else {}
        recipe = meta.get("recipe")
        layers.append(Layer(len(layers) + 1, entry["name"], pixels, entry["opacity"], entry["visible"],
                            meta.get("locked") is True, OP_TO_BLEND.get(entry["op"], "normal"),
                            recipe if isinstance(recipe, dict) else None))
    active = extras.get("active_layer")
    active_id = layers[active].id if isinstance(active, int) and not isinstance(active, bool) \
        and 0 <= active < len(layers) else None
    try:
        doc = Document.from_layers(width, height, layers, mask if mask is not None and mask.any() else None,
                                   active_id)
    except DocumentError as exc:
        raise BadArchive(str(exc)) from exc
    workspace = extras.get("workspace")
    doc.workspace = workspace if isinstance(workspace, dict) else {}
    return OpenedRaster(doc, notes)


def _parse_stack(data: bytes) -> tuple[int, int, list[dict[str, Any]]]:
    """(width, height, layers bottom..top) from stack.xml; each layer
    {"name", "src", "x", "y", "opacity", "visible", "op"}, groups flattened."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BadArchive(f"{STACK} declares a DTD or entities, which OpenRaster never needs")
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError, RecursionError) as exc:
        raise BadArchive(f"{STACK} is not valid XML ({' '.join(str(exc).split())[:120]})") from exc
    if root.tag != "image":
        raise BadArchive(f"{STACK} has <{show(root.tag)}> at its top, not <image>")
    width = _whole(root, "w", 1, 1 << 31)
    height = _whole(root, "h", 1, 1 << 31)
    stack = root.find("stack")
    if stack is None:
        raise BadArchive(f"{STACK} has no <stack>")
    top_first: list[dict[str, Any]] = []
    _flatten(stack, 1.0, True, 0, 0, 0, top_first)
    return width, height, top_first[::-1]


def _flatten(stack: ET.Element, opacity: float, visible: bool, x: int, y: int, depth: int,
             out: list[dict[str, Any]]) -> None:
    if depth > MAX_DEPTH:
        raise BadArchive(f"{STACK} nests groups deeper than {MAX_DEPTH}")
    for node in stack:
        if len(out) > MAX_LAYERS:
            raise BadArchive(f"{STACK} lists over {MAX_LAYERS:,} layers, the limit")
        node_opacity = opacity * _opacity(node)
        node_visible = visible and node.get("visibility", "visible") != "hidden"
        node_x, node_y = x + _whole(node, "x", -(1 << 31), 1 << 31, 0), y + _whole(node, "y", -(1 << 31), 1 << 31, 0)
        if node.tag == "stack":
            _flatten(node, node_opacity, node_visible, node_x, node_y, depth + 1, out)
        elif node.tag == "layer":
            src = node.get("src")
            if not src or name_problem(src):
                raise BadArchive(f"{STACK}: a layer's src {show(src)} is not a safe file name")
            name = node.get("name") or Path(src).stem
            out.append({"name": name[:1000], "src": src, "x": node_x, "y": node_y, "opacity": node_opacity,
                        "visible": node_visible, "op": node.get("composite-op", "svg:src-over")})
        # text and other elements a later OpenRaster may add are skipped, as the spec asks


def _opacity(node: ET.Element) -> float:
    text = node.get("opacity", "1")
    try:
        value = float(text)
    except ValueError:
        raise BadArchive(f"{STACK}: opacity {show(text)} is not a number") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise BadArchive(f"{STACK}: opacity {show(text)} is not between 0 and 1")
    return value


def _whole(node: ET.Element, key: str, low: int, high: int, default: int | None = None) -> int:
    text = node.get(key)
    if text is None and default is not None:
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise BadArchive(f"{STACK}: <{node.tag}> {key}={show(text)} is not a whole number") from None
    if not low <= value <= high:
        raise BadArchive(f"{STACK}: <{node.tag}> {key}={value} is out of range")
    return value


def _parse_extras(zf: zipfile.ZipFile) -> dict[str, Any]:
    """Our extras when this file carries them (and they are ours), else {}."""
    try:
        info = zf.getinfo(EXTRAS)
    except KeyError:
        return {}
    extras = parse_json(read_member(zf, info, MAX_EXTRAS_BYTES), EXTRAS)
    if not isinstance(extras, dict) or extras.get("format") != EXTRAS_FORMAT:
        return {}
    return extras


def _placed_layer(zf: zipfile.ZipFile, info: zipfile.ZipInfo, entry: dict[str, Any], width: int,
                  height: int, layers: int) -> tuple[np.ndarray, int]:
    """(uint8 HxWx4 canvas-size pixels of the layer placed at its x/y, the
    layer's own pixel count). The PNG may be any mode and size (checked from
    its header before decoding, against the pixel limit and, when bigger than
    the canvas, the memory budget of a file of `layers` layers)."""
    data = read_member(zf, info, png_byte_cap(2 * width, 2 * height, 4))
    with open_png(info.filename, data) as im:
        w, h = im.size
        if w * h > DEFAULT_MAX_PIXELS:
            raise BadArchive(f"{show(info.filename)} is {w} x {h} pixels, over the limit of {DEFAULT_MAX_PIXELS:,}")
        if w * h > width * height:
            check_memory(width, height, layers, (w, h))
        pixels = np.asarray(im.convert("RGBA"), dtype=np.uint8)
    canvas = np.zeros((height, width, 4), np.uint8)
    x, y = entry["x"], entry["y"]
    left, top = max(0, x), max(0, y)
    right, bottom = min(width, x + w), min(height, y + h)
    if right > left and bottom > top:
        canvas[top:bottom, left:right] = pixels[top - y:bottom - y, left - x:right - x]
    return canvas, w * h
