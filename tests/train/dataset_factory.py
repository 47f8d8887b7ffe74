"""Small training folders for the trainer's tests, made of real files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from hostile_factory import lying_png


def make_images(folder: Path, count: int = 8, size: tuple[int, int] = (20, 24)) -> Path:
    """`count` RGBA images, w x h = size: coloured discs on transparency, like emoji."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(count):
        rgba = np.zeros((h, w, 4), np.uint8)
        inside = (yy - h // 2) ** 2 + (xx - w // 2) ** 2 < rng.integers(w * w // 16, w * w // 4)
        rgba[inside, :3] = rng.integers(0, 256, 3)
        rgba[inside, 3] = 255
        Image.fromarray(rgba, "RGBA").save(folder / f"img{i}.png")
    return folder


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def make_messy_folder(root: Path) -> tuple[Path, dict[str, str]]:
    """8 good RGBA images (one of them in a nested folder) plus one file for
    every way a file can be unusable. Returns (folder, {relative path: the
    skip reason the trainer must give})."""
    data = make_images(root)
    nested = data / "nested" / "deeper"
    nested.mkdir(parents=True)
    os.replace(data / "img7.png", nested / "img7.png")
    good = png_bytes(32, 32)
    (data / "truncated.png").write_bytes(good[: len(good) // 2])
    (data / "notes.jpg").write_text("this is not a JPEG")
    (data / "empty.png").write_bytes(b"")
    Image.new("RGB", (6, 40), (9, 9, 9)).save(data / "small.png")  # 6 px < 16/2
    (data / "nested" / "copy.png").write_bytes((data / "img0.png").read_bytes())
    (data / "bomb.png").write_bytes(lying_png(12000, 12000))
    os.symlink(data, data / "nested" / "loop")  # a folder link back to the top
    os.symlink(data / "gone.png", data / "broken.png")
    (data / ".hidden.png").write_bytes(b"half-written temp file")  # ignored, not reported
    (data / "dataset.json").write_text('{"name": "discs", "licence": "CC0"}')  # provenance, not an image
    expected = {
        "truncated.png": "truncated",
        "notes.jpg": "not an image",
        "empty.png": "empty",
        "small.png": "too small",
        "nested/copy.png": f"exact duplicate of {data.resolve() / 'img0.png'}",
        "bomb.png": "over the pixel limit",
        "broken.png": "unreadable",
    }
    return data, expected
