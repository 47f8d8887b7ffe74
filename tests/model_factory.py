"""Real, tiny ONNX models for tests, built with onnx.helper (no torch needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TINY_LATENT = 8
TINY_RES = 8


def tiny_generator_onnx(latent: int = TINY_LATENT, res: int = TINY_RES, seed: int = 0, channels: int = 3) -> bytes:
    """latent [batch, latent] -> tanh(z @ W) reshaped to image [batch, channels, res, res]."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((latent, channels * res * res)).astype(np.float32) * 0.7
    nodes = [
        helper.make_node("MatMul", ["latent", "W"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Reshape", ["t", "shape"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_generator",
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["batch", latent])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", channels, res, res])],
        initializer=[numpy_helper.from_array(weight, "W"),
                     numpy_helper.from_array(np.array([-1, channels, res, res], dtype=np.int64), "shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tiny_generator_weight(latent: int = TINY_LATENT, res: int = TINY_RES, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((latent, 3 * res * res)).astype(np.float32) * 0.7


def generator_manifest(name: str, onnx_bytes: bytes, latent: int = TINY_LATENT, res: int = TINY_RES,
                       channels: int = 3) -> dict:
    """Its manifest; channels 4 (colour on white, then alpha) draws transparency."""
    alpha = {"background": "#ffffff"} if channels == 4 else {}
    return {
        "format": 1, "kind": "generator", "name": name, "version": "0.0.1",
        "description": "tiny test generator",
        "inputs": [{"name": "latent", "dtype": "float32", "shape": ["batch", latent], "range": "normal(0,1)"}],
        "outputs": [{"name": "image", "dtype": "float32", "shape": ["batch", channels, res, res],
                     "range": [-1.0, 1.0]}],
        "latent_size": latent, "resolution": res, "channels": channels, **alpha,
        "training": {"data": "none"}, "licence": "CC0-1.0",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "files": {"onnx": "model.onnx"},
    }


def write_model(root: Path, name: str, onnx_bytes: bytes | None = None, manifest: dict | None = None) -> Path:
    """A model folder root/name with model.onnx and manifest.json."""
    onnx_bytes = onnx_bytes if onnx_bytes is not None else tiny_generator_onnx()
    manifest = manifest if manifest is not None else generator_manifest(name, onnx_bytes)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder
