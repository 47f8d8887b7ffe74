"""SWD, diversity, the curves PNG and the progress bar."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from studio.train.metrics import diversity, laplacian_pyramid, pyramid_levels, swd
from studio.train.plots import PANEL_H, PANEL_W, draw_curves
from studio.train.progress import BarReporter, JsonReporter, clock


def _shapes(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """n images of random rectangles and discs on white, float [-1,1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.ones((n, 3, size, size), np.float32)
    for i in range(n):
        for _ in range(3):
            colour = rng.uniform(-1, 1, 3).astype(np.float32)[:, None]
            cy, cx, r = rng.integers(4, size - 4, 2).tolist() + [int(rng.integers(3, size // 3))]
            mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) if rng.random() < 0.5 else (
                (abs(yy - cy) < r) & (abs(xx - cx) < r // 2 + 1))
            out[i][:, mask] = colour
    return torch.from_numpy(out)


def test_swd_of_a_set_with_itself_is_near_zero_and_grows_with_noise_and_blur():
    real = _shapes(32)
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    result = swd(real, real)
    same = result["swd"]  # not exactly 0: each set gets its own random neighbourhoods
    noisy = swd((real + 0.1 * noise).clamp(-1, 1), real)["swd"]
    noisier = swd((real + 0.4 * noise).clamp(-1, 1), real)["swd"]
    blurred = swd(F.avg_pool2d(F.pad(real, (2, 2, 2, 2), mode="replicate"), 5, 1), real)["swd"]
    assert same < 0.5 * noisy < 0.5 * noisier
    assert blurred > 2 * same
    assert set(result["levels"]) == {32, 16} and result["swd"] == pytest.approx(np.mean(list(result["levels"].values())))


def test_swd_is_deterministic_and_checks_shapes():
    a, b = _shapes(8, 16), _shapes(8, 16, seed=3)
    assert swd(a, b)["swd"] == swd(a, b)["swd"]
    as_uint8 = ((a + 1) * 127.5).round().to(torch.uint8)
    assert swd(as_uint8, b)["swd"] == pytest.approx(swd(a, b)["swd"], rel=0.05)
    with pytest.raises(ValueError):
        swd(a, b[:4])


def test_laplacian_pyramid_sums_back_to_the_image_and_has_the_right_levels():
    assert [pyramid_levels(r) for r in (8, 16, 32, 64, 256)] == [1, 1, 2, 3, 5]
    x = _shapes(2, 32)
    levels = laplacian_pyramid(x, 3)
    assert [t.shape[-1] for t in levels] == [32, 16, 8]
    # The low-pass residual carries the mean colour; the band-pass levels are detail around 0.
    assert levels[0].mean().abs() < 0.05 and levels[-1].mean() == pytest.approx(float(x.mean()), abs=0.05)


def test_diversity_is_zero_for_identical_images_and_grows_with_difference():
    one = _shapes(1)
    assert diversity(one.repeat(6, 1, 1, 1)) == 0.0
    assert diversity(_shapes(6)) > 0.05
    noise = torch.rand(40, 3, 16, 16) * 2 - 1
    assert diversity(noise) == pytest.approx(1 / 3, abs=0.01)  # E|u - v| for uniform u, v
    with pytest.raises(ValueError):
        diversity(one)


def test_curves_png_has_four_panels_and_copes_with_gaps(tmp_path):
    rows = [{"step": s, "loss_g": 1.0 + s / 100, "loss_d": 1.3 - s / 200, "r1": None if s % 20 else 0.01}
            for s in range(10, 110, 10)]
    rows.append({"step": 100, "swd": 40.0, "diversity": 0.2, "diversity_reference": 0.25})
    rows.append({"step": 50, "loss_g": float("nan")})  # a diverged line is a gap, not a crash
    draw_curves(rows, tmp_path / "curves.png")
    image = np.asarray(Image.open(tmp_path / "curves.png").convert("RGB"))
    assert image.shape == (2 * PANEL_H, 2 * PANEL_W, 3)
    blue = (image[..., 2] > 150) & (image[..., 0] < 100)
    red = (image[..., 0] > 180) & (image[..., 1] < 100)
    assert blue[:PANEL_H, :PANEL_W].sum() > 100 and red[:PANEL_H, :PANEL_W].sum() > 100  # G and D curves
    draw_curves([], tmp_path / "empty.png")  # before the first progress line
    assert Image.open(tmp_path / "empty.png").size == (2 * PANEL_W, 2 * PANEL_H)


def test_progress_bar_shows_eta_and_events_as_lines():
    stream = io.StringIO()
    bar = BarReporter(stream)
    bar.set_target(200)
    bar.emit({"event": "progress", "step": 50, "images_per_s": 90.0, "loss_g": 1.0, "loss_d": 1.2,
              "elapsed_s": 30.0, "eta_s": 90.0})
    bar.emit({"event": "checkpoint", "step": 50, "path": "run/checkpoint.safetensors"})
    bar.emit({"event": "done", "reason": "SIGTERM", "step": 50, "checkpoint": "run/checkpoint.safetensors"})
    bar.close()
    text = stream.getvalue()
    assert "25% step 50/200" in text and "ETA 1:30" in text and "90 img/s" in text
    assert "step 50: checkpoint run/checkpoint.safetensors" in text and "done (SIGTERM) at step 50" in text
    assert clock(3725) == "1:02:05" and clock(None) == "?"


def test_json_reporter_writes_valid_json_even_for_nan():
    stream = io.StringIO()
    JsonReporter(stream).emit({"event": "progress", "step": 1, "loss_g": float("nan"), "nested": [float("inf")]})
    assert stream.getvalue() == '{"event": "progress", "step": 1, "loss_g": null, "nested": [null]}\n'
