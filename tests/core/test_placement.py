"""core/placement.py: where a picture goes on a canvas of another shape."""

from __future__ import annotations

import numpy as np

from studio.core.placement import contain_layer, contain_rect, cover_rect, fit_within


def test_contain_fits_inside_centred_with_the_aspect_kept():
    assert contain_rect(128, 128, (0, 0, 160, 100)) == (30, 0, 130, 100)  # a square on a wide canvas
    assert contain_rect(64, 32, (10, 10, 50, 110)) == (10, 50, 50, 70)  # wide in a tall box
    assert contain_rect(1, 1000, (0, 0, 10, 10)) == (4, 0, 5, 10)  # never thinner than a pixel


def test_a_placed_frame_is_neither_cut_nor_stretched():
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[:, :16] = 255  # left half white: a stretch or a crop would move the edge
    layer = contain_layer(frame, 100, 60, (0, 0, 100, 60))
    assert layer.shape == (60, 100, 4)
    alpha = layer[..., 3]
    assert alpha[:, 20:80].all() and not alpha[:, :20].any() and not alpha[:, 80:].any()
    row = layer[30, 20:80, 0].astype(int)
    assert row[:28].min() > 200 and row[32:].max() < 55  # the edge in the middle of the 60 px square
    # A fill still covers its box (and crops what passes it).
    assert cover_rect(frame, 100, 60, (0, 0, 100, 60))[..., 3].all()
    assert fit_within(frame, 16, 100).shape == (16, 16, 4)
