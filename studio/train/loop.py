"""The training process and its command line (the protocol the app speaks is
in studio/train/PROTOCOL.md):

    python -m studio.train --data FOLDER --out RUNDIR [--resolution 64] [--batch 32]
        [--steps N | --minutes M] [--checkpoint-every K] [--metrics-every M]
        [--fit crop|pad] [--background white|black|#rrggbb] [--device auto|cpu|cuda]
        [--threads T] [--nice N] [--progress json|bar] [--resume [RUNDIR]]
        [--arch fastgan2|fastgan|classic] [--loss nonsaturating|hinge] [--ada-target T] [--ada-kimg K]
        [--base MODEL] [--freeze-d N] [--task generate|inpaint] [--preset quick|evening|overnight]

--task inpaint trains the inpainting conditional GAN instead of a generator
(inpaint_task.InpaintSession: its networks, step, samples and metrics on
this module's Session, so everything below holds for it too).

RUNDIR receives: config.json, dataset_report.json, checkpoint.safetensors
(+ checkpoint.prev.safetensors, checkpoint.json), samples/step_NNNNNN.png,
log.jsonl (every progress and metrics event) and curves.png.
RUNDIR/STOP stops the run (checkpoint, exit 0); RUNDIR/PAUSE pauses it;
SIGINT/SIGTERM stop it like STOP.

Networks: --arch fastgan2 (FastGAN-style G with skip-layer excitation and RGB
skips, D with a reconstruction head; the default from 32 px up), fastgan (its
first form, kept for runs made with it) or classic (nets.py, what emoji64 was
trained with; the only choice under 32 px, and what a config without "arch"
means, so old runs resume as they were); architecture.py says how they
differ. --loss picks the non-saturating (default) or hinge loss; lazy R1
applies to both. Defaults that depend on the resolution and the device
(width, R1 weight) and the --preset table live in presets.py.

Augmentation (ADA): each image seen by D is augmented with probability p,
raised while D is too sure of the real images (mean sign of its real logits
above --ada-target, default 0.6) and lowered otherwise, at a speed of
--ada-kimg thousand images for p to go from 0 to 1 (default 20, for small
runs). Progress events report p as "aug_p"; it is saved in checkpoints.
Runs from before ADA keep p = 1 (augment every image).

Health: every step's losses go through health.Guard. A non-finite or
exploding loss (or NaN weights) rolls the networks back to the last good
in-memory snapshot (taken every SNAPSHOT_EVERY steps and at every
checkpoint), halves the learning rate, and emits a "nan" warning; after
ROLLBACK_LIMIT rollbacks in a row the run ends with reason "nan" and the
last good checkpoint untouched. A checkpoint is never written from
non-finite weights. At each checkpoint the EMA generator's sample diversity
at fixed latents is fed to the Guard; a drop to under half its best emits a
"collapse" warning.

Fine-tuning: --base MODEL (a model folder, or the name of a model in the
shipped models/ folder or the user models folder, matched by manifest name)
starts G, G_ema and D from that model's checkpoint.safetensors; the
architecture, width, latent size and resolution come from the base (a
different --resolution is an error). --freeze-d N keeps D's first N blocks
fixed (FreezeD).

Distributed (several GPUs, or CPU processes): start the same command under
torchrun,

    torchrun --nproc_per_node 2 -m studio.train --data FOLDER --out RUNDIR ...
    (or: python -m torch.distributed.run --nproc_per_node 2 -m studio.train ...)

NCCL is used on CUDA (each rank takes cuda:LOCAL_RANK), gloo on the CPU.
--batch is the total over all ranks (it must divide by their number); each
rank draws its share from its own shard of the images, gradients are
averaged before every optimiser step, so all ranks hold the same weights.
Rank 0 alone writes the run folder (checkpoints, samples, metrics, logs) and
prints progress; STOP/PAUSE files and signals are agreed on by all ranks
each step. A run made this way resumes with or without torchrun.
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
from studio.core.paths import shipped_models_dir, user_models_dir
from studio.train import checkpoint as ckpt_io
from studio.train import distributed
from studio.train.ada import AdaptiveAugment
from studio.train.architecture import (ARCHITECTURES, FASTGAN_ARCHITECTURES, build_discriminator,
                                       build_generator)
from studio.train.augment import augment
from studio.train.control import Control
from studio.train.data import (FITS, DataError, Dataset, ScanInterrupted, background_hex, load_dataset,
                               parse_background, read_dataset_info)
from studio.train.diagnostics import DiscriminatorAccuracy, block_gradient_norms
from studio.train.finetune import BaseModelError, freeze_d_layers, load_base, set_trainable
from studio.train.health import ROLLBACK, Guard, Snapshot, lower_learning_rate, sample_diversity
from studio.train.losses import LOSSES, get_losses, r1_penalty
from studio.train.metrics import diversity, swd
from studio.train.nets import parameter_count
from studio.train.plots import PANELS, draw_curves
from studio.train.precision import PRECISIONS, Precision
from studio.train.presets import (DEFAULT_BATCH, DEFAULT_KEYS, DEFAULT_RESOLUTION, PRESETS,
                                  generator_defaults, is_default_base)
from studio.train.losses import HOLE_LOSSES
from studio.train.prefill import PREFILLS
from studio.train.protocol import (CHECKPOINT, DATASET, DONE, METRICS, PAUSED, PROGRESS, RESUMED, SAMPLES, SCAN,
                                   START, STOP_REASONS, WARNING, event)
from studio.train.progress import MODES, BarReporter, Reporter, SilentReporter, make_reporter
from studio.train.samples import render_seeds, write_grid

LATENT_SIZE = 128
# The recipe: what a run is trained with. On --resume these come from the run's
# config; giving a different value is an error (the weights were made with it).
# A generator run's defaults are presets.generator_defaults (resolution- and
# device-aware); an inpainting run's are INPAINT_DEFAULTS below.
# "arch" is part of the recipe too; its default depends on the resolution.
TASKS = ("generate", "inpaint")
# --task inpaint (inpaint_task.py): a conditional GAN that fills holes. Its
# own recipe; 256 px by default, the width its speed target was measured at.
INPAINT_DEFAULTS = {"resolution": 256, "batch": 8, "width": 1.0, "lr": 2e-3, "r1_gamma": 1.0, "r1_every": 16,
                    "ema_kimg": 2.0, "seed": 0, "fit": "crop", "background": "#ffffff", "freeze_d": 0,
                    "grad_clip": 10.0, "l1_weight": 10.0, "hole_loss": "l1", "fm_weight": 5.0, "crop_scale": 1.5,
                    "prefill": "telea"}
INPAINT_ONLY = ("l1_weight", "hole_loss", "fm_weight", "crop_scale", "prefill")
BASE_LOSS_KEYS = ("l1_weight", "hole_loss", "fm_weight")  # an inpainting fine-tune's defaults come from its base
GENERATOR_ONLY = ("arch", "gan_loss", "ada_target", "ada_kimg")
RESOLUTIONS = {"generate": (8, 16, 32, 64, 128, 256), "inpaint": (32, 64, 128, 256, 512)}
RECIPE_KEYS = (*DEFAULT_KEYS, "arch", *INPAINT_ONLY, "task")
# Session settings a resumed run keeps unless given again (metrics_every None:
# 4x checkpoint_every).
INTERVALS = {"checkpoint_every": 500, "metrics_every": None, "log_every": 10}
FLAGS = {"gan_loss": "--loss"}  # recipe keys whose flag is not --key-with-dashes
DEFAULT_ARCH = "fastgan2"  # at 32 px and up (FastGAN has no smaller form); see the module docstring
FASTGAN_MIN_RESOLUTION = 32
# What earlier trainers did, for runs whose config predates these keys
# (emoji64: pad; every run before ADA: classic nets, softplus loss, p = 1).
LEGACY_CONFIG = {"task": "generate", "fit": "pad", "background": "#ffffff", "arch": "classic", "gan_loss": "nonsaturating",
                 "ada_target": None, "ada_kimg": None, "freeze_d": 0, "grad_clip": 0.0}
ADA_INTERVAL = 4  # D steps between updates of p
SNAPSHOT_EVERY = 50  # steps between in-memory copies of the last good state
ROLLBACK_LIMIT = 20  # rollbacks in a row (no good step between) before the run gives up
DIVERSITY_LATENTS = 16  # fixed latents whose sample diversity the Guard watches
# Tests only: at this step, poison one generator weight with NaN (once per process).
INJECT_NAN_ENV = "STUDIO_TRAIN_INJECT_NAN_AT"
METRIC_SEED_BASE = 1_000_000  # fixed latents for metrics, far from the grid's seeds 0..31
METRIC_IMAGES = 200  # reference images when nothing is held out


def build_parser() -> Parser:
    p = Parser(prog="studio train", description="Train a GAN generator (or an inpainting network) on a folder of "
                                                "images.")
    p.add_argument("--data", help="folder of training images, searched recursively (any image core can open)")
    p.add_argument("--out", help="run folder for checkpoints, samples, curves and logs")
    p.add_argument("--resume", nargs="?", const="", metavar="RUNDIR",
                   help="continue RUNDIR from its last complete checkpoint; --data, --out and the recipe then come "
                        "from RUNDIR. A bare --resume continues --out when it holds a checkpoint, else starts fresh")
    recipe = p.add_argument_group("recipe (fixed for the life of a run)")
    recipe.add_argument("--task", choices=TASKS,
                        help="generate: a GAN generator, latent -> image (default); inpaint: a conditional GAN that "
                             "fills the holes of a masked image (its defaults: --resolution 256 --batch 8 --width 1 "
                             "--r1-gamma 1 --ema-kimg 2)")
    recipe.add_argument("--resolution", type=int,
                        help="image side in pixels: 8, 16, 32, 64, 128 or 256 (default 64); --task inpaint: 32 to "
                             "512 (default 256)")
    recipe.add_argument("--batch", type=int, help="images per step (default 32)")
    recipe.add_argument("--fit", choices=FITS,
                        help="make images square: auto (default: pad pictures with transparency, centre-crop "
                             "opaque ones), crop or pad")
    recipe.add_argument("--background", help="colour under transparent pixels and padding: white, black or #rrggbb "
                                             "(default white)")
    recipe.add_argument("--width", type=float,
                        help="network width multiplier (channels; default by resolution on the CPU: 0.5 up to "
                             "128 px, 0.25 at 256; 4 on CUDA)")
    recipe.add_argument("--lr", type=float, help="Adam learning rate of both networks (default 0.002)")
    recipe.add_argument("--r1-gamma", type=float,
                        help="R1 penalty weight (default 0.0002 x resolution^2 / batch, StyleGAN2-ADA's heuristic)")
    recipe.add_argument("--r1-every", type=int, help="lazy R1: apply every this many steps (default 16)")
    recipe.add_argument("--grad-clip", type=float,
                        help="clip each network's gradient norm to this (a safety net against spikes; 0 = off; default 10, about 10x the norms seen in training)")
    recipe.add_argument("--ema-kimg", type=float, help="EMA half-life in thousands of images (default 10)")
    recipe.add_argument("--seed", type=int, help="random seed (default 0)")
    recipe.add_argument("--arch", choices=ARCHITECTURES,
                        help="networks: fastgan2 (default from 32 px), fastgan (its first form), projected "
                             "(fastgan2's G against a discriminator on frozen pretrained features; experimental) or "
                             "classic (default under 32 px; emoji64's)")
    recipe.add_argument("--loss", dest="gan_loss", choices=tuple(LOSSES),
                        help="GAN loss: nonsaturating (default) or hinge; lazy R1 either way")
    recipe.add_argument("--ada-target", type=float,
                        help="ADA: raise augmentation while D's mean sign on real images is above this (0..1, "
                             "default 0.6)")
    recipe.add_argument("--ada-kimg", type=float,
                        help="ADA: thousands of images for the augmentation probability to go from 0 to 1 "
                             "(default 20)")
    inpaint = p.add_argument_group("--task inpaint")
    inpaint.add_argument("--l1-weight", type=float,
                         help="weight of the reconstruction error inside the holes (default 10; a fine-tune: its "
                              "base's)")
    inpaint.add_argument("--hole-loss", choices=HOLE_LOSSES,
                         help="that error: l1 (default; mean absolute) or l2 (mean squared, what PSNR measures: a "
                              "blend where the hole could be either of two things, not a guess of one); a fine-tune: "
                              "its base's")
    inpaint.add_argument("--fm-weight", type=float,
                         help="weight of discriminator feature matching (default 5; 0 = off, a little faster; a "
                              "fine-tune: its base's)")
    inpaint.add_argument("--prefill", choices=PREFILLS,
                         help="what fills the holes before the network corrects them: telea (default; the network "
                              "starts at OpenCV Telea's fill) or none (it fills from grey)")
    inpaint.add_argument("--crop-scale", type=float,
                         help="random crops: images are kept at this many times --resolution and each step crops "
                              "a random square of 1 to this many times --resolution from them (default 1.5; 1 = the "
                              "whole image)")
    tune = p.add_argument_group("fine-tuning")
    start = tune.add_mutually_exclusive_group()
    start.add_argument("--base", metavar="MODEL",
                       help="start from this model's weights: a model folder, or the name of an installed model "
                            "(default for a new generator run: the installed base model at its resolution, if any)")
    start.add_argument("--from-scratch", action="store_true",
                       help="start from random weights even when a base model fits the run")
    tune.add_argument("--freeze-d", type=int,
                      help="FreezeD: keep the discriminator's first N blocks fixed (default 0)")
    session = p.add_argument_group("this session")
    session.add_argument("--preset", choices=tuple(PRESETS),
                         help="; ".join(f"{p.name}: {p.label}, {p.minutes} min at {p.resolution} px" for p in
                                        PRESETS.values())
                              + " (--minutes, --steps and --resolution, or a base model's resolution, win)")
    stop = session.add_mutually_exclusive_group()
    stop.add_argument("--steps", type=int, help="train until this many steps in total (counting earlier sessions)")
    stop.add_argument("--minutes", type=float, help="train for this many minutes (pauses not counted)")
    session.add_argument("--checkpoint-every", type=int,
                         help="steps between checkpoints and sample grids (default 500; a resumed run keeps its own "
                              "unless given)")
    session.add_argument("--metrics-every", type=int,
                         help="steps between SWD/diversity metrics (default 4x --checkpoint-every; 0 = never)")
    session.add_argument("--log-every", type=int, help="steps between progress events (default 10)")
    session.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    session.add_argument("--precision", choices=PRECISIONS, default="auto",
                         help="arithmetic of the training step: auto (bf16 on CUDA where supported, else fp16 with "
                              "loss scaling; fp32 on CPU), fp32, fp16 or bf16. Weights are float32 in every mode")
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
        apply_preset(args)
    except (ArgumentError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Under torchrun only rank 0 speaks; the others report nothing.
    main_rank = int(os.environ.get("RANK", "0")) == 0
    reporter = make_reporter(args.progress) if main_rank else SilentReporter()
    control = Control(args.out or args.resume or ".")
    control.install()
    try:
        return train(args, reporter, control)
    except (ArgumentError, DataError, ckpt_io.CheckpointError) as exc:
        reporter.close()  # ends the bar's line first
        if main_rank:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        reporter.close()
        control.restore()
        distributed.cleanup()


def apply_preset(args: argparse.Namespace) -> None:
    """--preset's duration, unless --minutes or --steps says otherwise (its
    resolution is a default plan_run applies to new runs)."""
    if args.preset and args.minutes is None and args.steps is None:
        args.minutes = float(PRESETS[args.preset].minutes)


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
    positive("freeze-d", args.freeze_d, 0)
    if args.ada_target is not None and not 0 < args.ada_target < 1:
        raise DataError(f"--ada-target must be between 0 and 1, got {args.ada_target}")
    if args.ada_kimg is not None and not args.ada_kimg > 0:
        raise DataError("--ada-kimg must be positive")
    if args.minutes is not None and not args.minutes > 0:
        raise DataError("--minutes must be positive")
    allowed = RESOLUTIONS[args.task or "generate"]
    if args.resolution is not None and args.resolution not in allowed and not (args.task is None and args.resume):
        sizes = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}"
        task = f" for --task {args.task}" if args.task else ""
        raise DataError(f"--resolution must be {sizes}{task}, got {args.resolution}")
    for name in ("l1_weight", "fm_weight"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise DataError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")
    if args.crop_scale is not None and not (math.isfinite(args.crop_scale) and 1 <= args.crop_scale <= 4):
        raise DataError(f"--crop-scale must be from 1 to 4, got {args.crop_scale}")
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
    base: tuple[dict, dict] | None = None  # (G state, D state) of --base, for a new run


def _settle_intervals(args: argparse.Namespace, resume) -> None:
    """The session's checkpoint, metrics and log intervals: as given, else
    what the resumed run last used, else INTERVALS."""
    used = (resume.info.get("intervals") or {}) if resume is not None else {}
    for name, default in INTERVALS.items():
        if getattr(args, name) is None:
            setattr(args, name, used.get(name, default))


def plan_run(args: argparse.Namespace, cuda: bool = False) -> Plan:
    """Settle --resume/--out/--data and the recipe (a new generator run's
    defaults depend on whether it trains on CUDA); DataError/CheckpointError
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
    explicit = {k: getattr(args, k) for k in RECIPE_KEYS if getattr(args, k) is not None}
    if "background" in explicit:
        explicit["background"] = background_hex(parse_background(explicit["background"]))
    base_weights = None
    if ckpt is not None:
        if args.base or args.from_scratch:
            flag = "--base" if args.base else "--from-scratch"
            raise DataError(f"{flag} only starts a new run; {resume_dir} has its own weights already "
                            f"(leave {flag} out to continue it)")
        config = {**LEGACY_CONFIG, **ckpt.info.get("config", {})}
        _refuse_changes(config, explicit, f"{resume_dir} was trained with", "leave the flag out, or start a new run")
    else:
        task = explicit.get("task", "generate")
        _refuse_other_tasks_flags(task, explicit)
        inherited, from_base = {}, {}
        base = args.base
        if base is None and task == "generate" and not args.from_scratch:
            base = default_base(explicit, args.preset, cuda)
        if base:
            folder, name = find_base(base)
            try:
                base_config, g_state, d_state = load_base(folder, explicit.get("resolution"))
            except BaseModelError as exc:
                raise DataError(str(exc)) from None
            base_task = base_config.get("task", "generate")
            if base_task != task:
                raise DataError(f"base model {name} was trained with --task {base_task}; --task {task} needs a base "
                                f"model of its own task")
            inherited = {"width": base_config["width"], "resolution": int(base_config["resolution"]),
                         "base": {"name": name, "folder": str(folder)}}
            if task == "generate":
                inherited.update(arch=base_config.get("arch", "classic"), latent_size=int(base_config["latent_size"]))
            else:  # the base network's input is what its prefill made
                inherited["prefill"] = base_config.get("prefill", "none")
                # Its losses carry on unless given: a fine-tune goes on as the base was trained.
                from_base = {key: base_config[key] for key in BASE_LOSS_KEYS if key in base_config}
            _refuse_changes(inherited, explicit, f"base model {name} has", "leave the flag out")
            base_weights = (g_state, d_state)
        if task == "inpaint":
            config = {**INPAINT_DEFAULTS, **from_base, **inherited, **explicit, "task": task, "betas": [0.0, 0.99],
                      "arch": "inpaint-mobile", "gan_loss": "nonsaturating", "ada_target": None, "ada_kimg": None}
            config["loss"] = (f"nonsaturating patch GAN + lazy R1 + {config['hole_loss'].upper()} in the holes"
                              + (" + feature matching" if config["fm_weight"] else ""))
        else:
            sized = {**inherited, **explicit}
            resolution = sized.get("resolution") or (PRESETS[args.preset].resolution if args.preset
                                                     else DEFAULT_RESOLUTION)
            defaults = generator_defaults(resolution, sized.get("batch", DEFAULT_BATCH), cuda)
            config = {**defaults, "latent_size": LATENT_SIZE, **inherited, **explicit, "task": task,
                      "betas": [0.0, 0.99], "augment": {"translate": 0.125, "colour": 1.0}}
            if "arch" not in config:
                config["arch"] = DEFAULT_ARCH if config["resolution"] >= FASTGAN_MIN_RESOLUTION else "classic"
            if config["arch"] != "classic" and config["resolution"] < FASTGAN_MIN_RESOLUTION:
                raise DataError(f"--arch {config['arch']} needs --resolution {FASTGAN_MIN_RESOLUTION} or more; use "
                                f"--arch classic at {config['resolution']} px")
            config["loss"] = f"{config['gan_loss']} + lazy R1"  # a description; the recipe key is gan_loss
    data = args.data or config.get("data")
    if not data:
        raise DataError(f"{resume_dir} does not say where its images are; give --data FOLDER")
    return Plan(out, Path(data).resolve(), config, ckpt, resume_dir, base_weights)


