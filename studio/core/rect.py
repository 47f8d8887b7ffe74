"""Integer pixel rectangles on the canvas.

A Rect is a plain tuple (x0, y0, x1, y1) in pixels, x right and y down,
half-open like Python slices: (0, 0, 2, 1) covers the pixels (0, 0) and (1, 0).
Tuples rather than a class so that commands, listeners and the UI can pass
them around and compare them without importing anything.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

Rect = tuple[int, int, int, int]

# The rect that covers nothing. Listeners receive it for changes that touch no
# pixels (None, by contrast, means "everything may have changed").
EMPTY: Rect = (0, 0, 0, 0)


def is_empty(rect: Rect) -> bool:
    """True when `rect` covers no pixel (zero or negative width or height)."""
    x0, y0, x1, y1 = rect
    return x1 <= x0 or y1 <= y0


def union(a: Rect, b: Rect) -> Rect:
    """The smallest rect covering both; an empty rect adds nothing."""
    if is_empty(a):
        return b
    if is_empty(b):
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def intersect(a: Rect, b: Rect) -> Rect | None:
    """The pixels both cover, or None when they do not overlap."""
    r = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return None if is_empty(r) else r


def clip(rect: Rect, width: int, height: int) -> Rect:
    """`rect` limited to a width x height canvas (px). The result is always
    well-formed (x0 <= x1, y0 <= y1); it is empty when nothing is left."""
    x0 = min(max(rect[0], 0), width)
    y0 = min(max(rect[1], 0), height)
    x1 = max(min(rect[2], width), x0)
    y1 = max(min(rect[3], height), y0)
    return (x0, y0, x1, y1)


def offset(rect: Rect, dx: int, dy: int) -> Rect:
    """`rect` moved by (dx, dy) px."""
    return (rect[0] + dx, rect[1] + dy, rect[2] + dx, rect[3] + dy)


def size(rect: Rect) -> tuple[int, int]:
    """(width, height) in px; (0, 0) for an empty rect."""
    return (0, 0) if is_empty(rect) else (rect[2] - rect[0], rect[3] - rect[1])


def slices(rect: Rect) -> tuple[slice, slice]:
    """Index for an HxW(xC) array: `pixels[slices(r)]` is the crop of r."""
    return (slice(rect[1], rect[3]), slice(rect[0], rect[2]))


def tiles(rect: Rect, tile: int = 256) -> Iterator[tuple[int, int]]:
    """(tx, ty) indices of the tile x tile squares that `rect` touches, row by row.
    Tile (tx, ty) covers x in [tx*tile, (tx+1)*tile), same for y."""
    if is_empty(rect):
        return
    x0, y0, x1, y1 = rect
    for ty in range(y0 // tile, (y1 - 1) // tile + 1):
        for tx in range(x0 // tile, (x1 - 1) // tile + 1):
            yield (tx, ty)


def tile_rect(tx: int, ty: int, width: int, height: int, tile: int = 256) -> Rect:
    """The pixels of tile (tx, ty) on a width x height canvas (edge tiles are smaller)."""
    return clip((tx * tile, ty * tile, (tx + 1) * tile, (ty + 1) * tile), width, height)


def bounds(plane: np.ndarray, least: int = 1) -> Rect | None:
    """The rect of the values >= least (default: the nonzero ones, e.g. of an
    alpha channel) of a 2-D array of unsigned ints or bools, None if none."""
    if plane.size == 0:
        return None
    rows = np.flatnonzero(plane.max(axis=1) >= least)
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(plane[top:bottom].max(axis=0) >= least)  # only the rows that have any
    return (int(cols[0]), top, int(cols[-1]) + 1, bottom)
