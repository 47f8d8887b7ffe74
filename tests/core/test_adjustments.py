"""Image > Adjust's maths (core/adjustments.py), and its edit as one exact undo step."""

import numpy as np
import pytest

from studio.core.adjustments import Adjustment, AdjustmentError, adjust_layer
from studio.core.document import Document, DocumentError


def pixels(seed=0, h=24, w=32):
    p = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    p[:3, :, 3] = 0  # colour under zero alpha is kept as it is
    return p


def test_neutral_settings_change_nothing_and_curves_move_the_right_way():
    p = pixels()
    for kind in ("brightness-contrast", "levels"):
        assert np.array_equal(Adjustment.of(kind).apply(p), p)
    grey = np.full((1, 3, 4), 128, np.uint8)
    grey[0, :, 0] = (30, 128, 220)
    assert Adjustment.of("brightness-contrast", brightness=40).apply(grey)[0, 1, 0] > 128
    stretched = Adjustment.of("brightness-contrast", contrast=50).apply(grey)[0, :, 0]
    assert stretched[0] < 30 and stretched[2] > 220
    levelled = Adjustment.of("levels", black=30, white=220).apply(grey)[0, :, 0]
    assert levelled[0] == 0 and levelled[2] == 255
    red = np.zeros((1, 1, 4), np.uint8)
    red[..., 0], red[..., 3] = 200, 255
    turned = Adjustment.of("hue-saturation", hue=120).apply(red)[0, 0]
    assert turned[1] > 150 and turned[0] < 30  # red turned a third of the way round: green
    assert np.ptp(Adjustment.of("hue-saturation", saturation=-100).apply(red)[0, 0, :3]) == 0  # grey
    out = Adjustment.of("hue-saturation", lightness=50, hue=10).apply(p)
    assert np.array_equal(out[..., 3], p[..., 3]) and np.array_equal(out[:3], p[:3])


@pytest.mark.parametrize("kind, values, message", [
    ("blur", {}, "unknown adjustment"), ("levels", {"black": 200, "white": 100}, "below white"),
    ("levels", {"gamma": float("nan")}, "gamma must be"), ("hue-saturation", {"tint": 1}, "no parameter 'tint'"),
])
def test_bad_settings_are_one_line_errors(kind, values, message):
    with pytest.raises(AdjustmentError, match=message):
        Adjustment.of(kind, **values)


def test_the_active_layer_inside_the_selection_as_one_exact_undo_step():
    doc = Document.from_image(pixels(1)[..., :3], "photo")
    before = doc.layers[0].pixels.copy()
    mask = np.zeros((24, 32), np.uint8)
    mask[5:15, 8:20] = 255
    doc.mask = mask
    doc.apply(adjust_layer(doc, Adjustment.of("levels", black=40, white=200)))
    after = doc.layers[0].pixels
    assert not np.array_equal(after[5:15, 8:20], before[5:15, 8:20])
    outside = mask == 0
    assert np.array_equal(after[outside], before[outside])
    assert doc.undo()
    assert np.array_equal(doc.layers[0].pixels, before)


def test_a_locked_layer_is_refused():
    doc = Document.from_image(pixels(2)[..., :3], "photo")
    doc.layers[0].locked = True
    with pytest.raises(DocumentError, match="locked"):
        adjust_layer(doc, Adjustment.of("levels", gamma=2.0))
