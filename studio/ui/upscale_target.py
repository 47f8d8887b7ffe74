"""What Image > Upscale enlarges, and how the result lands.

No Qt here. The dialog asks `planned_size` for its live size line; the
actions `capture_upscale` on the GUI thread (copies of the pixels, so
painting on meanwhile cannot tear them), `run_upscale` runs the engine on a
worker, and `landing_command` turns the result into ONE undoable command.

Modes:
- "document": every layer and the selection grow by the factor, and the
  canvas with them, as Krita's Image > Scale Image To New Size.
- "layer": the active layer's content grows around the centre of its
  bounding box, as Krita's Layer > Transform > Scale Layer does; the canvas
  keeps its size. A layer here is the canvas's size (Krita's can reach past
  it), so what lands beyond the edge is cut off, as the Move tool cuts it;
  undo brings the layer back exactly.

Only content is enlarged: each layer's non-transparent bounding box grown
by the enlargement's reach (the pixels its edge can spill into), and in
"layer" mode only what lands on the canvas. Each such core is enlarged with
`reach` px of real neighbours around it, so it comes out as a whole-layer
run would; outside it a layer stays transparent. A sticker on a big canvas
costs its own size, and a full-canvas layer at x4 in "layer" mode costs the
canvas, not 16 canvases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from studio.core.commands import Macro, ReplaceCanvas, SetLayerProps
from studio.core.document import Document, alpha_bounds, check_size
from studio.core.mask import resize as resize_mask
from studio.core.rect import Rect, clip, intersect, is_empty, offset, slices, union
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.engine.upscale import Cancelled, UpscaleError, output_size, upscale, upscale_recipe
from studio.ui.landing import in_place_command, is_stale

MODES = {"document": "Whole image", "layer": "Active layer"}
FACTORS = (2, 4)
LANCZOS_REACH = 3  # source px either side that Lanczos-3 reads when enlarging
UNDO_TEXT = "Upscale"


def reach(model: ModelEntry | None) -> int:
    """Source px around a pixel that its enlargement depends on: the
    model's receptive margin (its manifest says), or Lanczos's."""
    return int(model.manifest.get("margin", 0)) if model is not None else LANCZOS_REACH


def factor_of(model: ModelEntry) -> int:
    """The factor `model` enlarges by (its manifest says); it can also make
    any factor that divides it."""
    return int(model.manifest.get("scale", 1))


def method_of(model: ModelEntry | None) -> str:
    """The engine's method name for enlarging with `model` (None: Lanczos)."""
    return "model" if model is not None else "lanczos"


def upscaled_recipe(upscaler: dict, previous: dict | None) -> dict:
    """The recipe of pixels enlarged by `upscaler` (an upscale_recipe): it,
    with what made the pixels before (`previous`, without its format key)
    under "source", so a generated layer still says which seed it was."""
    if not previous:
        return upscaler
    return {**upscaler, "source": {k: v for k, v in previous.items() if k != "format"}}


def planned_size(doc: Document, mode: str, scale: int) -> tuple[int, int]:
    """(width, height) px of what grows: the new canvas ("document") or the
    active layer's content ("layer"). UpscaleError or DocumentError (one
    line) when it cannot be done: over the engine's or the canvas's pixel
    limit, or no usable active layer."""
    if mode not in MODES:
        raise UpscaleError(f"unknown upscale target {mode!r}; use one of {', '.join(MODES)}")
    if mode == "document":
        return check_size(*output_size(doc.width, doc.height, scale))
    x0, y0, x1, y1 = _content_box(doc)
    return (x1 - x0) * scale, (y1 - y0) * scale


def _content_box(doc: Document) -> Rect:
    """The active layer's non-transparent box; UpscaleError when there is
    no layer to enlarge."""
    layer = doc.active
    if layer is None:
        raise UpscaleError("there is no active layer; pick one in the Layers panel or upscale the whole image")
    if layer.locked:
        raise UpscaleError(f"layer '{layer.name}' is locked; unlock it or upscale the whole image")
    box = alpha_bounds(layer.pixels)
    if is_empty(box):
        raise UpscaleError(f"layer '{layer.name}' is empty; there is nothing to upscale")
    return box


@dataclass
class Piece:
    """One layer's share of the work: `pixels` (a copy of `window`, source
    px) are enlarged and the part for `core` is kept."""

    layer_id: int
    window: Rect
    core: Rect
    pixels: np.ndarray = field(repr=False)


@dataclass
class UpscaleTarget:
    """What an upscale works on, captured from the document.

    size: the canvas after (width, height); rect: the part of it the result
    covers (all of it in "document" mode); shift: where source px (0, 0)
    lands beyond x scale ((0, 0) in "document" mode, the centring in
    "layer" mode); layer_ids: the layers the result gives pixels for, with
    `recipes` they had; mask: a copy of the selection ("document" mode).
    document/revision: where and when it was captured."""

    mode: str
    scale: int
    size: tuple[int, int]
    rect: Rect
    shift: tuple[int, int]
    pieces: list[Piece]
    layer_ids: list[int]
    recipes: dict[int, dict | None]
    mask: np.ndarray | None = field(repr=False)
    layer_name: str
    document: Document = field(repr=False)
    revision: int


