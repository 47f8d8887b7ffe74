"""`studio upscale`: a file or a folder, the installed upscaler by default
(else Lanczos), the recipe, and one-line errors (exit 2) for bad input."""

import json

import numpy as np
import pytest
from test_cli import assert_one_error_line, run_cli
from upscale_factory import write_upscale_model

from studio.core.imageio import load_image, save_image
from studio.core.recipe import read_recipe


def picture(path, width=30, height=20, alpha=False):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (height, width, 4 if alpha else 3), dtype=np.uint8)
    save_image(path, image)
    return image


@pytest.fixture
def no_shipped_models(tmp_path, monkeypatch):
    """Only the test's user folder provides models, whatever models/ ships."""
    monkeypatch.setattr("studio.engine.registry.shipped_models_dir", lambda: tmp_path / "no-shipped-models")


@pytest.fixture
def installed(user_dir, no_shipped_models):
    write_upscale_model(user_dir / "models", "up4", scale=4)
    write_upscale_model(user_dir / "models", "up2", scale=2)
    return "up4"


def test_a_file_with_the_installed_upscaler_and_its_recipe(capsys, tmp_path, installed):
    picture(tmp_path / "in.png", alpha=True)
    code, out, err = run_cli(capsys, "upscale", str(tmp_path / "in.png"), "--model", "up4", "--tile", "16",
                             "-o", str(tmp_path / "out.png"), "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert (facts["method"], facts["model"], facts["scale"], facts["images"]) == ("model", "up4", 4, 1)
    result = load_image(tmp_path / "out.png")
    assert result.shape == (80, 120, 4)
    recipe = read_recipe(tmp_path / "out.png")
    assert recipe["action"] == "upscale" and recipe["model"]["name"] == "up4" and recipe["scale"] == 4


def test_the_default_upscaler_is_the_one_made_for_the_asked_factor(capsys, tmp_path, installed):
    picture(tmp_path / "in.png")
    for asked, model, scale in ((["--scale", "2"], "up2", 2), (["--scale", "4"], "up4", 4), ([], "up4", 4)):
        code, out, err = run_cli(capsys, "upscale", str(tmp_path / "in.png"), *asked,
                                 "-o", str(tmp_path / f"x{scale}.png"), "--json")
        assert code == 0, err  # no factor asked: the model that enlarges most, whatever its name's order
        assert (json.loads(out)["model"], json.loads(out)["scale"]) == (model, scale)


def test_a_folder_with_lanczos_when_no_upscaler_is_installed(capsys, tmp_path, user_dir, no_shipped_models):
    (tmp_path / "in").mkdir()
    picture(tmp_path / "in" / "a.png")
    picture(tmp_path / "in" / "b.jpg", width=10, height=12)
    (tmp_path / "in" / "notes.txt").write_text("not a picture")
    code, out, err = run_cli(capsys, "upscale", str(tmp_path / "in"), "--scale", "2", "-o", str(tmp_path / "out"),
                             "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert (facts["method"], facts["model"], facts["images"]) == ("lanczos", None, 2)
    assert load_image(tmp_path / "out" / "a.png").shape == (40, 60, 4)
    assert load_image(tmp_path / "out" / "b.jpg").shape == (24, 20, 4)
    assert read_recipe(tmp_path / "out" / "a.png")["method"] == "lanczos"


@pytest.mark.parametrize("argv, needle", [
    (["--model", "nope"], "nope"),
    (["--model", "up2", "--scale", "4"], "model 'up2' enlarges x2; it cannot make x4"),
    (["--method", "lanczos", "--model", "up4"], "does not go with --method lanczos"),
    (["--tile", "4"], "--tile must be at least 16 px"),
])
def test_bad_requests_are_one_error_line(capsys, tmp_path, installed, argv, needle):
    picture(tmp_path / "in.png")
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "in.png"), *argv, "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, needle)
    assert not (tmp_path / "out.png").exists()


def test_unreadable_too_big_and_unwritable_are_one_error_line(capsys, tmp_path, installed):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "broken.png"), "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "broken.png")
    from PIL import Image

    Image.new("L", (9000, 8200)).save(tmp_path / "huge.png")  # 74 Mpx: x4 is over the limit
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "huge.png"), "--scale", "4", "--method", "lanczos",
                           "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "huge.png: 9000 x 8200 px x4 would be 36000 x 32800 px, over the limit of 268 million")
    picture(tmp_path / "in.png")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "out.png").mkdir()  # a folder where the file should go
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "ro" / "out.png"))
    assert_one_error_line(code, err)
    code, _, err = run_cli(capsys, "upscale", str(tmp_path / "missing.png"), "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "no such file or folder")
