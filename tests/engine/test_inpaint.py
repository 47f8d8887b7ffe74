"""engine/inpaint.py: regions, crops and squares, the classical and learned
fills at any size, and what must stay untouched (pixels beyond the feather,
alpha). The learned path runs a real tiny ONNX model that fills holes with a
constant colour (tests/inpaint_factory.py)."""

import cv2
import numpy as np
import pytest
from inpaint_factory import FILL_UINT8, constant_fill_onnx, identity_onnx, inpaint_manifest, mean_fill_onnx
from model_factory import write_model

from studio.engine.inpaint import (
    FEATHER,
    MARGIN,
    TRUSTED_DEPTH,
    InpaintError,
    default_model,
    find_regions,
    hole_depth,
    inpaint,
    inpaint_recipe,
    source_window,
    square_window,
    too_thin_for,
)
from studio.engine import patchmatch
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime


def photo(h: int, w: int, seed: int = 0, alpha: bool = False) -> np.ndarray:
    """Smooth gradients plus grain, RGB or RGBA with varying alpha."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + seed), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy], -1)
    img += rng.normal(0, 0.03, img.shape)
    rgb = np.clip(img * 255, 0, 255).astype(np.uint8)
    if not alpha:
        return rgb
    a = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)
    return np.concatenate([rgb, a], axis=2)


def distance_to(hole: np.ndarray) -> np.ndarray:
    """Euclidean px from every pixel to the nearest hole pixel (0 inside)."""
    return cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


@pytest.fixture(scope="module")
def runtime():
    return Runtime("cpu", threads=1)


@pytest.fixture
def filler(tmp_path):
    """The constant-fill model, through the registry like any installed model."""
    data = constant_fill_onnx()
    write_model(tmp_path / "inpainters", "fill", data, inpaint_manifest("fill", data))
    registry = Registry([tmp_path / "inpainters"])
    return registry.get("fill", kind="inpaint")


# -- regions -------------------------------------------------------------------

def test_regions_merge_when_close_and_crops_clip_at_the_edges():
    mask = np.zeros((600, 900), np.uint8)
    mask[0:20, 0:30] = 255  # touches the top-left corner
    mask[30:40, 40:50] = 7  # 10 px from the first (diagonally): merged
    mask[400:600, 600:900] = 255  # bottom-right corner, 300 x 200 px
    regions = find_regions(mask)
    assert [r.hole for r in regions] == [(0, 0, 50, 40), (600, 400, 900, 600)]
    assert sum(int(r.pixels.sum()) for r in regions) == int((mask > 0).sum())
    first, big = regions
    assert first.crop == (0, 0, 50 + MARGIN, 40 + MARGIN)
    margin = 150  # half the longest side beats the 128 px minimum
    assert big.crop == (600 - margin, 400 - margin, 900, 600)
    # The pixels array is the group's own holes, placed at its box.
    x0, y0, x1, y1 = first.hole
    np.testing.assert_array_equal(first.pixels, mask[y0:y1, x0:x1] > 0)


def test_regions_stay_apart_beyond_the_merge_gap_and_empty_masks_have_none():
    mask = np.zeros((200, 400), np.uint8)
    mask[50:60, 50:60] = 255
    mask[50:60, 110:120] = 255  # 50 px apart
    assert len(find_regions(mask)) == 2
    assert len(find_regions(mask, merge_gap=64)) == 1
    assert find_regions(np.zeros((5, 5), np.uint8)) == []


@pytest.mark.parametrize("size, hole", [
    ((1000, 800), (10, 20, 60, 40)),  # corner: slid inside the image
    ((1000, 800), (400, 300, 700, 500)),  # middle, big: proportional margin
    ((120, 900), (0, 0, 30, 120)),  # short image: padded top and bottom
    ((40, 30), (5, 5, 35, 25)),  # tiny image: padded both ways
])
def test_square_window_holds_the_crop(size, hole):
    height, width = size
    mask = np.zeros(size, np.uint8)
    x0, y0, x1, y1 = hole
    mask[y0:y1, x0:x1] = 1
    (region,) = find_regions(mask)
    (wx0, wy0, wx1, wy1), (left, top, right, bottom) = square_window(region, width, height)
    assert 0 <= wx0 < wx1 <= width and 0 <= wy0 < wy1 <= height
    assert min(left, top, right, bottom) >= 0
    assert wx1 - wx0 + left + right == wy1 - wy0 + top + bottom  # square
    cx0, cy0, cx1, cy1 = region.crop
    assert wx0 <= cx0 and wy0 <= cy0 and cx1 <= wx1 and cy1 <= wy1
    # Padding only where the image itself is too small for the square.
    if left or right:
        assert (wx0, wx1) == (0, width)
    if top or bottom:
        assert (wy0, wy1) == (0, height)
    assert (left + right > 0 or top + bottom > 0) == (size[1] < 100 or size[0] < 300)


# -- classical -------------------------------------------------------------------

@pytest.mark.parametrize("method", ["telea", "ns", "patchmatch"])
def test_classical_changes_only_the_holes_and_keeps_alpha(method):
    image = photo(300, 420, seed=1, alpha=True)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[0:25, 100:180] = 255  # top edge
    mask[150:300, 380:420] = 255  # bottom-right corner
    mask[140:143, 20:200] = 128  # a thin stroke, soft values count as hole
    out = inpaint(image, mask, method)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    assert (out[mask > 0][:, :3] != image[mask > 0][:, :3]).mean() > 0.9
    assert image is not out


def test_classical_on_the_crop_is_the_whole_image_result():
    image = photo(900, 1300, seed=2)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[400:470, 600:690] = 255
    out = inpaint(image, mask, "telea", radius=5)
    (region,) = find_regions(mask)
    assert region.crop == (600 - MARGIN, 400 - MARGIN, 690 + MARGIN, 470 + MARGIN)  # a crop, not the image
    whole = cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)
    np.testing.assert_array_equal(out, whole)


def stripes(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Vertical stripes 9 px apart (a plank texture) with grain."""
    rng = np.random.default_rng(seed)
    xx = np.arange(w)[None, :, None]
    tone = 140 + 60 * np.sin(2 * np.pi * xx / 9.0) + np.array([30.0, 10.0, -20.0])
    return np.clip(np.broadcast_to(tone, (h, w, 3)) + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)


