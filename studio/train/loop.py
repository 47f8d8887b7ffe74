"""The training loop and its command line:

    python -m studio.train --data DIR --out RUNDIR [--resolution 64] [--batch 32]
        [--steps N | --minutes M] [--checkpoint-every K] [--seed S] [--threads T]
        [--device cpu] [--resume]

Prints one JSON object per line on stdout (progress), writes RUNDIR/config.json,
RUNDIR/checkpoint.safetensors(+.json) and RUNDIR/samples/step_NNNNNN.png.
SIGINT/SIGTERM end the run cleanly: a checkpoint is written and the exit code is 0.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

import torch

from studio.core.arguments import ArgumentError, Parser
from studio.core.atomic import atomic_write_text
from studio.train import checkpoint as ckpt_io
from studio.train.augment import augment
from studio.train.data import DataError, load_dataset, read_dataset_info
from studio.train.losses import discriminator_loss, generator_loss, r1_penalty
from studio.train.nets import Discriminator, Generator, parameter_count
from studio.train.samples import render_seeds, write_grid

LATENT_SIZE = 128


def build_parser() -> Parser:
    p = Parser(prog="studio train", description="Train a GAN generator on a folder of images.")
    p.add_argument("--data", required=True, help="folder of training images (png/jpg/webp...)")
    p.add_argument("--out", required=True, help="run folder for checkpoints, samples and the data cache")
    p.add_argument("--resolution", type=int, default=64, help="image side in pixels (power of two, 8..256)")
    p.add_argument("--batch", type=int, default=32)
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--steps", type=int, help="train until this many steps in total")
    stop.add_argument("--minutes", type=float, help="train for this many minutes of wall time")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints and sample grids")
    p.add_argument("--log-every", type=int, default=10, help="steps between progress lines")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--width", type=float, default=0.5, help="network width multiplier (channels)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate of both networks (equalised-lr layers)")
    p.add_argument("--r1-gamma", type=float, default=0.2, help="R1 penalty weight")
    p.add_argument("--r1-every", type=int, default=16, help="lazy R1: apply every this many steps")
    p.add_argument("--ema-kimg", type=float, default=10.0, help="EMA half-life in thousands of images")
    p.add_argument("--resume", action="store_true", help="continue from RUNDIR's checkpoint if there is one")
    return p


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it between steps, so a signal
    never tears a checkpoint or an optimiser step."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def __call__(self, signum, frame) -> None:
        self.signal = signum

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self)
            except ValueError:  # not the main thread: the caller owns signals there
                pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def machine_description(threads: int, device: str) -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()}-core {cpu} CPU, {threads} torch threads, device {device}, "
            f"torch {torch.__version__}, Python {platform.python_version()}, {platform.system()}")


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _check_args(args: argparse.Namespace) -> None:
    if args.batch < 2:
        raise DataError("--batch must be at least 2")
    if args.steps is not None and args.steps < 1:
        raise DataError("--steps must be at least 1")
    if args.minutes is not None and args.minutes <= 0:
        raise DataError("--minutes must be positive")
    if args.checkpoint_every < 1 or args.log_every < 1:
        raise DataError("--checkpoint-every and --log-every must be at least 1")
    if args.resolution not in (8, 16, 32, 64, 128, 256):
        raise DataError(f"--resolution must be a power of two from 8 to 256, got {args.resolution}")


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m studio.train` and `studio train`. Returns the exit code."""
    parser = build_parser()
    try:
        return train(parser.parse_args(argv))
    except (ArgumentError, DataError, ckpt_io.CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def train(args: argparse.Namespace) -> int:
    """Run training as the parsed command line asks; returns the exit code."""
    stop = _StopFlag()
    stop.install()
    try:
        return _train(args, stop)
    finally:
        stop.restore()


def _train(args: argparse.Namespace, stop: _StopFlag) -> int:
    _check_args(args)
    try:
        device = torch.device(args.device)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise DataError(f"device {args.device!r} is not usable: {str(exc).splitlines()[0]}") from None
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data).resolve()

    t_data = time.time()
    images = load_dataset(data_dir, args.resolution, out)  # uint8 [N,3,R,R], stays on the CPU
    _emit({"event": "data", "images": int(images.shape[0]), "resolution": args.resolution,
           "seconds": round(time.time() - t_data, 2)})

    resume = ckpt_io.load(out) if args.resume and (out / ckpt_io.CHECKPOINT_FILE).is_file() else None
    config = dict(resume.info["config"]) if resume else {
        "latent_size": LATENT_SIZE, "resolution": args.resolution, "width": args.width,
        "batch": args.batch, "lr": args.lr, "betas": [0.0, 0.99], "r1_gamma": args.r1_gamma,
        "r1_every": args.r1_every, "ema_kimg": args.ema_kimg, "augment": {"translate": 0.125, "colour": 1.0},
        "seed": args.seed, "loss": "non-saturating logistic (softplus) + lazy R1",
    }
    if resume and config["resolution"] != args.resolution:
        raise DataError(f"the checkpoint in {out} is for resolution {config['resolution']}, not {args.resolution}")
    config.update({
        "data": str(data_dir), "images": int(images.shape[0]), "dataset": read_dataset_info(data_dir),
        "threads": torch.get_num_threads(), "device": str(device),
        "machine": machine_description(torch.get_num_threads(), str(device)), "torch": torch.__version__,
    })
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")

    torch.manual_seed(config["seed"] + (resume.info["step"] if resume else 0))
    G = Generator(config["latent_size"], config["resolution"], config["width"]).to(device)
    D = Discriminator(config["resolution"], config["width"]).to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = tuple(config["betas"])
    opt_G = torch.optim.Adam(G.parameters(), lr=config["lr"], betas=betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=config["lr"], betas=betas)
    step, images_seen, wall_before = 0, 0, 0.0
    if resume:
        G.load_state_dict(resume.module_state("G"))
        G_ema.load_state_dict(resume.module_state("G_ema"))
        D.load_state_dict(resume.module_state("D"))
        opt_G.load_state_dict(resume.optimiser_state("opt_G"))
        opt_D.load_state_dict(resume.optimiser_state("opt_D"))
        step, images_seen = int(resume.info["step"]), int(resume.info["images_seen"])
        wall_before = float(resume.info.get("wall_time_s", 0.0))

    batch, n_data = config["batch"], images.shape[0]
    picker = torch.Generator().manual_seed(config["seed"] + step)
    aug = config["augment"]
    start = time.time()
    deadline = start + args.minutes * 60.0 if args.minutes is not None else None
    samples_dir = out / "samples"
    _emit({"event": "start", "step": step, "params_G": parameter_count(G), "params_D": parameter_count(D),
           "batch": batch, "threads": torch.get_num_threads(), "resumed": bool(resume)})

    def save_all(reason: str | None = None) -> tuple[str, str]:
        grid = samples_dir / f"step_{step:06d}.png"
        write_grid(grid, render_seeds(G_ema, config["latent_size"]))
        info = {"step": step, "images_seen": images_seen, "wall_time_s": round(wall_before + time.time() - start, 1),
                "config": config, "stopped_by": reason}
        path = ckpt_io.save(out, ckpt_io.pack({"G": G, "G_ema": G_ema, "D": D}, {"opt_G": opt_G, "opt_D": opt_D}, info))
        return str(grid), str(path)

    def real_batch() -> torch.Tensor:
        idx = torch.randint(0, n_data, (batch,), generator=picker)
        x = images[idx].to(device=device, dtype=torch.float32) / 127.5 - 1.0
        flip = torch.rand(batch, generator=picker) < 0.5
        x[flip.to(device)] = x[flip.to(device)].flip(3)  # mirror images are as plausible as the originals
        return x

    window = {"g": 0.0, "d": 0.0, "r1": None, "n": 0, "t": time.time(), "images": 0}
    session_images = 0
    reason = None
    while True:
        if stop.signal is not None:
            reason = signal.Signals(stop.signal).name
        elif args.steps is not None and step >= args.steps:
            reason = "steps"
        elif deadline is not None and time.time() >= deadline:
            reason = "minutes"
        elif args.steps is None and deadline is None:
            reason = None  # no limit given: run until a signal
        if reason:
            break

        # Discriminator: real vs fake, with lazy R1 on the (augmented) reals.
        real = real_batch()
        with torch.no_grad():
            fake = G(torch.randn(batch, config["latent_size"], device=device))
        D.requires_grad_(True)
        do_r1 = config["r1_gamma"] > 0 and step % config["r1_every"] == 0
        real_in = augment(real, aug["translate"], aug["colour"]).detach().requires_grad_(do_r1)
        real_logits = D(real_in)
        loss_d = discriminator_loss(real_logits, D(augment(fake, aug["translate"], aug["colour"])))
        total_d = loss_d
        if do_r1:
            r1 = r1_penalty(real_logits, real_in)
            total_d = total_d + r1 * (config["r1_gamma"] / 2 * config["r1_every"])
            window["r1"] = float(r1.detach())
        opt_D.zero_grad(set_to_none=True)
        total_d.backward()
        opt_D.step()

        # Generator: fool the (frozen) discriminator.
        D.requires_grad_(False)
        fake = G(torch.randn(batch, config["latent_size"], device=device))
        loss_g = generator_loss(D(augment(fake, aug["translate"], aug["colour"])))
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()

        step += 1
        images_seen += batch
        session_images += batch
        _update_ema(G_ema, G, images_seen, batch, config["ema_kimg"])

        window["g"] += float(loss_g.detach())
        window["d"] += float(loss_d.detach())
        window["n"] += 1
        window["images"] += batch
        at_checkpoint = step % args.checkpoint_every == 0
        if step % args.log_every == 0 or at_checkpoint:
            now = time.time()
            rate = window["images"] / max(now - window["t"], 1e-9)
            record = {"step": step, "images_seen": images_seen,
                      "loss_g": round(window["g"] / window["n"], 4), "loss_d": round(window["d"] / window["n"], 4),
                      "r1": None if window["r1"] is None else round(window["r1"], 5),
                      "images_per_s": round(rate, 2), "eta_s": _eta(args, step, now, deadline, rate / batch),
                      "elapsed_s": round(now - start, 1), "sample_grid": None, "checkpoint": None}
            if at_checkpoint:
                record["sample_grid"], record["checkpoint"] = save_all()
            _emit(record)
            window.update(g=0.0, d=0.0, n=0, t=time.time(), images=0)

    grid, path = save_all(reason)
    _emit({"event": "done", "reason": reason, "step": step, "images_seen": images_seen,
           "wall_time_s": round(wall_before + time.time() - start, 1), "sample_grid": grid, "checkpoint": path})
    return 0


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


def _eta(args: argparse.Namespace, step: int, now: float, deadline: float | None, steps_per_s: float) -> float | None:
    if deadline is not None:
        return round(max(deadline - now, 0.0), 1)
    if args.steps is not None and steps_per_s > 0:
        return round((args.steps - step) / steps_per_s, 1)
    return None
