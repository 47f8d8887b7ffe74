"""MobileNetFeatures: the float torch rebuild of the int8 style-predictor
MobileNet, checked against onnxruntime running the shipped graph."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from studio.core.paths import shipped_models_dir
from studio.train.feature_net import MODEL_FILE, MobileNetFeatures

MODEL_DIR = shipped_models_dir() / "style-predict"
ALL_STAGES = 4


@pytest.fixture(scope="module")
def features():
    return MobileNetFeatures(MODEL_DIR)


@pytest.fixture(scope="module")
def image():
    # 8-bit values, as real images are, so the graph's input quantiser
    # (steps of 1/255) is exact and only activation rounding differs.
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (1, 256, 256, 3)) / 255).astype(np.float32)


def run_onnx(model: onnx.ModelProto, names, image_nhwc: np.ndarray) -> list[np.ndarray]:
    del model.graph.output[:]
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: image_nhwc})


def ours(net: MobileNetFeatures, image_nhwc: np.ndarray) -> list[np.ndarray]:
    with torch.no_grad():
        return [f.numpy() for f in net(torch.from_numpy(image_nhwc).permute(0, 3, 1, 2) * 2 - 1)]


def relative_error(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


def randomised(net: MobileNetFeatures) -> MobileNetFeatures:
    twin = copy.deepcopy(net)
    torch.manual_seed(0)
    for module in twin.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.reset_parameters()
    return twin


def test_close_to_the_int8_graph_and_far_from_random_weights(features, image):
    ref = run_onnx(onnx.load(str(MODEL_DIR / MODEL_FILE)), features.tensor_names[-1:], image)[0]
    mine = ours(features, image)[-1]
    random = ours(randomised(features), image)[-1]
    assert mine.shape == ref.shape == (1, 96, 16, 16)
    # Measured: relative error 0.113, cosine 0.994 (the original rounds its
    # activations to int8); random weights: relative error 1.00, cosine -0.005.
    assert relative_error(mine, ref) < 0.2
    assert cosine(mine, ref) > 0.98
    assert cosine(random, ref) < 0.5
    assert relative_error(mine, ref) < relative_error(random, ref) / 4


def test_exact_against_the_graph_without_activation_quantisation(image):
    """The same graph with every activation Quantize/Dequantize made an
    Identity is the float network; the rebuild must be it, at every stage."""
    net = MobileNetFeatures(MODEL_DIR, ALL_STAGES)
    model = onnx.load(str(MODEL_DIR / MODEL_FILE))
    weights = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in weights:
            node.op_type = "Identity"
            del node.input[1:]
            del node.attribute[:]
    del model.graph.value_info[:]
    refs = run_onnx(model, net.tensor_names, image)
    for mine, ref in zip(ours(net, image), refs, strict=True):
        assert mine.shape == ref.shape
        assert relative_error(mine, ref) < 1e-4  # measured < 1e-6


def test_frozen_but_passes_gradients_to_its_input(features):
    assert not any(p.requires_grad for p in features.parameters())
    assert not features.train().training
    assert features.channels == (24, 32, 96) and features.strides == (4, 8, 16)
    for size in (128, 64):
        images = (torch.rand(2, 3, size, size) * 2 - 1).requires_grad_()
        maps = features(images)
        assert [tuple(m.shape) for m in maps] == [(2, c, size // s, size // s)
                                                  for c, s in zip(features.channels, features.strides)]
        sum(m.square().mean() for m in maps).backward()
        assert images.grad is not None and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
        assert all(p.grad is None for p in features.parameters())
    with pytest.raises(ValueError):
        features(torch.zeros(1, 3, 40, 40))
    with pytest.raises(ValueError):
        MobileNetFeatures(MODEL_DIR, ALL_STAGES + 1)
