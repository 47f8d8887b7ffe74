"""The training process and its command line (the protocol the app speaks is
in notes/train_protocol.md):

    python -m studio.train --data FOLDER --out RUNDIR [--resolution 64] [--batch 32]
        [--steps N | --minutes M] [--checkpoint-every K] [--metrics-every M]
        [--fit crop|pad] [--background white|black|#rrggbb] [--device auto|cpu|cuda]
        [--threads T] [--nice N] [--progress json|bar] [--resume [RUNDIR]]

RUNDIR receives: config.json, dataset_report.json, checkpoint.safetensors
(+ checkpoint.prev.safetensors, checkpoint.json), samples/step_NNNNNN.png,
log.jsonl (every progress and metrics event) and curves.png.
RUNDIR/STOP stops the run (checkpoint, exit 0); RUNDIR/PAUSE pauses it;
SIGINT/SIGTERM stop it like STOP.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from studio.core.arguments import ArgumentError, Parser
from studio.core.atomic import atomic_write_text
from studio.train import checkpoint as ckpt_io
from studio.train.augment import augment
from studio.train.control import Control
from studio.train.data import (FITS, DataError, Dataset, ScanInterrupted, background_hex, load_dataset,
                               parse_background, read_dataset_info)
from studio.train.losses import discriminator_loss, generator_loss, r1_penalty
from studio.train.metrics import diversity, swd
from studio.train.nets import Discriminator, Generator, parameter_count
from studio.train.plots import draw_curves
from studio.train.progress import MODES, BarReporter, Reporter, make_reporter
from studio.train.samples import render_seeds, write_grid

LATENT_SIZE = 128
# The recipe: what a run is trained with. On --resume these come from the run's
# config; giving a different value is an error (the weights were made with it).
RECIPE_DEFAULTS = {"resolution": 64, "batch": 32, "width": 0.5, "lr": 2e-3, "r1_gamma": 0.2, "r1_every": 16,
                   "ema_kimg": 10.0, "seed": 0, "fit": "crop", "background": "#ffffff"}
# What the first trainer did, for runs whose config predates these keys (emoji64).
LEGACY_CONFIG = {"fit": "pad", "background": "#ffffff"}
METRIC_SEED_BASE = 1_000_000  # fixed latents for metrics, far from the grid's seeds 0..31
METRIC_IMAGES = 200  # reference images when nothing is held out
BAD_STEPS_LIMIT = 200  # consecutive non-finite losses before the run is given up


def build_parser() -> Parser:
    p = Parser(prog="studio train", description="Train a GAN generator on a folder of images.")
    p.add_argument("--data", help="folder of training images, searched recursively (any image core can open)")
    p.add_argument("--out", help="run folder for checkpoints, samples, curves and logs")
    p.add_argument("--resume", nargs="?", const="", metavar="RUNDIR",
                   help="continue RUNDIR from its last complete checkpoint; --data, --out and the recipe then come "
                        "from RUNDIR. A bare --resume continues --out when it holds a checkpoint, else starts fresh")
    recipe = p.add_argument_group("recipe (fixed for the life of a run)")
    recipe.add_argument("--resolution", type=int, help="image side in pixels: 8, 16, 32, 64, 128 or 256 (default 64)")
    recipe.add_argument("--batch", type=int, help="images per step (default 32)")
    recipe.add_argument("--fit", choices=FITS, help="make images square by centre crop or by padding (default crop)")
    recipe.add_argument("--background", help="colour under transparent pixels and padding: white, black or #rrggbb "
                                             "(default white)")
    recipe.add_argument("--width", type=float, help="network width multiplier (channels; default 0.5)")
    recipe.add_argument("--lr", type=float, help="Adam learning rate of both networks (default 0.002)")
    recipe.add_argument("--r1-gamma", type=float, help="R1 penalty weight (default 0.2)")
    recipe.add_argument("--r1-every", type=int, help="lazy R1: apply every this many steps (default 16)")
    recipe.add_argument("--ema-kimg", type=float, help="EMA half-life in thousands of images (default 10)")
    recipe.add_argument("--seed", type=int, help="random seed (default 0)")
    # Fine-tuning (issue 3, later) adds its flags here: --base MODEL_NAME starts
    # from a shipped model's checkpoint, --freeze-d N keeps D's first N blocks fixed.
    session = p.add_argument_group("this session")
    stop = session.add_mutually_exclusive_group()
    stop.add_argument("--steps", type=int, help="train until this many steps in total (counting earlier sessions)")
    stop.add_argument("--minutes", type=float, help="train for this many minutes (pauses not counted)")
    session.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints and sample grids")
    session.add_argument("--metrics-every", type=int,
                         help="steps between SWD/diversity metrics (default 4x --checkpoint-every; 0 = never)")
    session.add_argument("--log-every", type=int, default=10, help="steps between progress events")
    session.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    session.add_argument("--threads", type=int, default=0, help="CPU threads for torch and decoding (0 = all)")
    session.add_argument("--nice", type=int, default=0, help="lower this process's priority by N (where supported)")
    session.add_argument("--progress", choices=MODES, default="json",
                         help="json: one event per line on stdout (for the app); bar: a progress bar on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m studio.train` and `studio train`. Returns the
    exit code: 0 done or stopped, 2 bad input (one `error:` line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
        _check_args(args)
    except (ArgumentError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reporter = make_reporter(args.progress)
    control = Control(args.out or args.resume or ".")
    control.install()
    try:
        return train(args, reporter, control)
    except (ArgumentError, DataError, ckpt_io.CheckpointError) as exc:
        reporter.close()  # ends the bar's line first
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        reporter.close()
        control.restore()


def machine_description(threads: int, device: str) -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()}-core {cpu} CPU, {threads} torch threads, device {device}, "
            f"torch {torch.__version__}, Python {platform.python_version()}, {platform.system()}")


def _check_args(args: argparse.Namespace) -> None:
    def positive(name: str, value, minimum=1) -> None:
        if value is not None and value < minimum:
            raise DataError(f"--{name} must be at least {minimum}, got {value}")

    positive("batch", args.batch, 2)
    positive("steps", args.steps)
    positive("checkpoint-every", args.checkpoint_every)
    positive("log-every", args.log_every)
    positive("metrics-every", args.metrics_every, 0)
    positive("threads", args.threads, 0)
    positive("r1-every", args.r1_every)
    if args.minutes is not None and not args.minutes > 0:
        raise DataError("--minutes must be positive")
    if args.resolution is not None and args.resolution not in (8, 16, 32, 64, 128, 256):
        raise DataError(f"--resolution must be 8, 16, 32, 64, 128 or 256, got {args.resolution}")
    if args.width is not None and not args.width > 0:
        raise DataError("--width must be positive")
    if args.lr is not None and not args.lr > 0:
        raise DataError("--lr must be positive")
    if args.background is not None:
        parse_background(args.background)
    if args.resume is None and not args.data:
        raise DataError("--data FOLDER is required (or --resume RUNDIR to continue a run)")
    if args.resume is None and not args.out:
        raise DataError("--out RUNDIR is required (the run folder to create)")
    if args.resume == "" and not args.out:
        raise DataError("a bare --resume continues --out RUNDIR; give --out, or --resume RUNDIR")


@dataclass
class Plan:
    """What this session does: where from, where to, with which recipe."""

    out: Path
    data: Path
    config: dict
    resume: ckpt_io.Checkpoint | None
    resume_dir: Path | None


def plan_run(args: argparse.Namespace) -> Plan:
    """Settle --resume/--out/--data and the recipe; DataError/CheckpointError
    (one line) when they do not fit together."""
    resume_dir: Path | None = None
    if args.resume == "":
        resume_dir = Path(args.out) if ckpt_io.exists(args.out) else None
    elif args.resume is not None:
        resume_dir = Path(args.resume)
        if not resume_dir.is_dir():
            raise DataError(f"run folder not found: {resume_dir}")
        if not ckpt_io.exists(resume_dir):
            raise DataError(f"nothing to resume: no checkpoint in {resume_dir}")
    ckpt = ckpt_io.load(resume_dir) if resume_dir is not None else None
    out = Path(args.out) if args.out else resume_dir
    assert out is not None  # _check_args made sure
    if out.exists() and not out.is_dir():
        raise DataError(f"--out must be a folder, but {out} is a file")
    if ckpt is None and ckpt_io.exists(out):
        step = _peek_step(out)
        raise DataError(f"{out} already holds a training run (step {step}); continue it with --resume {out}, "
                        "or choose another --out")
    explicit = {k: getattr(args, k) for k in RECIPE_DEFAULTS if getattr(args, k) is not None}
    if "background" in explicit:
        explicit["background"] = background_hex(parse_background(explicit["background"]))
    if ckpt is not None:
        config = {**LEGACY_CONFIG, **ckpt.info.get("config", {})}
        for key, value in explicit.items():
            if config.get(key) != value:
                flag = "--" + key.replace("_", "-")
                raise DataError(f"{resume_dir} was trained with {flag} {config.get(key)}; it cannot go on with "
                                f"{flag} {value} (leave the flag out, or start a new run)")
    else:
        config = {**RECIPE_DEFAULTS, **explicit, "latent_size": LATENT_SIZE, "betas": [0.0, 0.99],
                  "augment": {"translate": 0.125, "colour": 1.0},
                  "loss": "non-saturating logistic (softplus) + lazy R1"}
    data = args.data or config.get("data")
    if not data:
        raise DataError(f"{resume_dir} does not say where its images are; give --data FOLDER")
    return Plan(out, Path(data).resolve(), config, ckpt, resume_dir)


def _peek_step(folder: Path):
    try:
        return ckpt_io.load(folder).info.get("step", "?")
    except ckpt_io.CheckpointError:
        return "?"


def train(args: argparse.Namespace, reporter: Reporter, control: Control) -> int:
    """Run one training session as the parsed command line asks; returns the
    exit code. Bad input raises DataError/CheckpointError (the caller prints it)."""
    plan = plan_run(args)
    out, config = plan.out, plan.config
    device = _pick_device(args.device)  # bad input is refused before anything is written
    if not plan.data.exists():
        where = " (it moved? give --data FOLDER)" if plan.resume is not None else ""
        raise DataError(f"data folder not found: {plan.data}{where}")
    if not plan.data.is_dir():
        raise DataError(f"data path is not a folder: {plan.data}")
    out.mkdir(parents=True, exist_ok=True)
    control.set_rundir(out)
    control.clear_stale_stop()
    ckpt_io.remove_stale_temporaries(out)
    if args.nice and hasattr(os, "nice"):
        try:
            os.nice(args.nice)
        except OSError:
            pass  # raising priority needs privileges; lowering never fails where nice exists
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    # -- data -------------------------------------------------------------------
    background = parse_background(config["background"])
    last_scan = [0.0]

    def scan_progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_scan[0] >= 0.5 or done == total:
            last_scan[0] = now
            reporter.emit({"event": "scan", "stage": stage, "done": done, "total": total})

    try:
        data = load_dataset(plan.data, config["resolution"], config["fit"], background, threads=args.threads,
                            progress=scan_progress, should_stop=lambda: control.stop_reason() is not None)
    except ScanInterrupted:
        reason = control.stop_reason()
        if reason == "stop-file":
            control.acknowledge_stop()
        step = plan.resume.info.get("step", 0) if plan.resume else 0
        path = str(plan.resume.path) if plan.resume else None
        reporter.emit({"event": "done", "reason": reason, "step": step, "checkpoint": path})
        return 0
    reporter.emit({"event": "dataset", **data.summary})
    report = {**data.summary, "held_out_files": data.held_out_files}
    atomic_write_text(out / "dataset_report.json", json.dumps(report, indent=2) + "\n")
    if data.skipped:
        reporter.emit({"event": "warning", "step": plan.resume.info.get("step", 0) if plan.resume else 0,
                       "kind": "skipped-file",
                       "message": f"{len(data.skipped)} files skipped; each is listed with its reason in "
                                  f"{out / 'dataset_report.json'}"})

    config.update({
        "data": str(plan.data), "images": int(data.train.shape[0]), "held_out": int(data.held_out.shape[0]),
        "dataset": read_dataset_info(plan.data), "threads": torch.get_num_threads(), "device": str(device),
        "machine": machine_description(torch.get_num_threads(), str(device)), "torch": torch.__version__,
    })
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    return Session(args, plan, data, device, reporter, control).run()


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise DataError(f"device {name!r} is not usable: {str(exc).splitlines()[0]}") from None
    return device


class Session:
    """One trainer process's worth of steps, from a fresh start or a checkpoint."""

    def __init__(self, args: argparse.Namespace, plan: Plan, data: Dataset, device: torch.device,
                 reporter: Reporter, control: Control):
        self.args, self.plan, self.data, self.device = args, plan, data, device
        self.reporter, self.control = reporter, control
        self.out = plan.out
        self.config = config = plan.config
        self.metrics_every = (4 * args.checkpoint_every if args.metrics_every is None else args.metrics_every)
        resume = plan.resume

        if resume is None:
            torch.manual_seed(config["seed"])
            np.random.seed(config["seed"] % 2**32)
            random.seed(config["seed"])
        else:
            torch.manual_seed(config["seed"] + int(resume.info["step"]))  # replaced below when the run saved its RNG
        self.G = Generator(config["latent_size"], config["resolution"], config["width"]).to(device)
        self.D = Discriminator(config["resolution"], config["width"]).to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        betas = tuple(config["betas"])
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config["lr"], betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=config["lr"], betas=betas)
        self.step, self.images_seen, self.wall_before = 0, 0, 0.0
        self.picker = torch.Generator().manual_seed(config["seed"])
        self.last_metrics: dict | None = None
        if resume is not None:
            self.G.load_state_dict(resume.module_state("G"))
            self.G_ema.load_state_dict(resume.module_state("G_ema"))
            self.D.load_state_dict(resume.module_state("D"))
            self.opt_G.load_state_dict(resume.optimiser_state("opt_G"))
            self.opt_D.load_state_dict(resume.optimiser_state("opt_D"))
            self.step, self.images_seen = int(resume.info["step"]), int(resume.info["images_seen"])
            self.wall_before = float(resume.info.get("wall_time_s", 0.0))
            self.last_metrics = resume.info.get("metrics")
            if not ckpt_io.restore_rng(resume, {"picker": self.picker}):
                self.picker.manual_seed(config["seed"] + self.step)  # the first trainer's behaviour
        self.log_rows = self._open_log()
        self.reference = self._reference_images()
        self.reference_diversity = (diversity(self.reference) if self.reference is not None else None)
        self.best_diversity = 0.0
        self.checkpoint_path: str | None = str(resume.path) if resume is not None and resume.path else None
        self.saved_step = self.step  # what is on disk already (a resumed run that takes no step rewrites nothing)

    # -- the loop ---------------------------------------------------------------
    def run(self) -> int:
        args, config, control = self.args, self.config, self.control
        batch, aug = config["batch"], config["augment"]
        if isinstance(self.reporter, BarReporter):
            self.reporter.set_target(args.steps)
        self.started = time.monotonic()
        self.paused_s = 0.0
        deadline = self.started + args.minutes * 60.0 if args.minutes is not None else None
        self.reporter.emit({"event": "start", "step": self.step, "resumed": self.plan.resume is not None, "base": None,
                            "params_G": parameter_count(self.G), "params_D": parameter_count(self.D),
                            "device": self.device.type, "resolution": config["resolution"], "batch": batch,
                            "threads": torch.get_num_threads(), "images": int(self.data.train.shape[0])})
        window = {"g": 0.0, "d": 0.0, "r1": None, "n": 0, "t": time.monotonic(), "images": 0}
        bad_steps = 0
        reason = None
        while True:
            reason = control.stop_reason()
            if reason is None and args.steps is not None and self.step >= args.steps:
                reason = "steps"
            if reason is None and deadline is not None and time.monotonic() >= deadline:
                reason = "minutes"
            if reason is None and bad_steps >= BAD_STEPS_LIMIT:
                reason = "nan"
            if reason:
                break
            if control.paused():
                idle = self._pause()
                if deadline is not None:
                    deadline += idle
                window.update(t=time.monotonic(), images=0)
                continue

            loss_g, loss_d, r1 = self._train_step(batch, aug)
            if not (math.isfinite(loss_g) and math.isfinite(loss_d)):
                bad_steps += 1
                if bad_steps == 1 or bad_steps % 50 == 0:
                    self._emit({"event": "warning", "step": self.step, "kind": "nan",
                                "message": f"non-finite loss (G {loss_g}, D {loss_d}); {bad_steps} steps in a row "
                                           f"skipped, the run stops after {BAD_STEPS_LIMIT}"})
                continue
            bad_steps = 0
            self.step += 1
            self.images_seen += batch
            window["g"] += loss_g
            window["d"] += loss_d
            window["r1"] = r1 if r1 is not None else window["r1"]
            window["n"] += 1
            window["images"] += batch

            at_checkpoint = self.step % args.checkpoint_every == 0
            if self.step % args.log_every == 0 or at_checkpoint:
                now = time.monotonic()
                rate = window["images"] / max(now - window["t"], 1e-9)
                self._emit({"event": "progress", "step": self.step, "images_seen": self.images_seen,
                            "loss_g": round(window["g"] / window["n"], 4), "loss_d": round(window["d"] / window["n"], 4),
                            "r1": None if window["r1"] is None else round(window["r1"], 5),
                            "aug_p": 1.0 if (aug.get("translate") or aug.get("colour")) else 0.0,
                            "lr": config["lr"], "images_per_s": round(rate, 2),
                            "eta_s": self._eta(now, deadline, rate / batch), "elapsed_s": round(self._active(now), 1)},
                           log=True)
                window.update(g=0.0, d=0.0, n=0, t=time.monotonic(), images=0)
            if at_checkpoint:
                self._save(None)
            if self.metrics_every and self.step % self.metrics_every == 0:
                self._metrics()

        if reason != "nan":
            if self.saved_step != self.step:
                self._save(reason)
            if self.metrics_every and (self.last_metrics or {}).get("step") != self.step:
                # The checkpoint is safe on disk first; then the final metrics,
                # and the checkpoint once more so its info carries them.
                self._metrics()
                self._write_checkpoint(reason, keep_previous=False)
        self._curves()
        if reason == "stop-file":
            control.acknowledge_stop()
        self.reporter.emit({"event": "done", "reason": reason, "step": self.step, "images_seen": self.images_seen,
                            "wall_time_s": round(self._wall(), 1), "checkpoint": self.checkpoint_path})
        self.log_file.close()
        return 0

    def _train_step(self, batch: int, aug: dict) -> tuple[float, float, float | None]:
        """One D step and one G step. Returns (loss_g, loss_d, r1 or None);
        with a non-finite loss the optimiser steps are skipped."""
        config, G, D, device = self.config, self.G, self.D, self.device
        real = self._real_batch(batch)
        with torch.no_grad():
            fake = G(torch.randn(batch, config["latent_size"], device=device))
        D.requires_grad_(True)
        do_r1 = config["r1_gamma"] > 0 and self.step % config["r1_every"] == 0
        real_in = augment(real, aug["translate"], aug["colour"]).detach().requires_grad_(do_r1)
        real_logits = D(real_in)
        loss_d = discriminator_loss(real_logits, D(augment(fake, aug["translate"], aug["colour"])))
        total_d = loss_d
        r1_value = None
        if do_r1:
            r1 = r1_penalty(real_logits, real_in)
            total_d = total_d + r1 * (config["r1_gamma"] / 2 * config["r1_every"])
            r1_value = float(r1.detach())
        self.opt_D.zero_grad(set_to_none=True)
        total_d.backward()
        ld = float(loss_d.detach())
        if not (math.isfinite(ld) and (r1_value is None or math.isfinite(r1_value))):
            return float("nan"), ld, r1_value
        self.opt_D.step()

        D.requires_grad_(False)
        fake = G(torch.randn(batch, config["latent_size"], device=device))
        loss_g = generator_loss(D(augment(fake, aug["translate"], aug["colour"])))
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        lg = float(loss_g.detach())
        if not math.isfinite(lg):
            return lg, ld, r1_value
        self.opt_G.step()
        _update_ema(self.G_ema, G, self.images_seen + batch, batch, config["ema_kimg"])
        return lg, ld, r1_value

    def _real_batch(self, batch: int) -> torch.Tensor:
        images = self.data.train
        idx = torch.randint(0, images.shape[0], (batch,), generator=self.picker)
        x = images[idx].to(device=self.device, dtype=torch.float32) / 127.5 - 1.0
        flip = (torch.rand(batch, generator=self.picker) < 0.5).to(self.device)
        x[flip] = x[flip].flip(3)  # mirror images are as plausible as the originals
        return x

    def _pause(self) -> float:
        """Idle while PAUSE exists (and no stop is asked); returns the seconds idled."""
        t0 = time.monotonic()
        self.reporter.emit({"event": "paused", "step": self.step})
        while self.control.paused() and self.control.stop_reason() is None:
            time.sleep(0.2)
        idle = time.monotonic() - t0
        self.paused_s += idle
        if self.control.stop_reason() is None:
            self.reporter.emit({"event": "resumed", "step": self.step})
        return idle

    # -- outputs ----------------------------------------------------------------
    def _save(self, reason: str | None) -> None:
        grid = self.out / "samples" / f"step_{self.step:06d}.png"
        write_grid(grid, render_seeds(self.G_ema, self.config["latent_size"]))
        self._write_checkpoint(reason)
        self.reporter.emit({"event": "samples", "step": self.step, "path": str(grid)})
        self.reporter.emit({"event": "checkpoint", "step": self.step, "path": self.checkpoint_path})
        self._curves()

    def _write_checkpoint(self, reason: str | None, keep_previous: bool = True) -> None:
        info = {"step": self.step, "images_seen": self.images_seen, "wall_time_s": round(self._wall(), 1),
                "config": self.config, "stopped_by": reason, "metrics": self.last_metrics}
        ckpt = ckpt_io.pack({"G": self.G, "G_ema": self.G_ema, "D": self.D},
                            {"opt_G": self.opt_G, "opt_D": self.opt_D}, info, {"picker": self.picker})
        self.checkpoint_path = str(ckpt_io.save(self.out, ckpt, keep_previous))
        self.saved_step = self.step

    def _metrics(self) -> None:
        if self.reference is None:
            return
        t0 = time.monotonic()
        n = self.reference.shape[0]
        seeds = range(METRIC_SEED_BASE, METRIC_SEED_BASE + n)
        fakes = torch.from_numpy(render_seeds(self.G_ema, self.config["latent_size"], seeds))
        result = swd(fakes, self.reference, seed=0)
        div = diversity(fakes)
        event = {"event": "metrics", "step": self.step, "swd": round(result["swd"], 3),
                 "swd_levels": {str(k): round(v, 3) for k, v in result["levels"].items()},
                 "diversity": round(div, 4), "diversity_reference": round(self.reference_diversity, 4),
                 "reference": "held-out" if self.data.held_out.shape[0] else "training", "images": n,
                 "seconds": round(time.monotonic() - t0, 2), "plot": str(self.out / "curves.png")}
        self.last_metrics = {k: v for k, v in event.items() if k not in ("event", "plot")}
        self.log_rows.append(event)
        self._log(event)
        self._curves()
        self.reporter.emit(event)
        # Collapse: variety fell to half of what this run had reached and to
        # under half of the real images' own variety.
        if div < 0.5 * self.best_diversity and div < 0.5 * self.reference_diversity:
            self._emit({"event": "warning", "step": self.step, "kind": "collapse",
                        "message": f"diversity fell to {div:.3f} (best so far {self.best_diversity:.3f}, real images "
                                   f"{self.reference_diversity:.3f}): the generator may be collapsing to few images"})
        self.best_diversity = max(self.best_diversity, div)

    def _curves(self) -> None:
        draw_curves(self.log_rows, self.out / "curves.png")

    def _emit(self, event: dict, log: bool = False) -> None:
        if log:
            self.log_rows.append(event)
            self._log(event)
        self.reporter.emit(event)

    def _log(self, event: dict) -> None:
        self.log_file.write(json.dumps(event) + "\n")
        self.log_file.flush()

    def _open_log(self) -> list[dict]:
        """log.jsonl: every progress and metrics event of the run, one per line.
        On resume the lines past the checkpoint (steps that were lost) go."""
        rows: list[dict] = []
        source = (self.plan.resume_dir or self.out) / "log.jsonl"
        if self.plan.resume is not None and source.is_file():
            for line in source.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # the half line a kill -9 can leave
                if isinstance(row, dict) and row.get("step", 0) <= self.step:
                    rows.append(row)
        atomic_write_text(self.out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        self.log_file = open(self.out / "log.jsonl", "a", encoding="utf-8")
        return rows

    def _reference_images(self) -> torch.Tensor | None:
        """The images metrics compare with: the held-out set, else a fixed
        sample of the training images; None with fewer than 2."""
        if self.data.held_out.shape[0] >= 2:
            return self.data.held_out
        train = self.data.train
        if train.shape[0] < 2:
            return None
        order = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(0))
        return train[order[:METRIC_IMAGES]]

    # -- time -------------------------------------------------------------------
    def _active(self, now: float) -> float:
        return now - self.started - self.paused_s

    def _wall(self) -> float:
        return self.wall_before + self._active(time.monotonic())

    def _eta(self, now: float, deadline: float | None, steps_per_s: float) -> float | None:
        if deadline is not None:
            return round(max(deadline - now, 0.0), 1)
        if self.args.steps is not None and steps_per_s > 0:
            return round(max(self.args.steps - self.step, 0) / steps_per_s, 1)
        return None


@torch.no_grad()
def _update_ema(ema: torch.nn.Module, model: torch.nn.Module, images_seen: int, batch: int, ema_kimg: float) -> None:
    # Half-life in images, ramped up early on (StyleGAN2) so the EMA does not
    # drag along the random initial weights for the first thousands of images.
    half_life = min(ema_kimg * 1000.0, images_seen * 0.05)
    beta = 0.5 ** (batch / max(half_life, 1e-8))
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
