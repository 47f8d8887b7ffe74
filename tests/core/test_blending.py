"""Blend modes against hand-computed pixels and a scalar transcription of the
W3C Compositing and Blending formulas."""

import numpy as np
import pytest

from studio.core.blending import BLEND_MODES, BlendError, Scratch, composite_over, premultiply, unpremultiply

BACKDROP = (100, 150, 200)
SOURCE = (200, 100, 50)


def blend_one(backdrop, source, opacity=1.0, mode="normal") -> tuple[int, ...]:
    """One pixel through premultiply -> composite_over -> unpremultiply."""
    acc = premultiply(np.array([[backdrop]], np.uint8))
    composite_over(acc, np.array([[source]], np.uint8), opacity, mode)
    return tuple(int(v) for v in unpremultiply(acc)[0, 0])


def w3c(backdrop, source, opacity, mode) -> tuple[float, ...]:
    """The spec, straight alpha, one pixel, 0..255 floats (not rounded)."""
    cb = [v / 255 for v in backdrop[:3]]
    cs = [v / 255 for v in source[:3]]
    ab, as_ = backdrop[3] / 255, source[3] / 255 * opacity

    def b(x, y):  # B(Cb, Cs)
        if mode == "normal":
            return y
        if mode == "multiply":
            return x * y
        if mode == "screen":
            return x + y - x * y
        return 2 * x * y if x <= 0.5 else 1 - 2 * (1 - x) * (1 - y)  # overlay = hardlight(Cs, Cb)

    ao = as_ + ab * (1 - as_)
    if ao == 0:
        return (0.0, 0.0, 0.0, 0.0)
    co = [as_ * (1 - ab) * s + as_ * ab * b(x, s) + (1 - as_) * ab * x for x, s in zip(cb, cs)]
    return tuple([c / ao * 255 for c in co] + [ao * 255])


@pytest.mark.parametrize("mode, expected", [
    # Opaque source over opaque backdrop, worked out by hand in 0..255 units:
    ("normal", (200, 100, 50, 255)),
    # multiply: 200*100/255 = 78.43, 100*150/255 = 58.82, 50*200/255 = 39.22
    ("multiply", (78, 59, 39, 255)),
    # screen: 255 - (255-b)(255-s)/255: 255 - 155*55/255 = 221.57, 255 - 105*155/255 = 191.18,
    #         255 - 55*205/255 = 210.78
    ("screen", (222, 191, 211, 255)),
    # overlay: Cb=100 is dark -> 2*100*200/255 = 156.86; Cb=150, 200 are light ->
    #          255 - 2*105*155/255 = 127.35, 255 - 2*55*205/255 = 166.57
    ("overlay", (157, 127, 167, 255)),
])
def test_opaque_modes_match_hand_values(mode, expected):
    assert blend_one((*BACKDROP, 255), (*SOURCE, 255), 1.0, mode) == expected


def test_source_alpha_and_opacity_by_hand():
    # alpha 128: a = 128/255 = 0.50196; 200a + 100(1-a) = 150.20, 50a + 150(1-a) = 99.80, 0a + 200(1-a) = 99.61
    assert blend_one((*BACKDROP, 255), (200, 50, 0, 128)) == (150, 100, 100, 255)
    # opacity 0.3 of an opaque source: 0.3*200 + 0.7*100 = 130, 0.3*100 + 0.7*150 = 135, 0.3*50 + 0.7*200 = 155
    assert blend_one((*BACKDROP, 255), (*SOURCE, 255), 0.3) == (130, 135, 155, 255)
    # over nothing the source comes back unchanged, whatever the mode
    for mode in BLEND_MODES:
        assert blend_one((0, 0, 0, 0), (*SOURCE, 128), 1.0, mode) == (*SOURCE, 128)


def test_translucent_backdrop_multiply_by_hand():
    # ab = 128/255 = 0.50196, as = 0.6: ao = 0.6 + 0.50196*0.4 = 0.80078 -> 204.2
    # red: (0.6*0.49804*0.78431 + 0.6*0.50196*0.78431*0.39216 + 0.4*0.50196*0.39216) / 0.80078 * 255
    #    = (0.23437 + 0.09263 + 0.07874) / 0.80078 * 255 = 129.2
    r, g, b, a = blend_one((*BACKDROP, 128), (*SOURCE, 255), 0.6, "multiply")
    assert (r, a) == (129, 204)
    assert (r, g, b, a) == tuple(int(np.floor(v + 0.5)) for v in w3c((*BACKDROP, 128), (*SOURCE, 255), 0.6,
                                                                      "multiply"))


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_matches_w3c_on_random_pixels(mode):
    rng = np.random.default_rng(7)
    backdrop = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    source = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    backdrop[0, :5, 3] = 0  # fully transparent backdrop pixels
    source[1, :5, 3] = 0    # and sources that must change nothing
    acc = premultiply(backdrop)
    composite_over(acc, source, 0.8, mode, Scratch())
    got = unpremultiply(acc).astype(int)
    want = np.array([[w3c(backdrop[y, x], source[y, x], 0.8, mode) for x in range(50)] for y in range(40)])
    # Colour of nearly transparent results is ill-conditioned (divided by a tiny
    # alpha), so compare premultiplied-ish: |error| * alpha / 255 within a level.
    assert np.abs(got[..., 3] - want[..., 3]).max() <= 0.5 + 1e-3
    err = np.abs(got[..., :3] - want[..., :3]) * (want[..., 3:] / 255)
    assert err.max() <= 1.0
    opaque = want[..., 3] >= 254.5
    assert np.abs(got[..., :3] - want[..., :3])[opaque].max() <= 1


def test_transparent_source_changes_nothing():
    backdrop = np.random.default_rng(3).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    backdrop[..., 3] = np.maximum(backdrop[..., 3], 1)
    for mode in BLEND_MODES:
        acc = premultiply(backdrop)
        composite_over(acc, np.zeros((16, 16, 4), np.uint8), 1.0, mode)
        assert np.array_equal(unpremultiply(acc), backdrop)


def test_round_trip_is_exact_and_clears_invisible_colour():
    pixels = np.random.default_rng(5).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    back = unpremultiply(premultiply(pixels))
    visible = pixels[..., 3] > 0
    assert np.array_equal(back[visible], pixels[visible])
    assert not back[~visible].any()


def test_bad_mode_and_shapes_raise_one_line():
    acc = premultiply(np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(BlendError) as err:
        composite_over(acc, np.zeros((2, 2, 4), np.uint8), 1.0, "dissolve")
    assert "dissolve" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(BlendError):
        composite_over(acc, np.zeros((3, 2, 4), np.uint8))
