"""How an AI result computed off the GUI thread lands in the document: as ONE
undoable command, and only on the document it was computed from.

No Qt here. The panels (style, inpaint) capture pixels on the GUI thread,
note the document and its revision, compute on a worker, and come back here
to turn the result into a command: a new layer on top, or new pixels for a
rect of an existing layer with the recipe kept on that layer.
"""

from __future__ import annotations

import numpy as np

from studio.core.commands import AddLayer, Macro, PixelEdit, SetLayerProps
from studio.core.document import Document
from studio.core.rect import Rect, slices


def is_stale(doc: Document | None, captured: Document, revision: int) -> bool:
    """True when `doc` is not the document a result was computed from, or it
    changed since (any command done or undone bumps its revision)."""
    return doc is not captured or doc.revision != revision


def new_layer_command(doc: Document, name: str, rect: Rect, pixels: np.ndarray, recipe: dict | None,
                      text: str) -> tuple[AddLayer, int]:
    """(command, layer id): a new layer `name` on top holding `pixels`
    (uint8 hxwx4 for `rect`), transparent elsewhere, carrying `recipe`. The
    new layer becomes the active one. A result covering the whole canvas
    becomes the layer's pixels as it is, not copied (on the GUI thread that
    would be 64 MB at 4096 px): hand over an array nobody else writes to."""
    if tuple(rect) == doc.rect and pixels.dtype == np.uint8 and pixels.flags.c_contiguous \
            and pixels.flags.writeable:
        full = pixels
    else:
        full = np.zeros((doc.height, doc.width, 4), np.uint8)
        full[slices(rect)] = pixels
    layer = doc.new_layer(name, full, recipe=recipe)
    return AddLayer(layer, text=text), layer.id


def in_place_command(doc: Document, layer_id: int, rect: Rect, pixels: np.ndarray, recipe: dict | None,
                     text: str) -> tuple[Macro, int]:
    """(command, layer id): the pixels of `rect` of layer `layer_id` replaced
    by `pixels` (uint8 hxwx4), with `recipe` set on the layer, as one step."""
    layer = doc.layer(layer_id)
    before = layer.pixels[slices(rect)].copy()
    return Macro([PixelEdit(layer.id, rect, before, pixels, text=text),
                  SetLayerProps(layer.id, recipe=recipe)], text), layer.id
