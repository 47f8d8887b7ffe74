"""Small documents for the canvas tests, and an exact snapshot of everything
undo must restore."""

from __future__ import annotations

import numpy as np

from studio.core.document import Document, Layer


def noise(h: int, w: int, seed: int, alpha: tuple[int, int] = (0, 256)) -> np.ndarray:
    """uint8 hxwx4 random pixels, alpha drawn from [alpha[0], alpha[1])."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    pixels[..., 3] = rng.integers(alpha[0], alpha[1], (h, w), dtype=np.uint8)
    return pixels


def patch_layer_pixels(h: int, w: int, rect: tuple[int, int, int, int], seed: int) -> np.ndarray:
    """Transparent canvas with random opaque-ish content only inside rect."""
    pixels = np.zeros((h, w, 4), np.uint8)
    x0, y0, x1, y1 = rect
    pixels[y0:y1, x0:x1] = noise(y1 - y0, x1 - x0, seed, alpha=(1, 256))
    return pixels


def three_layer_doc(w: int = 300, h: int = 200) -> Document:
    """Opaque noise background, a multiply layer with a patch, an overlay layer
    at 70 % with another patch; a mask with a selected rectangle."""
    bg = noise(h, w, 1, alpha=(255, 256))
    mid = patch_layer_pixels(h, w, (20, 30, 180, 150), 2)
    top = patch_layer_pixels(h, w, (100, 10, 290, 190), 3)
    layers = [Layer(1, "Background", bg), Layer(2, "Shade", mid, blend="multiply"),
              Layer(3, "Glow", top, opacity=0.7, blend="overlay")]
    mask = np.zeros((h, w), np.uint8)
    mask[40:120, 50:200] = 255
    return Document.from_layers(w, h, layers, mask=mask, active_id=2)


def snapshot(doc: Document) -> tuple:
    """Everything about the document's contents, with copied arrays."""
    layers = tuple((layer.id, layer.name, layer.pixels.copy(), layer.opacity, layer.visible, layer.locked,
                    layer.blend, repr(layer.recipe)) for layer in doc.layers)
    return (doc.width, doc.height, doc.active_id, doc.mask.copy(), layers)


def same(a: tuple, b: tuple) -> bool:
    """Exact equality of two snapshots (np.array_equal for the arrays)."""
    if a[:3] != b[:3] or not np.array_equal(a[3], b[3]) or len(a[4]) != len(b[4]):
        return False
    for la, lb in zip(a[4], b[4]):
        if la[:2] != lb[:2] or la[3:] != lb[3:] or la[2].shape != lb[2].shape or not np.array_equal(la[2], lb[2]):
            return False
    return True
