import math

import numpy as np
import pytest

from studio.core.brush import BrushError, Stroke, pick_colour
from studio.core.commands import PixelEdit
from studio.core.document import Document


def transparent(w=40, h=40):
    return np.zeros((h, w, 4), np.uint8)


def centre_distance(h, w, cx, cy):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)


def test_single_hard_dab_covers_the_disc_with_a_one_pixel_antialiased_edge():
    layer = transparent()
    stroke = Stroke(layer, "paint", size=10, hardness=1, opacity=1, colour=(255, 0, 0))
    rect = stroke.add(20, 20)
    d = centre_distance(40, 40, 20, 20)
    alpha = layer[..., 3].astype(int)
    # Radius 5: centres within 4.5 px are fully inside, beyond 5.5 px fully outside,
    # in between the coverage falls linearly (0.5 at the circle itself).
    assert (alpha[d <= 4.5] == 255).all()
    assert (layer[d >= 5.5] == 0).all()
    ring = (d > 4.5) & (d < 5.5)
    assert np.abs(alpha[ring] - np.rint(255 * (5.5 - d[ring]))).max() <= 1
    assert abs(alpha.sum() / 255 - math.pi * 25) < 0.02 * math.pi * 25
    # Straight alpha over transparency: every touched pixel is pure red, no dark fringe.
    assert (layer[alpha > 0][:, :3] == (255, 0, 0)).all()
    assert rect == (14, 14, 26, 26)


def test_soft_dab_falls_off_smoothly_to_the_edge():
    layer = transparent()
    Stroke(layer, "paint", size=20, hardness=0, colour=(0, 0, 255)).add(20, 20)
    alpha = layer[..., 3].astype(int)
    row = alpha[19, 20:32]  # from the centre outward
    assert row[0] > 240
    assert (np.diff(row) <= 0).all() and row[-1] == 0
    assert 40 < alpha[19, 25] < 215  # halfway out the dab is clearly partial
    half = transparent()
    Stroke(half, "paint", size=20, hardness=0.5, colour=(0, 0, 255)).add(20, 20)
    d = centre_distance(40, 40, 20, 20)
    assert (half[..., 3][d <= 0.5 * 10.5] == 255).all()  # full inside hardness * (r + 0.5)
    assert (half[..., 3][d >= 10.5] == 0).all()


def test_erase_lowers_alpha_and_keeps_the_colour():
    layer = np.zeros((40, 40, 4), np.uint8)
    layer[...] = (10, 200, 30, 255)
    Stroke(layer, "erase", size=10, opacity=0.5).add(20, 20)
    assert tuple(layer[19, 19]) == (10, 200, 30, 128)  # 255 * (1 - 0.5) rounded half up
    assert (layer[..., :3] == (10, 200, 30)).all()
    assert (layer[0, 0] == (10, 200, 30, 255)).all()
    Stroke(layer, "erase", size=10, opacity=1).add(20, 20)
    assert layer[19, 19, 3] == 0


def test_overlapping_and_self_crossing_dabs_never_exceed_the_stroke_opacity():
    layer = np.full((60, 60, 4), 255, np.uint8)  # opaque white
    stroke = Stroke(layer, "paint", size=12, hardness=1, opacity=0.5, colour=(0, 0, 0))
    for x, y in [(10, 30), (50, 30), (10, 30), (30, 10), (30, 50), (12, 28)]:  # back and forth, crossing itself
        stroke.add(x, y)
    # Half black over white is 127.5 -> 128 at most, however many dabs landed on a pixel.
    assert layer[..., :3].min() == 128
    assert (layer[30, 15:45, :3] == 128).all()
    assert (layer[..., 3] == 255).all()
    clear = transparent(60, 60)
    stroke = Stroke(clear, "paint", size=12, opacity=0.5, colour=(9, 9, 9))
    for x in (10, 50, 10, 50):
        stroke.add(x, 30)
    assert clear[..., 3].max() == 128


def test_paint_over_half_transparent_is_straight_alpha_source_over():
    layer = np.zeros((20, 20, 4), np.uint8)
    layer[...] = (0, 0, 255, 128)
    Stroke(layer, "paint", size=8, opacity=0.5, colour=(255, 0, 0)).add(10, 10)
    # W3C source-over: a = 0.5 + 128/255 * 0.5 = 0.751; red = 0.5 / a; blue = (128/255 * 0.5) / a.
    a = 0.5 + 128 / 255 * 0.5
    expected = (round(255 * 0.5 / a), 0, round(255 * (128 / 255 * 0.5) / a), round(255 * a))
    assert np.abs(layer[9, 9].astype(int) - expected).max() <= 1
    assert tuple(layer[0, 0]) == (0, 0, 255, 128)


