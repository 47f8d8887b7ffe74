"""Sample grids at fixed seeds, so a run's progress (and an exported model)
can be compared image for image: seed s always means latent_from_seed(s)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from studio.core.atomic import atomic_write_bytes
from studio.core.grid import make_grid
from studio.core.latent import latent_from_seed

GRID_SEEDS = range(32)
GRID_COLUMNS = 8


def seed_latents(seeds, size: int) -> np.ndarray:
    """float32 [len(seeds), size], the app's latents for those seeds."""
    return np.stack([latent_from_seed(s, size) for s in seeds])


def to_pixels(images: np.ndarray) -> np.ndarray:
    """float [N,3,H,W] in [-1,1] -> uint8 [N,H,W,3], the same mapping as the engine."""
    return np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def write_grid(path: str | os.PathLike, images: np.ndarray) -> None:
    """images: float [N,3,H,W] in [-1,1]; writes an 8-column PNG atomically."""
    sheet = make_grid(to_pixels(images), columns=GRID_COLUMNS)
    buf = io.BytesIO()
    Image.fromarray(sheet, "RGB").save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


@torch.no_grad()
def render_seeds(generator: torch.nn.Module, latent_size: int, seeds=GRID_SEEDS, batch: int = 64) -> np.ndarray:
    """Run `generator` (on whatever device it lives) on the fixed-seed
    latents, `batch` at a time: float32 [N,3,R,R] in [-1,1] on the CPU."""
    z = torch.from_numpy(seed_latents(list(seeds), latent_size))
    device = next(generator.parameters()).device
    parts = [generator(z[i:i + batch].to(device)).float().cpu() for i in range(0, len(z), batch)]
    return torch.cat(parts).numpy()


def copy_run_grid(run: Path, info: dict, target: Path) -> bool:
    """An exporter's samples.png for a task whose grids are not seeds (inputs,
    outputs, originals of fixed reference images): the run's grid of the
    exported step, written with that very checkpoint, copied to `target`.
    False when the run folder has none."""
    folder = run if run.is_dir() else run.parent
    grid = folder / "samples" / f"step_{int(info.get('step', 0)):06d}.png"
    if not grid.is_file():
        return False
    shutil.copyfile(grid, target)
    return True