def test_patchmatch_carries_a_texture_through_the_hole_where_telea_smears_it():
    image = stripes(260, 300)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (150, 130), (45, 30), 15, 0, 360, 255, -1)
    hole = mask > 0

    def error(out):  # mean abs difference inside the hole, 0..255
        return np.abs(out[hole].astype(np.float32) - image[hole]).mean()

    aware, telea = inpaint(image, mask, "patchmatch"), inpaint(image, mask, "telea")
    # Grain alone is 4 levels; the stripes are +-60: a smear is off by about 40.
    assert error(aware) < 15 < 30 < error(telea)
    np.testing.assert_array_equal(aware[~(distance_to(hole) <= FEATHER)], image[~(distance_to(hole) <= FEATHER)])
    np.testing.assert_array_equal(inpaint(image, mask, "patchmatch"), aware)  # seeded: the same fill again


def test_patchmatch_on_flat_artwork_leaves_no_hole_pixel_unvoted():
    # Flat shapes with dark outlines on white: most matches are exact, so a
    # vote weight relative to the typical distance underflowed to 0 for every
    # patch over some hole pixels, which came out black (880 of them here).
    rng = np.random.default_rng(6)
    image = np.full((256, 256, 3), 255, np.uint8)
    for _ in range(4):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        centre, axes = tuple(int(v) for v in rng.integers(60, 196, 2)), tuple(int(v) for v in rng.integers(20, 60, 2))
        cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        cv2.ellipse(image, centre, axes, 0, 0, 360, (60, 40, 30), 2, cv2.LINE_AA)
    mask = np.zeros((256, 256), np.uint8)
    cv2.ellipse(mask, (120, 130), (70, 50), 30, 0, 360, 255, -1)
    out = inpaint(image, mask, "patchmatch")
    assert (out[mask > 0].astype(int).sum(axis=1) < 20).sum() == 0  # the darkest the art has is the outline


def test_patchmatch_refreshes_exactly_the_features_a_vote_can_change():
    # Sources keep the features measured when the level was made; a target's
    # are recomputed from its patch, and must equal the whole-window
    # correlation they replace.
    image = stripes(60, 70).astype(np.float32)
    hole = np.zeros((60, 70), bool)
    hole[20:35, 25:50] = True
    level = patchmatch.Level(image, hole, np.full_like(image, 128.0))
    level.pixels[level.holes] = np.random.default_rng(3).uniform(0, 255, (level.holes.size, 3))
    before = level.features.copy()
    level.refresh_targets()
    fresh = patchmatch.Level(level.image[3:-3, 3:-3], np.zeros_like(hole), level.image[3:-3, 3:-3])
    np.testing.assert_allclose(level.features[level.targets], fresh.features[level.targets], atol=0.05)
    others = np.ones(len(before), bool)
    others[level.targets] = False
    np.testing.assert_array_equal(level.features[others], before[others])
    assert not np.allclose(level.features[level.targets], before[level.targets])


