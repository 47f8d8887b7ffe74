"""The files the fuzz cases point the commands at: good ones a valid call
would use, and damaged or misplaced ones made on demand."""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path

import numpy as np
from damage import broken_ora, broken_picture, broken_project, layered_bytes

from studio.core.imageio import save_image

LONG_NAME = "a" * 300  # past the 255 bytes a file name may have
# Names that are no model anywhere: empty, blank, too long, a path, a near miss.
UNKNOWN_MODELS = ("", " ", "nope", LONG_NAME, "../tiny", "tiny ", "TINY", "-", "tiny/model.onnx", "\udcff")


class World:
    """inputs/: what the commands read; out/ and cwd/ (the working folder):
    where nothing may appear after a refused call."""

    def __init__(self, root: Path):
        self.inputs, self.out, self.cwd = root / "inputs", root / "out", root / "cwd"
        for folder in (self.inputs, self.out, self.cwd):
            folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        self.photo = self.inputs / "photo.png"
        save_image(self.photo, rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
        hole = np.zeros((32, 40, 3), np.uint8)
        hole[10:20, 12:24] = 255
        self.mask = self.inputs / "mask.png"
        save_image(self.mask, hole)
        self.black_mask = self.inputs / "black.png"
        save_image(self.black_mask, np.zeros((32, 40, 3), np.uint8))
        self.small_mask = self.inputs / "small-mask.png"
        save_image(self.small_mask, hole[::2, ::2].copy())
        self.empty_folder = self.inputs / "empty"
        self.empty_folder.mkdir()
        self.notes_folder = self.inputs / "notes"
        self.notes_folder.mkdir()
        self.notes = self.notes_folder / "notes.txt"  # a file where a folder belongs
        self.notes.write_text("not a picture\n")
        self.project = self.inputs / "doc.studio"
        self.project.write_bytes(layered_bytes(".studio"))
        self._numbers = itertools.count()

    def output(self, suffix: str = ".png") -> str:
        return str(self.out / f"result{suffix}")

    def missing(self, suffix: str = ".png") -> str:
        return str(self.inputs / f"nowhere{suffix}")

    def write(self, stem: str, suffix: str, data: bytes) -> str:
        path = self.inputs / f"{stem}-{next(self._numbers)}{suffix}"
        path.write_bytes(data)
        return str(path)

    def broken_picture(self, rng: random.Random, suffix: str | None = None) -> str:
        suffix = suffix or rng.choice([".png", ".jpg", ".tif", ".gif", ".webp", ".bmp", ".avif"])
        return self.write("broken", suffix, broken_picture(rng, suffix)[1])

    def broken_pictures_folder(self, rng: random.Random, good_too: bool = True) -> str:
        """A folder of pictures the first of which is broken (its header may
        be good: the damage may lie in the pixels), then a good one unless
        not `good_too`."""
        folder = self.inputs / f"pictures-{next(self._numbers)}"
        folder.mkdir()
        shutil.move(self.broken_picture(rng, ".png"), folder / "a.png")
        if good_too:
            shutil.copy(self.photo, folder / "b.png")
        else:
            shutil.move(self.broken_picture(rng), folder / "b.png")
        return str(folder)

    def broken_layered(self, rng: random.Random, suffix: str) -> str:
        data = (broken_ora(rng) if suffix == ".ora" else broken_project(rng))[1]
        return self.write("broken", suffix, data)

    def bad_picture_input(self, rng: random.Random) -> str:
        """A picture argument that names nothing readable."""
        return rng.choice([
            lambda: self.broken_picture(rng),
            lambda: self.broken_picture(rng),
            lambda: self.missing(),
            lambda: str(self.inputs / f"{LONG_NAME}.png"),
            lambda: "/proc/nowhere/in.png",
            lambda: str(self.notes) + "/in.png",
            lambda: str(self.inputs / "\udcff.png"),
            lambda: str(self.notes),
        ])()

    def bad_output(self, rng: random.Random, suffix: str = ".png") -> str:
        """An output argument that cannot be written (or names no format)."""
        return rng.choice([
            str(self.out / "result.xyz"),
            str(self.out / "result"),
            f"/proc/nowhere/result{suffix}",
            str(self.out / f"{LONG_NAME}{suffix}"),
            f"{self.notes}/result{suffix}",
            "",
        ])
