import math

import numpy as np
import pytest

from studio.core import mask as masks
from studio.core.mask import MaskError


def square(size=40, rect=(10, 10, 20, 20)):
    return masks.rectangle(size, size, rect)


def brute_force_grow(selected: np.ndarray, radius: float) -> np.ndarray:
    """Reference: every pixel against every selected pixel, same edge sampling as mask.py."""
    h, w = selected.shape
    ys, xs = np.nonzero(selected)
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.sqrt(((yy[..., None] - ys) ** 2 + (xx[..., None] - xs) ** 2).min(axis=-1))
    count = sum((d <= radius + (k + 0.5) / 4).astype(int) for k in range(4))
    return np.minimum(count * 64, 255).astype(np.uint8)


def test_grow_square_by_3_is_16_by_16_with_round_corners():
    grown = masks.grow(square(), 3)
    assert masks.bbox(grown) == (7, 7, 23, 23)
    # Straight sides are exactly 3 px further out and fully selected...
    assert (grown[10:20, 7:23] == 255).all() and (grown[7:23, 10:20] == 255).all()
    # ...the corners are the disc's: the corner pixel is 4.24 px from the square, out of reach.
    assert grown[7, 7] == 0 and grown[22, 22] == 0
    assert 0 < grown[7, 8] < 255  # 3.6 px: partly inside the antialiased edge
    assert (grown[square() == 255] == 255).all()


def test_grow_matches_a_brute_force_disc_dilation():
    rng = np.random.default_rng(7)
    for radius in (0.5, 1, 2.5, 4, 7.3):
        mask = ((rng.random((31, 27)) > 0.97) * 255).astype(np.uint8)
        assert (masks.grow(mask, radius) == np.maximum(mask, brute_force_grow(mask >= 128, radius))).all()


def test_shrink_square_by_3_is_4_by_4():
    shrunk = masks.shrink(square(), 3)
    assert masks.bbox(shrunk) == (13, 13, 17, 17)
    assert (shrunk[13:17, 13:17] == 255).all()
    assert shrunk.sum() == 16 * 255


def test_shrink_is_grow_of_the_outside():
    rng = np.random.default_rng(8)
    mask = masks.feather(((rng.random((40, 50)) > 0.4) * 255).astype(np.uint8), 3)
    shrunk = masks.shrink(mask, 2.5)
    outside = np.pad(mask < 128, 1, constant_values=True)
    expected = np.minimum(mask, 255 - brute_force_grow(outside, 2.5)[1:-1, 1:-1])
    assert (shrunk == expected).all()


def test_shrink_at_the_canvas_edge():
    everything = np.full((30, 30), 255, np.uint8)
    assert masks.bbox(masks.shrink(everything, 5)) == (5, 5, 25, 25)
    assert (masks.shrink(everything, 5, outside_selected=True) == 255).all()


def test_grow_never_deselects_and_shrink_never_selects():
    rng = np.random.default_rng(9)
    soft = masks.feather(((rng.random((60, 60)) > 0.8) * 255).astype(np.uint8), 4)
    assert (masks.grow(soft, 3) >= soft).all()
    assert (masks.shrink(soft, 3) <= soft).all()
    assert (masks.grow(soft, 0) == soft).all() and masks.grow(soft, 0) is not soft
    assert (masks.shrink(soft, 0) == soft).all()
    empty = np.zeros((20, 20), np.uint8)
    assert not masks.grow(empty, 5).any() and not masks.shrink(empty, 5).any()


def test_grow_on_a_big_canvas_is_the_right_size():
    mask = masks.rectangle(4096, 4096, (1000, 1200, 3000, 2500))
    grown = masks.grow(mask, 40)
    assert masks.bbox(grown) == (960, 1160, 3040, 2540)
    assert grown[1850, 960] == 255 and grown[1850, 959] == 0
    assert masks.bbox(masks.shrink(mask, 40)) == (1040, 1240, 2960, 2460)


def test_grow_on_a_canvas_too_wide_for_16_bit_positions():
    mask = np.zeros((3, 17000), np.uint8)
    mask[1, 16990] = 255
    assert masks.bbox(masks.grow(mask, 2)) == (16988, 0, 16993, 3)


def test_invert_twice_is_identity():
    rng = np.random.default_rng(1)
    mask = rng.integers(0, 256, (33, 21), dtype=np.uint8)
    once = masks.invert(mask)
    assert (once.astype(int) == 255 - mask).all()
    assert (masks.invert(once) == mask).all()


def test_rectangle_clips_and_accepts_corners_in_any_order():
    r = masks.rectangle(20, 10, (15, 8, 5, -3))
    assert masks.bbox(r) == (5, 0, 15, 8)
    assert r.sum() == 10 * 8 * 255
    assert not masks.rectangle(20, 10, (30, 30, 40, 40)).any()


def test_feather_softens_an_edge_symmetrically_over_its_radius():
    mask = np.zeros((100, 200), np.uint8)
    mask[:, 100:] = 255
    soft = masks.feather(mask, 10)
    row = soft[50].astype(int)
    assert abs((row[99] + row[100]) / 2 - 127.5) <= 2  # the 50% point stays on the edge
    assert row[89] <= 8 and row[110] >= 247             # ~2% / ~98% at radius px out / in
    assert (np.diff(row) >= 0).all()
    assert (masks.rectangle(200, 100, (0, 0, 200, 100), feather=10) == 255).all()  # canvas edge stays full
    assert (masks.feather(mask, 0) == mask).all()