def test_patchmatch_takes_sources_beside_a_thin_stroke_not_along_its_length():
    mask = np.zeros((1200, 2000), np.uint8)
    cv2.line(mask, (200, 300), (1700, 700), 255, 20)
    stroke, = find_regions(mask)
    assert 9 <= hole_depth(stroke) <= 11
    x0, y0, x1, y1 = stroke.hole
    assert source_window(stroke) == (x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN)
    blob = np.zeros((1200, 2000), np.uint8)
    cv2.circle(blob, (1000, 600), 150, 255, -1)
    round_hole, = find_regions(blob)
    assert source_window(round_hole) == round_hole.crop  # thickness = side: the crop's own margin


def test_patchmatch_without_a_whole_known_patch_falls_back_to_telea():
    image = photo(16, 16, seed=4)
    mask = np.full((16, 16), 255, np.uint8)
    mask[0, :] = 0  # one known row: no 7 x 7 patch to copy from
    np.testing.assert_array_equal(inpaint(image, mask, "patchmatch"), inpaint(image, mask, "telea"))


def test_empty_mask_returns_an_equal_copy():
    image = photo(40, 50)
    out = inpaint(image, np.zeros((40, 50), bool), "ns")
    np.testing.assert_array_equal(out, image)
    assert out is not image


# -- learned -------------------------------------------------------------------

def test_learned_fills_holes_and_leaves_everything_beyond_the_feather(filler, runtime):
    image = photo(700, 900, seed=3, alpha=True)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[600:700, 0:160] = 255  # bottom-left corner, touching two edges
    mask[100:112, 300:620] = 255  # a stroke in the middle
    out = inpaint(image, mask, "learned", filler, runtime, match_colour=False)
    hole = mask > 0
    dist = distance_to(hole)
    beyond = dist > FEATHER
    np.testing.assert_array_equal(out[beyond], image[beyond])
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    # Deep inside the holes the fill is the model's constant colour: the crop
    # went to the model and came back at the right place and scale. The
    # border may mix in a model pixel of known colour (the window is resized
    # from up to 576 px to 32 px: one model pixel is ~18 image px).
    deep = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3) > 40
    assert deep.sum() > 1000
    assert np.abs(out[deep][:, :3].astype(int) - FILL_UINT8).max() <= 1
    # Changes fade across the feather.
    change = np.abs(out[..., :3].astype(int) - image[..., :3]).sum(axis=2)
    near, far = change[(dist > 0) & (dist <= 2)].mean(), change[(dist > 4) & (dist <= FEATHER)].mean()
    assert near > far > 0


def test_feather_zero_touches_only_the_holes(filler, runtime):
    image = photo(200, 260, seed=4)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[0:200, 100:130] = 255  # a band from the top edge to the bottom edge
    out = inpaint(image, mask, "learned", filler, runtime, feather=0, match_colour=False)
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    assert (out[mask > 0] != image[mask > 0]).any(axis=1).mean() > 0.95


def test_learned_at_model_scale_is_exact_and_colour_matching_meets_the_border(filler, runtime):
    # A 16 px hole with an 8 px margin is a 32 px window: the model's own size,
    # so nothing is resized and the constant comes back exactly.
    image = np.empty((60, 70, 3), np.uint8)
    image[:] = (40, 120, 200)
    mask = np.zeros((60, 70), np.uint8)
    mask[20:36, 30:46] = 255
    plain = inpaint(image, mask, "learned", filler, runtime, margin=8, match_colour=False)
    assert (plain[mask > 0] == FILL_UINT8).all()
    matched = inpaint(image, mask, "learned", filler, runtime, margin=8)
    np.testing.assert_array_equal(matched, image)  # the fill is shifted onto its surroundings


