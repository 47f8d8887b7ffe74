"""Colour maths on sRGB images: luma/chroma split and mixing.

YCbCr here is full-range BT.601 on the sRGB-encoded values (JPEG's YCbCr,
what Pillow's "YCbCr" mode gives): Y is luma 0..255, Cb and Cr are chroma
centred on 128. Luma-only style transfer (Gatys et al., "Preserving Color in
Neural Artistic Style Transfer", 2016) keeps the stylized Y and the original
Cb/Cr, so brush strokes and texture come from the style and hues from the
photo.
"""

from __future__ import annotations

import numpy as np

# BT.601 full range (JFIF): rows give Y, Cb, Cr from R, G, B.
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114],
                        [-0.168736, -0.331264, 0.5],
                        [0.5, -0.418688, -0.081312]], np.float32)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC.astype(np.float64)).astype(np.float32)
_CHROMA_OFFSET = np.array([0.0, 128.0, 128.0], np.float32)


class ColourError(ValueError):
    """Images that cannot be combined; str() is one line."""


def _rgb(image: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (3, 4):
        got = f"shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ColourError(f"{name} must be an HxWx3 or HxWx4 image, got {got}")
    return image[..., :3]


def _same_size(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ColourError(f"images differ in size: {a.shape[1]} x {a.shape[0]} vs {b.shape[1]} x {b.shape[0]}")


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """...x3 sRGB values 0..255 (any dtype) -> float32 ...x3 Y, Cb, Cr (0..255, chroma centred on 128)."""
    return np.asarray(rgb, np.float32) @ _RGB_TO_YCC.T + _CHROMA_OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """float ...x3 Y, Cb, Cr -> float32 ...x3 sRGB values, NOT clipped (out-of-gamut values stay visible)."""
    return (np.asarray(ycc, np.float32) - _CHROMA_OFFSET) @ _YCC_TO_RGB.T


def keep_colour(stylized: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Luma of `stylized`, chroma of `original`: uint8 HxWx3/4 each, same size,
    -> uint8 HxWx3 sRGB. Where the mix falls outside sRGB each channel is
    clipped: hue kept, less saturated (a strong red at a very light luma
    comes out light pink)."""
    styled_rgb, original_rgb = _rgb(stylized, "stylized image"), _rgb(original, "original image")
    _same_size(styled_rgb, original_rgb)
    ycc = rgb_to_ycbcr(original_rgb)
    ycc[..., 0] = rgb_to_ycbcr(styled_rgb)[..., 0]
    return _to_uint8(ycbcr_to_rgb(ycc))


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """(1 - t) * a + t * b per channel: uint8 HxWxC each, same shape, t in 0..1
    -> uint8 HxWxC. t = 0 returns a copy of `a` exactly, t = 1 a copy of `b`."""
    if a.shape != b.shape:
        raise ColourError(f"images differ in shape: {a.shape} vs {b.shape}")
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ColourError(f"mix amount must be between 0 and 1, got {t}")
    if t == 0.0:
        return a.copy()
    if t == 1.0:
        return b.copy()
    mixed = a.astype(np.float32) * np.float32(1.0 - t) + b.astype(np.float32) * np.float32(t)
    return _to_uint8(mixed)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
