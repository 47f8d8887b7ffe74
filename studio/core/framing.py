"""Making any picture the square a generator works at, the same way for
training (train/data.py) and for putting a picture into a trained
generator's latent space (engine/projection.py): alpha composited on a
background colour, made square by a fit, Lanczos-resized. A generator that
draws transparency (train/alpha.py) gets the alpha channel beside that
composite, squared and resized the same way."""

from __future__ import annotations

import numpy as np
from PIL import Image

FITS = ("auto", "crop", "pad")


def prepare_image(rgba: np.ndarray, resolution: int, fit: str = "pad",
                  background: tuple[int, int, int] = (255, 255, 255), keep_alpha: bool = False) -> np.ndarray:
    """rgba: uint8 HxWx4 sRGB -> uint8 3xRxR RGB: alpha composited on
    `background`, made square by `fit` ("crop": centre square of the short side;
    "pad": centred on a square of `background`; "auto": pad a picture with
    transparent pixels, crop an opaque one), resized with Lanczos.
    keep_alpha: 4xRxR, that RGB and the alpha channel (padding transparent)."""
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
    rgb = _resized(_squared(rgb8, side, background), resolution)
    if not keep_alpha:
        return rgb
    alpha = _resized(_squared(rgba[..., 3:4], side, (0,)), resolution)
    return np.concatenate([rgb, alpha])


def _squared(pixels: np.ndarray, side: int, fill: tuple[int, ...]) -> np.ndarray:
    """HxWxC centred on a side x side square of `fill` (only "pad" needs it)."""
    h, w = pixels.shape[:2]
    if h == w:
        return pixels
    square = np.empty((side, side, pixels.shape[2]), np.uint8)
    square[:] = fill
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = pixels
    return square


def _resized(pixels: np.ndarray, resolution: int) -> np.ndarray:
    """HxWxC uint8 (C 3 or 1) -> CxRxR, Lanczos."""
    side = pixels.shape[0]
    image = Image.fromarray(np.ascontiguousarray(pixels if pixels.shape[2] == 3 else pixels[..., 0]))
    # Big photos: let Pillow box-reduce first (much faster, same look); small
    # sources (emoji, 136 px) take the plain Lanczos path as they always did.
    gap = 3.0 if side >= 8 * resolution else None
    image = image.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=gap)
    out = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(out.transpose(2, 0, 1) if out.ndim == 3 else out[None])
