"""A picture into a generator's latent space, in one pass of the encoder
trained with it (`studio train --encoder`, the model's "encoder" companion):
the picture is made square as the training images were (core.framing, the
fit and background the manifest records), encoded to a latent, and drawn
back by the generator, so the artist sees what the latent holds and how far
it is from the picture.

Optionally the latent is then refined: optimised against the generator for
some steps in a torch child process (`python -m studio.train refine`,
train/refine.py), so this process never loads torch; it reports progress
line by line and is stopped when asked. A model without an encoder can
still be refined, from the prior's mean latent (the StyleGAN projector's
start), only slower and less close.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from studio.core.fidelity import psnr
from studio.core.framing import FITS, prepare_image
from studio.core.imageio import save_image
from studio.core.model_pixels import straight_alpha, to_model_pixels
from studio.core.recipe import decode_latent, encode_latent
from studio.core.trainer_availability import trainer_missing
from studio.engine.generator import Generator
from studio.engine.registry import ModelError
from studio.engine.runtime import Runtime, default_threads

DEFAULT_BACKGROUND = "#ffffff"


@dataclass
class Projection:
    latent: np.ndarray  # float32 [latent_size]
    target: np.ndarray  # uint8 RxRxC: the picture as the encoder saw it (C as the generator draws)
    rebuilt: np.ndarray  # uint8 RxRxC: what the generator draws from the latent
    psnr: float  # dB between the two, on the background (higher is closer)


class RefineCancelled(Exception):
    """The refinement was stopped on request; nothing was changed."""


class Projector:
    """Puts pictures into `generator`'s latent space: with its encoder, and
    refined or not; without one, by refinement alone (encode() and an
    unrefined project() then raise ModelError, saying how to get one)."""

    def __init__(self, generator: Generator, runtime: Runtime | None = None):
        entry = generator.entry
        self.generator, self.missing = generator, ""
        try:
            path = entry.companion("encoder")
        except ModelError as exc:
            self.missing = (f"{exc} (give it one: studio train --data FOLDER --base {entry.name} --encoder "
                            "--freeze-g)")
            path = None
        spec = entry.manifest.get("encoder", {}) if path is not None else {}
        self.fit = str(spec.get("fit", "auto"))
        background = str(spec.get("background", DEFAULT_BACKGROUND))
        if self.fit not in FITS or not re.fullmatch(r"#[0-9a-fA-F]{6}", background):
            raise ModelError(f"model '{entry.name}': its encoder entry's fit {self.fit!r} or background "
                             f"{background!r} is not one the trainer writes")
        self.background = tuple(int(background[i:i + 2], 16) for i in (1, 3, 5))
        self._session = None
        if path is not None:
            self._input, self._output = spec["inputs"][0]["name"], spec["outputs"][0]["name"]
            self._session = (runtime or generator.runtime).session(path)

    @property
    def has_encoder(self) -> bool:
        return self._session is not None

    def frame(self, picture: np.ndarray) -> np.ndarray:
        """uint8 HxWx3 or HxWx4 -> uint8 RxRx3, square as the training images
        were (RxRx4 with straight alpha for a generator that draws it)."""
        if picture.ndim != 3 or picture.shape[2] not in (3, 4) or picture.dtype != np.uint8:
            raise ModelError(f"expected a uint8 RGB or RGBA picture, got {picture.dtype} {list(picture.shape)}")
        rgba = picture if picture.shape[2] == 4 else np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
        alpha = self.generator.channels == 4
        framed = prepare_image(rgba, self.generator.resolution, self.fit, self.background, alpha).transpose(1, 2, 0)
        return straight_alpha(framed, self.background) if alpha else np.ascontiguousarray(framed)

    def encode(self, framed: np.ndarray) -> np.ndarray:
        """uint8 [N,R,R,C] (or one RxRxC) as frame() gives -> float32 [N, latent_size] (or [latent_size])."""
        if self._session is None:
            raise ModelError(self.missing)
        batch = framed[None] if framed.ndim == 3 else framed
        drawn = np.stack([to_model_pixels(f, self.background, self.generator.channels) for f in batch])
        images = drawn.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
        try:
            (latents,) = self._session.run({self._input: images})[:1]
        except Exception as exc:  # onnxruntime's errors are long and typed per cause
            detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{self.generator.name}'s encoder could not run: {detail}") from None
        return latents[0] if framed.ndim == 3 else latents

    def project(self, picture: np.ndarray, refine_steps: int = 0,
                progress: Callable[[int, int, float], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> Projection:
        """The picture's latent: the encoder's, then `refine_steps` steps of
        refinement when asked (progress(step, steps, psnr) along the way;
        RefineCancelled when should_stop() turns true)."""
        target = self.frame(picture)
        latent = self.encode(target) if self.has_encoder or not refine_steps else None
        if refine_steps:
            latent = refine_latent(self.generator, target, refine_steps, latent, progress, should_stop)
        rebuilt = self.generator.render(latent)[0]
        on_ground = [to_model_pixels(image, self.background, 3) for image in (rebuilt, target)]
        return Projection(latent, target, rebuilt, psnr(*on_ground))


def refine_latent(generator: Generator, target: np.ndarray, steps: int, start: np.ndarray | None,
                  progress: Callable[[int, int, float], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """`start` (None: the encoder's answer, else the prior's mean) optimised
    for `steps` against `generator`'s model to draw `target` (uint8 RxRxC, framed):
    float32 [latent_size]. ModelError when the trainer cannot run it."""
    if steps < 1:
        raise ModelError(f"refinement needs at least 1 step, got {steps}")
    if trainer_missing():
        raise ModelError(f"refinement runs in the trainer: {trainer_missing()}")
    with tempfile.TemporaryDirectory(prefix="studio-refine-") as tmp:
        picture = Path(tmp) / "target.png"
        save_image(picture, target)
        command = [sys.executable, "-m", "studio.train", "refine", str(generator.entry.folder), str(picture),
                   "--steps", str(steps), "--threads", str(default_threads())]
        if start is not None:
            command += ["--start", encode_latent(np.asarray(start, np.float32))]
        try:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise ModelError(f"could not start the refiner: {exc}") from None
        done = None
        try:
            for line in child.stdout:
                if should_stop is not None and should_stop():
                    raise RefineCancelled()
                item = json.loads(line)
                if item.get("event") == "progress" and progress is not None:
                    progress(int(item["step"]), int(item["steps"]), float(item["psnr"]))
                elif item.get("event") == "done":
                    done = item
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
        if done is None:
            lines = (child.stderr.read() or "").strip().splitlines()
            reason = next((line[len("error: "):] for line in lines if line.startswith("error: ")),
                          lines[-1] if lines else f"exit status {child.returncode}")
            raise ModelError(f"{generator.name}: refinement failed: {reason}")
    return decode_latent(done["latent"])
