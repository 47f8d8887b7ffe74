"""The upscaling network's side of `studio export` (export.py does the rest).

model.onnx: input image float32 [batch,3,h,w] in [-1,1], output "upscaled"
float32 [batch,3,h*scale,w*scale] in about [-1,1] (the caller clamps), any h
and w. The manifest carries the factor and the receptive margin: tiles of
the input with that margin on every side give exactly the whole-image
result. The parity check runs random images of an odd size through torch
and onnxruntime.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from studio.train.onnx_check import max_difference, run_onnx
from studio.train.samples import copy_run_grid
from studio.train.upscale_nets import UpscaleNet, build_upscale_networks, receptive_margin

PARITY_SHAPE = (2, 3, 37, 50)
PARITY_INPUTS = "2 random images of 37 x 50 px"
OUTPUT = "upscaled"


def build_network(config: dict, state: dict[str, torch.Tensor]) -> UpscaleNet:
    """The run's network with `state` (its G_ema) loaded, in eval mode, frozen."""
    network = build_upscale_networks(config)[0].eval()
    network.load_state_dict(state)
    return network.requires_grad_(False)


def export_onnx(network: UpscaleNet, path: Path, opset: int) -> None:
    """image [batch,3,h,w] -> upscaled [batch,3,h*s,w*s], every size dynamic, one self-contained file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice is not news to users
        torch.onnx.export(
            network, (torch.zeros(1, 3, 16, 16),), str(path), dynamo=False, opset_version=opset,
            input_names=["image"], output_names=[OUTPUT],
            dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                          OUTPUT: {0: "batch", 2: "out_height", 3: "out_width"}},
            do_constant_folding=True,
        )


@torch.no_grad()
def parity(network: UpscaleNet, onnx_path: Path) -> float:
    """Max abs difference between torch and onnxruntime on random images."""
    images = torch.rand(*PARITY_SHAPE, generator=torch.Generator().manual_seed(1234)) * 2 - 1
    return max_difference(network(images).numpy(), run_onnx(onnx_path, {"image": images.numpy()}, OUTPUT))


def write_samples(run: Path, info: dict, onnx_path: Path, target: Path) -> bool:
    """The run's own grid of the exported step: inputs, outputs, originals."""
    return copy_run_grid(run, info, target)


def signature(config: dict, data_name: str) -> dict:
    """The manifest's kind-specific part: kind, description, inputs, outputs, factor, margin."""
    s = int(config["scale"])
    return {
        "kind": "upscale",
        "description": f"x{s} upscaler trained on {data_name}",
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, "height", "width"],
                    "range": [-1.0, 1.0]}],
        "outputs": [{"name": OUTPUT, "dtype": "float32", "shape": ["batch", 3, f"height*{s}", f"width*{s}"],
                     "range": [-1.0, 1.0]}],
        "scale": s,
        "margin": receptive_margin(int(config["layers"])),
        "resolution": int(config["resolution"]),
        "channels": 3,
    }