def test_learned_on_images_smaller_than_the_model_and_narrow_ones(filler, runtime):
    for shape, box in (((20, 24, 4), (2, 2, 22, 10)), ((500, 12, 3), (0, 100, 12, 200))):
        image = photo(shape[0], shape[1], seed=5, alpha=shape[2] == 4)
        mask = np.zeros(shape[:2], np.uint8)
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = 255
        out = inpaint(image, mask, "learned", filler, runtime, match_colour=False)
        assert out.shape == image.shape
        beyond = distance_to(mask > 0) > FEATHER
        np.testing.assert_array_equal(out[beyond], image[beyond])
        np.testing.assert_array_equal(out[..., 3:], image[..., 3:])


def test_the_network_never_sees_the_masked_pixels(tmp_path, runtime):
    """Images that differ only inside the holes give the same result, also
    when two regions' windows overlap (each is a pending hole in the other's
    window). The model fills with the mean of what it was shown as known."""
    data = mean_fill_onnx()
    write_model(tmp_path / "m", "mean", data, inpaint_manifest("mean", data))
    entry = Registry([tmp_path / "m"]).get("mean")
    a = photo(400, 400, seed=6)
    mask = np.zeros((400, 400), np.uint8)
    mask[100:180, 90:200] = 255
    mask[220:260, 150:210] = 255  # 40 px below: its own region, inside the first one's window
    assert len(find_regions(mask)) == 2
    b = a.copy()
    b[mask > 0] = 255 - b[mask > 0]
    filled = inpaint(a, mask, "learned", entry, runtime)
    np.testing.assert_array_equal(filled, inpaint(b, mask, "learned", entry, runtime))
    assert (filled[mask > 0] != a[mask > 0]).any()
    # A window smaller than the model (18 px up to 32 px) is enlarged, not shrunk.
    small_a, small_mask = a[:40, :40].copy(), mask[:40, :40].copy() * 0
    small_mask[15:25, 12:22] = 255
    small_b = small_a.copy()
    small_b[small_mask > 0] = 0
    np.testing.assert_array_equal(inpaint(small_a, small_mask, "learned", entry, runtime, margin=4),
                                  inpaint(small_b, small_mask, "learned", entry, runtime, margin=4))
    # A narrow image is reflect-padded to a square: its mirrored holes are holes too.
    narrow_a, narrow_mask = a[:, :30].copy(), np.zeros((400, 30), np.uint8)
    narrow_mask[150:200, 20:30] = 255
    narrow_b = narrow_a.copy()
    narrow_b[narrow_mask > 0] = 0
    np.testing.assert_array_equal(inpaint(narrow_a, narrow_mask, "learned", entry, runtime),
                                  inpaint(narrow_b, narrow_mask, "learned", entry, runtime))


def test_a_prefilled_model_sees_telea_at_its_own_size(tmp_path, runtime):
    """A manifest's "prefill" makes the engine fill the holes classically
    first and add the network's correction; an identity network corrects
    nothing, so the result is the classical fill itself."""
    data = identity_onnx()
    manifest = inpaint_manifest("pre", data)
    write_model(tmp_path / "m", "pre", data, {**manifest, "prefill": {"method": "telea"}})
    entry = Registry([tmp_path / "m"]).get("pre")
    image = photo(300, 300, seed=7)
    mask = np.zeros((300, 300), np.uint8)
    mask[130:170, 120:180] = 255  # its window (the hole and 128 px around) fits the image: no padding
    out = inpaint(image, mask, "learned", entry, runtime, match_colour=False, feather=0)
    telea = inpaint(image, mask, "telea", feather=0)
    hole = mask > 0
    # A network that changes nothing returns the classical fill at full size.
    assert np.abs(out.astype(int) - telea).max() <= 1
    np.testing.assert_array_equal(out[~hole], image[~hole])
    write_model(tmp_path / "bad", "bad", data, {**manifest, "name": "bad", "prefill": {"method": "magic"}})
    with pytest.raises(InpaintError, match="unknown prefill"):
        inpaint(image, mask, "learned", Registry([tmp_path / "bad"]).get("bad"), runtime)


@pytest.fixture
def prefilled_filler(tmp_path):
    """A 128 px model that corrects Telea's fill to a constant colour."""
    data = constant_fill_onnx(128)
    manifest = {**inpaint_manifest("pre", data, 128), "prefill": {"method": "telea"}}
    write_model(tmp_path / "m", "pre", data, manifest)
    return Registry([tmp_path / "m"]).get("pre")


def square_and_stroke() -> np.ndarray:
    mask = np.zeros((400, 400), np.uint8)
    mask[150:250, 150:250] = 255  # a window of 356 px (the hole and 128 around): 2.8 px per network px
    mask[40:43, 20:380] = 255  # a stroke 3 px wide, its own region
    return mask


