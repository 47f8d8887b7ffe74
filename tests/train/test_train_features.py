"""The building blocks wired into real training runs (subprocesses, as the
app starts them): fine-tuning from emoji64 with FreezeD, ADA's p in events
and checkpoints, NaN rollback, FastGAN + hinge with an exported parity check,
and two CPU processes under torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dataset_factory import make_images
from studio.train import checkpoint as ckpt_io
from studio.train.architecture import build_discriminator, build_generator
from studio.train.finetune import discriminator_blocks, load_base

REPO = Path(__file__).resolve().parents[2]
EMOJI = Path("/work/data/emoji")
EMOJI64 = REPO / "models" / "emoji64"
TINY = ["--resolution", "16", "--batch", "4", "--width", "0.25", "--threads", "1"]


def _env(tmp: Path, **extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["STUDIO_CACHE_DIR"] = str(tmp / "cache")
    env["STUDIO_USER_DIR"] = str(tmp / "user")  # never the real user models folder
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def _run(args: list, tmp: Path, module: list | None = None, timeout: float = 180, **extra):
    cmd = [sys.executable, *(module or ["-m", "studio.train"]), *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, env=_env(tmp, **extra), capture_output=True, text=True, timeout=timeout)


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _emoji_folder(folder: Path, count: int = 16) -> Path:
    """`count` real emoji (from the training data when present), else drawn discs."""
    sources = sorted(EMOJI.glob("*.png"))[::50][:count] if EMOJI.is_dir() else []
    if len(sources) < count:
        return make_images(folder, count, (64, 64))
    folder.mkdir(parents=True)
    for src in sources:
        shutil.copy(src, folder / src.name)
    return folder


def test_fine_tune_from_emoji64_with_freeze_d(tmp_path):
    data = _emoji_folder(tmp_path / "emoji")
    before = (EMOJI64 / "checkpoint.safetensors").stat().st_mtime_ns
    proc = _run(["--data", data, "--out", tmp_path / "run", "--base", "emoji64", "--freeze-d", 2, "--resolution", 64,
                 "--batch", 4, "--steps", 2, "--checkpoint-every", 2, "--metrics-every", 0, "--log-every", 1,
                 "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    start = next(e for e in _events(proc.stdout) if e["event"] == "start")
    assert start["base"] == "emoji64" and start["arch"] == "classic" and start["resolution"] == 64
    ckpt = ckpt_io.load(tmp_path / "run")
    config = ckpt.info["config"]
    assert config["base"]["name"] == "emoji64" and config["freeze_d"] == 2 and config["width"] == 0.5
    _, states = load_base(EMOJI64)
    g_base, d_base = states["G"], states["D"]
    D = build_discriminator(config)
    D.load_state_dict(ckpt.module_state("D"))
    frozen = {id(p) for block in discriminator_blocks(D)[:2] for p in block.parameters()}
    moved = {name: not torch.equal(p.detach(), d_base[name]) for name, p in D.named_parameters()}
    assert not any(moved[n] for n, p in D.named_parameters() if id(p) in frozen)  # FreezeD kept them
    assert any(moved[n] for n, p in D.named_parameters() if id(p) not in frozen)  # the rest trained
    G = build_generator(config)
    G.load_state_dict(ckpt.module_state("G"))  # strict: the base's architecture
    assert any(not torch.equal(p.detach(), g_base[n]) for n, p in G.named_parameters())
    assert (EMOJI64 / "checkpoint.safetensors").stat().st_mtime_ns == before  # read-only

    # The wrong size, or a base that is not there: one error line, exit 2.
    for args, expected in ((["--base", "emoji64", "--resolution", 32],
                            "error: base model emoji64 is 64 px; train at --resolution 64 or choose another base"),
                           (["--base", "no-such-model"], "error: base model 'no-such-model' not found")):
        proc = _run(["--data", data, "--out", tmp_path / "bad", *args, "--steps", 1], tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(expected), proc.stderr


def test_ada_p_is_reported_saved_and_restored_and_a_nan_rolls_back(tmp_path):
    data, run = make_images(tmp_path / "data"), tmp_path / "run"
    # ADA from p = 0 (not the default's fixed p = 1) at a speed that moves p visibly within a few steps;
    # a NaN poisons G at step 5.
    proc = _run(["--data", data, "--out", run, *TINY, "--steps", 10, "--checkpoint-every", 4, "--log-every", 1,
                 "--metrics-every", 0, "--ada-kimg", 0.05, "--ada-p-min", 0], tmp_path,
                STUDIO_TRAIN_INJECT_NAN_AT="5")
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    warnings = [e for e in events if e["event"] == "warning" and e["kind"] == "nan"]
    assert len(warnings) == 1 and "rolling back" in warnings[0]["message"] and "lowered" in warnings[0]["message"]
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["step"] for e in progress] == list(range(1, 11))  # the bad step was not counted
    assert all(e["lr"] == 0.002 for e in progress if e["step"] < 5)
    assert all(e["lr"] == 0.001 for e in progress if e["step"] >= 5)
    assert all(e["loss_g"] is not None and e["loss_d"] is not None for e in progress)
    assert events[-1]["event"] == "done" and events[-1]["reason"] == "steps" and events[-1]["step"] == 10
    ckpt = ckpt_io.load(run)
    assert all(torch.isfinite(t).all() for k, t in ckpt.tensors.items() if k.startswith(("G.", "G_ema.", "D.")))
    assert ckpt.info["optimisers"] and ckpt.info["guard"]["rollbacks"] == 1
    ps = [e["aug_p"] for e in progress]
    assert len(set(ps)) > 1 and all(0.0 <= p <= 1.0 for p in ps)  # ADA moves p
    assert ckpt.info["ada"]["p"] == pytest.approx(ps[-1], abs=1e-4)

    # Resumed, p goes on from the saved value, lr from the lowered one.
    proc = _run(["--resume", run, "--steps", 11, "--log-every", 1, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    step11 = next(e for e in _events(proc.stdout) if e["event"] == "progress")
    assert step11["step"] == 11 and step11["lr"] == 0.001 and abs(step11["aug_p"] - ps[-1]) <= 0.05


def test_fastgan_with_hinge_trains_resumes_and_exports_with_parity(tmp_path):
    data, run = make_images(tmp_path / "data", 8, (40, 40)), tmp_path / "run"
    proc = _run(["--data", data, "--out", run, "--resolution", 32, "--batch", 4, "--width", 0.25, "--threads", 1,
                 "--steps", 2, "--checkpoint-every", 2, "--metrics-every", 0, "--loss", "hinge"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    start = next(e for e in _events(proc.stdout) if e["event"] == "start")
    assert start["arch"] == "fastgan2" and start["loss"] == "hinge"  # fastgan2: the default from 32 px
    proc = _run(["--resume", run, "--loss", "nonsaturating", "--steps", 3], tmp_path)
    assert proc.returncode == 2 and "was trained with --loss hinge" in proc.stderr
    proc = _run(["--resume", run, "--steps", 3, "--metrics-every", 0, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr

    proc = _run(["export", run, "--name", "fast32", "--dest", tmp_path / "models"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "max abs diff" in proc.stdout
    manifest = json.loads((tmp_path / "models" / "fast32" / "manifest.json").read_text())
    # The discs lie on transparency, so the generator draws alpha too (RGB + alpha: 4 channels).
    assert manifest["training"]["arch"] == "fastgan2" and manifest["outputs"][0]["shape"] == ["batch", 4, 32, 32]
    # The exported model is a base like any other (by folder here).
    proc = _run(["--data", data, "--out", tmp_path / "tuned", "--base", tmp_path / "models" / "fast32",
                 "--steps", 1, "--batch", 4, "--metrics-every", 0, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    start = next(e for e in _events(proc.stdout) if e["event"] == "start")
    assert start["base"] == "fast32" and start["arch"] == "fastgan2"

    for arch in ("fastgan", "fastgan2"):
        proc = _run(["--data", data, "--out", tmp_path / "small", *TINY, "--arch", arch, "--steps", 1], tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith(f"error: --arch {arch} needs --resolution 32")


def test_two_cpu_processes_under_torchrun_then_resume(tmp_path):
    data, run = make_images(tmp_path / "data"), tmp_path / "run"
    proc = _run(["--data", data, "--out", run, *TINY, "--steps", 4, "--checkpoint-every", 2, "--log-every", 1,
                 "--metrics-every", 4],
                tmp_path, module=["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                  "-m", "studio.train"], timeout=240)
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)  # every line is JSON: only rank 0 speaks
    assert [e["event"] for e in events].count("start") == 1
    start = next(e for e in events if e["event"] == "start")
    assert start["processes"] == 2 and start["batch"] == 4
    assert [e["step"] for e in events if e["event"] == "progress"] == [1, 2, 3, 4]
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [2, 4]
    assert [e["step"] for e in events if e["event"] == "metrics"] == [4]
    assert events[-1]["event"] == "done" and events[-1]["reason"] == "steps"
    ckpt = ckpt_io.load(run)
    assert ckpt.info["step"] == 4 and ckpt.info["images_seen"] == 16 and ckpt.info["config"]["processes"] == 2
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "progress"] == [1, 2, 3, 4]  # written once, by rank 0

    proc = _run(["--resume", run, "--steps", 6, "--log-every", 1, "--metrics-every", 0, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    assert [e["step"] for e in events if e["event"] == "progress"] == [5, 6]
    assert ckpt_io.load(run).info["step"] == 6


def test_projected_discriminator_trains_resumes_and_exports(tmp_path):
    data, run = make_images(tmp_path / "data", 8, (40, 40)), tmp_path / "run"
    proc = _run(["--data", data, "--out", run, "--resolution", 32, "--batch", 4, "--width", 0.25, "--threads", 1,
                 "--arch", "projected", "--steps", 2, "--r1-every", 2, "--checkpoint-every", 2,
                 "--metrics-every", 0], tmp_path)
    assert proc.returncode == 0, proc.stderr
    progress = [e for e in _events(proc.stdout) if e["event"] == "progress"]
    assert progress and all(e["loss_d"] is not None for e in progress)
    # Only the per-scale discriminators are D's weights: the frozen features are rebuilt, not saved.
    assert all(k.startswith("blocks.") for k in ckpt_io.load(run).module_state("D"))
    proc = _run(["--resume", run, "--steps", 3, "--metrics-every", 0, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = _run(["export", run, "--name", "proj32", "--dest", tmp_path / "models"], tmp_path)
    assert proc.returncode == 0 and "max abs diff" in proc.stdout, proc.stderr


def test_new_generator_runs_start_from_the_installed_base_model_that_fits(tmp_path):
    data, run = make_images(tmp_path / "data", 8, (40, 40)), tmp_path / "run"
    small = ["--resolution", 32, "--batch", 4, "--width", 0.25, "--threads", 1, "--metrics-every", 0]
    assert _run(["--data", data, "--out", run, *small, "--steps", 1], tmp_path).returncode == 0
    # Exported as a base into the user models folder (where the app and the trainer find models).
    proc = _run(["export", run, "--name", "base32", "--base-model"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "user" / "models" / "base32" / "manifest.json").read_text())
    assert manifest["base_model"] is True and manifest["training"]["width"] == 0.25

    def started_from(name: str, *flags) -> str | None:
        proc = _run(["--data", data, "--out", tmp_path / name, *flags, "--steps", 1], tmp_path)
        assert proc.returncode == 0, proc.stderr
        return next(e for e in _events(proc.stdout) if e["event"] == "start")["base"]

    assert started_from("tuned", *small) == "base32"
    assert started_from("scratch", *small, "--from-scratch") is None
    assert started_from("wider", *[str(v) if v != 0.25 else "0.5" for v in small]) is None  # not its width
    proc = _run(["--resume", tmp_path / "tuned", "--from-scratch", "--steps", 2], tmp_path)
    assert proc.returncode == 2 and "--from-scratch only starts a new run" in proc.stderr


def test_fine_tune_from_the_shipped_base128_runs_and_exports(tmp_path):
    data = _emoji_folder(tmp_path / "emoji")  # 16 images
    proc = _run(["--data", data, "--out", tmp_path / "run", "--base", "base128", "--batch", 4, "--steps", 2,
                 "--checkpoint-every", 2, "--metrics-every", 0, "--threads", 1], tmp_path)
    assert proc.returncode == 0, proc.stderr
    start = next(e for e in _events(proc.stdout) if e["event"] == "start")
    assert (start["base"], start["arch"], start["resolution"]) == ("base128", "fastgan2", 128)
    proc = _run(["export", tmp_path / "run", "--name", "tuned128", "--dest", tmp_path / "models"], tmp_path)
    assert proc.returncode == 0 and "max abs diff" in proc.stdout, proc.stderr


def test_cutout_is_in_the_recipe_changes_what_d_sees_and_is_checked(tmp_path):
    data = make_images(tmp_path / "data")

    def first_loss_d(name: str, *flags) -> float:
        proc = _run(["--data", data, "--out", tmp_path / name, *TINY, "--steps", 2, "--log-every", 1,
                     "--metrics-every", 0, "--ada-p-min", 1, *flags], tmp_path)
        assert proc.returncode == 0, proc.stderr
        return next(e for e in _events(proc.stdout) if e["event"] == "progress")["loss_d"]

    plain, again, hidden = first_loss_d("a", "--cutout", 0), first_loss_d("b", "--cutout", 0), first_loss_d("c")
    assert plain == again and hidden != plain  # same seed, same losses: only the grey square changed them
    assert json.loads((tmp_path / "c" / "config.json").read_text())["cutout"] == 0.5  # the default
    assert json.loads((tmp_path / "a" / "config.json").read_text())["cutout"] == 0.0
    proc = _run(["--data", data, "--out", tmp_path / "d", *TINY, "--cutout", 0.9], tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --cutout must be from 0 to 0.75, got 0.9"
