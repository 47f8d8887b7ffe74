"""`studio project`: a picture into a generator's latent space through its
encoder; the reconstruction carries the latent in its recipe; bad input is
one `error:` line with exit status 2."""

import json
import sys

import numpy as np
import pytest
from encoder_factory import write_encoder_model
from test_cli import assert_one_error_line, run_cli

from studio.core.imageio import load_image, save_image
from studio.core.recipe import decode_latent, read_recipe
from studio.engine.generator import Generator
from studio.engine.registry import Registry


@pytest.fixture
def installed(user_dir):
    write_encoder_model(user_dir / "models", "painter")
    write_encoder_model(user_dir / "models", "plain", encoder=False)
    return user_dir / "models"


def test_the_reconstruction_carries_the_latent_that_draws_it(capsys, tmp_path, installed):
    save_image(tmp_path / "me.png", np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8))
    code, out, err = run_cli(capsys, "project", str(tmp_path / "me.png"), "--model", "painter",
                             "-o", str(tmp_path / "rebuilt.png"), "--json")
    assert code == 0, err
    facts = json.loads(out)
    recipe = read_recipe(tmp_path / "rebuilt.png")
    assert recipe["action"] == "project" and recipe["model"]["name"] == "painter" and recipe["source"] == "me.png"
    latent = decode_latent(recipe["latent"])
    assert np.allclose(latent, facts["latent"], atol=1e-5) and facts["psnr"] == pytest.approx(recipe["psnr"], abs=0.01)
    # Drawing the recipe's latent again gives the file's pixels: the recipe reopens exactly.
    again = Generator(Registry([installed]).get("painter")).render(latent)[0]
    assert np.array_equal(load_image(tmp_path / "rebuilt.png")[..., :3], again)


@pytest.mark.parametrize("case, message", [
    ("no-encoder", "model 'plain' has no usable encoder"),
    ("unreadable", "cannot"),
    ("missing", "no such file"),
    ("unknown-model", "unknown model 'nobody'"),
])
def test_bad_input_is_one_error_line(capsys, tmp_path, installed, case, message):
    picture = tmp_path / "me.png"
    if case == "unreadable":
        picture.write_bytes(b"not a picture")
    elif case != "missing":
        save_image(picture, np.zeros((20, 20, 3), np.uint8))
    model = {"no-encoder": "plain", "unknown-model": "nobody"}.get(case, "painter")
    code, out, err = run_cli(capsys, "project", str(picture), "--model", model, "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, message)
    assert not (tmp_path / "out.png").exists()


def test_interpolate_walks_between_pictures_through_the_encoder(capsys, tmp_path, installed):
    from studio.engine.projection import Projector

    pictures = []
    for i, name in enumerate(("a.png", "b.png")):
        pictures.append(np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8))
        save_image(tmp_path / name, pictures[-1])
    code, _, err = run_cli(capsys, "interpolate", "--model", "painter", "--images",
                           f"{tmp_path / 'a.png'},{tmp_path / 'b.png'}", "--frames", "5", "-o", str(tmp_path / "w.gif"))
    assert code == 0, err
    recipe = read_recipe(tmp_path / "w.gif")
    assert recipe["action"] == "interpolate" and [k["name"] for k in recipe["keyframes"]] == ["a.png", "b.png"]
    generator = Generator(Registry([installed]).get("painter"))
    projector = Projector(generator)
    for key, picture in zip(recipe["keyframes"], pictures):
        assert np.allclose(decode_latent(key["latent"]), projector.project(picture).latent, atol=1e-6)

    code, _, err = run_cli(capsys, "interpolate", "--model", "plain", "--images",
                           f"{tmp_path / 'a.png'},{tmp_path / 'b.png'}", "-o", str(tmp_path / "x.gif"))
    assert_one_error_line(code, err, "has no usable encoder")


def test_refine_brings_a_picture_into_a_model_without_an_encoder(capsys, tmp_path, installed):
    save_image(tmp_path / "me.png", np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    code, out, err = run_cli(capsys, "project", str(tmp_path / "me.png"), "--model", "plain", "--refine", "10",
                             "-o", str(tmp_path / "r.png"), "--json")
    assert code == 0, err
    recipe = read_recipe(tmp_path / "r.png")
    assert recipe["refine_steps"] == 10 and recipe["psnr"] == pytest.approx(json.loads(out)["psnr"], abs=0.01)
    code, _, err = run_cli(capsys, "project", str(tmp_path / "me.png"), "--model", "plain", "--refine", "0",
                           "-o", str(tmp_path / "r.png"))
    assert_one_error_line(code, err, "at least 1")


def test_without_pytorch_training_and_refinement_say_why_in_one_line(capsys, tmp_path, installed, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as on an Intel Mac: the import system finds no torch
    save_image(tmp_path / "me.png", np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    code, _, err = run_cli(capsys, "project", str(tmp_path / "me.png"), "--model", "plain", "--refine", "10",
                           "-o", str(tmp_path / "r.png"))
    assert_one_error_line(code, err, "refinement runs in the trainer", "PyTorch")
    for command in ("train", "export"):
        code, _, err = run_cli(capsys, command, "--help")
        assert_one_error_line(code, err, "training needs PyTorch, which is not installed")
    code, _, err = run_cli(capsys, "project", str(tmp_path / "me.png"), "--model", "painter", "-o", str(tmp_path / "e.png"))
    assert code == 0, err  # the encoder alone needs no trainer
