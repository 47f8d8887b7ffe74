"""Starting a run from an exported model instead of random weights, and
FreezeD (Mo et al. 2020): keeping the discriminator's first, most generic
layers fixed while the rest adapts to a small new dataset.

A model folder (as export.py writes it) holds checkpoint.safetensors with the
EMA generator ("G_ema.*"), the discriminator ("D.*") and the run's info JSON
(metadata key "info", with "config"). The fine-tuned run starts G and G_ema
from G_ema, and D from D.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn

from studio.train.base_models import manifest_name
from studio.train.checkpoint import CHECKPOINT_FILE


class BaseModelError(Exception):
    """The base model cannot be fine-tuned from; str() is one readable line."""


# The networks a fine-tune starts from, by the checkpoint prefix they are read
# from: the EMA copies, as they are what the model draws with.
BASE_NETWORKS = {"G": "G_ema.", "D": "D.", "E": "E_ema."}


def load_base(entry_folder: str | os.PathLike, resolution: int | None = None
              ) -> tuple[dict, dict[str, dict[str, torch.Tensor]]]:
    """(config, states) from a model folder's checkpoint. config is the base
    run's training config (task, latent_size for a generator, resolution,
    width, ...); states holds plain state dicts for the networks that config
    describes: "G" (from its G_ema), "D", and "E" (from its E_ema) when it
    trained an encoder. If `resolution` is given it must be the base's.
    Raises BaseModelError."""
    folder = Path(entry_folder)
    name = manifest_name(folder) or folder.name
    if not folder.is_dir():
        raise BaseModelError(f"base model folder {folder} not found")
    path = folder / _checkpoint_file(folder)
    if not path.is_file():
        raise BaseModelError(f"base model {name} has no {path.name} to start from (models downloaded "
                             "without their checkpoint can only generate)")
    # Read directly rather than through checkpoint.load: a model folder's file
    # is export.py's subset (G_ema and D only), not a resumable training
    # checkpoint, and must not be judged as one.
    try:
        with safe_open(str(path), "pt") as fh:
            info = json.loads((fh.metadata() or {}).get("info", "{}"))
            states = {name: {k[len(prefix):]: fh.get_tensor(k) for k in fh.keys() if k.startswith(prefix)}
                      for name, prefix in BASE_NETWORKS.items()}
    except Exception as exc:  # safetensors raises its own types for a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BaseModelError(f"base model {name}: cannot read {path.name}: {reason}") from None
    config = info.get("config") if isinstance(info, dict) else None
    # What else its task needs (a generator: its latent size) plan.py checks.
    if not isinstance(config, dict) or "resolution" not in config:
        raise BaseModelError(f"base model {name}'s checkpoint has no training config")
    if not states["G"] or not states["D"]:
        missing = "generator (G_ema.*)" if not states["G"] else "discriminator (D.*)"
        raise BaseModelError(f"base model {name}'s checkpoint lacks the {missing}")
    base_res = int(config["resolution"])
    if resolution is not None and int(resolution) != base_res:
        raise BaseModelError(f"base model {name} is {base_res} px; train at --resolution {base_res} "
                             "or choose another base")
    return dict(config), {name: state for name, state in states.items() if state}


def _checkpoint_file(folder: Path) -> str:
    # The manifest names its files; a folder without one uses export.py's name.
    try:
        name = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]["checkpoint"]
        if isinstance(name, str) and name and Path(name).name == name:
            return name
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return CHECKPOINT_FILE


def discriminator_blocks(D: nn.Module) -> list[nn.Module]:
    """D's layers in input-to-output order, one entry per block: from_rgb,
    one per resolution halving, then the head (last). Works for
    nets.Discriminator and fastgan.FastDiscriminator."""
    if hasattr(D, "blocks"):  # FastDiscriminator: a ModuleList of down blocks
        middle = list(D.blocks)
    else:  # nets.Discriminator: a flat Sequential, each block ends in an AvgPool2d
        middle, current = [], []
        for layer in D.body:
            current.append(layer)
            if isinstance(layer, nn.AvgPool2d):
                middle.append(nn.Sequential(*current))
                current = []
        if current:
            middle.append(nn.Sequential(*current))
    return [D.from_rgb, *middle, D.head]


def freeze_d_layers(D: nn.Module, n: int) -> int:
    """FreezeD: stop training D's first `n` blocks (see discriminator_blocks;
    0 = none, at most all but the head). Returns the number of scalar
    parameters frozen. The frozen parameter names are kept in
    D.frozen_parameters; use set_trainable() instead of D.requires_grad_()
    to toggle D, or the freeze is undone."""
    blocks = discriminator_blocks(D)
    if not 0 <= n < len(blocks):
        raise ValueError(f"can freeze 0 to {len(blocks) - 1} discriminator blocks, not {n}")
    frozen_ids = {id(p) for block in blocks[:n] for p in block.parameters()}
    names = set()
    count = 0
    for name, p in D.named_parameters():
        if id(p) in frozen_ids:
            p.requires_grad_(False)
            names.add(name)
            count += p.numel()
    D.frozen_parameters = frozenset(names)
    return count


def set_trainable(module: nn.Module, flag: bool) -> None:
    """module.requires_grad_(flag), except that parameters frozen by
    freeze_d_layers stay frozen."""
    frozen = getattr(module, "frozen_parameters", frozenset())
    for name, p in module.named_parameters():
        p.requires_grad_(flag and name not in frozen)
