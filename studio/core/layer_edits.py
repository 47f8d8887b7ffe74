"""The Layer menu's everyday edits as one command each (one undo step):
duplicate a layer, merge a layer down into the one below, flatten the
image. Each builds its command from the document as it is now; apply it
with doc.apply (a locked target refuses, as any edit does)."""

from __future__ import annotations

from dataclasses import replace

from studio.core.commands import AddLayer, Macro, PixelEdit, RemoveLayer
from studio.core.document import Document, DocumentError, Layer


def duplicate_layer(doc: Document, layer_id: int) -> AddLayer:
    """A copy of the layer (pixels, opacity, blend, visibility, recipe) just above it, active."""
    layer = doc.layer(layer_id)
    copy = doc.new_layer(f"{layer.name} copy", layer.pixels.copy(), opacity=layer.opacity, visible=layer.visible,
                         blend=layer.blend, recipe=layer.recipe)
    return AddLayer(copy, doc.index_of(layer_id) + 1, "Duplicate Layer")


def merge_down(doc: Document, layer_id: int) -> Macro:
    """The layer drawn into the one below it (with its own blend mode and
    opacity, as the canvas shows them), then removed. The layer below keeps
    its own blend mode and opacity."""
    index = doc.index_of(layer_id)
    upper = doc.layer(layer_id)
    if index == 0:
        raise DocumentError(f"'{upper.name}' is the bottom layer: there is nothing below to merge it into")
    if not upper.visible:
        raise DocumentError(f"'{upper.name}' is hidden: show it before merging it down")
    lower = doc.layers[index - 1]
    pair = Document.from_layers(doc.width, doc.height, [replace(lower, opacity=1.0, blend="normal", visible=True),
                                                        upper])
    merged = pair.composite()
    return Macro([PixelEdit(lower.id, doc.rect, lower.pixels.copy(), merged, "Merge Down"),
                  RemoveLayer(layer_id, "Merge Down")], "Merge Down")


def flatten(doc: Document) -> Macro:
    """Every layer replaced by one holding what the canvas shows (hidden
    layers are dropped, as in Krita and GIMP)."""
    if not doc.layers:
        raise DocumentError("there are no layers to flatten")
    flat: Layer = doc.new_layer("Flattened", doc.composite())
    return Macro([*(RemoveLayer(layer.id, "Flatten Image") for layer in list(doc.layers)),
                  AddLayer(flat, 0, "Flatten Image")], "Flatten Image")
