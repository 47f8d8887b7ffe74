"""A document with everything a layered file must keep: four layers in the four
blend modes, odd opacities, a hidden and a locked layer, a recipe, a partial
selection, an active layer and a workspace."""

from __future__ import annotations

import numpy as np

from studio.core.document import Document, Layer

LAYERED_SIZE = (40, 30)


def noise(seed: int, w: int = LAYERED_SIZE[0], h: int = LAYERED_SIZE[1]) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    pixels[:4, :, 3] = 255
    return pixels


def layered_document() -> Document:
    recipe = {"format": "latent-studio/recipe@1", "model": {"name": "emoji64"}, "seed": 7, "latent": "f32:AACAPw=="}
    layers = [Layer(1, "Background", noise(1)),
              Layer(2, "Ink ✒ «tusche»", noise(2), opacity=0.123456789, blend="multiply", locked=True),
              Layer(3, "AI result", noise(3), visible=False, blend="overlay", recipe=recipe),
              Layer(4, "Glow", noise(4), opacity=0.5, blend="screen")]
    w, h = LAYERED_SIZE
    mask = np.zeros((h, w), np.uint8)
    mask[3:20, 5:33] = 255
    mask[10, 10] = 77
    doc = Document.from_layers(w, h, layers, mask, active_id=3)
    doc.workspace = {"latent": {"model": "emoji64", "position": 0.25}}
    return doc
