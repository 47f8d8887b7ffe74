"""`studio train` and `python -m studio.train`: the command line, its
checks, and the launcher that settles a plan (plan.py), reads the images
and hands them to the task's session (session.py, tasks/). What the app and
the trainer say to each other is studio/train/PROTOCOL.md (protocol.py in
code); what each task trains is its module in tasks/.

    python -m studio.train --data FOLDER --out RUNDIR [--task generate|inpaint|upscale] [--preset quick|evening|overnight]
        [--resolution R] [--steps N | --minutes M] [--base MODEL | --from-scratch] [--resume [RUNDIR]] ...

RUNDIR receives: config.json, dataset_report.json, checkpoint.safetensors
(+ checkpoint.prev.safetensors, checkpoint.json), samples/step_NNNNNN.png,
log.jsonl (every progress and metrics event) and curves.png.
RUNDIR/STOP stops the run (checkpoint, exit 0); RUNDIR/PAUSE pauses it;
SIGINT/SIGTERM stop it like STOP.

Fine-tuning: --base MODEL (a model folder, or the name of a model in the
shipped models/ folder or the user models folder, matched by manifest name)
starts G, G_ema and D from that model's checkpoint.safetensors; what the
base fixes (width, resolution, and the task's own: a generator's
architecture and latent size) comes from it, and a flag that differs is an
error. --freeze-d N keeps D's first N blocks fixed (FreezeD).

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
import contextlib
import json
import math
import os
import platform
import sys
import time

import torch

from studio.core.arguments import ArgumentError, Parser
from studio.core.atomic import atomic_write_text
from studio.core.errors import os_error_line
from studio.core.framing import FITS
from studio.train import checkpoint as ckpt_io
from studio.train import distributed
from studio.train.alpha import settle_channels
from studio.train.control import Control
from studio.train.data import ScanInterrupted, load_dataset, parse_background, read_dataset_info
from studio.train.errors import DataError
from studio.train.plan import plan_run, settle_intervals
from studio.train.precision import PRECISIONS
from studio.train.presets import PRESETS
from studio.train.progress import MODES, Reporter, SilentReporter, make_reporter
from studio.train.protocol import DATASET, DONE, SCAN, WARNING, event
from studio.train.tasks import DEFAULT_TASK, TASKS, task_of


def build_parser() -> Parser:
    p = Parser(prog="studio train", description="Train a GAN generator (or an inpainting network) on a folder of "
                                                "images.")
    p.add_argument("--data", help="folder of training images, searched recursively (any image core can open)")
    p.add_argument("--out", help="run folder for checkpoints, samples, curves and logs")
    p.add_argument("--resume", nargs="?", const="", metavar="RUNDIR",
                   help="continue RUNDIR from its last complete checkpoint; --data, --out and the recipe then come "
                        "from RUNDIR. A bare --resume continues --out when it holds a checkpoint, else starts fresh")
    recipe = p.add_argument_group("recipe (fixed for the life of a run)")
    recipe.add_argument("--task", choices=tuple(TASKS),
                        help="; ".join(task.help for task in TASKS.values()))
    recipe.add_argument("--resolution", type=int,
                        help="image side in pixels; " + "; ".join(
                            f"--task {task.name}: {', '.join(map(str, task.resolutions))} (default "
                            f"{task.default_resolution})" for task in TASKS.values()))
    recipe.add_argument("--batch", type=int, help="images per step (default 8 on a CPU, 32 with CUDA)")
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
    for task in TASKS.values():
        task.add_arguments(p)
    crops = p.add_argument_group("random crops (--task " + "/".join(
        task.name for task in TASKS.values() if "crop_scale" in task.keys) + ")")
    crops.add_argument("--crop-scale", type=float,
                       help="images are kept at this many times --resolution and each step crops a random square of "
                            "1 to this many times --resolution from them (1 = the whole image; default: the task's)")
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
    session.add_argument("--progress", choices=MODES,
                         help="json: one event per line on stdout (for the app and scripts); bar: a progress "
                              "bar on stderr (default: bar at a terminal, json otherwise)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m studio.train` and `studio train`. Returns the
    exit code: 0 done or stopped, 2 bad input (one `error:` line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
        check_arguments(args)
        apply_preset(args)
    except (ArgumentError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Under torchrun only rank 0 speaks; the others report nothing.
    main_rank = int(os.environ.get("RANK", "0")) == 0
    reporter = make_reporter(args.progress or ("bar" if sys.stdout.isatty() else "json")) if main_rank \
        else SilentReporter()
    control = Control(args.out or args.resume or ".")
    control.install()
    try:
        return train(args, reporter, control)
    except (ArgumentError, DataError, ckpt_io.CheckpointError, OSError) as exc:
        reporter.close()  # ends the bar's line first
        if main_rank:
            print(f"error: {os_error_line(exc) if isinstance(exc, OSError) else exc}", file=sys.stderr)
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


# flag -> (lowest, highest, lowest excluded): every number a run takes, checked
# before anything is read or written. The highest values are far past any
# sensible run but stop one that would never end or never fit in memory
# (--minutes: a week; --batch 512 at 256 px is about 4 GB of activations).
RANGES = {
    "batch": (2, 512, False), "steps": (1, 10**9, False), "checkpoint_every": (1, 10**9, False),
    "log_every": (1, 10**9, False), "metrics_every": (0, 10**9, False), "threads": (0, 1024, False),
    "r1_every": (1, 10**6, False), "freeze_d": (0, 64, False), "minutes": (0, 7 * 24 * 60, True),
    "width": (0.0625, 8, False), "lr": (0, 1, True), "r1_gamma": (0, 10**4, False), "grad_clip": (0, 10**6, False),
    "ema_kimg": (0, 10**6, True), "seed": (0, 2**32 - 1, False), "crop_scale": (1, 4, False),
    "nice": (0, 19, False),
}


def check_arguments(args: argparse.Namespace) -> None:
    """DataError (one line) for flags that cannot work, before anything is read or written."""
    for name, (low, high, open_low) in RANGES.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if not math.isfinite(value) or value < low or value > high or (open_low and value == low):
            span = f"more than {low} and at most {high:,}" if open_low else f"from {low} to {high:,}"
            raise DataError(f"--{name.replace('_', '-')} must be {span}, got {value}")
    task = TASKS[args.task or DEFAULT_TASK]
    allowed = task.resolutions
    if args.resolution is not None and args.resolution not in allowed and not (args.task is None and args.resume):
        sizes = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}"
        which = f" for --task {args.task}" if args.task else ""
        raise DataError(f"--resolution must be {sizes}{which}, got {args.resolution}")
    for each in TASKS.values():
        each.check_arguments(args)
    if args.background is not None:
        parse_background(args.background)
    if args.resume is None and not args.data:
        raise DataError("--data FOLDER is required (or --resume RUNDIR to continue a run)")
    if args.resume is None and not args.out:
        raise DataError("--out RUNDIR is required (the run folder to create)")
    if args.resume == "" and not args.out:
        raise DataError("a bare --resume continues --out RUNDIR; give --out, or --resume RUNDIR")


def train(args: argparse.Namespace, reporter: Reporter, control: Control) -> int:
    """Run one training session as the parsed command line asks; returns the
    exit code. Bad input raises DataError/CheckpointError (the caller prints it)."""
    # The device first: a new run's default widths depend on it. Bad input
    # is refused before anything is written.
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: join the group, one device per rank
        device = distributed.setup(None if args.device == "auto" else args.device).device
    else:
        device = pick_device(args.device)
    plan = plan_run(args, cuda=device.type == "cuda")
    settle_intervals(args, plan.resume)
    out, config = plan.out, plan.config
    if config["batch"] % distributed.world_size():
        raise DataError(f"--batch {config['batch']} must divide by the {distributed.world_size()} processes")
    main_rank = distributed.is_main()
    if not plan.data.exists():
        where = " (it moved? give --data FOLDER)" if plan.resume is not None else ""
        raise DataError(f"data folder not found: {plan.data}{where}")
    if not plan.data.is_dir():
        raise DataError(f"data path is not a folder: {plan.data}")
    made_out = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot make the run folder {out} ({(exc.strerror or 'not writable').lower()})") from None
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

    task = task_of(config)
    session_class = task.session_class()
    keep_alpha = task.reads_alpha(config)
    if not main_rank:
        distributed.barrier()  # rank 0 scans and fills the cache first; the others then read it
    try:
        data = load_dataset(plan.data, session_class.image_size(config), config["fit"], background,
                            threads=args.threads, progress=scan_progress,
                            should_stop=lambda: control.stop_reason() is not None,
                            shortest=session_class.shortest_side(config), keep_alpha=keep_alpha)
    except DataError:
        if made_out:  # data refused: a run folder made for it would be litter (only an empty one goes)
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
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
    if keep_alpha:
        config["channels"], data = settle_channels(config, data)
        if config["channels"] == 4:
            data.summary["summary"] += ("; the generator will draw their transparency (--alpha flatten draws them "
                                       "on the background instead)")
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


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise DataError(f"device {name!r} is not usable: {str(exc).splitlines()[0]}") from None
    return device