def test_lasso_of_a_rectangle_is_the_rectangle():
    lasso = masks.lasso(40, 30, [(10, 5), (30, 5), (30, 20), (10, 20)])
    assert (lasso == masks.rectangle(40, 30, (10, 5, 30, 20))).all()


def test_lasso_edges_are_antialiased_by_area():
    lasso = masks.lasso(40, 30, [(10.5, 5.25), (30.5, 5.25), (30.5, 20.75), (10.5, 20.75)])
    assert (lasso[6:20, 11:30] == 255).all()
    assert lasso[5, 15] == 191     # 3/4 of the row inside
    assert lasso[15, 10] == 128    # half the column inside
    assert lasso[5, 10] == 96      # 3/4 * 1/2
    assert not lasso[:5].any() and not lasso[:, :10].any() and not lasso[21:].any() and not lasso[:, 31:].any()


def test_lasso_area_of_a_circle_and_a_triangle():
    circle = [(200 + 150 * math.cos(a), 200 + 150 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 2000,
                                                                                         endpoint=False)]
    area = masks.lasso(400, 400, circle).sum() / 255
    polygon_area = 0.5 * 2000 * 150 ** 2 * math.sin(2 * math.pi / 2000)
    assert abs(area - polygon_area) < 0.001 * polygon_area
    triangle = masks.lasso(200, 200, [(10, 10), (190, 10), (10, 190)])
    assert abs(triangle.sum() / 255 - 180 * 180 / 2) < 5


def test_lasso_strips_give_the_same_result(monkeypatch):
    points = [(3, 4), (180, 20), (120, 190), (60, 120), (10, 170)]
    whole = masks.lasso(200, 200, points)
    monkeypatch.setattr(masks, "_LASSO_BUDGET", 500)  # forces 2-row strips
    assert (masks.lasso(200, 200, points) == whole).all()


def test_lasso_edge_cases():
    assert not masks.lasso(20, 20, [(1, 1), (10, 10)]).any()
    assert (masks.lasso(20, 20, [(-5, -5), (30, -5), (30, 30), (-5, 30)]) == 255).all()
    # Even-odd: a loop drawn twice over itself encloses nothing.
    twice = [(2, 2), (18, 2), (18, 18), (2, 18)] * 2
    assert not masks.lasso(20, 20, twice).any()
    with pytest.raises(MaskError, match="finite"):
        masks.lasso(20, 20, [(0, 0), (1, float("inf")), (2, 2)])


def test_combine_ops():
    a = np.array([[0, 255, 255, 100]], np.uint8)
    b = np.array([[255, 255, 0, 51]], np.uint8)
    assert (masks.combine(a, b, "replace") == b).all()
    assert (masks.combine(a, b, "add") == [[255, 255, 255, 100]]).all()
    assert (masks.combine(a, b, "subtract") == [[0, 0, 255, 80]]).all()  # 100 * (1 - 51/255) = 80
    assert (masks.combine(a, b, "intersect") == [[0, 255, 0, 51]]).all()
    with pytest.raises(MaskError, match="operation"):
        masks.combine(a, b, "xor")
    with pytest.raises(MaskError, match="differ in size"):
        masks.combine(a, np.zeros((2, 4), np.uint8), "add")


def test_bbox():
    mask = np.zeros((10, 12), np.uint8)
    assert masks.bbox(mask) is None
    mask[2, 3] = 1
    mask[7, 9] = 255
    assert masks.bbox(mask) == (3, 2, 10, 8)


def test_bad_input_raises_one_line_errors():
    with pytest.raises(MaskError, match="uint8 HxW") as caught:
        masks.grow(np.zeros((4, 4, 4), np.uint8), 2)
    assert "\n" not in str(caught.value)
    with pytest.raises(MaskError, match=">= 0"):
        masks.shrink(np.zeros((4, 4), np.uint8), -1)
    with pytest.raises(MaskError, match="number"):
        masks.feather(np.zeros((4, 4), np.uint8), "wide")
    with pytest.raises(MaskError, match="size"):
        masks.rectangle(0, 10, (0, 0, 1, 1))


def test_apply_within_leaves_pixels_beyond_a_feathered_edge_untouched():
    rng = np.random.default_rng(3)
    before = rng.integers(0, 256, (60, 60, 4), dtype=np.uint8)
    after = rng.integers(0, 256, (60, 60, 4), dtype=np.uint8)
    soft = masks.feather(masks.rectangle(60, 60, (20, 20, 40, 40)), 6)
    out = masks.apply_within(before, after, soft)
    assert (soft == 0).any() and (soft == 255).any() and ((soft > 0) & (soft < 255)).any()
    assert np.array_equal(out[soft == 0], before[soft == 0])
    assert np.array_equal(out[soft == 255], after[soft == 255])
    edge = (soft > 0) & (soft < 255)
    w = soft[edge].astype(float)[:, None] / 255
    assert np.abs(out[edge] - (before[edge] * (1 - w) + after[edge] * w)).max() <= 0.5 + 1e-6


def test_apply_within_refuses_other_sizes_in_one_line():
    image = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(MaskError, match="differ in size") as info:
        masks.apply_within(image, image, np.zeros((10, 10), np.uint8))
    assert "\n" not in str(info.value)
