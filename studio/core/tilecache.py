"""A canvas-sized image kept up to date tile by tile.

The document's composite is expensive (every layer, float maths) but edits
are local: a brush dab touches one or two 256 px tiles of a 4096 px canvas.
So the composite lives in one uint8 buffer with a validity flag per tile;
an edit clears the flags of the tiles it touched and only those are rendered
again on the next read.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from studio.core.rect import Rect, clip, is_empty, slices, tile_rect, tiles

TILE = 256  # px; 256 KiB of RGBA per tile: big enough that per-tile overhead is small


class TileCache:
    """render(rect) -> uint8 hxwx4 of exactly that rect is called per stale tile.
    width, height: canvas size in px."""

    def __init__(self, width: int, height: int, render: Callable[[Rect], np.ndarray], tile: int = TILE) -> None:
        self.width, self.height, self.tile = width, height, tile
        self._render = render
        self._buffer = np.zeros((height, width, 4), np.uint8)
        self._valid = np.zeros(((height + tile - 1) // tile, (width + tile - 1) // tile), bool)

    def get(self, rect: Rect | None = None, copy: bool = True) -> np.ndarray:
        """uint8 hxwx4 pixels of `rect` (clipped to the canvas; None = all): a new
        array, or with copy=False a read-only view of the cache that is only
        valid until the next invalidate (saves copying 64 MiB per full read
        of a 4096 px canvas)."""
        rect = (0, 0, self.width, self.height) if rect is None else clip(rect, self.width, self.height)
        for tx, ty in tiles(rect, self.tile):
            if not self._valid[ty, tx]:
                t = tile_rect(tx, ty, self.width, self.height, self.tile)
                self._buffer[slices(t)] = self._render(t)
                self._valid[ty, tx] = True
        view = self._buffer[slices(rect)]
        if copy:
            return view.copy()
        view = view.view()
        view.flags.writeable = False
        return view

    def invalidate(self, rect: Rect | None = None) -> None:
        """Mark the tiles touching `rect` (None = all) for rendering again."""
        if rect is None:
            self._valid[:] = False
            return
        rect = clip(rect, self.width, self.height)
        if is_empty(rect):
            return
        t = self.tile
        self._valid[rect[1] // t:(rect[3] - 1) // t + 1, rect[0] // t:(rect[2] - 1) // t + 1] = False

    @property
    def stale(self) -> int:
        """Number of tiles that the next full read would render."""
        return int(self._valid.size - np.count_nonzero(self._valid))
