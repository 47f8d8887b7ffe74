"""Pictures as a generator draws them, and back.

An RGB generator draws colour. One that draws transparency (the trainer's
alpha.py) draws four channels: the picture composited on its training
background, then alpha. That is what its training images were, so a picture
going into such a model (its encoder, the refiner) is composited the same
way, and what it draws has the composite undone before it lands on the
canvas: straight alpha, as every layer and PNG holds it.
"""

from __future__ import annotations

import numpy as np

from studio.core.export import flatten


def to_model_pixels(rgba: np.ndarray, background: tuple[int, int, int], channels: int) -> np.ndarray:
    """uint8 HxWx4 straight alpha (or HxWx3 opaque) -> uint8 HxWxC as a
    model with `channels` (3 or 4) draws it: composited on `background`,
    then (C = 4) alpha."""
    if rgba.shape[2] == 3:
        rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
    composite = flatten(rgba, background)
    return composite if channels == 3 else np.dstack([composite, rgba[..., 3]])


def straight_alpha(drawn: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """uint8 [..., 4] as a model draws it (colour composited on `background`,
    then alpha) -> uint8 [..., 4] straight alpha. Where alpha is 0 the colour
    is the background's (it is invisible; a stable value keeps resampling
    clean)."""
    alpha = drawn[..., 3:4].astype(np.float32) / 255.0
    ground = np.asarray(background, np.float32)
    colour = (drawn[..., :3].astype(np.float32) - (1.0 - alpha) * ground) / np.maximum(alpha, 1e-6)
    colour = np.where(alpha > 0, colour, ground)
    out = np.empty(drawn.shape, np.uint8)
    out[..., :3] = np.clip(colour + 0.5, 0, 255)
    out[..., 3] = drawn[..., 3]
    return out
