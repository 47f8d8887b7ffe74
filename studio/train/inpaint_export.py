"""The inpainting network's side of `studio export` (export.py does the
rest: staging, checkpoint subset, manifest, moving into place).

model.onnx: inputs image float32 [batch,3,R,R] in [-1,1] and mask float32
[batch,1,R,R] (1 = hole, 0 = keep; values between blend), output
"inpainted" float32 [batch,3,R,R] in [-1,1]: the composite
image*(1-mask) + fill*mask, so the caller pastes it as it is. (An ONNX
output cannot share the input's name "image".) R is fixed, the batch is
dynamic. The parity check runs real masks of every kind through both
torch and onnxruntime.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from studio.train.inpaint_nets import InpaintGenerator, build_inpaint_networks
from studio.train.masks import fixed_masks
from studio.train.onnx_check import max_difference, run_onnx
from studio.train.prefill import manifest_entry
from studio.train.samples import copy_run_grid

PARITY_PAIRS = 8
PARITY_INPUTS = f"{PARITY_PAIRS} image/mask pairs"
OUTPUT = "inpainted"


def build_network(config: dict, state: dict[str, torch.Tensor]) -> InpaintGenerator:
    """The run's generator with `state` (its G_ema) loaded, in eval mode, frozen."""
    generator = build_inpaint_networks(config)[0].eval()
    generator.load_state_dict(state)
    return generator.requires_grad_(False)


def export_onnx(generator: InpaintGenerator, path: Path, opset: int) -> None:
    """(image [batch,3,R,R], mask [batch,1,R,R]) -> inpainted [batch,3,R,R],
    one self-contained file."""
    r = generator.resolution
    example = (torch.zeros(2, 3, r, r), torch.zeros(2, 1, r, r))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice is not news to users
        torch.onnx.export(
            generator, example, str(path), dynamo=False, opset_version=opset,
            input_names=["image", "mask"], output_names=[OUTPUT],
            dynamic_axes={"image": {0: "batch"}, "mask": {0: "batch"}, OUTPUT: {0: "batch"}},
            do_constant_folding=True,
        )


@torch.no_grad()
def parity(generator: InpaintGenerator, onnx_path: Path) -> float:
    """Max abs difference between torch and onnxruntime on random images
    with fixed masks of every kind."""
    r = generator.resolution
    images = torch.rand(PARITY_PAIRS, 3, r, r, generator=torch.Generator().manual_seed(1234)) * 2 - 1
    masks = torch.from_numpy(fixed_masks(PARITY_PAIRS, r, seed=1234)[0])
    actual = run_onnx(onnx_path, {"image": images.numpy(), "mask": masks.numpy()}, OUTPUT)
    return max_difference(generator(images, masks).numpy(), actual)


def signature(config: dict, data_name: str) -> dict:
    """The manifest's kind-specific part: kind, description, inputs, outputs, resolution, channels."""
    r = int(config["resolution"])
    return {
        "kind": "inpaint",
        "description": f"{r}x{r} inpainting network (conditional GAN) trained on {data_name}",
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, r, r], "range": [-1.0, 1.0]},
                   {"name": "mask", "dtype": "float32", "shape": ["batch", 1, r, r], "range": [0.0, 1.0],
                    "meaning": "1 = hole to fill, 0 = keep"}],
        "outputs": [{"name": OUTPUT, "dtype": "float32", "shape": ["batch", 3, r, r], "range": [-1.0, 1.0],
                     "meaning": "image*(1-mask) + fill*mask"}],
        "resolution": r,
        "channels": 3,
        **({"prefill": entry} if (entry := manifest_entry(config.get("prefill", "none"))) else {}),
    }


def write_samples(run: Path, info: dict, onnx_path: Path, target: Path) -> bool:
    """The run's own grid of the exported step: masked inputs, fills, originals."""
    return copy_run_grid(run, info, target)
