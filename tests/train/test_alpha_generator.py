"""Generators that draw transparency (issue 17 item 2): a folder of cut-out
figures trains a 4-channel generator (colour on the background + alpha),
exported with "channels": 4, rendered by the engine as straight RGBA; an RGB
base fine-tunes into one with its colour kept. Real trainer processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dataset_factory import make_images
from studio.core.model_pixels import straight_alpha, to_model_pixels
from studio.engine.generator import Generator
from studio.engine.registry import Registry
from studio.train.alpha import fit_channels, on_checkerboard
from studio.train.architecture import build_discriminator, build_generator
from studio.train.augment import augment
from studio.train.export import export_run

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--resolution", "32", "--batch", "4", "--width", "0.25", "--threads", "1", "--from-scratch",
         "--steps", "2", "--checkpoint-every", "2", "--metrics-every", "2"]
CONFIG = {"arch": "fastgan2", "latent_size": 16, "resolution": 32, "width": 0.25}


def _train(args: list, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STUDIO_CACHE_DIR": str(tmp / "cache"),
           "STUDIO_USER_DIR": str(tmp / "user"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def _config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


@pytest.fixture(scope="module")
def alpha_model(tmp_path_factory):
    """A 2-step run on transparent discs, exported: (tmp, run, model folder, the trainer's output)."""
    tmp = tmp_path_factory.mktemp("alpha")
    data = make_images(tmp / "data", 8, (40, 40))
    proc = _train(["--data", data, "--out", tmp / "run", *SMALL], tmp)
    assert proc.returncode == 0, proc.stderr
    folder = Path(export_run(tmp / "run", "discs", tmp / "models")["folder"])
    return tmp, tmp / "run", folder, proc


def test_a_folder_of_cut_outs_trains_a_generator_that_draws_alpha(alpha_model):
    tmp, run, folder, proc = alpha_model
    assert _config(run)["channels"] == 4 and _config(run)["alpha"] == "auto"
    dataset = next(json.loads(line) for line in proc.stdout.splitlines() if '"dataset"' in line)
    assert "draw their transparency" in dataset["summary"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["channels"] == 4 and manifest["background"] == "#ffffff"
    assert manifest["outputs"][0]["shape"] == ["batch", 4, 32, 32]
    entry = Registry([tmp / "models"]).get("discs")
    image = Generator(entry).render(np.zeros((2, entry.manifest["latent_size"]), np.float32))
    assert image.shape == (2, 32, 32, 4) and image.dtype == np.uint8


def test_flatten_or_an_opaque_folder_trains_rgb(tmp_path):
    data = make_images(tmp_path / "data", 8, (40, 40))
    assert _train(["--data", data, "--out", tmp_path / "flat", "--alpha", "flatten", *SMALL], tmp_path).returncode == 0
    assert _config(tmp_path / "flat")["channels"] == 3
    opaque = tmp_path / "opaque"
    opaque.mkdir()
    for path in sorted(data.iterdir()):
        Image.open(path).convert("RGB").save(opaque / path.name)
    proc = _train(["--data", opaque, "--out", tmp_path / "auto", *SMALL], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _config(tmp_path / "auto")["channels"] == 3


def test_keep_is_refused_for_networks_that_draw_rgb_only(tmp_path):
    data = make_images(tmp_path / "data", 8, (40, 40))
    proc = _train(["--data", data, "--out", tmp_path / "run", "--alpha", "keep", "--arch", "classic", *SMALL],
                  tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: --alpha keep needs --arch fastgan or fastgan2; --arch "
                                                "classic draws RGB only"]


def test_an_rgb_base_fits_a_run_that_draws_alpha_with_its_colour_kept():
    torch.manual_seed(0)
    rgb_g, rgb_d = build_generator(CONFIG).eval(), build_discriminator(CONFIG).eval()
    rgba_g, rgba_d = build_generator({**CONFIG, "channels": 4}).eval(), build_discriminator({**CONFIG, "channels": 4})
    fit_channels(rgba_g, rgb_g.state_dict())
    fit_channels(rgba_d, rgb_d.state_dict())
    z = torch.randn(3, 16)
    with torch.no_grad():
        drawn = rgba_g(z)
        assert torch.allclose(drawn[:, :3], rgb_g(z), atol=1e-5)
        # White ground starts transparent: alpha begins as the opposite of the colour's mean.
        assert torch.allclose(drawn[:, 3], torch.tanh(-torch.atanh(drawn[:, :3].clamp(-0.999, 0.999)).mean(dim=1)),
                              atol=1e-3)
        # D starts blind to alpha: the same verdict whatever the alpha.
        x = torch.rand(3, 4, 32, 32) * 2 - 1
        assert torch.allclose(rgba_d.eval()(x), rgb_d(x[:, :3]), atol=1e-5)
    back = build_generator(CONFIG).eval()
    fit_channels(back, rgba_g.state_dict())  # an alpha base into an RGB run: alpha dropped
    with torch.no_grad():
        assert torch.allclose(back(z), rgb_g(z), atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        fit_channels(build_generator({**CONFIG, "width": 0.5}), rgb_g.state_dict())


def test_augmenting_leaves_alpha_to_the_geometry_and_fills_it_transparent():
    torch.manual_seed(1)
    x = torch.rand(4, 4, 16, 16) * 2 - 1
    jittered = augment(x, translate=0.0, colour=1.0)
    assert torch.equal(jittered[:, 3], x[:, 3]) and not torch.equal(jittered[:, :3], x[:, :3])
    opaque = torch.ones(4, 4, 16, 16)
    moved = augment(opaque, translate=0.25, colour=0.0)
    shifted_in = moved[:, 3] < 0  # transparent where the picture moved away
    assert shifted_in.any() and torch.equal(moved[:, :3], opaque[:, :3])


def test_model_pixels_round_trip_and_the_checkerboard_shows_transparency():
    rng = np.random.default_rng(3)
    straight = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    straight[..., 3] = rng.choice([0, 128, 255], (8, 8))
    drawn = to_model_pixels(straight, (255, 255, 255), 4)
    assert drawn.shape == (8, 8, 4) and np.array_equal(drawn[..., 3], straight[..., 3])
    back = straight_alpha(drawn, (255, 255, 255))
    seen = straight[..., 3] > 0
    assert np.abs(back[seen, :3].astype(int) - straight[seen, :3]).max() <= 2  # rounding, doubled at half alpha
    assert np.array_equal(to_model_pixels(straight[..., :3], (0, 0, 0), 3), straight[..., :3])
    images = np.ones((1, 4, 16, 16), np.float32)
    images[:, 3] = -1.0  # white and wholly transparent: the board shows
    board = on_checkerboard(images, (255, 255, 255))
    assert board.shape == (1, 3, 16, 16) and board.min() < 0.9 and board.max() == 1.0
