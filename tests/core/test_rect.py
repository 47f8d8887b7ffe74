import numpy as np

from studio.core.rect import EMPTY, bounds, clip, intersect, is_empty, offset, size, slices, tile_rect, tiles, union


def test_union_and_intersect():
    assert union((0, 0, 10, 10), (5, 5, 20, 8)) == (0, 0, 20, 10)
    assert union(EMPTY, (3, 4, 5, 6)) == (3, 4, 5, 6)
    assert union((3, 4, 5, 6), (9, 9, 9, 20)) == (3, 4, 5, 6)  # zero width adds nothing
    assert intersect((0, 0, 10, 10), (5, 5, 20, 8)) == (5, 5, 10, 8)
    assert intersect((0, 0, 10, 10), (10, 0, 20, 10)) is None  # half-open: touching edges do not overlap


def test_clip_is_always_well_formed():
    assert clip((-5, -5, 50, 50), 20, 10) == (0, 0, 20, 10)
    assert clip((30, 2, 40, 4), 20, 10) == (20, 2, 20, 4)
    assert is_empty(clip((30, 2, 40, 4), 20, 10))
    assert is_empty(clip((5, 5, 2, 8), 20, 10))
    assert size((2, 3, 7, 4)) == (5, 1)
    assert size((7, 3, 2, 4)) == (0, 0)
    assert offset((1, 2, 3, 4), -1, 10) == (0, 12, 2, 14)


def test_tiles_touched():
    assert list(tiles((0, 0, 256, 256))) == [(0, 0)]
    assert list(tiles((255, 255, 257, 257))) == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert list(tiles((300, 10, 301, 11), tile=100)) == [(3, 0)]
    assert list(tiles(EMPTY)) == []
    assert tile_rect(3, 1, 1000, 300) == (768, 256, 1000, 300)  # edge tiles are cut to the canvas


def test_slices_and_bounds():
    plane = np.zeros((8, 10), np.uint8)
    assert bounds(plane) is None
    plane[2, 3] = 1
    plane[5, 7] = 9
    assert bounds(plane) == (3, 2, 8, 6)
    assert plane[slices((3, 2, 8, 6))].shape == (4, 5)
