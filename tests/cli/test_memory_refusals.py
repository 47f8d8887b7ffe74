"""Commands refuse a job that would not fit in memory with one `error:` line
giving both numbers (and a flag that would fit, where the command has one),
from the headers, before decoding: tiny files claiming huge pictures and
projects end at once instead of running for a minute at 10 GB."""

from __future__ import annotations

import numpy as np
import pytest

from hostile_factory import lying_jpeg, lying_png, write_lying_openraster, write_lying_project
from studio.core.imageio import load_image, save_image
from studio.core.memory_budget import BUDGET_ENV
from test_cli import assert_one_error_line, run_cli


@pytest.fixture
def budget(monkeypatch):
    """budget("4G"): the memory budget the command sees (STUDIO_MEMORY_BUDGET)."""
    return lambda size: monkeypatch.setenv(BUDGET_ENV, size)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    save_image(path, np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8))
    return path


def test_stylize_refuses_a_jpeg_claiming_60000_x_2000_and_names_a_max_size_that_fits(capsys, tmp_path, budget):
    (tmp_path / "wide.jpg").write_bytes(lying_jpeg(60000, 2000))
    budget("5.1G")
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "wide.jpg"), "--style", "3", "-o",
                           str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "wide.jpg is 60000 x 2000; styling it needs about 30.4 GB, "
                          f"the budget is 5.1 GB ({BUDGET_ENV}); try --max-size 12032")
    # Whole-image styling of the same picture: the tiles are the way out.
    (tmp_path / "wide.png").write_bytes(lying_png(6000, 2000))
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "wide.png"), "--style", "3", "--tile", "0", "-o",
                           str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "wide.png is 6000 x 2000; styling it needs about 8.7 GB", "try --tile 1024")
    assert not (tmp_path / "out.png").exists()


def test_stylize_refuses_an_ordinary_picture_under_a_small_budget(capsys, tmp_path, photo, budget):
    budget("1M")
    code, _, err = run_cli(capsys, "stylize", str(photo), "--style", "3", "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "photo.png is 96 x 64; styling it needs about 4.4 MB, the budget is 1.0 MB")
    budget("8M")
    code, _, err = run_cli(capsys, "stylize", str(photo), "--style", "3", "-o", str(tmp_path / "out.png"))
    assert code == 0, err


def test_upscale_names_the_factor_that_fits(capsys, tmp_path, photo, budget):
    budget("1M")
    code, _, err = run_cli(capsys, "upscale", str(photo), "--method", "lanczos", "-o", str(tmp_path / "big.png"))
    assert_one_error_line(code, err, "photo.png is 96 x 64; enlarging it x4 needs about 1.4 MB, "
                          "the budget is 1.0 MB", "try --scale 2")
    code, _, err = run_cli(capsys, "upscale", str(photo), "--method", "lanczos", "--scale", "2", "-o",
                           str(tmp_path / "big.png"))
    assert code == 0, err
    assert load_image(tmp_path / "big.png").shape[:2] == (128, 192)


def test_upscale_refuses_a_png_claiming_8000_x_8000(capsys, tmp_path, budget):
    (tmp_path / "big.png").write_bytes(lying_png(8000, 8000))
    budget("4G")
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "big.png"), "--method", "lanczos", "--scale", "2",
                           "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "big.png is 8000 x 8000; enlarging it x2 needs about 4.9 GB")


def test_inpaint_refuses_from_the_headers_then_from_what_the_mask_marks(capsys, tmp_path, photo, budget):
    (tmp_path / "wide.png").write_bytes(lying_png(60000, 2000))
    (tmp_path / "wide-mask.png").write_bytes(lying_png(60000, 2000, colour_type=6))
    budget("1G")
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "wide.png"), "--mask", str(tmp_path / "wide-mask.png"),
                           "--method", "telea", "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "wide.png is 60000 x 2000; inpainting it needs about 4.0 GB")
    # The picture itself fits; a hole over all of it does not for PatchMatch
    # (whose work grows with the area it copies from), and does for Telea.
    mask = np.full((64, 96, 3), 255, np.uint8)
    save_image(tmp_path / "all.png", mask)
    budget("1M")
    out = str(tmp_path / "out.png")
    code, _, err = run_cli(capsys, "inpaint", str(photo), "--mask", str(tmp_path / "all.png"), "--method",
                           "patchmatch", "-o", out)
    assert_one_error_line(code, err, "photo.png is 96 x 64; inpainting it needs about 3.4 MB, the budget is 1.0 MB")
    code, _, err = run_cli(capsys, "inpaint", str(photo), "--mask", str(tmp_path / "all.png"), "--method", "telea",
                           "-o", out)
    assert code == 0, err


@pytest.mark.parametrize("write, name", [(write_lying_project, "big.studio"), (write_lying_openraster, "big.ora")])
def test_convert_refuses_a_file_listing_one_big_png_as_32_layers(capsys, tmp_path, budget, write, name):
    write(tmp_path / name, 8192, 32)
    budget("4G")
    code, _, err = run_cli(capsys, "convert", str(tmp_path / name), "-o", str(tmp_path / "flat.png"))
    assert_one_error_line(code, err, f"cannot open {name}: it holds 32 layers of 8192 x 8192; opening it needs "
                          "about 9.6 GB, the budget is 4.0 GB")
