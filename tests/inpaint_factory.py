"""Real, tiny ONNX inpaint models for tests (onnx.helper, no torch). Both keep
the known pixels; one fills holes with a constant colour, so the crop, resize
and paste geometry can be checked without a trained network, the other with
the mean of the known pixels, so what the network saw as context shows."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TINY_INPAINT_RES = 32
FILL = (0.5, -0.5, 0.0)  # in [-1, 1]: uint8 (191, 64, 128) after the engine's mapping
FILL_UINT8 = tuple(round((v + 1.0) * 127.5) for v in FILL)


def constant_fill_onnx(res: int = TINY_INPAINT_RES, fill: tuple[float, float, float] = FILL) -> bytes:
    """image [batch,3,res,res], mask [batch,1,res,res] -> image * (1 - mask) + fill * mask."""
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["image", "keep"], ["known"]),
        helper.make_node("Mul", ["colour", "mask"], ["filled"]),
        helper.make_node("Add", ["known", "filled"], ["result"]),
    ]
    graph = helper.make_graph(
        nodes, "constant_fill",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, res, res]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, res, res])],
        [helper.make_tensor_value_info("result", TensorProto.FLOAT, ["batch", 3, res, res])],
        initializer=[numpy_helper.from_array(np.array(1.0, np.float32), "one"),
                     numpy_helper.from_array(np.array(fill, np.float32).reshape(1, 3, 1, 1), "colour")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def mean_fill_onnx(res: int = TINY_INPAINT_RES) -> bytes:
    """image, mask -> image * (1 - mask) + mask * (mean of the known pixels, per channel)."""
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["image", "keep"], ["known"]),
        helper.make_node("ReduceSum", ["known", "axes"], ["total"], keepdims=1),
        helper.make_node("ReduceSum", ["keep", "axes"], ["count"], keepdims=1),
        helper.make_node("Add", ["count", "tiny"], ["safe_count"]),
        helper.make_node("Div", ["total", "safe_count"], ["mean"]),
        helper.make_node("Mul", ["mean", "mask"], ["filled"]),
        helper.make_node("Add", ["known", "filled"], ["result"]),
    ]
    graph = helper.make_graph(
        nodes, "mean_fill",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, res, res]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, res, res])],
        [helper.make_tensor_value_info("result", TensorProto.FLOAT, ["batch", 3, res, res])],
        initializer=[numpy_helper.from_array(np.array(1.0, np.float32), "one"),
                     numpy_helper.from_array(np.array(1e-6, np.float32), "tiny"),
                     numpy_helper.from_array(np.array([2, 3], np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def identity_onnx(res: int = TINY_INPAINT_RES) -> bytes:
    """image, mask -> image: returns what it was given, so a test sees the
    network's input (for a prefilled model: the prefill)."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["result"])], "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, res, res]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, res, res])],
        [helper.make_tensor_value_info("result", TensorProto.FLOAT, ["batch", 3, res, res])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def inpaint_manifest(name: str, onnx_bytes: bytes, res: int = TINY_INPAINT_RES) -> dict:
    return {
        "format": 1, "kind": "inpaint", "name": name, "version": "0.0.1",
        "description": "tiny test inpainter: holes become one constant colour",
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, res, res], "range": [-1.0, 1.0]},
                   {"name": "mask", "dtype": "float32", "shape": ["batch", 1, res, res], "range": [0.0, 1.0]}],
        "outputs": [{"name": "result", "dtype": "float32", "shape": ["batch", 3, res, res], "range": [-1.0, 1.0]}],
        "resolution": res, "channels": 3,
        "training": {"data": "none"}, "licence": "CC0-1.0",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "files": {"onnx": "model.onnx"},
    }