def test_dabs_are_spaced_along_the_segment_and_the_line_is_solid():
    layer = transparent(80, 40)
    stroke = Stroke(layer, "paint", size=10, colour=(0, 255, 0))
    stroke.add(10, 20)
    rect = stroke.add(60, 20)
    assert (layer[16:24, 10:60, 3] == 255).all()  # no gaps between dabs
    assert (layer[:14, :, 3] == 0).all() and (layer[26:, :, 3] == 0).all()
    assert rect[0] <= 10 and rect[2] >= 66


def test_how_the_mouse_reports_the_path_does_not_change_the_stroke():
    one, many = transparent(80, 40), transparent(80, 40)
    a = Stroke(one, "paint", size=6, hardness=0.3, colour=(1, 2, 3), spacing=0.25)
    a.add(10, 20)
    a.add(70, 20)
    b = Stroke(many, "paint", size=6, hardness=0.3, colour=(1, 2, 3), spacing=0.25)
    for x in (10, 13.3, 27.9, 28.0, 51.2, 70):
        b.add(x, 20)
    assert np.abs(one.astype(int) - many.astype(int)).max() <= 1


def test_pressure_scales_size_and_optionally_opacity():
    small, half = transparent(), transparent()
    Stroke(small, "paint", size=10, colour=(5, 5, 5)).add(20, 20)
    Stroke(half, "paint", size=20, colour=(5, 5, 5)).add(20, 20, pressure=0.5)
    assert (small == half).all()
    fixed = transparent()
    Stroke(fixed, "paint", size=10, colour=(5, 5, 5), pressure_size=False, pressure_opacity=True).add(
        20, 20, pressure=0.5)
    assert fixed[19, 19, 3] == 128
    assert (fixed[..., 3] > 0).sum() == (small[..., 3] > 0).sum()
    nothing = transparent()
    assert Stroke(nothing, "paint", size=10).add(20, 20, pressure=0) is None
    assert not nothing.any()


def test_pressure_is_interpolated_along_a_segment():
    layer = transparent(120, 40)
    stroke = Stroke(layer, "paint", size=20, colour=(5, 5, 5))
    stroke.add(10, 20, pressure=0.1)
    stroke.add(110, 20, pressure=1.0)
    heights = (layer[..., 3] > 127).sum(axis=0)
    assert heights[15] < heights[60] < heights[105]


def test_sub_pixel_brush_paints_a_faint_single_pixel():
    layer = transparent(10, 10)
    Stroke(layer, "paint", size=0.4, colour=(200, 0, 0)).add(5.5, 5.5)
    assert layer[5, 5, 3] == round(0.4 * 255)
    assert (layer[..., 3] > 0).sum() == 1
    assert tuple(layer[5, 5, :3]) == (200, 0, 0)
    line = transparent(40, 10)
    stroke = Stroke(line, "paint", size=0.5, colour=(200, 0, 0))
    stroke.add(5, 5.5)
    stroke.add(35, 5.5)
    assert (line[5, 5:35, 3] > 100).all() and line[..., 3].max() <= 128


def test_mask_and_unmask_modes():
    mask = np.zeros((40, 40), np.uint8)
    mask[:, :20] = 200
    Stroke(mask, "mask", size=10, opacity=0.5).add(20, 20)
    assert mask[19, 15] == 200  # max(200, 128)
    assert mask[19, 22] == 128
    Stroke(mask, "mask", size=10, opacity=1).add(20, 20)
    assert mask[19, 19] == 255
    Stroke(mask, "unmask", size=10, opacity=0.5).add(20, 20)
    assert mask[19, 19] == 128
    assert mask[0, 0] == 200 and mask[0, 39] == 0


