import numpy as np
import pytest
from PIL import Image

from studio.core.colour import ColourError, keep_colour, mix, rgb_to_ycbcr, ycbcr_to_rgb


def random_image(seed: int, size=(48, 64), channels=3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, channels), dtype=np.uint8)


def test_ycbcr_matches_pillow_and_round_trips():
    rgb = random_image(0)
    ours = rgb_to_ycbcr(rgb)
    pillow = np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32)
    assert np.abs(ours - pillow).max() < 1.1  # Pillow truncates to whole levels, in fixed point
    assert np.abs(ycbcr_to_rgb(ours) - rgb).max() < 1e-3
    grey = np.full((2, 2, 3), 77, np.uint8)
    assert np.allclose(rgb_to_ycbcr(grey), [77, 128, 128], atol=1e-4)


def test_keep_colour_takes_luma_from_one_image_and_chroma_from_the_other():
    # Mid-tone colours, so the combined pixels stay inside sRGB (no clipping).
    rng = np.random.default_rng(1)
    original = rng.integers(70, 186, (40, 40, 3), dtype=np.uint8)
    stylized = rng.integers(70, 186, (40, 40, 3), dtype=np.uint8)
    out = keep_colour(stylized, original)
    assert out.dtype == np.uint8 and out.shape == original.shape
    got, want_chroma, want_luma = rgb_to_ycbcr(out), rgb_to_ycbcr(original), rgb_to_ycbcr(stylized)
    assert np.abs(got[..., 1:] - want_chroma[..., 1:]).max() <= 1.0  # uint8 rounding only
    assert np.abs(got[..., 0] - want_luma[..., 0]).max() <= 0.6
    # ...whereas the stylized image's own chroma is far from the original's.
    assert np.abs(want_luma[..., 1:] - want_chroma[..., 1:]).mean() > 10


def test_keep_colour_accepts_rgba_and_clips_out_of_gamut():
    original = np.zeros((4, 4, 4), np.uint8)
    original[..., 0], original[..., 3] = 255, 255  # saturated red
    stylized = np.full((4, 4, 3), 250, np.uint8)  # very light: red at that luma is out of gamut
    out = keep_colour(stylized, original)
    # R = 250 + 1.402 * 127.5 clips to 255; G and B follow the formula: a light red, hue kept.
    assert out.shape == (4, 4, 3) and np.abs(out.astype(int) - [255, 174, 174]).max() <= 1


def test_mix_endpoints_are_exact_and_the_middle_is_the_mean():
    a, b = random_image(2), random_image(3)
    assert np.array_equal(mix(a, b, 0.0), a) and np.array_equal(mix(a, b, 1.0), b)
    half = mix(a, b, 0.5).astype(int)
    assert np.abs(half - (a.astype(int) + b) / 2).max() <= 0.5


def test_bad_input_is_one_line():
    a = random_image(4)
    for call, text in ((lambda: mix(a, a[:10], 0.5), "differ in shape"),
                       (lambda: mix(a, a, 1.5), "between 0 and 1"),
                       (lambda: keep_colour(a, a[:10]), "differ in size"),
                       (lambda: keep_colour(a[..., 0], a), "HxWx3")):
        with pytest.raises(ColourError, match=text) as info:
            call()
        assert "\n" not in str(info.value)
