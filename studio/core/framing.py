"""Making any picture the square a generator works at, the same way for
training (train/data.py) and for putting a picture into a trained
generator's latent space (engine/projection.py): alpha composited on a
background colour, made square by a fit, Lanczos-resized."""

from __future__ import annotations

import numpy as np
from PIL import Image

FITS = ("auto", "crop", "pad")


def prepare_image(rgba: np.ndarray, resolution: int, fit: str = "pad",
                  background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """rgba: uint8 HxWx4 sRGB -> uint8 3xRxR RGB: alpha composited on
    `background`, made square by `fit` ("crop": centre square of the short side;
    "pad": centred on a square of `background`; "auto": pad a picture with
    transparent pixels, crop an opaque one), resized with Lanczos."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if fit == "auto":
        # A cut-out figure (clip art, a character on transparency) is the
        # whole subject and a crop would behead it; a photo's edges are
        # background and cropping them loses little.
        fit = "pad" if rgba[..., 3].min() < 255 else "crop"
    h, w = rgba.shape[:2]
    if fit == "crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        rgba = rgba[top:top + side, left:left + side]
        h = w = side
    # Composite only where needed: for opaque images the float path is the
    # identity anyway, and a 24 MP photo in float32 costs 300 MB.
    if rgba[..., 3].min() < 255:
        rgb = rgba[..., :3].astype(np.float32)
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        flat = rgb * alpha + np.asarray(background, np.float32) * (1.0 - alpha)
        rgb8 = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    else:
        rgb8 = rgba[..., :3]
    side = max(h, w)
    if h != w:  # only "pad" gets here
        square = np.empty((side, side, 3), np.uint8)
        square[:] = background
        top, left = (side - h) // 2, (side - w) // 2
        square[top:top + h, left:left + w] = rgb8
        rgb8 = square
    image = Image.fromarray(np.ascontiguousarray(rgb8), "RGB")
    # Big photos: let Pillow box-reduce first (much faster, same look); small
    # sources (emoji, 136 px) take the plain Lanczos path as they always did.
    gap = 3.0 if side >= 8 * resolution else None
    image = image.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=gap)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))
