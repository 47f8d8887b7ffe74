"""Whole-selection operations on the mask: uint8 HxW, 0 = not selected, 255 = selected.

Every function returns a new array and leaves its input alone, so the result
can go straight into a commands.SetMask (undo keeps the old one).

Grow and shrink use an exact Euclidean disc, computed in a fixed number of
whole-array numpy passes whatever the radius (see `_disc_cover`), instead of
Pillow's MaxFilter/MinFilter, whose square kernels cost O(radius^2) per pixel
and are square, not round.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageFilter

from studio.core.rect import Rect, bounds, clip, slices

COMBINE_OPS = ("replace", "add", "subtract", "intersect")

# Grow/shrink act on the selection's shape: pixels at or above half selected.
THRESHOLD = 128

# Radii sampled across one pixel to antialias grown/shrunk edges (5 grey levels).
_EDGE_SAMPLES = 4

# Lasso antialiasing: horizontal lines sampled per pixel row (17 grey levels
# vertically; horizontally the coverage is exact).
LASSO_SUBROWS = 16
# Difference-array entries (float64) per strip: ~8 MiB of scratch whatever the canvas.
_LASSO_BUDGET = 1 << 20


class MaskError(ValueError):
    """Bad mask operation input; str() is one readable line."""


def _check_mask(mask: np.ndarray, name: str = "mask") -> None:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
        got = f"{mask.dtype} array of shape {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise MaskError(f"{name} must be a uint8 HxW array, got {got}")


def _check_px(name: str, px: float) -> float:
    try:
        value = float(px)
    except (TypeError, ValueError):
        raise MaskError(f"{name} must be a number of pixels, got {px!r}") from None
    if not math.isfinite(value) or value < 0:
        raise MaskError(f"{name} must be a finite number of pixels >= 0, got {px!r}")
    return value


def _check_size(width: int, height: int) -> tuple[int, int]:
    if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in (width, height)) \
            or int(width) != width or int(height) != height or width <= 0 or height <= 0:
        raise MaskError(f"mask size must be positive whole pixels, got {width} x {height}")
    return int(width), int(height)


def _disc_cover(selected: np.ndarray, radius: float) -> np.ndarray:
    """Antialiased dilation of a boolean HxW set by a disc: uint8 HxW where
    255 = within `radius` px of a selected pixel, 0 = farther than radius + 1,
    and in between the fraction of the radii radius + (k + 0.5) / _EDGE_SAMPLES
    that reach it. Distances are between pixel centres, so along the axes the
    edge moves out by exactly `radius` px: a 10 px square grown by 3 is
    exactly 16 px wide, its corners rounded.

    Exact for the Euclidean disc, in O(H*W) per sampled radius: with h(x, y')
    the distance along row y' from x to its nearest selected pixel, (x, y) is
    within r of the set iff some row y' has h(x, y') <= r and
    |y - y'| <= floor(sqrt(r^2 - h^2)) = T. Each row y' so covers the column
    interval [y' - T, y' + T], and "some interval covers y" is a running max of
    y' + T from above or a running min of y' - T from below."""
    h_, w_ = selected.shape
    top = math.floor(radius + 1.0)  # no sampled radius reaches top + 1
    # Positions fit int16 for canvases up to 16k, which halves memory traffic.
    itype = np.int16 if max(h_, w_) + top + 2 < 2 ** 14 else np.int32
    far = itype(2 ** 14 - 1 if itype is np.int16 else 2 ** 30)
    cols = np.arange(w_, dtype=itype)
    left = np.where(selected, cols, -far)
    np.maximum.accumulate(left, axis=1, out=left)
    right = np.where(selected, cols, far)
    right = np.minimum.accumulate(right[:, ::-1], axis=1)[:, ::-1]
    along = np.minimum(cols - left, right - cols)  # h: px to the nearest selected pixel in the row
    del left, right
    np.minimum(along, itype(top + 1), out=along)  # farther never counts; makes h a small table index
    rows = np.arange(h_, dtype=itype)[:, None]
    hs = np.arange(top + 2, dtype=np.float64)
    count = np.zeros((h_, w_), np.uint8)
    for k in range(_EDGE_SAMPLES):
        r = radius + (k + 0.5) / _EDGE_SAMPLES
        # T for each h; rows that do not reach get -far, whose interval covers nothing.
        table = np.where(hs <= r, np.floor(np.sqrt(np.maximum(r * r - hs * hs, 0.0))), -far).astype(itype)
        span = table[along]
        down = rows + span
        _running_max_down(down)
        covered = down >= rows
        up = rows - span
        _running_min_up(up)
        covered |= up <= rows
        count += covered
    # count 0..4 -> 0..255 (4 * 64 = 256 clips to 255).
    return np.minimum(count.astype(np.uint16) * (256 // _EDGE_SAMPLES), 255).astype(np.uint8)


# numpy's accumulate along axis 0 walks memory column by column (20x slower
# than this row loop on a 4096^2 array).
def _running_max_down(a: np.ndarray) -> None:
    for y in range(1, a.shape[0]):
        np.maximum(a[y], a[y - 1], out=a[y])


def _running_min_up(a: np.ndarray) -> None:
    for y in range(a.shape[0] - 2, -1, -1):
        np.minimum(a[y], a[y + 1], out=a[y])


def _margin_box(rect: Rect, margin: int, width: int, height: int) -> Rect:
    x0, y0, x1, y1 = rect
    return clip((x0 - margin, y0 - margin, x1 + margin, y1 + margin), width, height)


def grow(mask: np.ndarray, px: float) -> np.ndarray:
    """The selection grown outward by `px` px (>= 0) with a round (Euclidean)
    brush: uint8 HxW, antialiased edge.

    Works on the selection's shape (mask >= 128): a 10 x 10 square grown by 3
    becomes 16 x 16 with rounded corners (the disc's). Nothing is ever
    deselected: the result is max(mask, grown), so faint soft edges beyond the
    reach stay as they were. Feather afterwards for a soft edge. px = 0
    returns a copy."""
    _check_mask(mask)
    height, width = mask.shape
    # Beyond the canvas diagonal every radius gives the same result; the cap keeps positions small.
    px = min(_check_px("grow distance", px), math.hypot(width, height) + 2)
    out = mask.copy()
    core = bounds(mask >= THRESHOLD)
    if px == 0 or core is None:
        return out
    box = _margin_box(core, math.ceil(px) + 2, width, height)
    view = out[slices(box)]
    np.maximum(view, _disc_cover(mask[slices(box)] >= THRESHOLD, px), out=view)
    return out


def shrink(mask: np.ndarray, px: float, outside_selected: bool = False) -> np.ndarray:
    """The selection shrunk inward by `px` px (>= 0) with a round brush:
    uint8 HxW, antialiased edge. A 10 x 10 square shrunk by 3 becomes 4 x 4.

    Works on the selection's shape (mask >= 128) and never adds selection: the
    result is min(mask, shrunk). outside_selected: treat the area beyond the
    canvas edge as selected, so a selection touching the edge does not pull
    away from it (False: it does, like any other unselected area). px = 0
    returns a copy."""
    _check_mask(mask)
    height, width = mask.shape
    px = min(_check_px("shrink distance", px), math.hypot(width, height) + 2)
    if px == 0:
        return mask.copy()
    core = bounds(mask >= THRESHOLD)
    out = np.zeros_like(mask)
    if core is None:
        return out
    # Beyond a 2 px ring of unselected pixels around the shape nothing can be
    # nearer than that ring, so only this box needs computing.
    box = _margin_box(core, 2, width, height)
    inside = mask[slices(box)] >= THRESHOLD
    # One pixel of canvas-edge border, selected or not as asked (inner sides
    # of the box already have the unselected ring, so padding there is harmless).
    padded = np.pad(inside, 1, constant_values=bool(outside_selected))
    kept = 255 - _disc_cover(~padded, px)[1:-1, 1:-1]
    out[slices(box)] = np.minimum(mask[slices(box)], kept)
    return out


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """The mask softened by a gaussian blur: uint8 HxW. radius px (>= 0) is
    how far the softening reaches either side of an edge: the gaussian's
    standard deviation is radius / 2, so a hard edge ramps from ~2% to ~98%
    over +-radius px. Pixels beyond the canvas count as copies of the edge
    pixels (Pillow's behaviour), so a selection touching the edge stays full there."""
    _check_mask(mask)
    return _blur(mask, _check_px("feather radius", radius))


def _blur(mask: np.ndarray, radius: float) -> np.ndarray:
    if radius == 0:
        return mask.copy()
    image = Image.fromarray(mask, "L").filter(ImageFilter.GaussianBlur(radius / 2))
    return np.asarray(image).copy()


def resize(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask resampled to width x height px with Lanczos (uint8 HxW), as
    the layers are when the whole image is scaled or upscaled."""
    _check_mask(mask)
    return np.array(Image.fromarray(mask, "L").resize((width, height), Image.Resampling.LANCZOS))


def invert(mask: np.ndarray) -> np.ndarray:
    """255 - mask: selected becomes unselected and back (uint8 HxW)."""
    _check_mask(mask)
    return np.subtract(255, mask, dtype=np.uint8)


def rectangle(width: int, height: int, rect: Rect, feather: float = 0) -> np.ndarray:
    """A width x height mask with `rect` (x0, y0, x1, y1) px, half-open, selected
    (255), the rest 0; clipped to the canvas, corners given in either order.
    feather > 0 (px) softens it as the module's feather() does."""
    width, height = _check_size(width, height)
    radius = _check_px("feather radius", feather)
    try:
        x0, y0, x1, y1 = (int(v) for v in rect)
    except (TypeError, ValueError):
        raise MaskError(f"rectangle needs (x0, y0, x1, y1) in whole pixels, got {rect!r}") from None
    out = np.zeros((height, width), np.uint8)
    box = clip((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), width, height)
    out[slices(box)] = 255
    return _blur(out, radius)


def lasso(width: int, height: int, points: Sequence[tuple[float, float]]) -> np.ndarray:
    """A width x height mask of the polygon through `points` [(x, y), ...] px
    (closed automatically; continuous coordinates, pixel (i, j) spans
    [i, i+1) x [j, j+1)), antialiased: 0..255 is the pixel's area inside,
    exact across each of LASSO_SUBROWS horizontal lines per pixel row. An
    outline that crosses itself fills by the even-odd rule (Qt's default, what
    a QPainterPath preview shows). Fewer than 3 points select nothing."""
    width, height = _check_size(width, height)
    try:
        pts = np.array([(float(x), float(y)) for x, y in points], np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise MaskError("lasso points must be (x, y) pairs of numbers") from None
    if not np.isfinite(pts).all():
        raise MaskError("lasso points must be finite numbers")
    out = np.zeros((height, width), np.uint8)
    if len(pts) < 3:
        return out
    box = clip((math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min()),
                math.ceil(pts[:, 0].max()) + 1, math.ceil(pts[:, 1].max()) + 1), width, height)
    if box[2] <= box[0] or box[3] <= box[1]:
        return out
    out[slices(box)] = _polygon_cover(pts - (box[0], box[1]), box[2] - box[0], box[3] - box[1])
    return out


def _polygon_cover(pts: np.ndarray, w: int, h: int) -> np.ndarray:
    """uint8 hxw coverage of the polygon `pts` (N x 2, px relative to the
    array's corner). A scanline fill done in bulk: every edge is cut with
    every sub-row it spans, the cuts of each sub-row are sorted and paired
    into spans (even-odd), and each span adds its exact horizontal overlap
    with every pixel through a difference array that a cumulative sum turns
    into coverage. Pillow's polygon() was not used because it snaps vertices
    to whole pixels and includes the outline, which biases the area."""
    k = LASSO_SUBROWS
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    sloped = y0 != y1  # horizontal edges cut no sub-row
    x0, y0, x1, y1 = x0[sloped], y0[sloped], x1[sloped], y1[sloped]
    # Sub-row j lies at y = (j + 0.5) / k; an edge cuts those with
    # low <= y < high (half-open, so a shared vertex is counted once).
    first = np.clip(np.ceil(np.minimum(y0, y1) * k - 0.5), 0, h * k).astype(np.int64)
    stop = np.clip(np.ceil(np.maximum(y0, y1) * k - 0.5), 0, h * k).astype(np.int64)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros((h, w), np.uint8)
    edge = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    j = first[edge] + (np.arange(total) - starts[edge])
    y = (j + 0.5) / k
    x = x0[edge] + (y - y0[edge]) * ((x1 - x0) / (y1 - y0))[edge]
    order = np.lexsort((x, j))
    j, x = j[order], x[order]
    # A closed outline cuts each sub-row an even number of times: pair them up.
    rows = j[0::2] // k
    left = np.clip(x[0::2], 0, w)
    right = np.clip(x[1::2], 0, w)
    ia, ib = np.floor(left).astype(np.int64), np.floor(right).astype(np.int64)
    fa, fb = left - ia, right - ib
    stride = w + 2
    out = np.empty((h, w), np.uint8)
    # Strips of rows keep the float64 difference array small on big canvases.
    band = max(1, _LASSO_BUDGET // stride)
    bounds_at = np.searchsorted(rows, np.arange(0, h + band, band))
    for n, top in enumerate(range(0, h, band)):
        rows_here = min(band, h - top)
        sl = slice(bounds_at[n], bounds_at[n + 1])
        base = (rows[sl] - top) * stride
        a, b, pa, pb = ia[sl], ib[sl], fa[sl], fb[sl]
        index = np.concatenate((base + a, base + a + 1, base + b, base + b + 1))
        weight = np.concatenate((1 - pa, pa, pb - 1, -pb)) / k
        diff = np.bincount(index, weight, minlength=rows_here * stride).reshape(rows_here, stride)
        cover = np.cumsum(diff, axis=1)[:, :w]
        out[top:top + rows_here] = np.clip(cover * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def combine(mask: np.ndarray, new: np.ndarray, op: str) -> np.ndarray:
    """A new selection `new` merged into `mask` (both uint8 HxW, same size):
    replace = new; add = max; subtract = mask * (1 - new/255), so a soft new
    edge removes softly; intersect = min."""
    _check_mask(mask)
    _check_mask(new, "new selection")
    if mask.shape != new.shape:
        (h, w), (nh, nw) = mask.shape, new.shape
        raise MaskError(f"selections differ in size: {w} x {h} vs {nw} x {nh}")
    if op == "replace":
        return new.copy()
    if op == "add":
        return np.maximum(mask, new)
    if op == "subtract":
        kept = mask.astype(np.uint16) * (255 - new.astype(np.uint16))
        return ((kept + 127) // 255).astype(np.uint8)
    if op == "intersect":
        return np.minimum(mask, new)
    raise MaskError(f"unknown selection operation {op!r}; expected one of {', '.join(COMBINE_OPS)}")


def bbox(mask: np.ndarray) -> Rect | None:
    """Rect (x0, y0, x1, y1) px of the nonzero (at all selected) pixels, None if nothing is selected."""
    _check_mask(mask)
    return bounds(mask)


def apply_within(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`after` shown through `mask` over `before`: uint8 HxWxC each (same
    shape) and a uint8 HxW mask -> uint8 HxWxC, every channel
    before * (1 - mask/255) + after * mask/255, rounded. Where the mask is 0
    the result is `before` bit for bit, so a feathered edge changes nothing
    beyond its reach; where it is 255 it is `after`. Channels are mixed as
    they are (straight alpha included), which is exact when both share alpha,
    as a filter's result does."""
    _check_mask(mask)
    if before.shape != after.shape or before.shape[:2] != mask.shape:
        raise MaskError(f"image, result and mask differ in size: {before.shape[1]} x {before.shape[0]}, "
                        f"{after.shape[1]} x {after.shape[0]}, {mask.shape[1]} x {mask.shape[0]}")
    weight = mask.astype(np.float32)[..., None] * np.float32(1.0 / 255.0)
    # before + (after - before) * w is exact at w = 0 and w = 1 (integers in
    # float32), unlike before * (1 - w) + after * w.
    base = before.astype(np.float32)
    mixed = base + (after.astype(np.float32) - base) * weight
    return np.rint(mixed).astype(np.uint8)


def mask_from_image(image: np.ndarray) -> np.ndarray:
    """A selection drawn as a picture: uint8 HxWx3/4 -> uint8 HxW. A picture
    with transparency selects where it is opaque (its alpha); an opaque one
    where it is light (its luma, white = selected), the two ways painting
    tools export masks."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise MaskError("a mask picture must be an RGB or RGBA image")
    if image.shape[2] == 4 and (image[..., 3] < 255).any():
        return image[..., 3].copy()
    rgb = image[..., :3].astype(np.float32)
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)
