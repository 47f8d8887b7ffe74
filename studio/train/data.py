"""Training images: read a folder, composite on white, pad to square, resize,
and cache the result as one uint8 tensor in the run folder (safetensors), so a
resumed or repeated run skips the decoding.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from studio.core.atomic import atomic_path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"}


class DataError(Exception):
    """The training folder cannot be used; str() is one readable line."""


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under `folder` (recursive, sorted, hidden files skipped)."""
    root = Path(folder)
    if not root.exists():
        raise DataError(f"data folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"data path is not a folder: {root}")
    files = sorted(
        p for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {root}")
    return files


def read_rgba(path: Path) -> np.ndarray:
    """uint8 HxWx4 RGBA. Uses core's image reader when it exists, so the trainer
    and the app decode files the same way; PIL otherwise."""
    try:
        from studio.core.imageio import load_image  # type: ignore[import-not-found]
    except ImportError:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA"), dtype=np.uint8)
    return load_image(path)


def prepare_image(rgba: np.ndarray, resolution: int) -> np.ndarray:
    """rgba: uint8 HxWx4 -> uint8 3xRxR RGB: alpha composited on white, padded
    with white to a centred square, resized with Lanczos."""
    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    flat = rgb * alpha + 255.0 * (1.0 - alpha)
    h, w = flat.shape[:2]
    side = max(h, w)
    square = np.full((side, side, 3), 255.0, dtype=np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = flat
    image = Image.fromarray(np.clip(square + 0.5, 0, 255).astype(np.uint8), "RGB")
    image = image.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))


def _fingerprint(files: list[Path], root: Path, resolution: int) -> str:
    h = hashlib.sha256(f"v1 {resolution}\n".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root).as_posix()} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def load_dataset(folder: str | os.PathLike, resolution: int, cache_dir: str | os.PathLike) -> torch.Tensor:
    """All images of `folder` as uint8 [N, 3, R, R]. Reuses
    cache_dir/data_<R>.safetensors when the folder has not changed since.
    Unreadable files are skipped with a warning on stderr."""
    root = Path(folder)
    files = list_images(root)
    key = _fingerprint(files, root, resolution)
    cache = Path(cache_dir) / f"data_{resolution}.safetensors"
    if cache.is_file():
        from safetensors import safe_open

        with safe_open(str(cache), "pt") as fh:
            if (fh.metadata() or {}).get("fingerprint") == key:
                return load_file(str(cache))["images"]
    images = []
    for p in files:
        try:
            images.append(prepare_image(read_rgba(p), resolution))
        except Exception as exc:  # one bad file should not sink a 4,000-image run
            print(f"warning: skipping {p}: {exc}", file=sys.stderr)
    if not images:
        raise DataError(f"none of the {len(files)} images in {root} could be read")
    tensor = torch.from_numpy(np.stack(images))
    with atomic_path(cache) as tmp:
        save_file({"images": tensor}, str(tmp), metadata={"fingerprint": key, "count": str(len(images))})
    return tensor


def read_dataset_info(folder: str | os.PathLike) -> dict:
    """The folder's dataset.json (name, licence, attribution...) if it has one,
    so provenance travels from the data to the exported manifest; {} otherwise."""
    path = Path(folder) / "dataset.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
