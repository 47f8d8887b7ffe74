"""Contact sheets: many same-sized images in one."""

from __future__ import annotations

import math

import numpy as np


def grid_columns(count: int) -> int:
    """A near-square layout, wider than tall."""
    return max(1, math.ceil(math.sqrt(count)))


def make_grid(images: np.ndarray, columns: int | None = None, gap: int = 2, background: int = 255) -> np.ndarray:
    """images: uint8 [N, H, W, C] -> uint8 [rows*(H+gap)-gap, cols*(W+gap)-gap, C]."""
    count, height, width, channels = images.shape
    columns = min(columns or grid_columns(count), count)
    rows = math.ceil(count / columns)
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, channels), background, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        y, x = r * (height + gap), c * (width + gap)
        sheet[y:y + height, x:x + width] = image
    return sheet
