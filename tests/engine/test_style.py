"""The style engine against the shipped networks (models/style26, style-predict,
style-transform), on small images made here."""

import hashlib
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from studio.core import mask as masks
from studio.core.colour import mix, rgb_to_ycbcr, ycbcr_to_rgb
from studio.core.paths import shipped_models_dir
from studio.core.placement import cover
from studio.engine.registry import ModelError, Registry
from studio.engine.runtime import Runtime
from studio.engine.style import (
    OWN_SHARE,
    StyleError,
    Stylizer,
    interpolate,
    parse_weights,
    style_frames,
)


def photo(h: int = 66, w: int = 74, seed: int = 0, alpha: bool = False) -> np.ndarray:
    """Something photo-like: smooth colour gradients, a few shapes, some grain.
    Sides that are not multiples of 4 exercise the padding."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + seed), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy], -1)
    img[h // 4: h // 2, w // 5: w // 2] = rng.random(3)
    img += rng.normal(0, 0.03, img.shape)
    rgb = np.clip(img * 255, 0, 255).astype(np.uint8)
    if not alpha:
        return rgb
    a = np.clip(xx * 400, 0, 255).astype(np.uint8)[..., None]
    return np.concatenate([rgb, a], axis=2)


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(Registry([shipped_models_dir()]), Runtime("cpu", threads=2))


def plain_session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(shipped_models_dir() / name / "model.onnx"), providers=["CPUExecutionProvider"])


def reference_pixels(out: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.rint(np.clip(out[:h, :w] * 255, 0, 255)).astype(np.uint8)


def padded(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.pad(rgb.astype(np.float32) / 255, ((0, -h % 4), (0, -w % 4), (0, 0)), mode="reflect")


def assert_close_pixels(a: np.ndarray, b: np.ndarray) -> None:
    # Same graph and input; thread count and optimisation level may move a
    # float by ~1e-6, which can flip a rounding: at most 1 level, rarely.
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.002


def test_shipped_style_networks_pass_the_registry():
    registry = Registry([shipped_models_dir()])
    kinds = {e.name: e.kind for e in registry.entries()}
    assert kinds["style26"] == "style"
    assert kinds["style-predict"] == "style-predict" and kinds["style-transform"] == "style-transform"
    for name in ("style26", "style-predict", "style-transform"):
        entry = registry.get(name)
        assert entry.manifest["licence"] == "Apache-2.0" and "Magenta" in entry.manifest["attribution"]
        assert entry.sha256 == entry.manifest["sha256"] and entry.file("licence") is not None
    # style26 and style-predict are the wheel's files byte for byte; style-transform got dynamic sides.
    assert registry.get("style26").sha256 == registry.get("style26").manifest["source"]["sha256"]
    transform = registry.get("style-transform").manifest
    assert transform["sha256"] != transform["source"]["sha256"] and transform["inputs"][0]["shape"] == [1, "h", "w", 3]


def test_registry_refuses_a_fixed_side_the_manifest_calls_dynamic(tmp_path):
    node = helper.make_node("Relu", ["image"], ["out"])  # the weights go unused: only the sides matter here
    graph = helper.make_graph([node], "fixed", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8]),
                                                helper.make_tensor_value_info("style_weights", TensorProto.FLOAT, [26])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    manifest = json.loads((shipped_models_dir() / "style26" / "manifest.json").read_text())
    manifest.update(name="fixed", inputs=[{"name": "image", "dtype": "float32", "shape": [1, 3, "h", "w"]},
                                          {"name": "style_weights", "dtype": "float32", "shape": [26]}],
                    outputs=[{"name": "out", "dtype": "float32", "shape": [1, 3, "h", "w"]}])
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    folder = tmp_path / "models" / "fixed"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (entry,) = Registry([tmp_path / "models"]).entries(usable_only=False)
    assert not entry.usable and "axis 'h' is fixed where the manifest says it is dynamic" in entry.reason


def test_builtin_style_matches_plain_onnxruntime(stylizer):
    image = photo()
    h, w = image.shape[:2]
    weights = np.zeros(26, np.float32)
    weights[7] = 1.0
    (out,) = plain_session("style26").run(None, {"image": padded(image).transpose(2, 0, 1)[None].copy(),
                                                  "style_weights": weights})
    assert_close_pixels(stylizer.builtin(image, 7), reference_pixels(out[0].transpose(1, 2, 0), h, w))


def test_image_style_matches_plain_onnxruntime(stylizer):
    image, painting = photo(), photo(90, 70, seed=5)
    h, w = image.shape[:2]
    square = cover(painting, 256, 256)[..., :3].astype(np.float32)[None] / 255
    (vector,) = plain_session("style-predict").run(None, {"style_image": square})
    ours = stylizer.style_vector(painting)
    assert ours.shape == (100,) and np.abs(ours - vector.reshape(-1)).max() < 1e-4
    (out,) = plain_session("style-transform").run(None, {"content_image": padded(image)[None],
                                                         "mobilenet_conv/Conv/BiasAdd": vector})
    assert_close_pixels(stylizer.with_vector(image, ours), reference_pixels(out[0], h, w))


def test_strength_zero_is_the_identity_and_alpha_is_carried(stylizer):
    for image in (photo(), photo(alpha=True)):
        assert np.array_equal(stylizer.builtin(image, 3, strength=0), image)
        assert np.array_equal(stylizer.with_vector(image, np.ones(100, np.float32), strength=0), image)
    rgba = photo(alpha=True)
    for out in (stylizer.builtin(rgba, 3), stylizer.with_vector(rgba, stylizer.style_vector(photo(seed=9)))):
        assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
        assert np.abs(out[..., :3].astype(int) - rgba[..., :3]).mean() > 10  # and the colour did change


def test_builtin_strength_mixes_with_the_input(stylizer):
    image = photo()
    full = stylizer.builtin(image, 11)
    assert np.array_equal(stylizer.builtin(image, 11, strength=0.3), mix(image, full, 0.3))


def test_image_strength_fades_in_the_own_redraw_then_interpolates_from_the_contents_own_vector(stylizer):
    image = photo()
    own, painting = stylizer.style_vector(image), stylizer.style_vector(photo(80, 80, seed=3))
    walk = stylizer.even_strength(image, painting, own, 0.6)  # the slider's 0.6, evened on this picture
    assert OWN_SHARE < walk < 1
    expected = stylizer.with_vector(image, interpolate(own, painting, (walk - OWN_SHARE) / (1 - OWN_SHARE)))
    assert np.array_equal(stylizer.with_vector(image, painting, strength=0.6), expected)  # own computed
    assert np.array_equal(stylizer.with_vector(image, painting, strength=0.6, own_vector=own), expected)
    redraw = stylizer.with_vector(image, own).astype(np.float32)
    early = stylizer.even_strength(image, painting, own, 0.05)
    assert 0 < early < OWN_SHARE
    faded = stylizer.with_vector(image, painting, strength=0.05, own_vector=own).astype(np.float32)
    share = early / OWN_SHARE  # that far toward the redraw, pixel for pixel
    assert np.abs(faded - (image + (redraw - image) * share)).max() <= 1


def test_equal_steps_of_a_picture_styles_slider_change_the_picture_alike(stylizer):
    image = photo(120, 160, seed=1)
    own, painting = stylizer.style_vector(image), stylizer.style_vector(photo(80, 80, seed=3))
    assert stylizer.even_strength(image, painting, own, 0.0) == 0.0
    assert stylizer.even_strength(image, painting, own, 1.0) == 1.0
    slider = np.linspace(0, 1, 11)
    evened = [stylizer.with_vector(image, painting, strength=t, own_vector=own) for t in slider]
    # The same walk with the slider taken as it is: the redraw over the first OWN_SHARE, then the vector.
    redraw = stylizer.with_vector(image, own).astype(np.float32)
    plain = [image + (redraw - image) * t / OWN_SHARE if t <= OWN_SHARE else
             stylizer.with_vector(image, interpolate(own, painting, (t - OWN_SHARE) / (1 - OWN_SHARE)))
             for t in slider]

    def unevenness(frames) -> float:  # largest over smallest change between neighbouring steps
        steps = [float(np.abs(b.astype(np.float32) - a).mean()) for a, b in zip(frames, frames[1:])]
        return max(steps) / min(steps)

    # Measured: 3.7 taken as it is, 1.5 evened (photos: 1.7-3.5 and 1.3-1.5, benchmarks/style_preview.py).
    assert unevenness(evened) < 1.6 and unevenness(plain) > 2 * unevenness(evened)


def test_preserve_colour_keeps_the_original_chroma(stylizer):
    image = photo()
    chroma = rgb_to_ycbcr(image)[..., 1:]
    plain, kept = stylizer.builtin(image, 19), stylizer.builtin(image, 19, preserve_colour=True)
    # Pixels whose (stylized luma, original chroma) lies inside sRGB keep the
    # chroma to uint8 rounding; the others are clipped toward the gamut.
    wanted = rgb_to_ycbcr(image)
    wanted[..., 0] = rgb_to_ycbcr(plain)[..., 0]
    raw = ycbcr_to_rgb(wanted)
    inside = ((raw >= -0.5) & (raw <= 255.5)).all(axis=-1)
    drift_kept = np.abs(rgb_to_ycbcr(kept)[..., 1:] - chroma)
    drift_plain = np.abs(rgb_to_ycbcr(plain)[..., 1:] - chroma)
    assert inside.mean() > 0.5 and drift_kept[inside].max() <= 1.0
    assert drift_plain.mean() > 8 * drift_kept.mean()  # levels of Cb/Cr, 0..255, over all pixels
    # The luma is still the stylized one.
    assert np.abs(rgb_to_ycbcr(kept)[..., 0] - rgb_to_ycbcr(plain)[..., 0])[inside].max() <= 1.0


def test_weights_blend_and_normalise(stylizer):
    blend = parse_weights("3:0.5,12:0.5", 26)
    assert blend.dtype == np.float32 and blend[3] == blend[12] == 0.5 and blend.sum() == 1
    assert np.array_equal(parse_weights({3: 2, 12: 2}, 26), blend)
    assert np.array_equal(parse_weights(" 7 ", 26), parse_weights(7, 26))
    assert np.array_equal(parse_weights("3:1,3:1", 26), parse_weights(3, 26))
    image = photo()
    s3, s12 = stylizer.builtin(image, 3).astype(int), stylizer.builtin(image, 12).astype(int)
    mixed = stylizer.builtin(image, "3:0.5,12:0.5").astype(int)
    assert np.array_equal(mixed, stylizer.builtin(image, {3: 1.0, 12: 1.0}))
    apart = np.abs(s3 - s12).mean()
    assert np.abs(mixed - s3).mean() < apart and np.abs(mixed - s12).mean() < apart


def test_style_vector_interpolation_endpoints(stylizer):
    a, b = stylizer.style_vector(photo(seed=1)), stylizer.style_vector(photo(seed=2))
    assert np.array_equal(interpolate(a, b, 0.0), a) and np.array_equal(interpolate(a, b, 1.0), b)
    assert np.allclose(interpolate(a, b, 0.5), (a + b) / 2, atol=1e-6)
    frames = style_frames([a, b], 5)
    assert frames.shape == (5, 100) and np.array_equal(frames[0], a) and np.array_equal(frames[-1], b)
    image = photo()
    assert np.array_equal(stylizer.with_vector(image, interpolate(a, b, 1.0)), stylizer.with_vector(image, b))


def test_mask_applies_the_result_only_inside_the_feathered_selection(stylizer):
    image = photo(64, 64)
    soft = masks.feather(masks.rectangle(64, 64, (16, 16, 48, 48)), 4)
    full, masked = stylizer.builtin(image, 5), stylizer.builtin(image, 5, mask=soft)
    assert np.array_equal(masked[soft == 0], image[soft == 0])
    assert np.array_equal(masked[soft == 255], full[soft == 255])


@pytest.mark.parametrize("network", ["builtin", "image"])
def test_tiles_match_the_whole_image(stylizer, network):
    image = photo(128, 136, seed=4)
    vector = stylizer.style_vector(photo(seed=6))

    def run(**tiling):
        if network == "builtin":
            return stylizer.builtin(image, 7, **tiling)
        return stylizer.with_vector(image, vector, **tiling)

    whole, tiled = run(), run(tile=64, overlap=16)
    assert np.abs(whole.astype(float) - tiled).mean() / 255 <= 0.01


@pytest.mark.parametrize("call, message", [
    (lambda s: s.builtin(photo(), 26), "style index must be 0 to 25, got 26"),
    (lambda s: s.builtin(photo(), "3:0.5,40:0.5"), "style index must be 0 to 25, got 40"),
    (lambda s: s.builtin(photo(), "seven"), "bad style 'seven'"),
    (lambda s: s.builtin(photo(), {3: -1.0}), "non-negative"),
    (lambda s: s.builtin(photo(), [1.0] * 5), "needs 26 values"),
    (lambda s: s.builtin(photo(), 3, strength=1.5), "strength must be between 0 and 1"),
    (lambda s: s.builtin(photo(), 3, strength=float("nan")), "strength must be between 0 and 1"),
    (lambda s: s.builtin(photo(4, 30), 3), "too small"),
    (lambda s: s.builtin(photo().astype(np.float32), 3), "must be a uint8"),
    (lambda s: s.builtin(photo(), 3, mask=np.zeros((10, 10), np.uint8)), "the mask must be uint8 74 x 66"),
    (lambda s: s.builtin(photo(), 3, tile=-5), "tile must be 0"),
    (lambda s: s.with_vector(photo(), np.zeros(7, np.float32)), "100 finite numbers"),
    (lambda s: s.style_vector(np.zeros((3, 3, 3), np.uint8)), "style image is too small"),
])
def test_bad_input_raises_one_line(stylizer, call, message):
    with pytest.raises(StyleError) as info:
        call(stylizer)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_network_is_a_one_line_model_error(tmp_path):
    stylizer = Stylizer(Registry([tmp_path]), Runtime("cpu", threads=1))
    with pytest.raises(ModelError, match="unknown model 'style26'"):
        stylizer.builtin(photo(), 3)



def test_the_built_in_styles_have_names(tmp_path):
    import shutil

    stylizer = Stylizer(runtime=Runtime("cpu", threads=1))
    names = stylizer.style_names
    assert len(names) == 26 and len(set(names)) == 26 and names[7] == "Blue Nocturne"
    # A manifest without names (or with the wrong count) numbers them.
    folder = tmp_path / "models" / "style26"
    shutil.copytree(shipped_models_dir() / "style26", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["style_names"] = ["only one"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    numbered = Stylizer(Registry([tmp_path / "models", shipped_models_dir()]), Runtime("cpu", threads=1)).style_names
    assert numbered[:2] == ["Style 0", "Style 1"]
