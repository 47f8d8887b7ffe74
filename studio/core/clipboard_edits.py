"""Cut, Copy and Paste on the document, without Qt (the UI moves the
pixels to and from the system clipboard): what a copy takes, what a cut
leaves, and where a paste lands."""

from __future__ import annotations

import numpy as np

from studio.core.commands import PixelEdit
from studio.core.document import Document, DocumentError, alpha_bounds
from studio.core.rect import Rect, bounds, is_empty, size, slices


def copied_region(doc: Document) -> tuple[np.ndarray, Rect]:
    """(uint8 hxwx4 pixels, their rect) a copy takes: the active layer inside
    the selection (the selection's softness in the alpha), else the whole
    layer's content. DocumentError when there is nothing to take."""
    layer = doc.active
    if layer is None:
        raise DocumentError("there is no active layer to copy from")
    rect = bounds(doc.mask) if doc.mask.any() else alpha_bounds(layer.pixels)
    pixels = layer.pixels[slices(rect)].copy() if rect is not None and not is_empty(rect) else None
    if pixels is not None and doc.mask.any():
        pixels[..., 3] = (pixels[..., 3].astype(np.uint16) * doc.mask[slices(rect)] // 255).astype(np.uint8)
    if pixels is None or not pixels[..., 3].any():
        raise DocumentError(f"layer '{layer.name}' has nothing {'selected' if doc.mask.any() else 'on it'} to copy")
    return pixels, rect


def cut_command(doc: Document, rect: Rect) -> PixelEdit:
    """The edit a cut makes after copying `rect`: the active layer's pixels
    cleared there, as far as the selection covers them (all of them without one)."""
    layer = doc.active
    before = layer.pixels[slices(rect)].copy()
    after = before.copy()
    width, height = size(rect)
    keep = 255 - doc.mask[slices(rect)].astype(np.uint16) if doc.mask.any() else np.zeros((height, width), np.uint16)
    after[..., 3] = (after[..., 3].astype(np.uint16) * keep // 255).astype(np.uint8)
    return PixelEdit(layer.id, rect, before, after, "Cut")


def paste_origin(doc: Document, width: int, height: int, origin: tuple[int, int] | None) -> tuple[int, int]:
    """Where a width x height picture's top-left lands: `origin` (where our
    own copy came from) when it still fits, else the selection's top-left,
    else centred; always kept on the canvas where it fits."""
    if origin is None and doc.mask.any():
        box = bounds(doc.mask)
        origin = (box[0], box[1])
    if origin is None:
        origin = ((doc.width - width) // 2, (doc.height - height) // 2)
    x = min(max(origin[0], 0), max(doc.width - width, 0))
    y = min(max(origin[1], 0), max(doc.height - height, 0))
    return x, y
