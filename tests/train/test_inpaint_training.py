"""--task inpaint: the mask generator, the networks' contract, and a real tiny
run through the trainer process (events, checkpoint, resume), its export
(parity, registry, known pixels kept) and fine-tuning from the export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from dataset_factory import make_images
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.train import checkpoint as ckpt_io
from studio.train.augment import random_crops
from studio.train.export import export_run
from studio.train.inpaint_nets import InpaintGenerator, PatchDiscriminator
from studio.train.cli import main as train_main
from studio.train.losses import masked_error
from studio.train.masks import COVERAGE, KINDS, draw_mask, fixed_masks, mask_batch
from studio.train.prefill import telea_prefill

REPO = Path(__file__).resolve().parents[2]
TINY = ["--task", "inpaint", "--resolution", "32", "--batch", "4", "--width", "0.25", "--threads", "1"]


def _touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def _eroded_share(mask: np.ndarray, size: int) -> float:
    """The share of the hole left after eroding it by size//2 px: ~0 for thin strokes."""
    image = Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.MinFilter(size))
    return float((np.asarray(image) > 127).sum() / mask.sum())


@pytest.mark.parametrize("kind", KINDS)
def test_every_mask_kind_keeps_its_coverage_range_and_its_seed(kind):
    lo, hi = COVERAGE[kind]
    rng = np.random.default_rng(5)
    masks = [draw_mask(kind, 64, rng) for _ in range(40)]
    areas = [float(m.mean()) for m in masks]
    assert all(lo <= a <= hi for a in areas), (kind, min(areas), max(areas))
    assert max(areas) - min(areas) > (hi - lo) / 3  # the range is used, not one size
    assert all(m.dtype == np.float32 and set(np.unique(m)) <= {0.0, 1.0} for m in masks)
    again = draw_mask(kind, 64, np.random.default_rng(5))
    assert np.array_equal(again, masks[0])
    assert not np.array_equal(draw_mask(kind, 64, np.random.default_rng(6)), masks[0])


def test_strokes_are_thin_blobs_are_large_and_border_masks_touch_the_border():
    rng = np.random.default_rng(0)
    strokes = [draw_mask("strokes", 64, rng) for _ in range(20)]
    blobs = [draw_mask("blob", 64, rng) for _ in range(20)]
    borders = [draw_mask("border", 64, rng) for _ in range(20)]
    boxes = [draw_mask("box", 64, rng) for _ in range(20)]
    # Eroding by 3 px leaves almost nothing of a brush stroke, most of a blob.
    assert np.mean([_eroded_share(m, 7) for m in strokes]) < 0.1
    assert np.mean([_eroded_share(m, 7) for m in blobs]) > 0.4
    assert max(m.mean() for m in blobs) > 0.4  # up to half the picture
    assert all(_touches_border(m) for m in borders)
    assert sum(_touches_border(m) for m in boxes) < len(boxes)  # holes inside the picture too


def test_mask_batches_mix_every_kind_and_repeat_for_the_same_seed():
    batch = mask_batch(16, 32, (0, 7))
    assert batch.shape == (16, 1, 32, 32) and batch.dtype == np.float32
    assert np.array_equal(batch, mask_batch(16, 32, (0, 7)))
    assert not np.array_equal(batch, mask_batch(16, 32, (0, 8)))
    masks, kinds = fixed_masks(8, 32)
    assert kinds == list(KINDS) * 2 and masks.shape == (8, 1, 32, 32)
    with pytest.raises(ValueError, match="unknown mask kind"):
        draw_mask("circle", 32, np.random.default_rng(0))


def test_the_generator_keeps_the_known_pixels_and_ignores_what_is_under_the_hole():
    torch.manual_seed(0)
    G = InpaintGenerator(32, 0.25).eval()
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.from_numpy(fixed_masks(2, 32)[0])
    with torch.no_grad():
        out = G(image, mask)
        other = G(torch.where(mask > 0, torch.rand_like(image), image), mask)  # different pixels in the hole
    keep = (mask == 0).expand_as(image)
    assert torch.equal(out[keep], image[keep])
    assert torch.equal(out, other)
    assert out.abs().max() <= 1.0
    logits, features = PatchDiscriminator(32, 0.25)(out, mask, features=True)
    assert logits.shape == (2, 1, 2, 2) and len(features) == 4