def test_finish_returns_exact_before_and_after_crops_for_undo():
    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (150, 170, 4), dtype=np.uint8)
    layer = original.copy()
    stroke = Stroke(layer, "paint", size=14, hardness=0.7, opacity=0.8, colour=(250, 20, 90))
    for x, y in [(20, 20), (150, 30), (60, 130), (140, 140)]:  # a zigzag over several 64 px tiles
        stroke.add(x, y)
    painted = layer.copy()
    rect, before, after = stroke.finish()
    x0, y0, x1, y1 = rect
    assert (before == original[y0:y1, x0:x1]).all()
    assert (after == painted[y0:y1, x0:x1]).all()
    # The rect is tight and holds every change.
    outside = np.ones(original.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (painted[outside] == original[outside]).all()
    changed = (painted != original).any(axis=2)
    assert changed[y0].any() and changed[y1 - 1].any() and changed[:, x0].any() and changed[:, x1 - 1].any()
    with pytest.raises(BrushError):
        stroke.add(1, 1)


def test_stroke_edit_undoes_and_redoes_through_the_document():
    original = np.zeros((100, 100, 4), np.uint8)
    original[..., 2:] = 255
    doc = Document.from_image(original.copy(), "Photo")
    stroke = Stroke(doc.active.pixels, "paint", size=9, colour=(255, 255, 0))
    stroke.add(10, 10)
    stroke.add(90, 80)
    painted = doc.active.pixels.copy()
    rect, before, after = stroke.finish()
    doc.apply(PixelEdit(doc.active_id, rect, before, after))
    assert (doc.active.pixels == painted).all()
    assert doc.undo()
    assert (doc.active.pixels == original).all()
    assert doc.redo()
    assert (doc.active.pixels == painted).all()


def test_finish_without_a_change_returns_none():
    layer = np.zeros((30, 30, 4), np.uint8)
    layer[...] = (1, 2, 3, 255)
    stroke = Stroke(layer, "paint", size=5, colour=(1, 2, 3))  # same colour over opaque: nothing changes
    assert stroke.add(10, 10) is not None
    assert stroke.finish() is None
    off = Stroke(layer, "paint", size=5)
    assert off.add(-50, -50) is None
    assert off.finish() is None


def test_add_returns_a_rect_holding_every_pixel_it_changed():
    layer = transparent(200, 200)
    stroke = Stroke(layer, "paint", size=17, hardness=0.2, colour=(3, 4, 5))
    previous = layer.copy()
    for x, y in [(30, 30), (170, 60), (100, 190)]:
        rect = stroke.add(x, y)
        changed = (layer != previous).any(axis=2)
        inside = np.zeros_like(changed)
        inside[rect[1]:rect[3], rect[0]:rect[2]] = True
        assert changed.any() and not (changed & ~inside).any()
        previous = layer.copy()


def test_cancel_restores_the_original_pixels():
    rng = np.random.default_rng(5)
    original = rng.integers(0, 256, (90, 90, 4), dtype=np.uint8)
    layer = original.copy()
    stroke = Stroke(layer, "erase", size=30)
    stroke.add(10, 10)
    stroke.add(80, 80)
    assert (layer != original).any()
    assert stroke.cancel() is not None
    assert (layer == original).all()


def test_a_dab_on_a_big_layer_keeps_only_the_touched_tiles():
    layer = np.zeros((4096, 4096, 4), np.uint8)
    stroke = Stroke(layer, "paint", size=40, colour=(1, 1, 1))
    stroke.add(2000, 2000)
    stroke.add(2010, 2000)
    assert 0 < stroke.nbytes <= 4 * 64 * 64 * 8  # at most four 64 px tiles of RGBA + float coverage


def test_bad_settings_raise_one_line_errors():
    layer = transparent()
    with pytest.raises(BrushError, match="mode"):
        Stroke(layer, "smudge")
    with pytest.raises(BrushError, match="HxW mask"):
        Stroke(layer, "mask")
    with pytest.raises(BrushError, match="HxWx4"):
        Stroke(np.zeros((4, 4), np.uint8), "paint")
    with pytest.raises(BrushError, match="size"):
        Stroke(layer, size=0)
    with pytest.raises(BrushError, match="opacity"):
        Stroke(layer, opacity=1.5)
    with pytest.raises(BrushError, match="colour"):
        Stroke(layer, colour=(0, 0, 256))
    with pytest.raises(BrushError, match="finite") as caught:
        Stroke(layer).add(float("nan"), 1)
    assert "\n" not in str(caught.value)


def test_pick_colour_single_pixel_and_alpha_weighted_average():
    image = np.zeros((10, 10, 4), np.uint8)
    image[...] = (0, 0, 255, 255)
    image[5, 5] = (255, 0, 0, 255)
    assert pick_colour(image, 5.7, 5.2) == (255, 0, 0)
    assert pick_colour(image, 2, 2) == (0, 0, 255)
    # Radius 1 covers the pixel and its 4 neighbours: 1 red + 4 blue.
    assert pick_colour(image, 5.5, 5.5, radius=1) == (51, 0, 204)
    # A transparent neighbour's stored RGB does not count.
    image[5, 6] = (0, 255, 0, 0)
    assert pick_colour(image, 5.5, 5.5, radius=1) == (64, 0, 191)
    clear = np.zeros((4, 4, 4), np.uint8)
    clear[..., 1] = 90
    assert pick_colour(clear, 1, 1, radius=2) == (0, 90, 0)
    assert pick_colour(image, -20, 99) == (0, 0, 255)  # off the canvas: nearest edge pixel
