"""Seam blending for a fill: the step in colour where a filled hole meets the
picture is spread over the whole hole as a smooth membrane, so the fill keeps
its texture but no longer shows its outline (gradient-domain blending in the
manner of Poisson image editing, Pérez et al. 2003, and its membrane form,
Farbman et al. 2009, "Coordinates for instant image cloning").

The jump is measured across the hole's border: each hole pixel that touches
the known picture compares itself with the mean of its known neighbours.
Those jumps are smoothed along the border (texture makes them noisy) and
interpolated into the hole by push-pull over an image pyramid, which is a
smooth, nearly harmonic membrane at the cost of a few blurs. Adding it makes
the fill's border meet the picture, and moves its inside as much as its
border (a fill paler than its surroundings everywhere becomes as dark).
"""

from __future__ import annotations

import cv2
import numpy as np

BORDER_SIGMA = 3.0  # px; how far the border's jumps are averaged along it
MIN_SIDE = 2  # px; push-pull stops halving here


def blend_seam(fill: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`fill` (hxwx3, uint8 or float: the picture with its hole filled) with
    the membrane added inside `hole` (bool hxw): float32 hxwx3. Pixels outside
    the hole come back unchanged; a hole with no known neighbour, unchanged."""
    image = fill.astype(np.float32)
    hole = hole.astype(bool)
    known = ~hole
    if not hole.any() or not known.any():
        return image
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    neighbours = cv2.filter2D(known.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    border = hole & (neighbours > 0)
    known_sum = cv2.filter2D(image * known[..., None], -1, kernel, borderType=cv2.BORDER_CONSTANT)
    jump = np.zeros_like(image)
    jump[border] = known_sum[border] / neighbours[border][:, None] - image[border]
    weight = border.astype(np.float32)
    jump = _smooth_along(jump, weight)
    membrane = _push_pull(jump, weight)
    image[hole] += membrane[hole]
    return image


def _smooth_along(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A weighted Gaussian blur of `values` where weight > 0 (zero elsewhere)."""
    blurred = cv2.GaussianBlur(values * weight[..., None], (0, 0), BORDER_SIGMA)
    total = cv2.GaussianBlur(weight, (0, 0), BORDER_SIGMA)
    out = np.zeros_like(values)
    on = weight > 0
    out[on] = blurred[on] / np.maximum(total[on], 1e-6)[:, None]
    return out


def _push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Values known where weight is 1 carried smoothly into where it is 0."""
    h, w = weight.shape
    if min(h, w) <= MIN_SIDE or weight.min() >= 1:
        return values
    half = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
    coarse_weight = cv2.resize(weight, half, interpolation=cv2.INTER_AREA)
    coarse_sum = cv2.resize(values * weight[..., None], half, interpolation=cv2.INTER_AREA)
    coarse = np.zeros_like(coarse_sum)
    on = coarse_weight > 0
    coarse[on] = coarse_sum[on] / coarse_weight[on][:, None]
    coarse = _push_pull(coarse, np.minimum(coarse_weight * 4, 1.0))
    up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    return values * weight[..., None] + up * (1 - weight[..., None])