def test_a_fresh_residual_generator_returns_its_telea_prefill_and_learns_from_there():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.from_numpy(fixed_masks(2, 32)[0])
    prefilled = telea_prefill(image, mask)
    keep = (mask == 0).expand_as(image)
    assert torch.allclose(prefilled[keep], image[keep], atol=1 / 127.5)  # through uint8, known pixels kept
    assert (prefilled[~keep] - image[~keep]).abs().mean() > 0.05  # and the holes filled
    G = InpaintGenerator(32, 0.25, residual=True)
    with torch.no_grad():
        assert torch.equal(G(prefilled, mask), prefilled)
    # One gradient step moves it off the prefill (the zero layer is trainable).
    loss = (G(prefilled, mask) - image).abs().mean()
    loss.backward()
    assert G.to_rgb.weight.grad.abs().sum() > 0


def test_random_crops_are_in_range_sized_and_repeatable():
    images = torch.randint(0, 256, (4, 3, 48, 48), dtype=torch.uint8)
    a = random_crops(images, 32, torch.Generator().manual_seed(3))
    b = random_crops(images, 32, torch.Generator().manual_seed(3))
    assert a.shape == (4, 3, 32, 32) and torch.equal(a, b)
    assert a.min() >= -1.0 and a.max() <= 1.0


def _env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["STUDIO_CACHE_DIR"] = str(cache)
    return env