def _refuse_other_tasks_flags(task: str, explicit: dict) -> None:
    """A recipe flag of the other task is a mistake, not something to ignore."""
    other, theirs = ("generate", GENERATOR_ONLY) if task == "inpaint" else ("inpaint", INPAINT_ONLY)
    for key in theirs:
        if key in explicit:
            flag = FLAGS.get(key, "--" + key.replace("_", "-"))
            raise DataError(f"{flag} is for --task {other}; a --task {task} run has no use for it")


def _refuse_changes(config: dict, explicit: dict, owner: str, advice: str) -> None:
    for key, value in explicit.items():
        if key in config and config[key] != value:
            flag = FLAGS.get(key, "--" + key.replace("_", "-"))
            raise DataError(f"{owner} {flag} {config[key]}; it cannot go on with {flag} {value} ({advice})")


def find_base(name_or_folder: str) -> tuple[Path, str]:
    """(model folder, model name) for --base: a folder holding a model, or
    the manifest name of a model in the shipped or the user models folder.
    DataError (one line) when there is none."""
    path = Path(name_or_folder)
    if path.is_dir():
        return path, _manifest_name(path) or path.name
    for folder in _model_folders():
        if _manifest_name(folder) == name_or_folder:
            return folder, name_or_folder
    raise DataError(f"base model {name_or_folder!r} not found: give a model folder, or the name of a model in "
                    f"{shipped_models_dir()} or {user_models_dir()}")


