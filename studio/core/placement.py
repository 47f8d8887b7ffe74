"""Where a picture goes when it lands on a canvas of another size: dropped and
pasted images are scaled down to fit inside (never up: a small picture stays
sharp at its own size); a placed generated image is scaled to fit inside its
target (the whole canvas, or the selection's box), centred, its aspect kept,
so nothing of it is cut or stretched; a fill (Replace Selection) is scaled to
cover its box and centre-cropped. Scaling is premultiplied Lanczos
(studio.core.export.resample)."""

from __future__ import annotations

import numpy as np

from studio.core.export import resample
from studio.core.rect import Rect


def _rgba(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 4:
        return image
    out = np.empty(image.shape[:2] + (4,), np.uint8)
    out[..., :3], out[..., 3] = image, 255
    return out


def fit_within(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 HxWx3/4 -> uint8 hxwx4 no larger than width x height px, aspect kept."""
    image = _rgba(image)
    h, w = image.shape[:2]
    size = fitted_size(w, h, width, height)
    return image if size == (w, h) else resample(image, size)


def fitted_size(w: int, h: int, width: int, height: int) -> tuple[int, int]:
    """(w, h) after fit_within(an image of that size, width, height)."""
    scale = min(width / w, height / h, 1.0)
    if scale == 1.0:
        return w, h
    return max(1, round(w * scale)), max(1, round(h * scale))


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 HxWx3/4 -> uint8 height x width x 4: scaled (up or down) until it
    covers the size, then centre-cropped to it."""
    image = _rgba(image)
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    scaled = image if size == (w, h) else resample(image, size)
    x0, y0 = (size[0] - width) // 2, (size[1] - height) // 2
    return np.ascontiguousarray(scaled[y0:y0 + height, x0:x0 + width])


def contain_rect(width: int, height: int, rect: Rect) -> Rect:
    """The largest rect of a width x height picture's aspect inside `rect`, centred in it."""
    x0, y0, x1, y1 = rect
    scale = min((x1 - x0) / width, (y1 - y0) / height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = x0 + (x1 - x0 - w) // 2, y0 + (y1 - y0 - h) // 2
    return left, top, left + w, top + h


def contain_layer(image: np.ndarray, canvas_width: int, canvas_height: int, rect: Rect) -> np.ndarray:
    """A canvas-sized uint8 layer holding `image` scaled (up or down) to fit
    inside `rect`, centred (contain_rect), transparent elsewhere."""
    image = _rgba(image)
    x0, y0, x1, y1 = contain_rect(image.shape[1], image.shape[0], rect)
    layer = np.zeros((canvas_height, canvas_width, 4), np.uint8)
    size = (x1 - x0, y1 - y0)
    layer[y0:y1, x0:x1] = image if size == image.shape[1::-1] else resample(image, size)
    return layer


def cover_rect(image: np.ndarray, canvas_width: int, canvas_height: int, rect: Rect) -> np.ndarray:
    """A canvas-sized uint8 layer holding `image` covering `rect`, transparent elsewhere."""
    x0, y0, x1, y1 = rect
    layer = np.zeros((canvas_height, canvas_width, 4), np.uint8)
    layer[y0:y1, x0:x1] = cover(image, x1 - x0, y1 - y0)
    return layer
