"""The training runs kept in the user's runs folder, for the Train panel's
"Past runs" list: each one can be trained further (`--resume`) or exported.

No Qt here. A run folder is what the trainer leaves: checkpoint.json (the
step reached, the run's config) beside checkpoint.safetensors. The files are
read as untrusted (size-capped, any JSON shape): a folder that is not a run,
or a damaged one, is left out of the list, never an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from studio.core.paths import user_data_dir
from studio.train.tasks import DEFAULT_TASK, TASKS

CHECKPOINT_INFO = "checkpoint.json"
MAX_INFO_BYTES = 1 << 20
STAMP = re.compile(r"-\d{8}-\d{6}(-\d+)?$")  # what train_setup.new_run_folder appends to the model name


@dataclass(frozen=True)
class PastRun:
    folder: Path
    name: str  # the model name it was started for
    task: str  # a TASKS key
    resolution: int | None
    step: int
    modified: datetime

    def label(self) -> str:
        """Two lines: what it is called and how far it got; what it trains and when."""
        size = f"{self.resolution} px  ·  " if self.resolution else ""
        return (f"{self.name}  ·  {size}step {self.step:,}\n"
                f"{TASKS[self.task].label}  ·  {self.modified:%Y-%m-%d %H:%M}")


def runs_folder() -> Path:
    return user_data_dir() / "runs"


def list_past_runs(root: Path | None = None) -> list[PastRun]:
    """The runs under `root` (default: the user's runs folder) that hold a
    checkpoint, newest first."""
    root = runs_folder() if root is None else root
    try:
        folders = [f for f in root.iterdir() if f.is_dir()]
    except OSError:
        return []
    runs = [run for run in (read_run(folder) for folder in folders) if run is not None]
    return sorted(runs, key=lambda run: run.modified, reverse=True)


def read_run(folder: Path) -> PastRun | None:
    info_path = folder / CHECKPOINT_INFO
    try:
        if not (folder / "checkpoint.safetensors").is_file() or info_path.stat().st_size > MAX_INFO_BYTES:
            return None
        info = json.loads(info_path.read_text(encoding="utf-8"))
        modified = datetime.fromtimestamp(info_path.stat().st_mtime)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(info, dict):
        return None
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    task = config.get("task", DEFAULT_TASK)
    step = info.get("step")
    resolution = config.get("resolution")
    if task not in TASKS or not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return None
    if not isinstance(resolution, int) or isinstance(resolution, bool):
        resolution = None
    return PastRun(folder, STAMP.sub("", folder.name) or folder.name, task, resolution, step, modified)
