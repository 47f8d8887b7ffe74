"""Instance norms spelled out in elementary ops, fused for whole-image runs
(engine/norm_fusion.py): same numbers as the original graph, fewer nodes."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from studio.core.paths import shipped_models_dir
from studio.engine.norm_fusion import fold_given_statistics, fuse_instance_norms


def run(model: bytes, feeds: dict) -> np.ndarray:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def test_the_builtin_style_network_fuses_every_norm_and_keeps_its_output():
    data = (shipped_models_dir() / "style26" / "model.onnx").read_bytes()
    fused, count = fuse_instance_norms(data)
    ops = [n.op_type for n in onnx.load_from_string(fused).graph.node]
    assert count == 18 and ops.count("InstanceNormalization") == 18
    assert "Pow" not in ops and ops.count("ReduceMean") == 0
    rng = np.random.default_rng(0)
    weights = np.zeros(26, np.float32)
    weights[[3, 11]] = 0.5
    feeds = {"image": rng.random((1, 3, 96, 128), dtype=np.float32), "style_weights": weights}
    np.testing.assert_allclose(run(fused, feeds), run(data, feeds), atol=1e-5)


def spelled_out_norm(eps_value: float = 1e-5, extra_reader: bool = False) -> bytes:
    """x -> (x - mean) / sqrt(var + eps) * gamma + beta, as PyTorch exports it."""
    c = 4
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["d2"]),
        helper.make_node("ReduceMean", ["d2"], ["v"], axes=[2, 3], keepdims=1),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["one", "s"], ["r"]),
        helper.make_node("Mul", ["d", "r"], ["n"]),
        helper.make_node("Mul", ["n", "gamma"], ["g"]),
        helper.make_node("Add", ["g", "beta"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, "h", "w"])]
    if extra_reader:  # the centred map is also an output: the chain cannot go
        outputs.append(helper.make_tensor_value_info("d", TensorProto.FLOAT, [1, c, "h", "w"]))
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in
             (("two", 2.0), ("one", 1.0), ("eps", eps_value))]
    inits += [numpy_helper.from_array(rng.normal(size=(1, c, 1, 1)).astype(np.float32), k) for k in ("gamma", "beta")]
    graph = helper.make_graph(nodes, "norm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, "h", "w"])],
                              outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


def test_a_small_graph_fuses_with_its_epsilon_and_a_shared_map_does_not():
    data = spelled_out_norm(eps_value=1e-3)
    fused, count = fuse_instance_norms(data)
    assert count == 1
    norm = next(n for n in onnx.load_from_string(fused).graph.node if n.op_type == "InstanceNormalization")
    assert abs(helper.get_attribute_value(norm.attribute[0]) - 1e-3) < 1e-9
    x = {"x": np.random.default_rng(2).normal(3.0, 2.0, (1, 4, 9, 7)).astype(np.float32)}
    np.testing.assert_allclose(run(fused, x), run(data, x), atol=1e-5)
    shared = spelled_out_norm(extra_reader=True)
    assert fuse_instance_norms(shared) == (shared, 0)


def test_normalising_by_given_statistics_folds_into_one_scale_and_shift():
    c = 3
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["d"]),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["one", "s"], ["r"]),
        helper.make_node("Mul", ["d", "r"], ["n"]),
        helper.make_node("Mul", ["n", "gamma"], ["g"]),
        helper.make_node("Add", ["g", "beta"], ["y"]),
    ]
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in (("one", 1.0), ("eps", 1e-5))]
    inits += [numpy_helper.from_array(rng.normal(size=(1, c, 1, 1)).astype(np.float32), k) for k in ("gamma", "beta")]
    stat = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [1, c, 1, 1]) for k in ("mean", "var")]
    graph = helper.make_graph(nodes, "given", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, "h", "w"]),
                                               *stat],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, "h", "w"])],
                              initializer=inits)
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()
    folded, count = fold_given_statistics(data, {"mean", "var"})
    ops = [n.op_type for n in onnx.load_from_string(folded).graph.node]
    assert count == 1 and "Sub" in ops and ops.count("Mul") == 3  # the map: one Mul and one Add
    feeds = {"x": rng.normal(2.0, 3.0, (1, c, 8, 8)).astype(np.float32),
             "mean": np.full((1, c, 1, 1), 2.0, np.float32), "var": np.full((1, c, 1, 1), 9.0, np.float32)}
    np.testing.assert_allclose(run(folded, feeds), run(data, feeds), atol=1e-5)
    assert fold_given_statistics(data, {"something else"}) == (data, 0)  # the mean must be a given statistic
