"""Seam blending (engine/seam.py): a fill's colour step at the hole's border
goes, its texture stays."""

import numpy as np

from studio.engine.seam import blend_seam


def test_a_fill_paler_than_its_surroundings_meets_them_and_keeps_its_texture():
    rng = np.random.default_rng(0)
    picture = np.full((80, 100, 3), 100.0, np.float32) + rng.normal(0, 2, (80, 100, 3)).astype(np.float32)
    hole = np.zeros((80, 100), bool)
    hole[25:55, 30:70] = True
    texture = rng.normal(0, 6, (30, 40, 3)).astype(np.float32)
    filled = picture.copy()
    filled[hole] = (140 + texture).reshape(-1, 3)  # 40 levels too pale, with its own grain
    out = blend_seam(filled, hole)
    assert np.array_equal(out[~hole], filled[~hole])  # nothing outside the hole moves
    assert abs(out[hole].mean() - 100) < 3  # the step is gone, inside too
    grain = (out[hole] - out[hole].mean(axis=0)).reshape(30, 40, 3)
    assert np.corrcoef(grain.ravel(), texture.ravel())[0, 1] > 0.9  # the texture is the fill's own


def test_a_hole_with_no_known_pixels_or_no_hole_is_left_alone():
    image = np.random.default_rng(1).integers(0, 256, (20, 20, 3)).astype(np.uint8)
    assert np.array_equal(blend_seam(image, np.ones((20, 20), bool)), image)
    assert np.array_equal(blend_seam(image, np.zeros((20, 20), bool)), image)