def default_base(explicit: dict, preset: str | None, cuda: bool) -> str | None:
    """The model folder a new generator run starts from when neither --base
    nor --from-scratch is given: the first installed base model (shipped
    models, then the user's) at the run's resolution and width (given, or
    the default for the device), as long as a given --arch agrees with it;
    None when there is none (the run starts from scratch)."""
    resolution = explicit.get("resolution") or (PRESETS[preset].resolution if preset else DEFAULT_RESOLUTION)
    width = explicit.get("width", generator_defaults(resolution, cuda=cuda)["width"])
    for folder in _model_folders():
        manifest = _read_manifest(folder)
        if is_default_base(manifest, resolution, width) and explicit.get("arch", manifest["training"].get("arch")) \
                == manifest["training"].get("arch"):
            return str(folder)
    return None


def _model_folders() -> list[Path]:
    """Every folder in the shipped, then the user models folder, by name."""
    folders: list[Path] = []
    for root in (shipped_models_dir(), user_models_dir()):
        try:
            folders += sorted(f for f in root.iterdir() if f.is_dir())
        except OSError:
            continue
    return folders


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _manifest_name(folder: Path) -> str | None:
    name = _read_manifest(folder).get("name")
    return name if isinstance(name, str) else None


def _clip(module: torch.nn.Module, max_norm: float) -> float:
    """Clip the gradient norm to max_norm (0 = off); returns the norm before clipping.
    Clipping happens after the all-reduce, so every rank clips the same gradients."""
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return 0.0
    if max_norm > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])))


