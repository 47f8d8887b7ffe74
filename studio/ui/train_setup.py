"""From the Train panel's settings to a trainer command line, without Qt: the
tasks the panel offers, the run folder, the model name, the arguments of
`python -m studio.train` (studio/train/PROTOCOL.md) and the preset hint.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from studio.core.paths import user_data_dir
from studio.train.presets import Preset
from studio.train.tasks import DEFAULT_TASK, TASKS

# Every core, at low priority: the scheduler serves the canvas first, so it
# stays responsive, and a 2-core laptop trains on both cores, not one.
RUN_PRIORITY = ["--threads", "0", "--nice", "10", "--progress", "json"]
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # what `studio.train export --name` accepts


def model_name_problem(name: str, taken: set[str]) -> str | None:
    """Why `name` cannot be the exported model's name (one line), or None."""
    if not MODEL_NAME.match(name):
        return (f"model name {name!r} must be 1-64 letters, digits, '-', '_' or '.', "
                "starting with a letter or digit")
    if name in taken:
        return f"a model named {name!r} is already installed; choose another name"
    return None


def new_run_folder(name: str, now: datetime | None = None) -> Path:
    """user data folder/runs/NAME-YYYYmmdd-HHMMSS (not created); a suffix
    keeps two runs started in the same second apart."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    runs = user_data_dir() / "runs"
    folder, n = runs / f"{name}-{stamp}", 2
    while folder.exists():
        folder, n = runs / f"{name}-{stamp}-{n}", n + 1
    return folder


def suggest_model_name(folder: str | os.PathLike, taken: set[str]) -> str:
    """A valid export name from a data folder's name, not one of `taken`."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(folder).name).strip("-._")[:56] or "model"
    if not base[0].isalnum():
        base = f"m{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def preset_hint(preset: Preset | None, minutes: int, now: datetime | None = None) -> str:
    """The line under the preset menu: what to expect and when it is ready."""
    ready = ((now or datetime.now()) + timedelta(minutes=minutes)).strftime("%H:%M")
    if preset is None:
        return f"Ready about {ready}."
    return f"Expect {preset.expectation}. Ready about {ready}."


def training_arguments(data: Path, rundir: Path, resolution: int, minutes: float | None = None,
                       steps: int | None = None, base: str | None = None, checkpoint_every: int | None = None,
                       batch: int | None = None, task: str = DEFAULT_TASK, encoder: bool = False) -> list[str]:
    """The trainer's command line after `-m studio.train` (studio/train/PROTOCOL.md).
    Exactly one of minutes (wall time) and steps (total steps) is used; steps wins.
    encoder: a generator trained with its encoder (--encoder)."""
    args = ["--data", str(data), "--out", str(rundir), "--resolution", str(resolution)]
    if task != DEFAULT_TASK:
        args += ["--task", task]
    if encoder:
        args += ["--encoder"]
    args += ["--steps", str(steps)] if steps is not None else ["--minutes", f"{minutes:g}"]
    if base:
        args += ["--base", base]
    elif TASKS[task].default_bases:  # "none" in the menu means none, even where a base model would fit
        args += ["--from-scratch"]
    if checkpoint_every is not None:
        args += ["--checkpoint-every", str(checkpoint_every)]
    if batch is not None:
        args += ["--batch", str(batch)]
    return args + RUN_PRIORITY


def resume_arguments(rundir: Path, minutes: float) -> list[str]:
    """The trainer's command line that trains the run in `rundir` for `minutes` more."""
    return ["--resume", str(rundir), "--minutes", f"{minutes:g}"] + RUN_PRIORITY
