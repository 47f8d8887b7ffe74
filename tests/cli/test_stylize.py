"""`studio stylize`: files and folders, built-in blends and image styles,
masks, and one-line errors for bad input (exit 2)."""

import numpy as np

from studio.core.imageio import load_image, save_image
from studio.core.recipe import read_recipe
from test_cli import assert_one_error_line, run_cli


def picture(path, width=96, height=64, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1).astype(np.uint8)
    image = np.clip(image.astype(int) + rng.integers(-20, 20, image.shape), 0, 255).astype(np.uint8)
    save_image(path, image)
    return image


def test_builtin_blend_keeps_the_size_and_carries_a_recipe(capsys, tmp_path):
    original = picture(tmp_path / "in.png")
    code, out, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "--style", "3:0.5,12:0.5",
                             "-o", str(tmp_path / "out.png"))
    assert code == 0, err
    result = load_image(tmp_path / "out.png")
    assert result.shape[:2] == original.shape[:2]
    assert np.abs(result[..., :3].astype(int) - original).mean() > 10  # restyled, not copied
    recipe = read_recipe(tmp_path / "out.png")
    assert recipe["action"] == "stylize" and recipe["weights"] == {"3": 0.5, "12": 0.5}


def test_mask_restyles_only_inside_and_max_size_shrinks(capsys, tmp_path):
    original = picture(tmp_path / "in.png")
    mask = np.zeros((64, 96, 3), np.uint8)
    mask[:, :48] = 255
    save_image(tmp_path / "mask.png", mask)
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "--style", "5", "--mask",
                           str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"))
    assert code == 0, err
    result = load_image(tmp_path / "out.png")[..., :3]
    np.testing.assert_array_equal(result[:, 48:], original[:, 48:])
    assert (result[:, :48] != original[:, :48]).any()
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "--style", "5", "--max-size", "48",
                           "-o", str(tmp_path / "small.png"))
    assert code == 0, err
    assert load_image(tmp_path / "small.png").shape[:2] == (32, 48)


def test_a_painting_as_the_style_and_a_folder(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        picture(folder / f"p{i}.png", seed=i)
    (folder / "notes.txt").write_text("not an image")
    picture(tmp_path / "painting.png", 40, 40, seed=9)
    code, _, err = run_cli(capsys, "stylize", str(folder), "--style-image", str(tmp_path / "painting.png"),
                           "--strength", "0.6", "--preserve-color", "-o", str(tmp_path / "styled"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "styled").iterdir()) == ["p0.png", "p1.png"]
    assert read_recipe(tmp_path / "styled" / "p0.png")["style_image"] == "painting.png"


def test_bad_input_is_one_line(capsys, tmp_path):
    picture(tmp_path / "in.png")
    out = str(tmp_path / "out.png")
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "--style", "26", "-o", out)
    assert_one_error_line(code, err, "0 to 25")
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "missing.png"), "--style", "1", "-o", out)
    assert_one_error_line(code, err, "missing.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "broken.png"), "--style", "1", "-o", out)
    assert_one_error_line(code, err, "broken.png")
    save_image(tmp_path / "mask.png", np.zeros((10, 10, 3), np.uint8))
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "--style", "1", "--mask",
                           str(tmp_path / "mask.png"), "-o", out)
    assert_one_error_line(code, err, "mask")
    code, _, err = run_cli(capsys, "stylize", str(tmp_path / "in.png"), "-o", out)
    assert_one_error_line(code, err, "--style")
