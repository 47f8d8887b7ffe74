"""`studio train --encoder` (issue 15): an encoder trained with the
generator, resumed, exported beside it with a parity check, and trained
alone for an existing generator (--freeze-g), which stays bit-identical.
Real trainer processes on a small folder at 32 px (the encoder's least)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from safetensors.torch import load_file

from dataset_factory import make_images
from studio.train import checkpoint as ckpt_io
from studio.train.export import export_run
from studio.train.finetune import load_base

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--resolution", "32", "--batch", "4", "--width", "0.25", "--threads", "1", "--log-every", "1"]
ENCODER_TERMS = ("loss_pixel", "loss_features", "loss_kl", "loss_cycle")


def _train(args: list, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STUDIO_CACHE_DIR": str(tmp / "cache"),
           "STUDIO_USER_DIR": str(tmp / "user"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def _events(proc: subprocess.CompletedProcess, kind: str) -> list[dict]:
    return [e for e in map(json.loads, proc.stdout.splitlines()) if e["event"] == kind]


@pytest.fixture(scope="module")
def encoder_model(tmp_path_factory):
    """A run trained 2 steps with --encoder, resumed to 4, exported: (tmp, run, model folder, the two procs)."""
    tmp = tmp_path_factory.mktemp("encoder")
    data = make_images(tmp / "data", 12, (48, 48))
    common = ["--data", data, "--out", tmp / "run", "--encoder", "--from-scratch", *SMALL, "--checkpoint-every", 2,
              "--metrics-every", 2]
    first = _train([*common, "--steps", 2], tmp)
    assert first.returncode == 0, first.stderr
    resumed = _train(["--resume", tmp / "run", "--steps", 4, "--threads", 1], tmp)
    assert resumed.returncode == 0, resumed.stderr
    folder = Path(export_run(tmp / "run", "with-encoder", tmp / "models")["folder"])
    return tmp, tmp / "run", folder, first, resumed


def test_encoder_trains_with_the_generator_and_resumes(encoder_model):
    _, run, _, first, resumed = encoder_model
    progress = _events(first, "progress")[-1]
    assert all(np.isfinite(progress[key]) for key in ENCODER_TERMS) and progress["grad_norm_e"] > 0
    metrics = _events(first, "metrics")[-1]
    assert 0 < metrics["rebuild_psnr"] < 100 and "rebuilt" in metrics["summary"]
    assert _events(resumed, "start")[0]["resumed"] is True
    ckpt = ckpt_io.load(run)
    assert ckpt.info["step"] == 4 and ckpt.info["config"]["encoder"] is True
    names = {key.split(".")[0] for key in ckpt.tensors}
    assert {"E", "E_ema", "opt_E", "G", "D"} <= names


def test_export_puts_the_encoder_beside_the_generator_with_parity(encoder_model):
    _, run, folder, _, _ = encoder_model
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["encoder"]
    assert entry["file"] == "encoder.onnx" and entry["parity_max_abs_diff"] <= 1e-3
    session = ort.InferenceSession(str(folder / entry["file"]), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).uniform(-1, 1, (3, manifest["channels"], 32, 32)).astype(np.float32)
    (latents,) = session.run(["latent"], {"image": images})
    assert latents.shape == (3, manifest["latent_size"]) and np.isfinite(latents).all()
    # The model folder keeps the EMA encoder for fine-tunes, and load_base hands it on.
    _, states = load_base(folder)
    assert set(states) == {"G", "D", "E"}


def test_freeze_g_trains_only_the_encoder_and_leaves_the_generator_bit_identical(encoder_model):
    tmp, _, folder, _, _ = encoder_model
    proc = _train(["--data", tmp / "data", "--out", tmp / "frozen", "--base", folder, "--encoder", "--freeze-g",
                   *SMALL[4:], "--steps", 3, "--checkpoint-every", 3, "--metrics-every", 0], tmp)
    assert proc.returncode == 0, proc.stderr
    progress = _events(proc, "progress")[-1]
    assert progress["loss_d"] == 0.0 and progress["grad_norm_g"] == 0.0 and progress["grad_norm_e"] > 0
    base = load_file(str(folder / "checkpoint.safetensors"))
    trained = ckpt_io.load(tmp / "frozen").tensors
    for prefix, base_prefix in (("G.", "G_ema."), ("G_ema.", "G_ema."), ("D.", "D.")):
        for key, value in base.items():
            if key.startswith(base_prefix):
                assert trained[prefix + key[len(base_prefix):]].equal(value), prefix + key
    moved = [key for key, value in base.items() if key.startswith("E_ema.") and not trained[key].equal(value)]
    assert moved  # the encoder did learn (from the base's own)


@pytest.mark.parametrize("flags, message", [
    (["--encoder", "--freeze-g", "--from-scratch"], "--freeze-g trains an encoder for an existing generator"),
    (["--freeze-g", "--from-scratch"], "--freeze-g trains an encoder for an existing generator"),
    (["--encoder", "--arch", "projected", "--from-scratch"], "--arch projected has none"),
    (["--encoder", "--resolution", "16", "--from-scratch"], "--encoder needs --resolution 32 or more"),
    (["--encoder", "--task", "inpaint"], "--encoder is for --task generate"),
])
def test_encoder_flags_that_cannot_work_are_one_line_errors(tmp_path, flags, message):
    data = make_images(tmp_path / "data", 4, (32, 32))
    proc = _train(["--data", data, "--out", tmp_path / "run", "--steps", 1, *flags], tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_engine_projects_through_the_trained_encoder(encoder_model):
    """A round trip through the exported files: the engine's latent for a
    picture is what the trained E_ema gives, and the drawing is G_ema's."""
    import torch

    from studio.core.model_pixels import straight_alpha, to_model_pixels
    from studio.engine.generator import Generator
    from studio.engine.projection import Projector
    from studio.engine.registry import Registry
    from studio.engine.runtime import Runtime
    from studio.train.architecture import build_generator
    from studio.train.encoder import build_encoder

    tmp, run, folder, _, _ = encoder_model
    projector = Projector(Generator(Registry([folder.parent]).get("with-encoder"), Runtime("cpu", threads=1)))
    picture = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    result = projector.project(picture)
    ckpt = ckpt_io.load(run)
    config = ckpt.info["config"]
    E, G = build_encoder(config).eval(), build_generator(config).eval()
    E.load_state_dict(ckpt.module_state("E_ema"))
    G.load_state_dict(ckpt.module_state("G_ema"))
    # The discs lie on transparency: E sees the picture on white plus alpha, and G draws both.
    assert config["channels"] == 4 and result.target.shape == (32, 32, 4)
    with torch.no_grad():
        as_drawn = to_model_pixels(result.target, (255, 255, 255), 4)
        image = torch.from_numpy(as_drawn.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0)
        latent = E(image)[0][0].numpy()
        drawn = G(torch.from_numpy(latent)[None])[0].numpy()
    np.testing.assert_allclose(result.latent, latent, atol=1e-4)
    pixels = np.clip((drawn.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    expected = straight_alpha(pixels, (255, 255, 255))
    assert int(np.abs(result.rebuilt.astype(int) - expected.astype(int)).max()) <= 1
