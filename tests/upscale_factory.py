"""Real upscale models for tests: a random-weight UpscaleNet exported by the
trainer's own exporter (the graph an artist's trained model has), with the
manifest part `studio export` writes."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import torch

from model_factory import write_model
from studio.train.export import OPSET
from studio.train.upscale_export import export_onnx, signature
from studio.train.upscale_nets import UpscaleNet


def write_upscale_model(root: Path, name: str, scale: int = 4, layers: int = 3, seed: int = 0,
                        strength: float = 0.15) -> Path:
    """root/name/{model.onnx, manifest.json}: an x`scale` upscaler with
    random weights of deviation `strength`: 0.15 and every layer shapes the
    output, 0.01 and it stays near nearest-neighbour enlargement."""
    torch.manual_seed(seed)
    net = UpscaleNet(scale, width=0.25, layers=layers).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, strength)
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(net, Path(tmp) / "model.onnx", OPSET)
        onnx_bytes = (Path(tmp) / "model.onnx").read_bytes()
    part = signature({"scale": scale, "layers": layers, "resolution": 64}, "test pictures")
    manifest = {"format": 1, "kind": part.pop("kind"), "name": name, "version": "0.0.1",
                "description": part.pop("description"), **part, "training": {"data": "none"},
                "licence": "CC0-1.0", "attribution": "", "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                "files": {"onnx": "model.onnx"}}
    return write_model(root, name, onnx_bytes, manifest)
