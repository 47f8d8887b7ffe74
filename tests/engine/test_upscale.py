"""engine/upscale.py: tiles equal the whole picture, alpha, odd and thin
sizes, a factor the model divides, Lanczos, the output array, cancel, and
the limits checked before any work."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_factory import write_model
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.upscale import (MAX_OUTPUT_PIXELS, Cancelled, UpscaleError, default_model, output_size, upscale,
                                   upscale_recipe)
from upscale_factory import write_upscale_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    write_upscale_model(root, "up4", scale=4)
    write_upscale_model(root, "up2", scale=2, seed=1)
    write_upscale_model(root, "gentle", scale=4, strength=0.01)
    registry = Registry([root])
    return {name: registry.get(name, kind="upscale") for name in ("up4", "up2", "gentle")}


@pytest.fixture(scope="module")
def runtime():
    return Runtime("cpu", threads=1)


def picture(height: int, width: int, seed: int = 0, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    image[..., 3] = 255
    if alpha:
        image[: height // 2, :, 3] = 0  # a cut-out: the top half transparent
    return image


def test_tiles_with_the_margin_give_the_whole_picture(models, runtime):
    image = picture(53, 70)
    whole = upscale(image, 4, models["up4"], runtime, tile=1024)
    assert whole.shape == (212, 280, 4) and whole.dtype == np.uint8
    for tile in (16, 23, 50):
        tiled = upscale(image, 4, models["up4"], runtime, tile=tile)
        assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1, tile
    assert np.all(whole[..., 3] == 255)
    # The network changes the picture: not just nearest-neighbour.
    nearest = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)
    assert np.abs(whole[..., :3].astype(int) - nearest[..., :3]).mean() > 5


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (1, 1), (17, 3)])
def test_one_pixel_wide_and_odd_pictures(models, runtime, shape):
    image = picture(*shape, seed=3)
    whole = upscale(image, 4, models["up4"], runtime, tile=1024)
    tiled = upscale(image, 4, models["up4"], runtime, tile=16)
    assert whole.shape == (shape[0] * 4, shape[1] * 4, 4)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1


def test_alpha_is_enlarged_with_the_picture(models, runtime):
    image = picture(32, 40, alpha=True)
    calls = []
    out = upscale(image, 4, models["gentle"], runtime, tile=16, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (12, 12)  # 6 tiles, twice: colour, then alpha
    # Transparent stays transparent, opaque opaque (the edge between may soften).
    assert out[:56, :, 3].max() <= 20 and out[-56:, :, 3].min() >= 235
    opaque = []
    upscale(picture(32, 40), 4, models["up4"], runtime, tile=16, progress=lambda d, t: opaque.append(t))
    assert opaque[-1] == 6  # an opaque picture skips the alpha pass


def test_a_factor_the_model_divides_is_its_output_averaged(models, runtime):
    image = picture(20, 30, seed=5)
    x4 = upscale(image, 4, models["up4"], runtime).astype(np.float32)
    x2 = upscale(image, 2, models["up4"], runtime, tile=16)
    averaged = x4.reshape(40, 2, 60, 2, 4).mean(axis=(1, 3))
    assert x2.shape == (40, 60, 4) and np.abs(x2 - averaged).max() <= 1.0
    with pytest.raises(UpscaleError, match="model 'up2' enlarges x2; it cannot make x4"):
        upscale(image, 4, models["up2"], runtime)


def test_lanczos_without_a_model_and_into_a_given_array(tmp_path):
    image = picture(10, 12, alpha=True)
    out = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.uint8, shape=(30, 36, 4))
    result = upscale(image, 3, out=out)
    assert result is out
    expected = np.asarray(Image.fromarray(image, "RGBA").resize((36, 30), Image.Resampling.LANCZOS))
    assert np.array_equal(np.asarray(out), expected)
    with pytest.raises(UpscaleError, match="the output array is uint8 \\(10, 10, 4\\)"):
        upscale(image, 3, out=np.empty((10, 10, 4), np.uint8))


def test_cancel_between_tiles(models, runtime):
    done = []
    with pytest.raises(Cancelled):
        upscale(picture(40, 40), 4, models["up4"], runtime, tile=16, progress=lambda d, t: done.append(d),
                should_stop=lambda: len(done) >= 2)
    assert done == [1, 2]


def test_limits_are_checked_before_any_work(models, runtime, tmp_path):
    huge = np.broadcast_to(np.zeros((1, 1, 4), np.uint8), (8193, 8193, 4))  # no memory behind it
    with pytest.raises(UpscaleError, match="over the limit of 268 million pixels"):
        upscale(huge, 2, models["up4"], runtime, should_stop=lambda: pytest.fail("work started"))
    assert output_size(4096, 4096, 4) == (16384, 16384) and 16384 * 16384 == MAX_OUTPUT_PIXELS
    with pytest.raises(UpscaleError, match="expected a uint8 RGB or RGBA picture"):
        upscale(np.zeros((4, 4), np.uint8), 2)
    write_model(tmp_path, "gen")
    with pytest.raises(UpscaleError, match="model 'gen' is a generator model, not an upscaler"):
        upscale(picture(4, 4), 4, Registry([tmp_path]).get("gen"), runtime)


def test_the_recipe_names_the_upscaler_and_the_default_is_the_first_installed(models, tmp_path):
    recipe = upscale_recipe("model", 4, models["up4"], tile=512)
    assert recipe["action"] == "upscale" and recipe["model"]["name"] == "up4" and recipe["scale"] == 4
    assert upscale_recipe("lanczos", 2) == {"format": recipe["format"], "action": "upscale", "method": "lanczos",
                                           "scale": 2}
    assert default_model(Registry([tmp_path])) is None
