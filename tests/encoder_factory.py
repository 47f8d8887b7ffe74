"""Real generator models with an encoder for tests: random-weight fastgan2
networks and an Encoder at 32 px, packed as a training checkpoint and
exported by the trainer's own `studio export` (encoder.onnx, its parity
check and manifest entry included)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from studio.train import checkpoint as ckpt_io
from studio.train.architecture import build_discriminator, build_generator
from studio.train.encoder import build_encoder
from studio.train.export import export_run

CONFIG = {"task": "generate", "arch": "fastgan2", "latent_size": 16, "resolution": 32, "width": 0.25,
          "fit": "auto", "background": "#ffffff", "encoder": True, "freeze_g": False,
          "encoder_weights": {"pixel": 1.0, "features": 1.0, "kl": 0.01, "cycle": 1.0}}


def write_encoder_model(root: Path, name: str = "painter", seed: int = 0, encoder: bool = True) -> Path:
    """root/name/: a 32 px generator (latent 16) and, when `encoder`, its encoder.onnx."""
    torch.manual_seed(seed)
    config = {**CONFIG, "encoder": encoder}
    G, D = build_generator(config), build_discriminator(config)
    modules = {"G": G, "G_ema": G, "D": D, **({"E": build_encoder(config)} if encoder else {})}
    if encoder:
        modules["E_ema"] = modules["E"]
    with tempfile.TemporaryDirectory() as run:
        ckpt_io.save(run, ckpt_io.pack(modules, {}, {"step": 1, "images_seen": 4, "config": config}))
        return Path(export_run(run, name, root)["folder"])