def _peek_step(folder: Path):
    try:
        return ckpt_io.load(folder).info.get("step", "?")
    except ckpt_io.CheckpointError:
        return "?"


def train(args: argparse.Namespace, reporter: Reporter, control: Control) -> int:
    """Run one training session as the parsed command line asks; returns the
    exit code. Bad input raises DataError/CheckpointError (the caller prints it)."""
    # The device first: a new run's default widths depend on it. Bad input
    # is refused before anything is written.
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: join the group, one device per rank
        device = distributed.setup(None if args.device == "auto" else args.device).device
    else:
        device = _pick_device(args.device)
    plan = plan_run(args, cuda=device.type == "cuda")
    _settle_intervals(args, plan.resume)
    out, config = plan.out, plan.config
    if config["batch"] % distributed.world_size():
        raise DataError(f"--batch {config['batch']} must divide by the {distributed.world_size()} processes")
    main_rank = distributed.is_main()
    if not plan.data.exists():
        where = " (it moved? give --data FOLDER)" if plan.resume is not None else ""
        raise DataError(f"data folder not found: {plan.data}{where}")
    if not plan.data.is_dir():
        raise DataError(f"data path is not a folder: {plan.data}")
    out.mkdir(parents=True, exist_ok=True)
    control.set_rundir(out)
    if main_rank:
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
            reporter.emit(event(SCAN, stage=stage, done=done, total=total))

    session_class = session_for(config)
    if not main_rank:
        distributed.barrier()  # rank 0 scans and fills the cache first; the others then read it
    try:
        data = load_dataset(plan.data, session_class.image_size(config), config["fit"], background,
                            threads=args.threads, progress=scan_progress,
                            should_stop=lambda: control.stop_reason() is not None,
                            train_resolution=config["resolution"])
    except ScanInterrupted:
        reason = control.stop_reason()
        if reason == "stop-file":
            control.acknowledge_stop()
        step = plan.resume.info.get("step", 0) if plan.resume else 0
        path = str(plan.resume.path) if plan.resume else None
        reporter.emit(event(DONE, reason=reason, step=step, checkpoint=path))
        return 0
    if main_rank:
        distributed.barrier()
    reporter.emit(event(DATASET, **data.summary))
    report = {**data.summary, "held_out_files": data.held_out_files}
    if main_rank:
        atomic_write_text(out / "dataset_report.json", json.dumps(report, indent=2) + "\n")
    if data.skipped:
        reporter.emit(event(WARNING, step=plan.resume.info.get("step", 0) if plan.resume else 0,
                            kind="skipped-file",
                            message=f"{len(data.skipped)} files skipped; each is listed with its reason in "
                                    f"{out / 'dataset_report.json'}"))

    config.update({
        "data": str(plan.data), "images": int(data.train.shape[0]), "held_out": int(data.held_out.shape[0]),
        "dataset": read_dataset_info(plan.data), "threads": torch.get_num_threads(), "device": str(device),
        "machine": machine_description(torch.get_num_threads(), str(device)), "torch": torch.__version__,
        "processes": distributed.world_size(),
    })
    if main_rank:
        atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    return session_class(args, plan, data, device, reporter, control).run()


