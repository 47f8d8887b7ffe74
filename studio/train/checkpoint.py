"""Training checkpoints without pickle: tensors (G, G_ema, D, both optimisers'
state) in one safetensors file, the rest (step, config, optimiser
hyper-parameters) as JSON, kept both in the safetensors metadata and in a
readable JSON file beside it.

Layout of RUNDIR: checkpoint.safetensors + checkpoint.json. Tensor keys:
"G.<param>", "G_ema.<param>", "D.<param>", "opt_G.<index>.<state>",
"opt_D.<index>.<state>".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from studio.core.atomic import atomic_path, atomic_write_text

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_JSON = "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint is missing or unreadable; str() is one readable line."""


@dataclass
class Checkpoint:
    """Everything a run needs to continue or export: tensors by prefixed key and
    a JSON-able info dict (step, images_seen, wall_time_s, config, ...)."""

    tensors: dict[str, torch.Tensor]
    info: dict = field(default_factory=dict)

    def module_state(self, prefix: str) -> dict[str, torch.Tensor]:
        """The state dict of one module, e.g. prefix "G_ema"."""
        head = prefix + "."
        return {k[len(head):]: v for k, v in self.tensors.items() if k.startswith(head)}

    def optimiser_state(self, prefix: str) -> dict:
        """A torch optimiser state_dict rebuilt from tensors + JSON groups."""
        head = prefix + "."
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in self.tensors.items():
            if key.startswith(head):
                index, name = key[len(head):].split(".", 1)
                state.setdefault(int(index), {})[name] = value
        return {"state": state, "param_groups": self.info["optimisers"][prefix]}


def pack(modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer], info: dict) -> Checkpoint:
    """Collect module weights and optimiser state into a Checkpoint."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = value.detach().cpu().contiguous().clone()
    groups = {}
    for prefix, opt in optimisers.items():
        sd = opt.state_dict()
        for index, entries in sd["state"].items():
            for name, value in entries.items():
                t = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"{prefix}.{index}.{name}"] = t.detach().cpu().contiguous().clone()
        groups[prefix] = sd["param_groups"]
    return Checkpoint(tensors, {**info, "optimisers": groups})


def save(folder: str | os.PathLike, ckpt: Checkpoint, name: str = CHECKPOINT_FILE) -> Path:
    """Write folder/<name> and its .json atomically; returns the safetensors path.

    The tensors go first: a crash between the two files leaves a JSON that is
    one checkpoint behind, and readers trust the copy inside the safetensors.
    """
    folder = Path(folder)
    path = folder / name
    text = json.dumps(ckpt.info, indent=2, sort_keys=True)
    with atomic_path(path) as tmp:
        save_file(ckpt.tensors, str(tmp), metadata={"info": text})
    atomic_write_text(path.with_suffix(".json"), text + "\n")
    return path


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint file (or a run folder holding checkpoint.safetensors)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), "pt") as fh:
            info = json.loads((fh.metadata() or {}).get("info", "{}"))
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    return Checkpoint(tensors, info)
