"""A real, tiny training run in a subprocess (the way users run it), then its
checkpoint, its export and its parity check."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.train import checkpoint as ckpt_io
from studio.train.nets import Discriminator, Generator

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.train", *args], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def make_images(folder: Path, count: int = 8) -> Path:
    """Small RGBA images: coloured discs on transparency, like emoji."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:24, 0:20]
    for i in range(count):
        rgba = np.zeros((24, 20, 4), np.uint8)
        inside = (yy - 12) ** 2 + (xx - 10) ** 2 < rng.integers(25, 90)
        rgba[inside, :3] = rng.integers(0, 256, 3)
        rgba[inside, 3] = 255
        Image.fromarray(rgba, "RGBA").save(folder / f"img{i}.png")
    return folder


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("train")
    data = make_images(root / "data")
    run = root / "run"
    proc = _run("--data", str(data), "--out", str(run), "--resolution", "16", "--batch", "4", "--steps", "6",
                "--checkpoint-every", "3", "--log-every", "1", "--seed", "3", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    return run, _json_lines(proc.stdout)


def test_training_prints_json_progress(tiny_run):
    run, lines = tiny_run
    steps = [r for r in lines if "loss_g" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]
    for r in steps:
        assert r["images_seen"] == 4 * r["step"]
        assert np.isfinite(r["loss_g"]) and np.isfinite(r["loss_d"])
        assert r["images_per_s"] > 0 and r["eta_s"] is not None
    at_ckpt = [r for r in steps if r["checkpoint"]]
    assert [r["step"] for r in at_ckpt] == [3, 6]
    assert all(Path(r["sample_grid"]).is_file() for r in at_ckpt)
    assert lines[-1]["event"] == "done" and lines[-1]["reason"] == "steps" and lines[-1]["step"] == 6
    assert (run / "data_16.safetensors").is_file()  # the preprocessed-data cache
    grid = Image.open(lines[-1]["sample_grid"])
    assert grid.size == (8 * 16 + 7 * 2, 4 * 16 + 3 * 2)


def test_checkpoint_reloads_into_the_networks(tiny_run):
    run, _ = tiny_run
    ckpt = ckpt_io.load(run)
    assert ckpt.info["step"] == 6 and ckpt.info["images_seen"] == 24
    assert json.loads((run / "checkpoint.json").read_text())["step"] == 6
    config = ckpt.info["config"]
    assert config["resolution"] == 16 and config["images"] == 8
    G = Generator(config["latent_size"], config["resolution"], config["width"])
    D = Discriminator(config["resolution"], config["width"])
    G.load_state_dict(ckpt.module_state("G_ema"))  # strict: every key present, no extras
    G.load_state_dict(ckpt.module_state("G"))
    D.load_state_dict(ckpt.module_state("D"))
    opt = torch.optim.Adam(D.parameters(), lr=config["lr"], betas=tuple(config["betas"]))
    opt.load_state_dict(ckpt.optimiser_state("opt_D"))
    assert float(opt.state_dict()["state"][0]["step"]) == 6
    # The checkpoint holds no pickle: it is a plain safetensors file.
    assert (run / "checkpoint.safetensors").read_bytes()[8:9] == b"{"


def test_resume_continues_from_the_checkpoint(tiny_run, tmp_path):
    run, _ = tiny_run
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("checkpoint.safetensors", "checkpoint.json", "data_16.safetensors"):
        (copy / name).write_bytes((run / name).read_bytes())
    data = ckpt_io.load(run).info["config"]["data"]
    proc = _run("--data", data, "--out", str(copy), "--resolution", "16", "--steps", "8", "--log-every", "1",
                "--threads", "2", "--resume")
    assert proc.returncode == 0, proc.stderr
    lines = _json_lines(proc.stdout)
    assert [r["step"] for r in lines if "loss_g" in r] == [7, 8]
    assert ckpt_io.load(copy).info["images_seen"] == 32


def test_export_passes_parity_and_registry(tiny_run, tmp_path):
    import onnxruntime as ort

    from studio.engine.registry import Registry
    from studio.train.samples import seed_latents, to_pixels

    run, _ = tiny_run
    proc = _run("export", str(run), "--name", "tiny16", "--dest", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    diff = float(re.search(r"max abs diff (\S+)", proc.stdout).group(1))
    assert diff <= 1e-3
    folder = tmp_path / "tiny16"
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint.safetensors", "manifest.json", "model.onnx", "samples.png"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["outputs"][0]["shape"] == ["batch", 3, 16, 16]
    assert manifest["training"]["steps"] == 6 and manifest["training"]["images_seen"] == 24
    entry = Registry([tmp_path]).get("tiny16")  # sha256 and ONNX signature verified there
    assert entry.sha256 == manifest["sha256"]

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 5):  # the batch axis is dynamic
        out = session.run(["image"], {"latent": np.zeros((batch, 128), np.float32)})[0]
        assert out.shape == (batch, 3, 16, 16) and np.abs(out).max() <= 1.0
    # samples.png shows exactly what the app renders for seeds 0..31.
    pixels = to_pixels(session.run(["image"], {"latent": seed_latents(range(32), 128)})[0])
    sheet = np.asarray(Image.open(folder / "samples.png").convert("RGB"))
    assert np.array_equal(sheet[18:34, 18 * 3:18 * 3 + 16], pixels[8 + 3])

    # The exported checkpoint is enough to rebuild G_ema and D.
    ckpt = ckpt_io.load(folder / "checkpoint.safetensors")
    Generator(128, 16, ckpt.info["config"]["width"]).load_state_dict(ckpt.module_state("G_ema"))
    Discriminator(16, ckpt.info["config"]["width"]).load_state_dict(ckpt.module_state("D"))


def test_sigterm_writes_a_checkpoint_and_exits_0(tmp_path):
    data = make_images(tmp_path / "data")
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.train", "--data", str(data), "--out", str(run), "--resolution", "16",
         "--batch", "4", "--steps", "100000", "--checkpoint-every", "100000", "--log-every", "1", "--threads", "2"],
        cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if "loss_g" in line:
                break
        assert not (run / "checkpoint.safetensors").exists()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    done = _json_lines(out)[-1]
    assert done["event"] == "done" and done["reason"] == "SIGTERM"
    assert ckpt_io.load(run).info["step"] == done["step"] >= 1


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_bad_data_folder_is_error_exit_2(tmp_path, case):
    data = tmp_path / "data"
    if case == "empty":
        data.mkdir()
        (data / "notes.txt").write_text("not an image")
    proc = _run("--data", str(data), "--out", str(tmp_path / "run"), "--steps", "1")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert str(data) in proc.stderr


def test_export_of_missing_run_is_error_exit_2(tmp_path):
    from studio.train.export import main

    assert main([str(tmp_path / "nope"), "--name", "x", "--dest", str(tmp_path)]) == 2
    assert main([str(tmp_path), "--name", "../evil", "--dest", str(tmp_path)]) == 2
