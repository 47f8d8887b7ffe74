"""engine/projection.py: a picture into a generator's latent space through
the encoder exported beside it, on real onnxruntime sessions of models the
trainer's exporter wrote."""

from __future__ import annotations

import numpy as np
import pytest

from encoder_factory import write_encoder_model
from studio.core.framing import prepare_image
from studio.engine.generator import Generator
from studio.core.fidelity import psnr
from studio.engine.projection import Projector
from studio.engine.registry import ModelError, Registry
from studio.engine.runtime import Runtime


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    write_encoder_model(root, "painter")
    write_encoder_model(root, "no-encoder", encoder=False)
    return root


def _generator(root, name: str) -> Generator:
    return Generator(Registry([root]).get(name, kind="generator"), Runtime("cpu", threads=1))


def _picture(h: int, w: int, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(h * w)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    if alpha:
        rgba[: h // 3, :, 3] = 0
    return rgba


def test_projection_draws_back_the_latent_it_found(models):
    gen = _generator(models, "painter")
    projector = Projector(gen)
    result = projector.project(_picture(90, 60)[..., :3])
    assert result.latent.shape == (16,) and result.latent.dtype == np.float32
    assert np.array_equal(result.rebuilt, gen.render(result.latent)[0])
    assert result.psnr == pytest.approx(psnr(result.rebuilt, result.target))
    # One picture or a batch: the same latent.
    batch = projector.encode(np.stack([result.target, result.target[::-1]]))
    assert np.allclose(batch[0], result.latent, atol=1e-6) and not np.allclose(batch[1], result.latent)


def test_pictures_are_framed_as_the_training_images_were(models):
    projector = Projector(_generator(models, "painter"))
    cut_out, photo = _picture(40, 64, alpha=True), _picture(48, 80)
    # fit auto on white: transparency is padded, an opaque picture centre-cropped.
    assert np.array_equal(projector.frame(cut_out), prepare_image(cut_out, 32, "pad").transpose(1, 2, 0))
    assert np.array_equal(projector.frame(photo), prepare_image(photo, 32, "crop").transpose(1, 2, 0))
    with pytest.raises(ModelError, match="uint8 RGB or RGBA"):
        projector.frame(np.zeros((8, 8), np.uint8))


def test_a_generator_without_an_encoder_says_how_to_get_one(models):
    with pytest.raises(ModelError, match="no usable encoder: none was trained with it.*--encoder --freeze-g"):
        Projector(_generator(models, "no-encoder")).project(_picture(20, 20))


def test_a_damaged_encoder_leaves_the_generator_usable(tmp_path):
    folder = write_encoder_model(tmp_path, "painter")
    with open(folder / "encoder.onnx", "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\0" * 8)
    gen = _generator(tmp_path, "painter")
    assert gen.render(np.zeros(16, np.float32)).shape == (1, 32, 32, 3)
    with pytest.raises(ModelError, match="encoder.onnx does not match the sha256"):
        Projector(gen).project(_picture(20, 20))


def test_refinement_draws_the_picture_closer_in_a_child_process(models):
    projector = Projector(_generator(models, "painter"))
    picture = _picture(48, 48)
    steps_seen = []
    encoded = projector.project(picture)
    refined = projector.project(picture, refine_steps=30, progress=lambda step, steps, db: steps_seen.append(step))
    assert refined.psnr > encoded.psnr + 1.0
    assert steps_seen == [10, 20, 30]


def test_refinement_can_be_stopped_and_reports_a_broken_model_in_one_line(models, tmp_path):
    from studio.engine.projection import RefineCancelled

    projector = Projector(_generator(models, "painter"))
    with pytest.raises(RefineCancelled):
        projector.project(_picture(32, 32), refine_steps=500, should_stop=lambda: True)
    folder = write_encoder_model(tmp_path, "no-checkpoint")
    (folder / "checkpoint.safetensors").unlink()
    broken = Projector(_generator(tmp_path, "no-checkpoint"))
    with pytest.raises(ModelError, match=r"refinement failed: .*no checkpoint.safetensors"):
        broken.project(_picture(32, 32), refine_steps=5)


def test_a_model_without_an_encoder_is_refined_from_the_mean_latent(models):
    projector = Projector(_generator(models, "no-encoder"))
    assert not projector.has_encoder
    result = projector.project(_picture(32, 32), refine_steps=10)
    assert result.latent.shape == (16,) and np.isfinite(result.latent).all()


def test_a_tampered_encoder_entry_is_one_model_error(tmp_path):
    import json

    folder = write_encoder_model(tmp_path, "painter")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["encoder"]["background"] = "#xyz"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="background '#xyz' is not one the trainer writes"):
        Projector(_generator(tmp_path, "painter"))


def test_an_encoder_file_outside_the_model_folder_is_refused(tmp_path):
    import json
    import shutil

    folder = write_encoder_model(tmp_path, "painter")
    shutil.copy(folder / "encoder.onnx", tmp_path / "elsewhere.onnx")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["encoder"]["file"] = "../elsewhere.onnx"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="outside the model's folder"):
        Projector(_generator(tmp_path, "painter")).project(_picture(20, 20))