def _train(args: list, cache: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO, env=_env(cache),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_a_tiny_run_checkpoints_resumes_exports_with_parity_and_fine_tunes(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    data = make_images(tmp_path / "data", count=8, size=(40, 48))
    run = tmp_path / "run"
    events = _train([*TINY, "--data", data, "--out", run, "--steps", 4, "--checkpoint-every", 2,
                     "--log-every", 2, "--l1-weight", 7, "--fm-weight", 2], cache)
    kinds = [e["event"] for e in events]
    start = next(e for e in events if e["event"] == "start")
    assert start["task"] == "inpaint" and start["resolution"] == 32
    progress = [e for e in events if e["event"] == "progress"]
    assert [p["step"] for p in progress] == [2, 4]
    assert all(p["loss_l1"] > 0 and p["loss_g"] > 0 and p["loss_d"] > 0 for p in progress)
    metrics = [e for e in events if e["event"] == "metrics"]
    assert metrics and 0 < metrics[-1]["psnr_hole"] < 100 and set(metrics[-1]["psnr_by_kind"]) == set(KINDS)
    assert kinds[-1] == "done" and events[-1]["step"] == 4
    grid = Image.open(run / "samples" / "step_000004.png")
    assert grid.size[0] > grid.size[1] > 0  # 3 rows of 8: masked inputs, fills, originals
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "inpaint" and config["crop_scale"] == 1.5 and config["hole_loss"] == "l1"

    # Resume: the same process machinery continues from step 4.
    resumed = _train(["--resume", run, "--steps", 6, "--threads", 1], cache)
    assert next(e for e in resumed if e["event"] == "start")["step"] == 4
    # It keeps the run's --log-every 2 and --checkpoint-every 2 (not the defaults, 10 and 500).
    assert [e["step"] for e in resumed if e["event"] == "progress"] == [6]
    assert ckpt_io.load(run).info["intervals"]["checkpoint_every"] == 2
    assert resumed[-1]["event"] == "done" and resumed[-1]["step"] == 6
    assert ckpt_io.load(run).info["step"] == 6

    # Export: an "inpaint" model the registry accepts; ONNX matches torch.
    models = tmp_path / "models"
    result = export_run(run, "inpaint-tiny", models)
    assert result["parity_max_abs_diff"] <= 1e-3
    manifest = result["manifest"]
    assert manifest["kind"] == "inpaint" and manifest["resolution"] == 32
    assert manifest["prefill"] == {"method": "telea"}  # the default recipe
    assert [(i["name"], i["shape"]) for i in manifest["inputs"]] == [("image", ["batch", 3, 32, 32]),
                                                                      ("mask", ["batch", 1, 32, 32])]
    assert manifest["outputs"][0]["shape"] == ["batch", 3, 32, 32]
    assert (models / "inpaint-tiny" / "samples.png").is_file()
    entry = Registry([models]).get("inpaint-tiny", kind="inpaint")
    session = Runtime("cpu", threads=1).session(entry.onnx_path)
    image = np.random.default_rng(0).uniform(-1, 1, (3, 3, 32, 32)).astype(np.float32)
    mask = fixed_masks(3, 32, seed=9)[0]
    (out,) = session.run({"image": image, "mask": mask})
    keep = np.broadcast_to(mask == 0, image.shape)
    assert out.shape == image.shape and np.array_equal(out[keep], image[keep])

    # Fine-tuning from the exported model: G and D start from its weights.
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(cache))
    tuned = tmp_path / "tuned"
    code = train_main(["--task", "inpaint", "--data", str(data), "--out", str(tuned), "--base",
                       str(models / "inpaint-tiny"), "--steps", "2", "--batch", "4", "--threads", "1",
                       "--freeze-d", "1", "--metrics-every", "0", "--hole-loss", "l2"])
    out_events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == 0
    assert next(e for e in out_events if e["event"] == "start")["base"] == "inpaint-tiny"
    tuned_config = ckpt_io.load(tuned).info["config"]
    assert (tuned_config["width"], tuned_config["resolution"], tuned_config["hole_loss"]) == (0.25, 32, "l2")
    assert (tuned_config["l1_weight"], tuned_config["fm_weight"]) == (7, 2)  # the base's losses, where not given
    # The frozen first D block is the base's, unchanged by two steps.
    base_d = ckpt_io.load(run).module_state("D")
    tuned_d = ckpt_io.load(tuned).module_state("D")
    assert torch.equal(base_d["from_rgb.0.weight"], tuned_d["from_rgb.0.weight"])
    assert not torch.equal(base_d["head.0.weight"], tuned_d["head.0.weight"])


def test_the_hole_loss_is_the_mean_error_inside_the_holes_only():
    filled = torch.zeros(2, 3, 4, 4)
    real = torch.full((2, 3, 4, 4), 9.0)  # far off outside the holes: must not count
    real[..., :2, :] = 0.5
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :] = 1.0
    assert masked_error(filled, real, mask, "l1").item() == pytest.approx(0.5)
    assert masked_error(filled, real, mask, "l2").item() == pytest.approx(0.25)


@pytest.mark.parametrize("argv, message", [
    (["--task", "inpaint", "--arch", "fastgan"], "error: --arch is for --task generate; a --task inpaint run has no use for it"),
    (["--l1-weight", "3"], "error: --l1-weight is for --task inpaint; a --task generate run has no use for it"),
    (["--task", "inpaint", "--resolution", "16"],
     "error: --resolution must be 32, 64, 128, 256 or 512 for --task inpaint, got 16"),
    (["--task", "inpaint", "--crop-scale", "0.5"], "error: --crop-scale must be from 1 to 4, got 0.5"),
])
def test_flags_of_the_other_task_are_refused_in_one_line(tmp_path, capsys, argv, message):
    data = make_images(tmp_path / "data", count=2)
    assert train_main(["--data", str(data), "--out", str(tmp_path / "run"), *argv]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_a_generator_is_no_base_for_an_inpainting_run(tmp_path, capsys):
    data = make_images(tmp_path / "data", count=2)
    code = train_main(["--task", "inpaint", "--data", str(data), "--out", str(tmp_path / "run"), "--base",
                       str(REPO / "models" / "emoji64"), "--resolution", "64"])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("error: base model emoji64 was trained with --task generate; "
                                               "--task inpaint needs a base model of its own task")
