"""The generator's side of `studio export` (export.py does the rest:
staging, checkpoint subset, manifest, moving into place).

model.onnx: input latent float32 [batch,128] (normal(0,1)), output image
float32 [batch,C,R,R] in [-1,1], batch dynamic, one self-contained file. C
is the manifest's "channels": 3 (RGB) or 4 (the colour composited on the
manifest's "background", then alpha: alpha.py).
The parity check runs random latents through torch and onnxruntime, and the
sample grid is rendered by onnxruntime from the exported file, so seed s in
the app shows exactly tile s.

encoder.onnx (runs trained with --encoder): input image float32
[batch,C,R,R] in [-1,1], output latent float32 [batch,latent] (E_ema's
mean), with its own parity check on random images; the manifest's
"encoder" entry describes it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

import hashlib

from studio.train.alpha import on_checkerboard
from studio.train.architecture import build_generator, image_channels
from studio.train.data import parse_background
from studio.train.encoder import EncoderMean, build_encoder
from studio.train.onnx_check import max_difference, run_onnx
from studio.train.samples import GRID_SEEDS, seed_latents, write_grid

PARITY_LATENTS = 16
PARITY_INPUTS = f"{PARITY_LATENTS} latents"
ENCODER_FILE = "encoder.onnx"


def build_network(config: dict, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The run's generator (classic or fastgan, as its config says) with
    `state` (its G_ema) loaded, in eval mode, frozen."""
    generator = build_generator(config).eval()
    generator.load_state_dict(state)
    return generator.requires_grad_(False)


def export_onnx(generator: torch.nn.Module, path: Path, opset: int) -> None:
    """latent float32 [batch,128] -> image float32 [batch,C,R,R], batch dynamic,
    one self-contained file (weights inside)."""
    example = torch.zeros(2, generator.latent_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice is not news to users
        torch.onnx.export(
            generator, (example,), str(path), dynamo=False, opset_version=opset,
            input_names=["latent"], output_names=["image"],
            dynamic_axes={"latent": {0: "batch"}, "image": {0: "batch"}},
            do_constant_folding=True,
        )


def onnx_images(onnx_path: Path, latents: np.ndarray) -> np.ndarray:
    """Run the exported generator in onnxruntime on the CPU: float32 [N,C,R,R]."""
    return run_onnx(onnx_path, {"latent": latents}, "image")


@torch.no_grad()
def parity(generator: torch.nn.Module, onnx_path: Path) -> float:
    """Max abs difference between torch and onnxruntime on random latents."""
    z = torch.randn(PARITY_LATENTS, generator.latent_size, generator=torch.Generator().manual_seed(1234))
    return max_difference(generator(z).numpy(), onnx_images(onnx_path, z.numpy()))


def write_samples(run: Path, info: dict, onnx_path: Path, target: Path) -> bool:
    """The model's samples.png: seeds 0..31 rendered by the exported file
    (with alpha: over a checkerboard)."""
    config = info["config"]
    images = onnx_images(onnx_path, seed_latents(GRID_SEEDS, int(config["latent_size"])))
    if images.shape[1] == 4:
        images = on_checkerboard(images, parse_background(config.get("background", "#ffffff")))
    write_grid(target, images)
    return True


def signature(config: dict, data_name: str) -> dict:
    """The manifest's kind-specific part: kind, description, inputs, outputs, sizes."""
    r, latent, channels = int(config["resolution"]), int(config["latent_size"]), image_channels(config)
    part = {
        "kind": "generator",
        "description": f"{r}x{r} GAN generator trained on {data_name}",
        "inputs": [{"name": "latent", "dtype": "float32", "shape": ["batch", latent], "range": "normal(0,1)"}],
        "outputs": [{"name": "image", "dtype": "float32", "shape": ["batch", channels, r, r], "range": [-1.0, 1.0]}],
        "latent_size": latent,
        "resolution": r,
        "channels": channels,
    }
    if channels == 4:  # what the colour is composited on, to be undone where the picture lands
        part["background"] = config.get("background", "#ffffff")
    return part


def export_companions(config: dict, tensors: dict[str, torch.Tensor], staging: Path, opset: int,
                      limit: float) -> dict:
    """encoder.onnx beside model.onnx when the run trained an encoder: the
    manifest's entries for it ({} without one). ValueError when onnxruntime
    differs from torch by more than `limit`."""
    if not config.get("encoder"):
        return {}
    encoder = build_encoder(config).eval()
    encoder.load_state_dict({k[len("E_ema."):]: v for k, v in tensors.items() if k.startswith("E_ema.")})
    network = EncoderMean(encoder.requires_grad_(False))
    path, r, c = staging / ENCODER_FILE, int(config["resolution"]), image_channels(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in export_onnx
        torch.onnx.export(network, (torch.zeros(2, c, r, r),), str(path), dynamo=False, opset_version=opset,
                          input_names=["image"], output_names=["latent"],
                          dynamic_axes={"image": {0: "batch"}, "latent": {0: "batch"}}, do_constant_folding=True)
    images = torch.rand(PARITY_LATENTS, c, r, r, generator=torch.Generator().manual_seed(1234)) * 2.0 - 1.0
    with torch.no_grad():
        diff = max_difference(network(images).numpy(), run_onnx(path, {"image": images.numpy()}, "latent"))
    if not diff <= limit:
        raise ValueError(f"encoder parity check failed: onnxruntime differs from torch by {diff:.3g} (limit {limit:g})")
    return {"encoder": {
        "file": ENCODER_FILE,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", c, r, r], "range": [-1.0, 1.0]}],
        "outputs": [{"name": "latent", "dtype": "float32", "shape": ["batch", int(config["latent_size"])]}],
        # How a picture is made square before encoding: as the training images were.
        "fit": config.get("fit", "auto"),
        "background": config.get("background", "#ffffff"),
        "parity_max_abs_diff": diff,
    }}
