"""What the inpaint panel fills, and how the fill lands.

No Qt here. The panel captures a `FillTarget` from the document on the GUI
thread (copies of a window of pixels around the masked area, so painting on
meanwhile cannot tear them), `run_fill` runs the engine on the worker, and
`landing_command` turns the result into ONE undoable command.

Holes are the mask's pixels selected at least half (core.mask.THRESHOLD, as
`studio inpaint` reads a mask picture), so a soft brush edge or a feathered
selection does not widen the hole by its faint fringe; the engine's own
feather blends the fill into the pixels around it.

The window is the holes' bounding box grown by enough context that every
crop (and learned square) the engine takes around each hole lies inside it,
so filling the window gives exactly the pixels a whole-image run would,
without copying a 24-megapixel layer per stroke.

Targets:
- "new": the visible composite is filled; a new layer on top holds the fill
  (the holes and the feathered pixels around them), transparent elsewhere.
- "layer": the active layer's own pixels are filled in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from studio.core.commands import Macro, SetMask
from studio.core.document import Document
from studio.core.mask import THRESHOLD
from studio.core.rect import Rect, bounds, clip, offset, slices
from studio.engine.inpaint import CONTEXT, MARGIN, InpaintError, inpaint, inpaint_recipe
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.ui.landing import in_place_command, is_stale, new_layer_command

TARGETS = {"new": "New layer", "layer": "In place (active layer)"}
METHOD_LABELS = {"auto": "Auto", "learned": "Learned", "telea": "Telea", "ns": "Navier-Stokes",
                 "patchmatch": "Content-aware"}
UNDO_TEXT = "Inpaint"


def method_label(method: str, model: ModelEntry | None = None) -> str:
    """"Telea", "Navier-Stokes", "Content-aware", the learned model's name,
    or "Auto: " and its name."""
    if method == "learned" and model is not None:
        return model.name
    if method == "auto" and model is not None:
        return f"Auto: {model.name}"
    return METHOD_LABELS.get(method, method)


def context_rect(holes: Rect, width: int, height: int) -> Rect:
    """The window around the holes' bounding box `holes` that holds every
    crop and learned square the engine takes for any hole inside it, on a
    width x height image (clipped to it).

    A region's square has side L + 2m (L its longest side, m its margin
    max(MARGIN, CONTEXT * L)), centred on its hole and slid inside the image,
    so it reaches at most L + 2m past the hole; L is at most the box's
    longest side B, hence B + 2 * max(MARGIN, CONTEXT * B) (+2 for rounding)."""
    x0, y0, x1, y1 = holes
    longest = max(x1 - x0, y1 - y0)
    reach = longest + 2 * max(MARGIN, math.ceil(CONTEXT * longest)) + 2
    return clip((x0 - reach, y0 - reach, x1 + reach, y1 + reach), width, height)


@dataclass
class FillTarget:
    """The pixels a fill works on, captured from the document.

    mode: "new" or "layer" (see TARGETS); rect: the captured window (image
    px); pixels: uint8 hxwx4 copy of `rect` of the composite ("new") or of
    the active layer ("layer"); holes: bool hxw, True where the mask is at
    least half selected; hole_box: the holes' bounding box (image px).
    document/revision: where and when it was captured (a fill landing on a
    changed document is refused)."""

    mode: str
    rect: Rect
    pixels: np.ndarray
    holes: np.ndarray
    hole_box: Rect
    layer_id: int | None
    layer_name: str
    document: Document = field(repr=False)
    revision: int


def capture_fill(doc: Document, mode: str) -> FillTarget:
    """The target of `mode` in `doc` now. InpaintError (one line) when there
    is nothing to fill: an empty mask, no usable active layer in "layer" mode,
    or nothing visible under the mask."""
    if mode not in TARGETS:
        raise InpaintError(f"unknown inpaint target {mode!r}; use one of {', '.join(TARGETS)}")
    box = bounds(doc.mask)
    if box is None:
        raise InpaintError("nothing is masked: paint over what should go with the Mask Brush (M), or select it")
    found = bounds(doc.mask[slices(box)] >= THRESHOLD)
    if found is None:
        raise InpaintError("the mask is too faint to fill: paint it at least half strength")
    hole_box = offset(found, box[0], box[1])
    rect = context_rect(hole_box, doc.width, doc.height)
    holes = np.zeros((rect[3] - rect[1], rect[2] - rect[0]), bool)
    holes[slices(offset(hole_box, -rect[0], -rect[1]))] = doc.mask[slices(hole_box)] >= THRESHOLD
    if mode == "layer":
        layer = doc.active
        if layer is None:
            raise InpaintError("there is no active layer to fill; pick one in the Layers panel or fill to a new layer")
        if layer.locked:
            raise InpaintError(f"layer '{layer.name}' is locked; unlock it or fill to a new layer")
        if not layer.visible:
            raise InpaintError(f"layer '{layer.name}' is hidden; show it or fill to a new layer")
        pixels = layer.pixels[slices(rect)].copy()
        if not pixels[..., 3][holes].any():
            raise InpaintError(f"layer '{layer.name}' is empty under the mask; pick the layer with the picture "
                               "or fill to a new layer")
        layer_id, layer_name = layer.id, layer.name
    else:
        pixels = doc.composite(rect)
        if not pixels[..., 3][holes].any():
            raise InpaintError("the image is transparent under the mask; there is nothing to fill")
        layer_id, layer_name = None, ""
    return FillTarget(mode, rect, pixels, holes, hole_box, layer_id, layer_name, doc, doc.revision)


@dataclass
class Fill:
    """A finished fill: `pixels` (uint8 hxwx4) for `rect` (image px), the
    layer's new pixels ("layer") or the new layer's ("new": the filled holes
    and the feathered pixels around them, transparent elsewhere); the recipe
    for the layer; `label` names the method ("Telea", a model's name)."""

    rect: Rect
    pixels: np.ndarray
    recipe: dict
    label: str


def run_fill(target: FillTarget, method: str, model: ModelEntry | None, runtime: Runtime | None) -> Fill:
    """Fill the target's holes with `method` ("auto" and "learned" need `model`, run
    through `runtime`). Runs on a worker thread; InpaintError (one line) for
    a method or model that cannot run."""
    result = inpaint(target.pixels, target.holes, method, model, runtime)
    # The engine changes the holes and the feather around them, nothing else;
    # holes count even where the fill happens to equal what was there.
    changed = (result != target.pixels).any(axis=2) | target.holes
    box = bounds(changed)
    local = slices(box)
    if target.mode == "layer":
        pixels = np.ascontiguousarray(result[local])
    else:
        pixels = np.where(changed[local][..., None], result[local], 0).astype(np.uint8)
    recipe = inpaint_recipe(method, model, apply_to=target.mode, mask_box=[int(v) for v in target.hole_box])
    return Fill(offset(box, target.rect[0], target.rect[1]), pixels, recipe, method_label(method, model))


def landing_command(doc: Document | None, target: FillTarget, fill: Fill, clear_mask: bool = False):
    """(command, layer id) putting `fill` into `doc` as one undo step: a new
    layer "Inpaint (label)" on top ("new"), or the active layer's pixels
    replaced with the recipe kept on it ("layer"); with clear_mask the mask
    is emptied in the same step. InpaintError when the document changed
    since the capture."""
    if doc is None or is_stale(doc, target.document, target.revision):
        raise InpaintError("the image changed while it was being filled; nothing was changed, fill again")
    if target.mode == "new":
        command, layer_id = new_layer_command(doc, f"Inpaint ({fill.label})", fill.rect, fill.pixels, fill.recipe,
                                              UNDO_TEXT)
    else:
        command, layer_id = in_place_command(doc, target.layer_id, fill.rect, fill.pixels, fill.recipe, UNDO_TEXT)
    if clear_mask:
        command = Macro([command, SetMask(np.zeros_like(doc.mask), "Deselect")], UNDO_TEXT)
    return command, layer_id
