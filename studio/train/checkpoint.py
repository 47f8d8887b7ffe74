"""Training checkpoints without pickle: ONE safetensors file holds the tensors
(G, G_ema, D, both optimisers' state, the RNG states) and, in its metadata,
the JSON info (step, config, optimiser hyper-parameters, RNG scalars). One
file, so tensors and info can never disagree.

Layout of RUNDIR:
    checkpoint.safetensors        the newest complete checkpoint (what readers open)
    checkpoint.prev.safetensors   the one before it (a fallback)
    checkpoint.json               a readable copy of the newest info; nothing reads it back

Tensor keys: "G.<param>", "G_ema.<param>", "D.<param>",
"opt_G.<index>.<state>", "opt_D.<index>.<state>", "rng.<name>". Checkpoints of
the first trainer (no "format", no rng.*) load the same way.

Why a kill -9 at any moment leaves a resumable run: the new file is written
under a temporary name, flushed and fsynced, and only then renamed over
checkpoint.safetensors (an atomic rename); before that, the current file is
hard-linked as checkpoint.prev.safetensors. `load` falls back to the previous
file if the newest one is missing or unreadable.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from studio.core.atomic import atomic_path, atomic_write_text

FORMAT = 2
CHECKPOINT_FILE = "checkpoint.safetensors"
PREVIOUS_FILE = "checkpoint.prev.safetensors"
CHECKPOINT_JSON = "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint is missing or unreadable; str() is one readable line."""


@dataclass
class Checkpoint:
    """Everything a run needs to continue or export: tensors by prefixed key and
    a JSON-able info dict (step, images_seen, wall_time_s, config, ...)."""

    tensors: dict[str, torch.Tensor]
    info: dict = field(default_factory=dict)
    path: Path | None = None  # the file it was read from

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


def pack(modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer], info: dict,
         generators: dict[str, torch.Generator] | None = None) -> Checkpoint:
    """Collect module weights, optimiser state and the RNG states (torch's,
    numpy's and Python's global ones, CUDA's when in use, and the given torch
    generators) into a Checkpoint."""
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
    rng_tensors, rng_info = capture_rng(generators or {})
    tensors.update(rng_tensors)
    return Checkpoint(tensors, {**info, "optimisers": groups, "rng": rng_info, "format": FORMAT})


def capture_rng(generators: dict[str, torch.Generator]) -> tuple[dict[str, torch.Tensor], dict]:
    """RNG states as tensors ("rng.*") plus the scalars JSON needs."""
    tensors = {"rng.torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state.clone()
    for name, gen in generators.items():
        tensors[f"rng.gen.{name}"] = gen.get_state().clone()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, words, gauss_next = random.getstate()
    tensors["rng.python"] = torch.tensor(words, dtype=torch.int64)
    info = {"numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "python": {"version": int(version), "gauss_next": gauss_next}}
    return tensors, info


def restore_rng(ckpt: Checkpoint, generators: dict[str, torch.Generator]) -> bool:
    """Put back the RNG states saved by `pack`; False (nothing changed) for a
    checkpoint that has none."""
    t, info = ckpt.tensors, ckpt.info.get("rng")
    if "rng.torch" not in t or not info:
        return False
    torch.set_rng_state(t["rng.torch"])
    cuda = sorted(k for k in t if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        states = [t[k] for k in cuda][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)
    for name, gen in generators.items():
        if f"rng.gen.{name}" in t:
            gen.set_state(t[f"rng.gen.{name}"])
    n = info["numpy"]
    np.random.set_state((n["kind"], t["rng.numpy"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = info["python"]
    random.setstate((p["version"], tuple(int(w) for w in t["rng.python"].tolist()), p["gauss_next"]))
    return True


def save(folder: str | os.PathLike, ckpt: Checkpoint, keep_previous: bool = True) -> Path:
    """Write folder/checkpoint.safetensors so that a crash at any point leaves
    a complete checkpoint there or, for an instant, in the .prev file (see the
    module docstring). keep_previous=False leaves the .prev file alone (for
    rewriting the newest checkpoint's info at the same step). Returns the path."""
    folder = Path(folder)
    path, previous = folder / CHECKPOINT_FILE, folder / PREVIOUS_FILE
    info = {**ckpt.info, "tensor_count": len(ckpt.tensors)}
    text = json.dumps(info, indent=2, sort_keys=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_file(ckpt.tensors, str(tmp), metadata={"info": text})
            # Still inside: atomic_path fsyncs tmp and renames it over `path` when
            # this block ends. Before that, the current file becomes the previous one.
            if keep_previous:
                _keep_previous(path, previous)
        atomic_write_text(folder / CHECKPOINT_JSON, text + "\n")
    except (OSError, SafetensorError) as exc:
        # Disk full, a quota, a folder gone: the last good checkpoint is left as it was.
        raise CheckpointError(f"cannot write the checkpoint in {folder}: {_why(exc)}; "
                              f"the last one written is kept") from exc
    return path


def _why(exc: BaseException) -> str:
    """A write failure in a few words: the OS's reason, else the library's first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _keep_previous(path: Path, previous: Path) -> None:
    if not path.exists():
        return
    previous.unlink(missing_ok=True)
    try:
        # A hard link: checkpoint.safetensors never stops existing.
        os.link(path, previous)
    except OSError:
        # No hard links here (FAT, some network shares): move it aside; for
        # the instant until the rename, `load` finds the previous file.
        os.replace(path, previous)


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint file, or the newest complete checkpoint of a run
    folder (checkpoint.safetensors, else checkpoint.prev.safetensors)."""
    path = Path(path)
    if not path.is_dir():
        return _read(path)
    candidates = [path / CHECKPOINT_FILE, path / PREVIOUS_FILE]
    errors = []
    for candidate in candidates:
        if candidate.is_file():
            try:
                return _read(candidate)
            except CheckpointError as exc:
                errors.append(str(exc))
    if errors:
        raise CheckpointError("; ".join(errors))
    raise CheckpointError(f"no checkpoint in {path}")


def exists(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a checkpoint file (complete or not: see load)."""
    folder = Path(folder)
    return (folder / CHECKPOINT_FILE).is_file() or (folder / PREVIOUS_FILE).is_file()


def remove_stale_temporaries(folder: str | os.PathLike) -> None:
    """Delete half-written checkpoint files a killed trainer left behind."""
    for stale in Path(folder).glob(f".{CHECKPOINT_FILE}.*.tmp"):
        stale.unlink(missing_ok=True)


def _read(path: Path) -> Checkpoint:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), "pt") as fh:
            info = json.loads((fh.metadata() or {}).get("info", "{}"))
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own types and OSError alike
        raise CheckpointError(f"cannot read checkpoint {path}: {' '.join(str(exc).split())}") from None
    # Another program's safetensors file, or one damaged by hand, must say so in one line.
    foreign = f"{path} is not a checkpoint of this trainer"
    if not isinstance(info, dict) or not isinstance(info.get("config", {}), dict):
        raise CheckpointError(f"{foreign} (its info is not the trainer's)")
    count = info.get("tensor_count")
    if count is not None and count != len(tensors):
        raise CheckpointError(f"checkpoint {path} is incomplete ({len(tensors)} of {count} tensors)")
    return Checkpoint(tensors, info, path)
