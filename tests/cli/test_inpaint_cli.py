"""`studio inpaint`: a file or a folder (masks matched by stem), the default
method (auto when an inpaint model is installed, else telea), recipes,
and one-line errors for bad input (exit 2)."""

import json

import numpy as np
import pytest
from inpaint_factory import constant_fill_onnx, inpaint_manifest
from model_factory import write_model
from test_cli import assert_one_error_line, run_cli

from studio.core.imageio import load_image, save_image
from studio.core.recipe import read_recipe


def picture(path, width=120, height=90, seed=0, alpha=False):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1)
    image = np.clip(image + rng.integers(-20, 20, image.shape), 0, 255).astype(np.uint8)
    if alpha:
        image = np.concatenate([image, rng.integers(1, 256, (height, width, 1), dtype=np.uint8)], axis=2)
    save_image(path, image)
    return image


def mask_picture(path, width=120, height=90, box=(30, 20, 70, 50), value=255):
    mask = np.zeros((height, width, 3), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = value
    save_image(path, mask)
    return mask[..., 0] > 0


@pytest.fixture
def no_shipped_models(tmp_path, monkeypatch):
    """Only the test's user folder provides models, whatever models/ ships."""
    monkeypatch.setattr("studio.engine.registry.shipped_models_dir", lambda: tmp_path / "no-shipped-models")


@pytest.fixture
def installed(user_dir, no_shipped_models):
    """The constant-fill inpainter installed as the user's model 'fill'."""
    data = constant_fill_onnx()
    write_model(user_dir / "models", "fill", data, inpaint_manifest("fill", data))
    return "fill"


def test_a_file_with_telea_by_default_when_no_model_is_installed(capsys, tmp_path, no_shipped_models):
    original = picture(tmp_path / "in.png", alpha=True)
    hole = mask_picture(tmp_path / "mask.png")
    code, out, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                             "-o", str(tmp_path / "out.png"), "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert facts["method"] == "telea" and facts["model"] is None and facts["images"] == 1
    result = load_image(tmp_path / "out.png")
    np.testing.assert_array_equal(result[~hole], original[~hole])
    np.testing.assert_array_equal(result[..., 3], original[..., 3])
    assert (result[hole][:, :3] != original[hole][:, :3]).any(axis=1).mean() > 0.9
    assert read_recipe(tmp_path / "out.png") == {"format": "latent-studio/recipe@1", "action": "inpaint",
                                                 "method": "telea", "mask": "mask.png"}


def test_auto_by_default_when_a_model_is_installed_and_the_others_on_request(capsys, tmp_path, installed):
    original = picture(tmp_path / "in.png")
    hole = mask_picture(tmp_path / "mask.png")
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                           "-o", str(tmp_path / "out.png"))
    assert code == 0, err
    recipe = read_recipe(tmp_path / "out.png")
    assert recipe["method"] == "auto" and recipe["model"]["name"] == "fill"
    result = load_image(tmp_path / "out.png")[..., :3]
    far = np.ones_like(hole)
    far[20 - 7:50 + 7, 30 - 7:70 + 7] = False  # the hole and its feather
    np.testing.assert_array_equal(result[far], original[far])
    assert (result[hole] != original[hole]).any()
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                           "--method", "learned", "-o", str(tmp_path / "learned.png"))
    assert code == 0, err
    assert read_recipe(tmp_path / "learned.png")["method"] == "learned"
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                           "--method", "ns", "-o", str(tmp_path / "ns.jpg"))
    assert code == 0, err
    assert read_recipe(tmp_path / "ns.jpg")["method"] == "ns"
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                           "--method", "patchmatch", "-o", str(tmp_path / "aware.png"))
    assert code == 0, err
    assert read_recipe(tmp_path / "aware.png")["method"] == "patchmatch"
    aware = load_image(tmp_path / "aware.png")[..., :3]
    np.testing.assert_array_equal(aware[far], original[far])