def session_for(config: dict) -> type[Session]:
    """The Session class that trains this config's task."""
    if config.get("task", "generate") == "inpaint":
        from studio.train.inpaint_task import InpaintSession  # it builds on Session, defined below

        return InpaintSession
    return Session


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
    """One trainer process's worth of steps, from a fresh start or a checkpoint.

    The loop, checkpoints, health checks, logs and ranks are every task's;
    the networks, the step, the samples and the metrics are the generator's
    here, and another task (inpaint_task.InpaintSession) replaces them by
    overriding _build_networks, _prepare_task, _train_step, _sample_images,
    _watch_health, _metrics and _progress_extras."""

    # Series drawn in curves.png (plots.PANELS layout).
    curve_panels = PANELS

    def __init__(self, args: argparse.Namespace, plan: Plan, data: Dataset, device: torch.device,
                 reporter: Reporter, control: Control):
        self.args, self.plan, self.data, self.device = args, plan, data, device
        self.reporter, self.control = reporter, control
        self.out = plan.out
        self.config = config = plan.config
        self.metrics_every = (4 * args.checkpoint_every if args.metrics_every is None else args.metrics_every)
        self.main = distributed.is_main()
        self.world = distributed.world_size()
        resume = plan.resume

        if resume is None:
            torch.manual_seed(config["seed"])
            np.random.seed(config["seed"] % 2**32)
            random.seed(config["seed"])
        else:
            torch.manual_seed(config["seed"] + int(resume.info["step"]))  # replaced below when the run saved its RNG
        self.G, self.D = (net.to(device) for net in self._build_networks())
        if plan.base is not None:  # fine-tuning: G (and so G_ema) and D start from the base model
            self.G.load_state_dict(plan.base[0])
            self.D.load_state_dict(plan.base[1])
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        try:
            freeze_d_layers(self.D, config.get("freeze_d", 0))
        except ValueError as exc:
            raise DataError(f"--freeze-d: {exc}") from None
        self.d_loss, self.g_loss = get_losses(config.get("gan_loss", "nonsaturating"))
        self.reconstructs = config.get("arch") in FASTGAN_ARCHITECTURES  # their D also learns to rebuild real images
        betas = tuple(config["betas"])
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config["lr"], betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=config["lr"], betas=betas)
        # No target = a run from before ADA: every image augmented, as it was trained.
        self.ada = (AdaptiveAugment(config["ada_target"], ADA_INTERVAL, config["ada_kimg"])
                    if config.get("ada_target") else None)
        self.guard = Guard(diversity_skip=2)
        self.grad_norms = {"g": 0.0, "d": 0.0}  # before clipping, of the last step
        self.d_accuracy = DiscriminatorAccuracy()
        self.precision = Precision(args.precision, device)
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
            if self.ada is not None and resume.info.get("ada"):
                self.ada.load_state_dict(resume.info["ada"])
            self.guard.load_state_dict(resume.info.get("guard") or {})
            if not ckpt_io.restore_rng(resume, {"picker": self.picker}):
                self.picker.manual_seed(config["seed"] + self.step)  # the first trainer's behaviour
        # Each rank draws from its own shard of the images, with its own random
        # streams (rank 0 keeps the run's, so one process resumes exactly).
        self.indices = distributed.shard(torch.arange(data.train.shape[0]))
        if len(self.indices) == 0:
            raise DataError(f"{data.train.shape[0]} training images cannot be shared by {self.world} processes")
        self.local_batch = config["batch"] // self.world
        if self.world > 1:
            distributed.broadcast_parameters(self.G, self.G_ema, self.D)
            if not self.main:
                rank_seed = config["seed"] * 1_000_003 + self.step * 7919 + distributed.rank()
                torch.manual_seed(rank_seed)
                self.picker.manual_seed(rank_seed)
        self.modules = {"G": self.G, "G_ema": self.G_ema, "D": self.D}
        self.optimisers = {"opt_G": self.opt_G, "opt_D": self.opt_D}
        self.snapshot = Snapshot()
        self.snapshot.take(self.step, self.modules, self.optimisers)  # the start (or the resumed checkpoint) is good
        self.rollbacks_in_row = 0
        inject = os.environ.get(INJECT_NAN_ENV)
        self.inject_nan_at = int(inject) if inject else None
        self.log_rows = self._open_log()
        self.reference = self._reference_images()
        self.checkpoint_path: str | None = str(resume.path) if resume is not None and resume.path else None
        self.saved_step = self.step  # what is on disk already (a resumed run that takes no step rewrites nothing)
        self._prepare_task()

    # -- what a task defines ----------------------------------------------------
    @classmethod
    def image_size(cls, config: dict) -> int:
        """The side (px) the training images are prepared at."""
        return int(config["resolution"])

    def _build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        """(G, D) as the config describes them, freshly initialised."""
        return build_generator(self.config), build_discriminator(self.config)

    def _prepare_task(self) -> None:
        """What the task needs beyond the shared state (called last in __init__)."""
        self.diversity_latents = torch.randn(DIVERSITY_LATENTS, self.config["latent_size"],
                                             generator=torch.Generator().manual_seed(METRIC_SEED_BASE)).to(self.device)
        self.reference_diversity = (diversity(self.reference) if self.reference is not None else None)
        self.best_diversity = 0.0

    def _sample_images(self) -> np.ndarray:
        """The sample grid's images, float [N,3,H,W] in [-1,1] (8 columns)."""
        return render_seeds(self.G_ema, self.config["latent_size"])

    def _progress_extras(self) -> dict:
        """Task-specific fields for the next progress event."""
        return {}

    # -- the loop ---------------------------------------------------------------
    def run(self) -> int:
        args, config, control = self.args, self.config, self.control
        batch = config["batch"]
        if isinstance(self.reporter, BarReporter):
            self.reporter.set_target(args.steps)
        self.started = time.monotonic()
        self.paused_s = 0.0
        deadline = self.started + args.minutes * 60.0 if args.minutes is not None else None
        base = config.get("base")
        self.reporter.emit(event(START, step=self.step, resumed=self.plan.resume is not None,
                                 base=base["name"] if base else None,
                                 params_G=parameter_count(self.G), params_D=parameter_count(self.D),
                                 device=self.device.type, precision=self.precision.name,
                                 resolution=config["resolution"], batch=batch,
                                 threads=torch.get_num_threads(), images=int(self.data.train.shape[0]),
                                 arch=config["arch"], loss=config["gan_loss"], processes=self.world,
                                 task=config.get("task", "generate")))
        window = {"g": 0.0, "d": 0.0, "r1": None, "n": 0, "t": time.monotonic(), "images": 0}
        reason = None
        while True:
            reason = control.stop_reason()
            if reason is None and args.steps is not None and self.step >= args.steps:
                reason = "steps"
            if reason is None and deadline is not None and time.monotonic() >= deadline:
                reason = "minutes"
            if reason is None and self.rollbacks_in_row >= ROLLBACK_LIMIT:
                reason = "nan"
            reason, paused = self._agree(reason, control.paused())
            if reason:
                break
            if paused:
                idle = self._pause()
                if deadline is not None:
                    deadline += idle
                window.update(t=time.monotonic(), images=0)
                continue

            if self.inject_nan_at is not None and self.step + 1 == self.inject_nan_at:
                self.inject_nan_at = None  # once: the rollback must then recover for good
                with torch.no_grad():
                    next(self.G.parameters()).fill_(float("nan"))
            loss_g, loss_d, r1 = self._train_step()
            verdict = self.guard.check(self.step + 1, {"loss_g": loss_g, "loss_d": loss_d})
            if verdict.action == ROLLBACK:
                self._roll_back(verdict.message)
                continue
            self.rollbacks_in_row = 0
            self.step += 1
            self.images_seen += batch
            window["g"] += loss_g
            window["d"] += loss_d
            window["r1"] = r1 if r1 is not None else window["r1"]
            window["n"] += 1
            window["images"] += batch
            if self.step % SNAPSHOT_EVERY == 0:
                self.snapshot.take(self.step, self.modules, self.optimisers)

            at_checkpoint = self.step % args.checkpoint_every == 0
            if self.step % args.log_every == 0 or at_checkpoint:
                now = time.monotonic()
                rate = window["images"] / max(now - window["t"], 1e-9)
                self._emit(event(PROGRESS, step=self.step, images_seen=self.images_seen,
                                 loss_g=round(window["g"] / window["n"], 4), loss_d=round(window["d"] / window["n"], 4),
                                 r1=None if window["r1"] is None else round(window["r1"], 5),
                                 aug_p=round(self._aug_p(), 4), lr=self.opt_G.param_groups[0]["lr"],
                                 grad_norm_g=round(self.grad_norms["g"], 3), grad_norm_d=round(self.grad_norms["d"], 3),
                                 **self.d_accuracy.take(),
                                 grad_blocks_g=block_gradient_norms(self.G),
                                 grad_blocks_d=block_gradient_norms(self.D),
                                 images_per_s=round(rate, 2),
                                 eta_s=self._eta(now, deadline, rate / batch), elapsed_s=round(self._active(now), 1),
                                 **self._progress_extras()),
                           log=True)
                window.update(g=0.0, d=0.0, n=0, t=time.monotonic(), images=0)
            if at_checkpoint and self._watch_health():
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
        if reason == "stop-file" and self.main:
            control.acknowledge_stop()
        self.reporter.emit(event(DONE, reason=reason, step=self.step, images_seen=self.images_seen,
                                 wall_time_s=round(self._wall(), 1), checkpoint=self.checkpoint_path))
        if self.log_file is not None:
            self.log_file.close()
        return 0

    def _aug_p(self) -> float:
        """The probability each image D sees is augmented with."""
        if self.ada is not None:
            return self.ada.p
        aug = self.config["augment"]
        return 1.0 if (aug.get("translate") or aug.get("colour")) else 0.0

    def _augment(self, images: torch.Tensor, p: float) -> torch.Tensor:
        aug = self.config["augment"]
        return augment(images, aug["translate"], aug["colour"], p=p)

    def _train_step(self) -> tuple[float, float, float | None]:
        """One D step and one G step on this rank's share of the batch.
        Returns (loss_g, loss_d, r1 or None), averaged over the ranks; with a
        non-finite loss the optimiser steps are skipped (the Guard rolls back)."""
        config, G, D, device, batch = self.config, self.G, self.D, self.device, self.local_batch
        amp = self.precision
        p = self._aug_p()
        real = self._real_batch(batch)
        # One generator pass serves both halves of the step (DCGAN's loop): D
        # learns from it detached, then G learns through the updated D. A
        # second pass for G's half cost about a fifth of the step at 128 px
        # (a 0.59 s forward of a 3 s step, fastgan2 at width 0.5, 2 threads).
        with amp.autocast():
            fake = G(torch.randn(batch, config["latent_size"], device=device))
        set_trainable(D, True)  # not requires_grad_: FreezeD's frozen blocks stay frozen
        do_r1 = config["r1_gamma"] > 0 and self.step % config["r1_every"] == 0
        real_in = self._augment(real, p).detach().requires_grad_(do_r1)
        # R1's double backward runs in float32: through half-precision
        # activations the scaled input gradient overflows (StyleGAN2-ADA keeps
        # it out of fp16 too). Lazy R1 makes that one step in r1_every.
        with amp.autocast(enabled=not do_r1):
            if self.reconstructs:
                real_logits, recon = D(real_in, reconstruct=True)
            else:
                real_logits, recon = D(real_in), None
        with amp.autocast():
            fake_logits = D(self._augment(fake.detach().float(), p))
            loss_d = self.d_loss(real_logits.float(), fake_logits.float())
            total_d = loss_d if recon is None else loss_d + recon
        self.d_accuracy.observe(real_logits.detach(), fake_logits.detach())
        r1_value = None
        if do_r1:
            r1 = r1_penalty(real_logits, real_in)
            total_d = total_d + r1 * (config["r1_gamma"] / 2 * config["r1_every"])
            r1_value = r1.detach()
        ld, r1_mean, finite = self._backward_d(total_d, loss_d, r1_value)
        if not finite:
            return float("nan"), ld, r1_mean
        if amp.step(self.opt_D) and self.ada is not None:
            self.ada.observe(self._gather(real_logits.detach().float()))

        set_trainable(D, False)
        with amp.autocast():
            loss_g = self.g_loss(D(self._augment(fake.float(), p)))
        self.opt_G.zero_grad(set_to_none=True)
        amp.backward(loss_g)
        distributed.average_gradients(G)
        amp.unscale(self.opt_G)
        self._note_norm("g", _clip(G, config["grad_clip"]))
        (lg,) = self._mean_over_ranks(loss_g.detach())
        if not math.isfinite(lg):
            amp.skip()
            return lg, ld, r1_mean
        if amp.step(self.opt_G):
            _update_ema(self.G_ema, G, self.images_seen + config["batch"], config["batch"], config["ema_kimg"])
        return lg, ld, r1_mean

    def _backward_d(self, total_d: torch.Tensor, loss_d: torch.Tensor,
                    r1_value: torch.Tensor | None) -> tuple[float, float | None, bool]:
        """D's gradients for this step: backward, all-reduce, unscale, clip.
        Returns (loss_d, r1) averaged over the ranks and whether both are
        finite; if not, the scaler's iteration is closed and the caller skips
        the step (the Guard rolls back)."""
        amp = self.precision
        self.opt_D.zero_grad(set_to_none=True)
        amp.backward(total_d)
        # Averaged while still scaled: every rank then sees the same overflow
        # and keeps the same loss scale.
        distributed.average_gradients(self.D)
        amp.unscale(self.opt_D)
        self._note_norm("d", _clip(self.D, self.config["grad_clip"]))
        ld, r1_mean = self._mean_over_ranks(loss_d.detach(), r1_value)
        finite = math.isfinite(ld) and (r1_mean is None or math.isfinite(r1_mean))
        if not finite:
            amp.skip()
        return ld, r1_mean, finite

    def _note_norm(self, net: str, norm: float) -> None:
        """Keep the last finite gradient norm: a float16 overflow step has an
        infinite one, which the scaler skips and JSON cannot carry."""
        if math.isfinite(norm):
            self.grad_norms[net] = norm

    # -- health -----------------------------------------------------------------
    def _roll_back(self, why: str) -> None:
        """Back to the last good snapshot with half the learning rate; says so
        in a "nan" warning."""
        self.rollbacks_in_row += 1
        back_to = self.snapshot.restore(self.modules, self.optimisers)
        lowered = lower_learning_rate(self.optimisers)
        self._emit(event(WARNING, step=self.step, kind="nan",
                         message=f"{why} (the weights of step {back_to}); {lowered}; rollback {self.rollbacks_in_row} "
                                 f"in a row, the run stops after {ROLLBACK_LIMIT}"))

    def _watch_health(self) -> bool:
        """Feed the EMA generator's sample diversity at fixed latents to the
        Guard: a collapse warning when it fell; NaN weights roll back. Returns
        False when the state was rolled back (so nothing is saved from it)."""
        div = sample_diversity(self.G_ema, self.diversity_latents)
        verdict = self.guard.check(self.step, {}, diversity=div)
        if verdict.action == ROLLBACK or not self._finite():
            self._roll_back(verdict.message or f"step {self.step}: non-finite weights")
            return False
        if verdict.message:
            self._emit(event(WARNING, step=self.step, kind="collapse", message=verdict.message))
        self.snapshot.take(self.step, self.modules, self.optimisers)  # about to be checkpointed: good
        return True

    def _finite(self) -> bool:
        return all(bool(torch.isfinite(t).all()) for m in self.modules.values() for t in m.state_dict().values())

    # -- ranks ------------------------------------------------------------------
    def _agree(self, reason: str | None, paused: bool) -> tuple[str | None, bool]:
        """Every rank must stop or pause at the same step: the strongest reason
        any rank has (signals, STOP and PAUSE may reach them at different steps)."""
        if self.world == 1:
            return reason, paused
        code = STOP_REASONS.index(reason) + 1 if reason else 0
        flags = torch.tensor([float(code), float(paused)], device=self.device)
        torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
        code = int(flags[0])
        return (STOP_REASONS[code - 1] if code else None), bool(flags[1])

    def _mean_over_ranks(self, *values: torch.Tensor | None) -> list[float | None]:
        """Each loss averaged over the ranks (NaN anywhere is NaN everywhere,
        so all ranks skip and roll back together)."""
        present = [v for v in values if v is not None]
        if self.world > 1 and present:
            flat = torch.stack([v.float() for v in present])
            torch.distributed.all_reduce(flat)
            present = list(flat / self.world)
        it = iter(float(v) for v in present)
        return [None if v is None else next(it) for v in values]

    def _gather(self, logits: torch.Tensor) -> torch.Tensor:
        """All ranks' real logits, so every rank's ADA sees the same evidence
        and keeps the same p."""
        if self.world == 1:
            return logits
        parts = [torch.empty_like(logits) for _ in range(self.world)]
        torch.distributed.all_gather(parts, logits.contiguous())
        return torch.cat(parts)

    def _pick_indices(self, batch: int) -> torch.Tensor:
        """`batch` random training image indices from this rank's shard."""
        if self.world == 1:
            return torch.randint(0, self.data.train.shape[0], (batch,), generator=self.picker)
        return self.indices[torch.randint(0, len(self.indices), (batch,), generator=self.picker)]

    def _real_batch(self, batch: int) -> torch.Tensor:
        idx = self._pick_indices(batch)
        x = self.data.train[idx].to(device=self.device, dtype=torch.float32) / 127.5 - 1.0
        flip = (torch.rand(batch, generator=self.picker) < 0.5).to(self.device)
        x[flip] = x[flip].flip(3)  # mirror images are as plausible as the originals
        return x

    def _pause(self) -> float:
        """Idle while PAUSE exists (and no stop is asked); returns the seconds idled."""
        t0 = time.monotonic()
        self.reporter.emit(event(PAUSED, step=self.step))
        while self.control.paused() and self.control.stop_reason() is None:
            time.sleep(0.2)
        idle = time.monotonic() - t0
        self.paused_s += idle
        if self.control.stop_reason() is None:
            self.reporter.emit(event(RESUMED, step=self.step))
        return idle

    # -- outputs ----------------------------------------------------------------
    def _save(self, reason: str | None) -> None:
        grid = self.out / "samples" / f"step_{self.step:06d}.png"
        if not self._finite():  # the grid shows what is saved, and NaN is never saved
            self._roll_back(f"step {self.step}: non-finite weights before a checkpoint")
        pixels = self._sample_images() if self.main else None
        self._write_checkpoint(reason)
        if pixels is not None:
            write_grid(grid, pixels)
        self.reporter.emit(event(SAMPLES, step=self.step, path=str(grid)))
        self.reporter.emit(event(CHECKPOINT, step=self.step, path=self.checkpoint_path))
        self._curves()

    def _write_checkpoint(self, reason: str | None, keep_previous: bool = True) -> None:
        """Rank 0 writes; NaN never reaches the disk (non-finite weights are
        rolled back to the last good snapshot first)."""
        if not self._finite():
            self._roll_back(f"step {self.step}: non-finite weights before a checkpoint")
        self.saved_step = self.step
        if not self.main:
            return
        info = {"step": self.step, "images_seen": self.images_seen, "wall_time_s": round(self._wall(), 1),
                "config": self.config, "stopped_by": reason, "metrics": self.last_metrics,
                "intervals": {name: getattr(self.args, name) for name in INTERVALS},
                "ada": self.ada.state_dict() if self.ada is not None else None, "guard": self.guard.state_dict()}
        ckpt = ckpt_io.pack(self.modules, self.optimisers, info, {"picker": self.picker})
        self.checkpoint_path = str(ckpt_io.save(self.out, ckpt, keep_previous))

    def _metrics(self) -> None:
        if self.reference is None or not self.main:
            return
        t0 = time.monotonic()
        n = self.reference.shape[0]
        seeds = range(METRIC_SEED_BASE, METRIC_SEED_BASE + n)
        fakes = torch.from_numpy(render_seeds(self.G_ema, self.config["latent_size"], seeds))
        result = swd(fakes, self.reference, seed=0)
        div = diversity(fakes)
        measured = event(METRICS, step=self.step, swd=round(result["swd"], 3),
                         swd_levels={str(k): round(v, 3) for k, v in result["levels"].items()},
                         diversity=round(div, 4), diversity_reference=round(self.reference_diversity, 4),
                         reference="held-out" if self.data.held_out.shape[0] else "training", images=n,
                         seconds=round(time.monotonic() - t0, 2), plot=str(self.out / "curves.png"))
        self._publish_metrics(measured)
        # Collapse: variety fell to half of what this run had reached and to
        # under half of the real images' own variety.
        if div < 0.5 * self.best_diversity and div < 0.5 * self.reference_diversity:
            self._emit(event(WARNING, step=self.step, kind="collapse",
                             message=f"diversity fell to {div:.3f} (best so far {self.best_diversity:.3f}, real images "
                                     f"{self.reference_diversity:.3f}): the generator may be collapsing to few images"))
        self.best_diversity = max(self.best_diversity, div)

    def _publish_metrics(self, measured: dict) -> None:
        """Keep a metrics event for the checkpoint's info, log it, redraw the
        curves and emit it."""
        self.last_metrics = {k: v for k, v in measured.items() if k not in ("event", "plot")}
        self.log_rows.append(measured)
        self._log(measured)
        self._curves()
        self.reporter.emit(measured)

    def _curves(self) -> None:
        if self.main:
            draw_curves(self.log_rows, self.out / "curves.png", self.curve_panels)

    def _emit(self, item: dict, log: bool = False) -> None:
        if log:
            self.log_rows.append(item)
            self._log(item)
        self.reporter.emit(item)

    def _log(self, item: dict) -> None:
        if self.log_file is None:
            return
        self.log_file.write(json.dumps(item) + "\n")
        self.log_file.flush()

    def _open_log(self) -> list[dict]:
        """log.jsonl: every progress and metrics event of the run, one per line.
        On resume the lines past the checkpoint (steps that were lost) go."""
        rows: list[dict] = []
        self.log_file = None
        if not self.main:
            return rows
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
