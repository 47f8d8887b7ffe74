"""--task upscale: the degradations, the network's tile contract, and a real
tiny run through the trainer process (kill -9 and resume, export with parity,
the registry, fine-tuning from the export)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dataset_factory import make_images
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.train import checkpoint as ckpt_io
from studio.train.cli import main as train_main
from studio.train.degrade import degrade_batch
from studio.train.export import export_run
from studio.train.losses import laplacian_loss
from studio.train.metrics import luma_psnr
from studio.train.tasks import TASKS
from studio.train.upscale_nets import UpscaleNet, build_upscale_networks, receptive_margin, rescaled_state

REPO = Path(__file__).resolve().parents[2]
TINY = ["--task", "upscale", "--resolution", "64", "--batch", "4", "--width", "0.25", "--layers", "3",
        "--threads", "1"]


def _env(cache: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "STUDIO_CACHE_DIR": str(cache)}


def _train(args: list, cache: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO, env=_env(cache),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_degradations_make_small_soft_inputs_repeatably():
    hr = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    lr = degrade_batch(hr, 4, (0, 3, 0))
    assert lr.shape == (6, 3, 16, 16) and lr.dtype == torch.float32 and -1 <= lr.min() and lr.max() <= 1
    assert torch.equal(lr, degrade_batch(hr, 4, (0, 3, 0)))  # the same (seed, step, rank): the same inputs
    assert not torch.equal(lr, degrade_batch(hr, 4, (0, 4, 0)))
    assert degrade_batch(hr[:, :, :, :48], 2, 1).shape == (6, 3, 32, 24)
    # On smooth pictures every plain downscale is close to area averaging;
    # the realistic ones add blur, noise and JPEG on top.
    smooth = F.interpolate(torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1,
                           size=(64, 64), mode="bicubic", align_corners=False).clamp(-1, 1)
    area = F.avg_pool2d(smooth, 4)
    clean = (degrade_batch(smooth, 4, 7, clean_share=1.0) - area).abs().mean()
    realistic = (degrade_batch(smooth, 4, 7, clean_share=0.0) - area).abs().mean()
    assert clean < 0.02 and realistic > 2 * clean


@pytest.mark.parametrize("skip", ["bilinear", "nearest"])
def test_a_tile_with_the_receptive_margin_equals_the_whole_image_run(skip):
    torch.manual_seed(0)
    net = UpscaleNet(scale=2, width=0.25, layers=4, skip=skip).eval()
    for p in net.parameters():  # a trained-looking net: the last conv starts at zero
        torch.nn.init.normal_(p, std=0.2)
    image = torch.rand(1, 3, 40, 52) * 2 - 1
    margin = receptive_margin(4)
    with torch.no_grad():
        whole = net(image)
        top, left, h, w = 12, 20, 10, 14  # a tile inside the picture, with its margin
        window = image[:, :, top - margin:top + h + margin, left - margin:left + w + margin]
        tile = net(window)[:, :, 2 * margin:2 * (margin + h), 2 * margin:2 * (margin + w)]
        short = net(image[:, :, top - margin + 1:top + h + margin - 1, left - margin + 1:left + w + margin - 1])
    assert torch.allclose(tile, whole[:, :, 2 * top:2 * (top + h), 2 * left:2 * (left + w)], atol=1e-5)
    # One pixel less of margin and the border of the tile changes: the margin is not larger than it needs.
    cut = short[:, :, 2 * (margin - 1):2 * (margin - 1 + h), 2 * (margin - 1):2 * (margin - 1 + w)]
    assert not torch.allclose(cut, whole[:, :, 2 * top:2 * (top + h), 2 * left:2 * (left + w)], atol=1e-5)


def test_a_fresh_network_is_its_plain_enlargement_and_the_losses_see_detail():
    image = torch.rand(2, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        assert torch.equal(UpscaleNet(scale=4, width=0.25, layers=2, skip="nearest")(image),
                           F.interpolate(image, scale_factor=4, mode="nearest"))
        assert torch.allclose(UpscaleNet(scale=4, width=0.25, layers=2)(image),
                              F.interpolate(image, scale_factor=4, mode="bilinear", align_corners=False))
    # A run from before the skip was a choice (no "skip" in its config) keeps its nearest one.
    old_config = {"scale": 4, "width": 0.25, "layers": 2, "resolution": 32}
    assert build_upscale_networks(old_config)[0].skip == "nearest"
    assert TASKS["upscale"].defaults_from_base(old_config)["skip"] == "nearest"  # a fine-tune of it, too
    sharp = torch.zeros(1, 3, 32, 32)
    sharp[..., 8:24, 8:24] = 1.0  # a square with hard edges
    blurred = F.avg_pool2d(sharp, 5, stride=1, padding=2, count_include_pad=False)
    offset = sharp + (blurred - sharp).abs().mean()  # as far from the square by L1, every edge kept
    assert (offset - sharp).abs().mean() == pytest.approx(float((blurred - sharp).abs().mean()))
    assert laplacian_loss(blurred, sharp) > 1.3 * laplacian_loss(offset, sharp)  # lost detail costs more (1.47x)
    assert float(luma_psnr(sharp, sharp)[0]) == 100.0 and float(luma_psnr(blurred, sharp, border=2)[0]) < 30


@pytest.mark.parametrize("have, want", [(4, 2), (2, 4)])
def test_a_net_for_another_factor_starts_from_the_bases_detail(have, want):
    torch.manual_seed(0)
    base = UpscaleNet(scale=have, width=0.25, layers=2)
    torch.nn.init.normal_(base.body[-1].weight, std=0.05)  # detail of its own beyond the bilinear skip
    torch.nn.init.normal_(base.body[-1].bias, std=0.05)
    net = UpscaleNet(scale=want, width=0.25, layers=2)
    net.load_state_dict(rescaled_state(base.state_dict(), 2, have, want))
    image = torch.rand(1, 3, 12, 10) * 2 - 1

    def detail(model):
        return model(image) - F.interpolate(image, scale_factor=model.scale, mode="bilinear", align_corners=False)

    with torch.no_grad():
        if have > want:  # x4 -> x2: the x4's detail averaged over 2 x 2 blocks
            expected = F.avg_pool2d(detail(base), have // want)
        else:  # x2 -> x4: each sub-pixel's detail repeated over the 2 x 2 it covers
            expected = F.interpolate(detail(base), scale_factor=want // have, mode="nearest")
        assert torch.allclose(detail(net), expected, atol=1e-5)
        assert detail(net).abs().mean() > 0.01


def test_a_tiny_run_survives_kill_9_resumes_exports_with_parity_and_fine_tunes(tmp_path, monkeypatch, capsys):
    cache, run = tmp_path / "cache", tmp_path / "run"
    data = make_images(tmp_path / "data", count=8, size=(130, 140))  # kept at 128 px: none enlarged
    proc = subprocess.Popen([sys.executable, "-m", "studio.train", *TINY, "--data", str(data), "--out", str(run),
                             "--steps", "1000", "--checkpoint-every", "2", "--log-every", "1"],
                            cwd=REPO, env=_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # until the first checkpoint is on disk
            if line.strip() and json.loads(line)["event"] == "checkpoint":
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    saved = ckpt_io.load(run).info["step"]
    assert saved >= 2

    resumed = _train(["--resume", run, "--steps", saved + 2, "--threads", 1], cache)
    start = next(e for e in resumed if e["event"] == "start")
    assert (start["task"], start["step"]) == ("upscale", saved)
    progress = [e for e in resumed if e["event"] == "progress"]
    assert progress and all(p["loss_l1"] > 0 and p["loss_lap"] > 0 and p["loss_d"] == 0.0 for p in progress)
    metrics = [e for e in resumed if e["event"] == "metrics"][-1]
    assert 0 < metrics["psnr"] < 100 and 0 < metrics["psnr_lanczos"] < 100 and "Lanczos" in metrics["summary"]
    assert resumed[-1] == {**resumed[-1], "event": "done", "step": saved + 2}
    config = json.loads((run / "config.json").read_text())
    assert (config["scale"], config["layers"], config["crop_scale"], config["gan_weight"]) == (4, 3, 2.0, 0.0)

    models = tmp_path / "models"
    result = export_run(run, "up-tiny", models)
    manifest = result["manifest"]
    assert result["parity_max_abs_diff"] <= 1e-3
    assert (manifest["kind"], manifest["scale"], manifest["margin"]) == ("upscale", 4, receptive_margin(3))
    entry = Registry([models]).get("up-tiny", kind="upscale")
    session = Runtime("cpu", threads=1).session(entry.onnx_path)
    image = np.random.default_rng(0).uniform(-1, 1, (1, 3, 13, 21)).astype(np.float32)
    (out,) = session.run({"image": image})
    assert out.shape == (1, 3, 52, 84)

    # Fine-tuning from the export, with the adversarial term on: G and D both learn.
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(cache))
    tuned = tmp_path / "tuned"
    code = train_main(["--task", "upscale", "--data", str(data), "--out", str(tuned), "--base", str(models / "up-tiny"),
                       "--steps", "2", "--batch", "4", "--threads", "1", "--gan-weight", "0.1", "--metrics-every", "0"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == 0 and next(e for e in events if e["event"] == "start")["base"] == "up-tiny"
    assert all(e["loss_d"] > 0 for e in events if e["event"] == "progress")
    tuned_config = ckpt_io.load(tuned).info["config"]
    assert (tuned_config["scale"], tuned_config["layers"], tuned_config["width"]) == (4, 3, 0.25)
    # A fine-tune's own recipe (tasks/upscale.py): clean downscales, a lower lr, the largest crop scale
    # that keeps the folder (its 130 px pictures are kept at 2 x 64 px, not 3 x).
    assert (tuned_config["degradation"], tuned_config["lr"], tuned_config["crop_scale"]) == ("clean", 2e-4, 2.0)

    # An x2 model from the x4 one: its body as it is, the last layer averaged (rescaled_state).
    halved = tmp_path / "x2"
    code = train_main(["--task", "upscale", "--scale", "2", "--data", str(data), "--out", str(halved),
                       "--base", str(models / "up-tiny"), "--steps", "2", "--batch", "4", "--threads", "1",
                       "--metrics-every", "0", "--crop-scale", "1", "--degradation", "realistic"])
    capsys.readouterr()
    halved_config = ckpt_io.load(halved).info["config"]
    assert code == 0 and halved_config["scale"] == 2
    assert (halved_config["crop_scale"], halved_config["degradation"]) == (1.0, "realistic")  # given flags win
    assert export_run(halved, "up-tiny-x2", models)["manifest"]["scale"] == 2


@pytest.mark.parametrize("big, crop_scale", [(8, 4.0), (3, 2.0)])
def test_a_fine_tune_keeps_pictures_at_the_largest_scale_that_keeps_enough_of_them(tmp_path, big, crop_scale):
    # 512 px and up are kept at 4 x 128 px; a folder with too few of them (under half of its 13) goes to 256 px.
    data = make_images(tmp_path / "data" / "big", count=big, size=(520, 530)).parent
    make_images(data / "small", count=13 - big, size=(300, 310))
    (data / "notes.txt").write_text("not a picture")
    config = {"resolution": 128, "crop_scale": 2.0, "base": {"name": "upscale-x4"}}
    assert TASKS["upscale"].fit_to_folder(config, {}, str(data))["crop_scale"] == crop_scale
    assert TASKS["upscale"].fit_to_folder(config, {"crop_scale": 2.0}, str(data))["crop_scale"] == 2.0
    scratch = {"resolution": 128, "crop_scale": 2.0}
    assert TASKS["upscale"].fit_to_folder(scratch, {}, str(data)) == scratch  # a run from scratch keeps its default


@pytest.mark.parametrize("argv, message", [
    (["--task", "upscale", "--scale", "3"], "argument --scale: invalid choice: 3 (choose from 2, 4)"),
    (["--task", "upscale", "--resolution", "96"], "error: --resolution must be 64, 128 or 256 for --task upscale, got 96"),
    (["--scale", "2"], "error: --scale is for --task upscale; a --task generate run has no use for it"),
    (["--task", "upscale", "--l1-weight", "2"], "error: --l1-weight is for --task inpaint; a --task upscale run has no use for it"),
    (["--task", "upscale", "--gan-weight", "-1"], "error: --gan-weight must be 0 or more, got -1.0"),
])
def test_bad_upscale_flags_are_refused_in_one_line(tmp_path, capsys, argv, message):
    data = make_images(tmp_path / "data", count=2)
    assert train_main(["--data", str(data), "--out", str(tmp_path / "run"), *argv]) == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_pictures_smaller_than_the_kept_size_are_never_enlarged_into_targets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    data = make_images(tmp_path / "data", count=4, size=(90, 100))  # under 64 px x crop scale 2
    args = ["--task", "upscale", "--data", str(data), "--resolution", "64", "--batch", "2", "--width", "0.25",
            "--layers", "2", "--steps", "1", "--threads", "1", "--metrics-every", "0"]
    assert train_main([*args, "--out", str(tmp_path / "run")]) == 2
    assert "4 too small; this run's sizes need a short side of at least 128 px" in capsys.readouterr().err
    assert train_main([*args, "--out", str(tmp_path / "run1"), "--crop-scale", "1"]) == 0  # kept at 64 px: fine