def capture_upscale(doc: Document, mode: str, scale: int, model: ModelEntry | None) -> UpscaleTarget:
    """The target of `mode` at `scale` in `doc` now, for enlarging with
    `model` (None: Lanczos). UpscaleError / DocumentError as planned_size."""
    planned_size(doc, mode, scale)
    margin = reach(model)
    if mode == "document":
        size, shift, layers = (doc.width * scale, doc.height * scale), (0, 0), doc.layers
    else:
        x0, y0, x1, y1 = _content_box(doc)
        # Krita scales a layer about its bounds' centre: the grown box keeps that centre.
        left, top = x0 - (x1 - x0) * (scale - 1) // 2, y0 - (y1 - y0) * (scale - 1) // 2
        size, shift, layers = (doc.width, doc.height), (left - x0 * scale, top - y0 * scale), [doc.active]
    new_canvas = (0, 0, *size)
    # The source px whose enlargement lands on the new canvas.
    seen = ((-shift[0]) // scale, (-shift[1]) // scale, -((shift[0] - size[0]) // scale),
            -((shift[1] - size[1]) // scale))
    pieces, rect = [], new_canvas
    for layer in layers:
        box = alpha_bounds(layer.pixels)
        core = intersect(_grown(box, margin, doc), seen) if not is_empty(box) else None
        if core is None:
            continue
        window = _grown(core, margin, doc)
        pieces.append(Piece(layer.id, window, core, layer.pixels[slices(window)].copy()))
        if mode == "layer":  # the old content and the new: the pixels the edit replaces
            rect = union(box, _landing(core, scale, shift, new_canvas))
    return UpscaleTarget(mode, scale, size, rect, shift, pieces, [layer.id for layer in layers],
                         {layer.id: layer.recipe for layer in layers},
                         doc.mask.copy() if mode == "document" else None,
                         doc.active.name if mode == "layer" else "", doc, doc.revision)


def _grown(rect: Rect, px: int, doc: Document) -> Rect:
    x0, y0, x1, y1 = rect
    return clip((x0 - px, y0 - px, x1 + px, y1 + px), doc.width, doc.height)


def _landing(core: Rect, scale: int, shift: tuple[int, int], canvas: Rect) -> Rect:
    """Where the enlargement of source rect `core` lands on the new canvas (clipped)."""
    x0, y0, x1, y1 = core
    return intersect(offset((x0 * scale, y0 * scale, x1 * scale, y1 * scale), *shift), canvas)


@dataclass
class Upscaled:
    """A finished upscale: `layers` maps each target layer id to its new
    pixels (uint8 hxwx4) for the target's rect; `mask` the grown selection
    ("document" mode); `recipe` the upscaler's (upscale_recipe)."""

    layers: dict[int, np.ndarray]
    mask: np.ndarray | None
    recipe: dict


def run_upscale(target: UpscaleTarget, model: ModelEntry | None, runtime: Runtime | None,
                progress: Callable[[int, int], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> Upscaled:
    """Enlarge the target with `model` (None: Lanczos) through `runtime`, on
    a worker thread. progress(done, total): the tiles of every piece, one
    piece after another; should_stop() is asked between tiles and pieces
    (the engine's Cancelled). UpscaleError (one line) for a model that
    cannot make the factor."""
    s, (rx0, ry0, rx1, ry1) = target.scale, target.rect
    layers = {layer_id: np.zeros((ry1 - ry0, rx1 - rx0, 4), np.uint8) for layer_id in target.layer_ids}
    count = len(target.pieces)
    for index, piece in enumerate(target.pieces):
        if should_stop is not None and should_stop():
            raise Cancelled()

        def report(done: int, total: int, index: int = index) -> None:
            if progress is not None:  # every piece counts as one share of the bar
                progress(index * total + done, count * total)

        enlarged = upscale(piece.pixels, s, model, runtime, progress=report, should_stop=should_stop)
        land = _landing(piece.core, s, target.shift, (0, 0, *target.size))
        # The landing rect in the enlarged window's px, then in the result's.
        wx, wy = piece.window[0] * s + target.shift[0], piece.window[1] * s + target.shift[1]
        layers[piece.layer_id][slices(offset(land, -rx0, -ry0))] = enlarged[slices(offset(land, -wx, -wy))]
    mask = None
    if target.mask is not None:
        width, height = target.size
        mask = resize_mask(target.mask, width, height) if target.mask.any() else np.zeros((height, width), np.uint8)
    return Upscaled(layers, mask, upscale_recipe(method_of(model), s, model))


def landing_command(doc: Document | None, target: UpscaleTarget, result: Upscaled):
    """(command, layer id or None) putting `result` into `doc` as one undo
    step, each layer's recipe saying it was enlarged (upscaled_recipe).
    UpscaleError when the document changed since the capture."""
    if doc is None or is_stale(doc, target.document, target.revision):
        raise UpscaleError("the image changed while it was being upscaled; nothing was changed, upscale again")
    recipes = {layer_id: upscaled_recipe(result.recipe, target.recipes[layer_id]) for layer_id in target.layer_ids}
    if target.mode == "layer":
        (layer_id,) = target.layer_ids
        return in_place_command(doc, layer_id, target.rect, result.layers[layer_id], recipes[layer_id], UNDO_TEXT)
    width, height = target.size
    props = [SetLayerProps(layer_id, recipe=recipe) for layer_id, recipe in recipes.items()]
    return Macro([ReplaceCanvas(width, height, result.layers, result.mask, UNDO_TEXT), *props], UNDO_TEXT), None