def test_a_folder_with_masks_matched_by_stem(capsys, tmp_path, no_shipped_models):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "c.png"]):
        picture(photos / name, seed=i)
    (photos / "notes.txt").write_text("not an image")
    mask_picture(masks / "a.png")
    mask_picture(masks / "b.png", box=(0, 0, 40, 90))  # a mask touching the border
    code, out, err = run_cli(capsys, "inpaint", str(photos), "--mask", str(masks), "--method", "ns",
                             "-o", str(tmp_path / "fixed"), "--json")
    assert code == 0, err
    assert json.loads(out)["images"] == 2
    assert sorted(p.name for p in (tmp_path / "fixed").iterdir()) == ["a.png", "b.jpg"]
    assert "no mask for 1 image(s), left out: c.png" in err
    assert read_recipe(tmp_path / "fixed" / "b.jpg")["mask"] == "b.png"


def test_bad_input_is_one_line(capsys, tmp_path, installed):
    picture(tmp_path / "in.png")
    mask_picture(tmp_path / "mask.png")
    image, mask, out = str(tmp_path / "in.png"), str(tmp_path / "mask.png"), str(tmp_path / "out.png")

    mask_picture(tmp_path / "small.png", width=60)
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", str(tmp_path / "small.png"), "-o", out)
    assert_one_error_line(code, err, "small.png is 60 x 90 px", "in.png is 120 x 90 px")

    mask_picture(tmp_path / "empty.png", box=(0, 0, 0, 0))
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", str(tmp_path / "empty.png"), "-o", out)
    assert_one_error_line(code, err, "empty.png marks nothing")
    # Grey below half (a JPEG's specks) is not a hole either.
    mask_picture(tmp_path / "faint.png", value=100)
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", str(tmp_path / "faint.png"), "-o", out)
    assert_one_error_line(code, err, "faint.png marks nothing")

    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "broken.png"), "--mask", mask, "-o", out)
    assert_one_error_line(code, err, "broken.png")
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", str(tmp_path / "broken.png"), "-o", out)
    assert_one_error_line(code, err, "broken.png")
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "missing.png"), "--mask", mask, "-o", out)
    assert_one_error_line(code, err, "missing.png")

    code, _, err = run_cli(capsys, "inpaint", image, "--mask", mask, "--model", "nope", "-o", out)
    assert_one_error_line(code, err, "unknown model 'nope'", "fill")
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", mask, "--model", "fill", "--method", "telea",
                           "-o", out)
    assert_one_error_line(code, err, "--model")
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", mask, "--method", "clone", "-o", out)
    assert_one_error_line(code, err, "clone")
    code, _, err = run_cli(capsys, "inpaint", image, "--mask", str(tmp_path), "-o", out)
    assert_one_error_line(code, err, "--mask is a folder")
    assert not (tmp_path / "out.png").exists()


def test_learned_without_a_model_and_folder_mistakes(capsys, tmp_path, no_shipped_models):
    picture(tmp_path / "in.png")
    mask_picture(tmp_path / "mask.png")
    code, _, err = run_cli(capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                           "--method", "learned", "-o", str(tmp_path / "out.png"))
    assert_one_error_line(code, err, "no inpaint model is installed")

    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    picture(photos / "a.png")
    code, _, err = run_cli(capsys, "inpaint", str(photos), "--mask", str(tmp_path / "mask.png"),
                           "-o", str(tmp_path / "fixed"))
    assert_one_error_line(code, err, "--mask must be a folder")
    code, _, err = run_cli(capsys, "inpaint", str(photos), "--mask", str(masks), "-o", str(tmp_path / "fixed"))
    assert_one_error_line(code, err, "no mask in")
    mask_picture(masks / "a.png")
    mask_picture(masks / "a.webp")
    code, _, err = run_cli(capsys, "inpaint", str(photos), "--mask", str(masks), "-o", str(tmp_path / "fixed"))
    assert_one_error_line(code, err, "two masks for 'a'")
