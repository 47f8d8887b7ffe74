"""render(latent) -> image for a generator model.

The interactive views (Latent panel, CLI, animations) stand on this one call,
as StyleGAN's visualizer stands on its renderer. A generator that draws
transparency (manifest "channels": 4) renders straight-alpha RGBA.
"""

from __future__ import annotations

import numpy as np

from studio.core.model_pixels import straight_alpha
from studio.core.recipe import FORMAT as RECIPE_FORMAT
from studio.engine.registry import ModelEntry, ModelError
from studio.engine.runtime import Runtime, default_runtime


def model_recipe(entry: ModelEntry, **params) -> dict:
    """The recipe of an image made by `entry`'s model: enough to make it again."""
    return {"format": RECIPE_FORMAT,
            "model": {"name": entry.name, "sha256": entry.sha256,
                      "version": str(entry.manifest.get("version", ""))},
            **params}


class Generator:
    def __init__(self, entry: ModelEntry, runtime: Runtime | None = None):
        if entry.kind != "generator":
            raise ModelError(f"model '{entry.name}' is a {entry.kind} model, not a generator")
        if not entry.usable:
            raise ModelError(f"model '{entry.name}' is unusable: {entry.reason}")
        manifest = entry.manifest
        self.entry = entry
        self.name = entry.name
        self.sha256 = entry.sha256
        self.version = str(manifest.get("version", ""))
        self.latent_size = int(manifest.get("latent_size") or manifest["inputs"][0]["shape"][-1])
        self.resolution = int(manifest.get("resolution") or manifest["outputs"][0]["shape"][-1])
        self.channels = int(manifest.get("channels", 3))
        background = str(manifest.get("background", "#ffffff"))
        # What a 4-channel model's colour is composited on (model_pixels.py).
        self.background = tuple(int(background[i:i + 2], 16) for i in (1, 3, 5))
        low, high = manifest["outputs"][0].get("range", [-1.0, 1.0])
        self._low, self._scale = float(low), 255.0 / (float(high) - float(low))
        self._input = manifest["inputs"][0]["name"]
        self.runtime = runtime or default_runtime()  # the encoder and the refiner run beside it
        self._session = self.runtime.session(entry.onnx_path)

    @property
    def device(self) -> str:
        return self._session.device

    def render(self, latents: np.ndarray) -> np.ndarray:
        """latents: float32 [N, latent_size] (or [latent_size]) -> uint8 [N, H, W, 3]
        sRGB, or [N, H, W, 4] with straight alpha for a model that draws it."""
        z = np.asarray(latents, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent_size:
            raise ModelError(f"{self.name} takes latents of size {self.latent_size}, got shape {list(z.shape)}")
        try:
            (images,) = self._session.run({self._input: z})[:1]
        except Exception as exc:  # onnxruntime's errors are long, multi-line and typed per cause
            detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{self.name} could not render: {detail}") from None
        pixels = (images - self._low) * self._scale + 0.5
        drawn = np.clip(pixels, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        return straight_alpha(drawn, self.background) if self.channels == 4 else drawn

    def recipe(self, **params) -> dict:
        """The recipe of an image made by this model: enough to make it again."""
        return model_recipe(self.entry, **params)
