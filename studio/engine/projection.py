"""A picture into a generator's latent space, in one pass of the encoder
trained with it (`studio train --encoder`, the model's "encoder" companion):
the picture is made square as the training images were (core.framing, the
fit and background the manifest records), encoded to a latent, and drawn
back by the generator, so the artist sees what the latent holds and how far
it is from the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.core.framing import prepare_image
from studio.engine.generator import Generator
from studio.engine.registry import ModelError
from studio.engine.runtime import Runtime, default_runtime

DEFAULT_BACKGROUND = "#ffffff"


@dataclass
class Projection:
    latent: np.ndarray  # float32 [latent_size]
    target: np.ndarray  # uint8 RxRx3: the picture as the encoder saw it
    rebuilt: np.ndarray  # uint8 RxRx3: what the generator draws from the latent
    psnr: float  # dB between the two (higher is closer)


class Projector:
    """Encodes pictures for `generator`'s model; ModelError when it has no usable encoder."""

    def __init__(self, generator: Generator, runtime: Runtime | None = None):
        entry = generator.entry
        try:
            path = entry.companion("encoder")
        except ModelError as exc:
            raise ModelError(f"{exc} (give it one: studio train --data FOLDER --base {entry.name} --encoder "
                             "--freeze-g)") from None
        spec = entry.manifest["encoder"]
        self.generator = generator
        self.fit = str(spec.get("fit", "auto"))
        background = str(spec.get("background", DEFAULT_BACKGROUND)).lstrip("#")
        self.background = tuple(int(background[i:i + 2], 16) for i in (0, 2, 4))
        self._input, self._output = spec["inputs"][0]["name"], spec["outputs"][0]["name"]
        self._session = (runtime or default_runtime()).session(path)

    def frame(self, picture: np.ndarray) -> np.ndarray:
        """uint8 HxWx3 or HxWx4 -> uint8 RxRx3, square as the training images were."""
        if picture.ndim != 3 or picture.shape[2] not in (3, 4) or picture.dtype != np.uint8:
            raise ModelError(f"expected a uint8 RGB or RGBA picture, got {picture.dtype} {list(picture.shape)}")
        rgba = picture if picture.shape[2] == 4 else np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
        chw = prepare_image(rgba, self.generator.resolution, self.fit, self.background)
        return np.ascontiguousarray(chw.transpose(1, 2, 0))

    def encode(self, framed: np.ndarray) -> np.ndarray:
        """uint8 [N,R,R,3] (or one RxRx3) -> float32 [N, latent_size] (or [latent_size])."""
        batch = framed[None] if framed.ndim == 3 else framed
        images = batch.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
        try:
            (latents,) = self._session.run({self._input: images})[:1]
        except Exception as exc:  # onnxruntime's errors are long and typed per cause
            detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{self.generator.name}'s encoder could not run: {detail}") from None
        return latents[0] if framed.ndim == 3 else latents

    def project(self, picture: np.ndarray) -> Projection:
        target = self.frame(picture)
        latent = self.encode(target)
        rebuilt = self.generator.render(latent)[0]
        return Projection(latent, target, rebuilt, psnr(rebuilt, target))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 pictures over all channels (capped at 100)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10.0 * np.log10(255.0 ** 2 / mse))