def test_a_prefilled_models_correction_fades_toward_the_hole_border(prefilled_filler, runtime):
    """The correction counts in full from TRUSTED_DEPTH network px into a
    hole and not at all on its border: a thin stroke keeps the classical
    fill, a big hole's middle takes the network's."""
    entry = prefilled_filler
    image = photo(400, 400, seed=3)
    mask = square_and_stroke()
    out = inpaint(image, mask, "learned", entry, runtime, match_colour=False, feather=0).astype(int)
    telea = inpaint(image, mask, "telea", feather=0).astype(int)
    depth = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    middle = depth > TRUSTED_DEPTH * 356 / 128 + 2
    assert np.abs(out[middle] - np.array(FILL_UINT8)).mean() < 4  # the network's fill
    border = (mask > 0) & (depth <= 1)
    corrected = np.abs(out[middle] - telea[middle]).mean()
    assert np.abs(out[border] - telea[border]).mean() < 0.1 * corrected
    stroke = np.zeros_like(mask, bool)
    stroke[40:43, 20:380] = True
    assert np.abs(out[stroke] - telea[stroke]).mean() < 0.1 * corrected


def test_auto_gives_thin_holes_to_patchmatch_and_the_rest_to_the_model(prefilled_filler, runtime):
    """Auto: a hole under TRUSTED_DEPTH of the model's px deep (here a 3 px
    stroke) is filled as PatchMatch fills it; a big hole as the model does."""
    entry = prefilled_filler
    image = photo(400, 400, seed=5)
    mask = square_and_stroke()
    stroke_region, square_region = find_regions(mask)
    assert too_thin_for(128, stroke_region, *square_window(stroke_region, 400, 400))
    assert not too_thin_for(128, square_region, *square_window(square_region, 400, 400))
    auto = inpaint(image, mask, "auto", entry, runtime, feather=0)
    stroke = np.zeros_like(mask, bool)
    stroke[40:43, 20:380] = True
    np.testing.assert_array_equal(auto[stroke], inpaint(image, mask, "patchmatch", feather=0)[stroke])
    depth = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    middle = depth > TRUSTED_DEPTH * 356 / 128 + 2
    np.testing.assert_array_equal(auto[middle], inpaint(image, mask, "learned", entry, runtime, feather=0)[middle])
    assert np.abs(auto[middle].astype(int) - np.array(FILL_UINT8)).mean() < 4  # the network's own fill
    assert inpaint_recipe("auto", entry)["model"]["name"] == "pre"


# -- choosing a model, recipes, bad input --------------------------------------

def test_default_model_and_recipes(filler, tmp_path, tiny_generator_dir):
    assert default_model(Registry([tiny_generator_dir])) is None  # a generator is not an inpainter
    assert default_model(Registry([tmp_path / "inpainters"])).name == "fill"
    learned = inpaint_recipe("learned", filler)
    assert learned["action"] == "inpaint" and learned["method"] == "learned"
    assert learned["model"]["name"] == "fill" and learned["model"]["sha256"] == filler.sha256
    assert inpaint_recipe("telea", radius=5) == {"format": "latent-studio/recipe@1", "action": "inpaint",
                                                "method": "telea", "radius": 5}


def test_bad_input_is_one_line(filler, runtime, tiny_generator_dir):
    image = photo(30, 40)
    mask = np.zeros((30, 40), np.uint8)
    mask[5:10, 5:10] = 1
    generator = Registry([tiny_generator_dir]).get("tiny")
    cases = [
        (dict(image=image, mask=np.zeros((30, 41), np.uint8)), "41 x 30"),
        (dict(image=image, mask=mask.astype(np.float32)), "uint8"),
        (dict(image=image.astype(np.float32), mask=mask), "uint8"),
        (dict(image=image, mask=mask, method="clone"), "unknown inpaint method 'clone'"),
        (dict(image=image, mask=mask, method="learned"), "need an inpaint model"),
        (dict(image=image, mask=mask, method="auto"), "need an inpaint model"),
        (dict(image=image, mask=mask, method="learned", model=generator, runtime=runtime), "not an inpaint model"),
        (dict(image=image, mask=mask, feather=-1), "feather"),
        (dict(image=image, mask=mask, radius=0), "radius"),
    ]
    for kwargs, needle in cases:
        with pytest.raises(InpaintError) as info:
            inpaint(**kwargs)
        assert needle in str(info.value) and "\n" not in str(info.value)

