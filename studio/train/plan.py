"""What a training session will do, settled before anything is written:
where from (a fresh start, a checkpoint to resume, a base model to
fine-tune), where to, and the recipe.

The recipe is what a run is trained with: the shared keys below, the task's
own keys (tasks/), and "task". A new run's recipe is its task's defaults
(tasks/*.new_config), under what a base model fixes, under what the command
line gives. On --resume it comes from the run's config; a flag that differs
from it is an error (the weights were made with it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from studio.train import checkpoint as ckpt_io
from studio.train.base_models import find_base
from studio.train.data import background_hex, parse_background
from studio.train.errors import DataError
from studio.train.finetune import BaseModelError, load_base
from studio.train.session import INTERVALS
from studio.train.tasks import DEFAULT_TASK, TASKS, task_of

SHARED_KEYS = ("resolution", "batch", "fit", "background", "width", "lr", "r1_gamma", "r1_every", "grad_clip",
               "ema_kimg", "seed", "freeze_d")
RECIPE_KEYS = (*SHARED_KEYS, *dict.fromkeys(key for task in TASKS.values() for key in task.keys), "task")
FLAGS = {"gan_loss": "--loss"}  # recipe keys whose flag is not --key-with-dashes
# What earlier trainers did, for runs whose config predates these keys
# (emoji64: pad; every run before ADA: classic nets, softplus loss, p = 1;
# every run before issue 15: no encoder).
LEGACY_CONFIG = {"task": DEFAULT_TASK, "fit": "pad", "background": "#ffffff", "arch": "classic",
                 "gan_loss": "nonsaturating", "ada_target": None, "ada_kimg": None, "ada_p_min": 0.0, "cutout": 0.0,
                 "freeze_d": 0, "grad_clip": 0.0, "encoder": False, "freeze_g": False}


@dataclass
class Plan:
    """What this session does: where from, where to, with which recipe."""

    out: Path
    data: Path
    config: dict
    resume: ckpt_io.Checkpoint | None
    resume_dir: Path | None
    base: dict[str, dict] | None = None  # network -> state dict of --base, for a new run (finetune.load_base)


def settle_intervals(args: argparse.Namespace, resume: ckpt_io.Checkpoint | None) -> None:
    """The session's checkpoint, metrics and log intervals: as given, else
    what the resumed run last used, else INTERVALS."""
    used = (resume.info.get("intervals") or {}) if resume is not None else {}
    for name, default in INTERVALS.items():
        if getattr(args, name) is None:
            setattr(args, name, used.get(name, default))


# What every task's recipe holds; a checkpoint without them came from elsewhere.
RESUMABLE_KEYS = ("resolution", "batch", "lr")


def plan_run(args: argparse.Namespace, cuda: bool = False) -> Plan:
    """Settle --resume/--out/--data and the recipe (a new generator run's
    defaults depend on whether it trains on CUDA); DataError/CheckpointError
    (one line) when they do not fit together."""
    resume_dir: Path | None = None
    if args.resume == "":
        resume_dir = Path(args.out) if ckpt_io.exists(args.out) else None
    elif args.resume is not None:
        resume_dir = Path(args.resume)
        if resume_dir.exists() and not resume_dir.is_dir():
            raise DataError(f"--resume takes a run folder; {resume_dir} is a file")
        if not resume_dir.is_dir():
            raise DataError(f"run folder not found: {resume_dir}")
        if not ckpt_io.exists(resume_dir):
            raise DataError(f"nothing to resume: no checkpoint in {resume_dir}")
    ckpt = ckpt_io.load(resume_dir) if resume_dir is not None else None
    out = Path(args.out) if args.out else resume_dir
    assert out is not None  # cli.check_arguments made sure
    if out.exists() and not out.is_dir():
        raise DataError(f"--out must be a folder, but {out} is a file")
    if ckpt is None and ckpt_io.exists(out):
        raise DataError(f"{out} already holds a training run (step {peek_step(out)}); continue it with --resume "
                        f"{out}, or choose another --out")
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
        lacking = [key for key in RESUMABLE_KEYS if key not in config]
        if lacking or config.get("task", DEFAULT_TASK) not in TASKS:
            what = f"lacks {', '.join(lacking)}" if lacking else f"names the task {config.get('task')!r}"
            raise DataError(f"{resume_dir} is not a run this trainer can continue (its recipe {what})")
        refuse_changes(config, explicit, f"{resume_dir} was trained with", "leave the flag out, or start a new run")
    else:
        task = TASKS[explicit.get("task", DEFAULT_TASK)]
        refuse_other_tasks_flags(task.name, explicit)
        inherited, from_base = {}, {}
        base = args.base
        if base is None and not args.from_scratch:
            base = task.default_base(explicit, args.preset, cuda)
        if base:
            folder, name = find_base(base)
            try:
                base_config, base_states = load_base(folder, explicit.get("resolution"))
            except BaseModelError as exc:
                raise DataError(str(exc)) from None
            base_task = task_of(base_config)
            if base_task is not task:
                raise DataError(f"base model {name} was trained with --task {base_task.name}; --task {task.name} "
                                f"needs a base model of its own task")
            if any(key not in base_config for key in task.base_needs):
                raise DataError(f"base model {name}'s checkpoint has no training config")
            inherited = {"width": base_config["width"], "resolution": int(base_config["resolution"]),
                         "base": {"name": name, "folder": str(folder)}, **task.inherit(base_config)}
            from_base = task.defaults_from_base(base_config)
            refuse_changes(inherited, explicit, f"base model {name} has", "leave the flag out")
        config = task.new_config({**from_base, **inherited, **explicit}, args.preset, cuda)
        if base:
            base_weights = task.fit_base(base_states, base_config, config)
    data = args.data or config.get("data")
    if not data:
        raise DataError(f"{resume_dir} does not say where its images are; give --data FOLDER")
    if ckpt is None:
        config = task.fit_to_folder(config, explicit, data)
    return Plan(out, Path(data).resolve(), config, ckpt, resume_dir, base_weights)


def flag_of(key: str) -> str:
    """The command-line flag that sets recipe key `key`."""
    return FLAGS.get(key, "--" + key.replace("_", "-"))


def refuse_other_tasks_flags(task: str, explicit: dict) -> None:
    """A recipe flag only other tasks use is a mistake, not something to ignore."""
    mine = {*SHARED_KEYS, *TASKS[task].keys, "task"}
    for key in explicit:
        if key not in mine:
            users = "/".join(other.name for other in TASKS.values() if key in other.keys)
            raise DataError(f"{flag_of(key)} is for --task {users}; a --task {task} run has no use for it")


def refuse_changes(config: dict, explicit: dict, owner: str, advice: str) -> None:
    for key, value in explicit.items():
        if key in config and config[key] != value:
            flag = flag_of(key)
            raise DataError(f"{owner} {flag} {config[key]}; it cannot go on with {flag} {value} ({advice})")


def peek_step(folder: Path):
    """The step of the run in `folder`, or "?" when its checkpoint cannot be read."""
    try:
        return ckpt_io.load(folder).info.get("step", "?")
    except ckpt_io.CheckpointError:
        return "?"
