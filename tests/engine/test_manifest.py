"""Strict model manifests (engine/manifest.py, read by engine/registry.py):
a tampered or broken manifest is one skipped model with one reason, in the
registry, in `studio models` and in every command that names it; the other
models work on. Every shipped manifest passes."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from inpaint_factory import constant_fill_onnx, inpaint_manifest
from model_factory import generator_manifest, tiny_generator_onnx, write_model

from studio.cli import main
from studio.core.imageio import save_image
from studio.core.paths import shipped_models_dir
from studio.engine.manifest import MANIFEST, ManifestError, read_manifest
from studio.engine.registry import ModelError, Registry

GOOD = tiny_generator_onnx()
DELETE = object()

# (field path, value written there (DELETE: the field removed), words the reason holds)
GENERATOR_CASES = [
    # The findings that crashed `studio models` or `studio generate`:
    (("inputs", 0, "shape"), 128, "inputs[0].shape: input should be a valid list (got 128)"),
    (("files",), "model.onnx", "files: input should be a valid dictionary"),
    (("files",), ["model.onnx"], "files: input should be a valid dictionary"),
    (("files", "onnx"), 5, "files.onnx: input should be a valid string (got 5)"),
    (("latent_size",), "abc", "latent_size: input should be a valid integer (got 'abc')"),
    (("latent_size",), -1, "latent_size: input should be greater than or equal to 1"),
    (("latent_size",), 1e12, "latent_size: input should be a valid integer"),
    (("resolution",), "big", "resolution: input should be a valid integer"),
    (("outputs", 0, "range"), [1, 1], "outputs[0].range: should be [low, high]"),
    (("outputs", 0, "range"), "x", "outputs[0].range should be [low, high], not 'x'"),
    (("outputs", 0, "range"), [0], "outputs[0].range: should be [low, high]"),
    # Every other field kind, wrong:
    (("latent_size",), 5000, "latent_size: input should be less than or equal to 4096"),
    (("latent_size",), True, "latent_size: input should be a valid integer"),
    (("latent_size",), 12, "latent_size 12 disagrees with inputs[0]'s shape"),
    (("resolution",), 2, "resolution: input should be greater than or equal to 4"),
    (("resolution",), 16, "resolution 16 disagrees with outputs[0]'s shape"),
    (("outputs", 0, "range"), [0, "1"], "outputs[0].range: should be [low, high]"),
    (("outputs", 0, "range"), [1, -1], "outputs[0].range: should be [low, high]"),
    (("name",), 5, "name: input should be a valid string"),
    (("name",), "a/b", "name: string should match pattern"),
    (("version",), 1.0, "version: input should be a valid string"),
    (("licence",), None, "licence: input should be a valid string"),
    (("sha256",), "xyz", "sha256: string should match pattern"),
    (("sha256",), DELETE, "lacks sha256"),
    (("inputs",), {}, "inputs: input should be a valid list"),
    (("inputs",), [], "inputs: list should have at least 1 item"),
    (("inputs", 0), "latent", "inputs[0]: input should be a valid dictionary"),
    (("inputs", 0, "name"), 7, "inputs[0].name: input should be a valid string"),
    (("inputs", 0, "dtype"), 5, "inputs[0].dtype: input should be a valid string"),
    (("inputs", 0, "shape"), ["batch", 8.5], "inputs[0].shape[1]: should be a size 1..65536 or an axis name"),
    (("inputs", 0, "shape"), ["batch", 0], "inputs[0].shape[1]: should be a size 1..65536 or an axis name"),
    (("outputs", 1), {"name": "image"}, "outputs: tensor names ['image', 'image'] should be unique"),
    (("kind",), "painter", "unknown kind 'painter'"),
    (("kind",), ["generator"], "unknown kind ['generator']"),
    (("kind",), DELETE, "lacks kind"),
    (("format",), 2, "format: input should be 1"),
    (("channels",), 5, "channels: input should be 3 or 4"),
    (("channels",), "3", "channels: input should be 3 or 4"),
    (("channels",), 4, "outputs[0]'s shape ['batch', 3, 8, 8] has 3 channels, the manifest says 4"),
    (("training",), "x", "training: input should be a valid dictionary"),
    (("training", "width"), "wide", "training.width: input should be a valid number"),
    (("base_model",), "yes", "base_model: input should be a valid boolean"),
    (("background",), "#xyz", "background: string should match pattern"),
    (("description",), ["a"], "description: input should be a valid string"),
    (("files", "onnx"), "/etc/passwd", "files.onnx: '/etc/passwd' is outside the model's folder"),
    (("files", "onnx"), "../../../model.onnx", "'../../../model.onnx' is outside the model's folder"),
    (("files", "onnx"), "sub/../../model.onnx", "is outside the model's folder"),
    (("files", "checkpoint"), "..\\..\\weights.safetensors", "files.checkpoint: '..\\\\..\\\\weights"),
]

upscale = json.loads((shipped_models_dir() / "upscale-x4" / MANIFEST).read_text())
style = json.loads((shipped_models_dir() / "style26" / MANIFEST).read_text())
predict = json.loads((shipped_models_dir() / "style-predict" / MANIFEST).read_text())
transform = json.loads((shipped_models_dir() / "style-transform" / MANIFEST).read_text())
inpainter = inpaint_manifest("x", constant_fill_onnx())

# (a good manifest of another kind, field path, value, words the reason holds)
OTHER_KIND_CASES = [
    (upscale, ("scale",), 5, "scale: input should be 2, 3, 4 or 8 (got 5)"),
    (upscale, ("scale",), "4", "scale: input should be 2, 3, 4 or 8"),
    (upscale, ("margin",), -1, "margin: input should be greater than or equal to 0"),
    (upscale, ("margin",), DELETE, "lacks margin"),
    (inpainter, ("inputs",), inpainter["inputs"][:1], "inputs: list should have at least 2 items"),
    (inpainter, ("prefill",), "telea", "prefill: input should be a valid dictionary"),
    (inpainter, ("prefill",), {}, "lacks prefill.method"),
    (inpainter, ("inputs", 0, "range"), "x", "inputs[0].range should be [low, high], not 'x'"),
    (inpainter, ("resolution",), "32", "resolution: input should be a valid integer"),
    (style, ("style_count",), "26", "style_count: input should be a valid integer"),
    (style, ("style_count",), 0, "style_count: input should be greater than or equal to 1"),
    (style, ("style_names",), [1, 2], "style_names[0]: input should be a valid string"),
    (style, ("inputs",), style["inputs"][:1], "inputs: list should have at least 2 items"),
    (style, ("layout",), "HWC", "layout: input should be 'NCHW' or 'NHWC'"),
    (predict, ("input_size",), 0, "input_size: input should be greater than or equal to 4"),
    (predict, ("inputs", 0, "shape"), 256, "inputs[0].shape: input should be a valid list"),
    (transform, ("inputs", 1, "shape"), [1, 1, 1, "n"], "inputs[1] (the style vector) should have a fixed shape"),
]


def edited(manifest: dict, path: tuple, value) -> dict:
    """A deep copy of `manifest` with `value` at `path` (a new list item when the index is one past the end)."""
    manifest = copy.deepcopy(manifest)
    *parents, last = path
    holder = manifest
    for key in parents:
        holder = holder[key]
    if value is DELETE:
        del holder[last]
    elif isinstance(holder, list) and last == len(holder):
        holder.append(value)
    else:
        holder[last] = value
    return manifest


def assert_skipped(root, folder: str, *needles: str) -> None:
    """The registry lists root/folder as skipped for `needles`, one line, and keeps the good model."""
    registry = Registry([root])
    assert [e.name for e in registry.entries()] == ["good"]
    (bad,) = [e for e in registry.entries(usable_only=False) if e.folder.name == folder]
    assert not bad.usable and "\n" not in bad.reason
    for needle in needles:
        assert needle in bad.reason
    with pytest.raises(ModelError, match="is unusable: "):
        registry.get(bad.name)


@pytest.mark.parametrize("path, value, needle", GENERATOR_CASES, ids=[c[2][:48] for c in GENERATOR_CASES])
def test_a_generator_manifest_with_a_wrong_field_is_skipped_with_its_reason(tmp_path, path, value, needle):
    root = tmp_path / "models"
    write_model(root, "good")
    write_model(root, "bad", GOOD, edited(generator_manifest("bad", GOOD), path, value))
    assert_skipped(root, "bad", needle)


@pytest.mark.parametrize("base, path, value, needle", OTHER_KIND_CASES, ids=[c[3][:48] for c in OTHER_KIND_CASES])
def test_other_kinds_with_a_wrong_field_are_skipped_with_their_reason(tmp_path, base, path, value, needle):
    # The schema refuses before the file is hashed or opened: any bytes do.
    root = tmp_path / "models"
    write_model(root, "good")
    write_model(root, "bad", b"not read", edited({**base, "name": "bad"}, path, value))
    assert_skipped(root, "bad", needle)


@pytest.mark.parametrize("text, needle", [
    ('{"training": ' + "[" * 100_000 + "]" * 100_000 + "}", "manifest.json is nested too deeply"),
    (json.dumps({"description": "x" * (1 << 20)}), "manifest.json is over 1 MiB"),
    ("[1, 2]", "manifest.json is not a JSON object"),
    ('{"a": 1' + "0" * 5000 + "}", "manifest.json is not valid JSON"),
    ("{not json", "manifest.json is not valid JSON"),
], ids=["deep", "huge", "list", "long-number", "broken"])
def test_an_unreadable_manifest_is_one_reason(tmp_path, text, needle):
    root = tmp_path / "models"
    write_model(root, "good")
    (write_model(root, "bad") / MANIFEST).write_text(text)
    assert_skipped(root, "bad", needle)


def test_a_non_finite_range_and_non_utf8_bytes_are_refused(tmp_path):
    root = tmp_path / "models"
    write_model(root, "good")
    text = json.dumps(generator_manifest("nan", GOOD)).replace("[-1.0, 1.0]", "[NaN, 1.0]")
    (write_model(root, "nan") / MANIFEST).write_text(text)
    assert_skipped(root, "nan", "outputs[0].range: should be [low, high] (finite, low < high)")
    (root / "nan" / MANIFEST).write_bytes(b'{"name": "\xff"}')
    assert_skipped(root, "nan", "manifest.json is not valid JSON (not UTF-8)")


def test_model_files_outside_the_folder_are_refused_even_when_they_are_good(tmp_path):
    """An absolute name, a climb out and a link out each point at a real,
    matching model: only where it lies is wrong."""
    root = tmp_path / "models"
    write_model(root, "good")
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(GOOD)
    write_model(root, "absolute", GOOD, edited(generator_manifest("absolute", GOOD), ("files", "onnx"), str(outside)))
    write_model(root, "climb", GOOD, edited(generator_manifest("climb", GOOD), ("files", "onnx"), "../../outside.onnx"))
    linked = write_model(root, "linked")
    (linked / "model.onnx").unlink()
    (linked / "model.onnx").symlink_to(outside)
    assert_skipped(root, "absolute", f"files.onnx: '{outside}' is outside the model's folder")
    assert_skipped(root, "climb", "files.onnx: '../../outside.onnx' is outside the model's folder")
    assert_skipped(root, "linked", "files.onnx: 'model.onnx' is outside the model's folder (a link leads out)")
    # model.onnx is checked where the manifest names no file too.
    unnamed = generator_manifest("linked", GOOD)
    del unnamed["files"]
    (linked / MANIFEST).write_text(json.dumps(unnamed))
    assert_skipped(root, "linked", "manifest.json: 'model.onnx' is outside the model's folder (a link leads out)")
    # A link that stays inside the folder is fine.
    (linked / "model.onnx").unlink()
    (linked / "weights.onnx").write_bytes(GOOD)
    (linked / "model.onnx").symlink_to("weights.onnx")
    assert Registry([root]).get("linked").usable


def test_a_kept_verdict_spares_the_schema_but_never_hides_a_change(tmp_path, monkeypatch):
    """The second scan of unchanged models imports no pydantic (a one-shot
    command's start); a manifest edited since, or a file that now links
    out, is checked again."""
    import subprocess
    import sys

    root = tmp_path / "models"
    folder = write_model(root, "good")
    env = {"STUDIO_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    scan = ("import sys; from studio.engine.registry import Registry; r = Registry([sys.argv[1]]); "
            "print(r.entries(usable_only=False)[0].reason or 'ok', 'pydantic' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", scan, str(root)], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs == [["ok", "True"], ["ok", "False"]]
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(GOOD)
    (folder / "model.onnx").unlink()
    (folder / "model.onnx").symlink_to(outside)
    monkeypatch.setenv("STUDIO_CACHE_DIR", env["STUDIO_CACHE_DIR"])  # the verdicts the two scans kept

    def reason() -> str:
        return Registry([root]).entries(usable_only=False)[0].reason

    assert "(a link leads out)" in reason()
    (folder / "model.onnx").unlink()
    (folder / "model.onnx").write_bytes(GOOD)
    assert reason() == ""
    (folder / MANIFEST).write_text(json.dumps(edited(generator_manifest("good", GOOD), ("latent_size",), "abc")))
    assert "latent_size: input should be a valid integer" in reason()


def test_an_onnx_file_over_2_gib_is_refused_from_its_size_without_reading_it(tmp_path):
    root = tmp_path / "models"
    write_model(root, "good")
    big = write_model(root, "big")
    with open(big / "model.onnx", "r+b") as fh:
        fh.truncate(int(4.5 * 2**30))  # sparse: costs no disk, but would take seconds to hash
    assert_skipped(root, "big", "model.onnx is 4.5 GiB, over the 2 GiB an ONNX file can hold")


def test_a_bad_companion_entry_leaves_the_generator_usable_without_it(tmp_path):
    root = tmp_path / "models"
    manifest = generator_manifest("tiny", GOOD)
    manifest["encoder"] = {"file": "encoder.onnx", "sha256": "0" * 64, "inputs": [], "outputs": [{"name": "z"}]}
    write_model(root, "tiny", GOOD, manifest)
    entry = Registry([root]).get("tiny")
    with pytest.raises(ModelError, match=r"no usable encoder: manifest.json encoder.inputs: list should have at least"):
        entry.companion("encoder")


def test_every_shipped_manifest_passes():
    folders = sorted(f for f in shipped_models_dir().iterdir() if (f / MANIFEST).is_file())
    assert len(folders) >= 7
    for folder in folders:
        assert read_manifest(folder)["name"] == folder.name


def test_the_trainers_manifests_pass(tmp_path):
    """What `studio export` writes for each task is what the registry reads."""
    from studio.train.export import build_manifest

    configs = [{"task": "generate", "resolution": 64, "latent_size": 128},
               {"task": "inpaint", "resolution": 64, "prefill": "telea"},
               {"task": "upscale", "scale": 2, "layers": 3, "resolution": 64}]
    for config in configs:
        manifest = build_manifest("trained", "1.0.0", {"config": config, "step": 3}, "a" * 64, None, None, None)
        try:
            read_manifest(_written(tmp_path / config["task"], manifest))
        except ManifestError as exc:
            pytest.fail(f"{config['task']}: {exc}")


def _written(folder, manifest):
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


# -- the command line -----------------------------------------------------------

@pytest.fixture
def tampered(user_dir, tmp_path, monkeypatch):
    """The user's models: the tiny generator "good" and one tampered generator per case."""
    monkeypatch.setattr("studio.engine.registry.shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    root = user_dir / "models"
    write_model(root, "good")
    names = []
    for number, (path, value, _needle) in enumerate(GENERATOR_CASES):
        name = f"bad{number:02d}"
        write_model(root, name, GOOD, edited(generator_manifest(name, GOOD), path, value))
        names.append(name)
    (write_model(root, "deep") / MANIFEST).write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    write_model(root, "bad-upscale", b"not read", edited({**upscale, "name": "bad-upscale"}, ("scale",), 5))
    write_model(root, "bad-inpaint", b"not read", edited({**inpainter, "name": "bad-inpaint"}, ("prefill",), "telea"))
    return names + ["deep", "bad-upscale", "bad-inpaint"]


def one_error_line(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_studio_models_lists_every_tampered_model_with_its_reason(capsys, tampered):
    assert main(["models", "--json"]) == 0
    listed = {Path(m["folder"]).name: m for m in json.loads(capsys.readouterr().out)}
    assert listed["good"]["status"] == "ok"
    for number, (_path, _value, needle) in enumerate(GENERATOR_CASES):
        assert listed[f"bad{number:02d}"]["status"] == "skipped" and needle in listed[f"bad{number:02d}"]["reason"]
    assert listed["deep"]["reason"] == "manifest.json is nested too deeply"
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(tampered) + 1 and sum("skipped" in line for line in lines) == len(tampered)


def test_commands_naming_a_tampered_model_give_one_error_line(capsys, tampered, tmp_path):
    for name in tampered[:-2]:
        line = one_error_line(capsys, "generate", "--model", name, "--seed", "1", "-o", str(tmp_path / "x.png"))
        assert f"error: model '{name}' is unusable: " in line
    # The good model beside them still renders.
    assert main(["generate", "--model", "good", "--seed", "1", "-o", str(tmp_path / "ok.png")]) == 0
    save_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    save_image(tmp_path / "mask.png", np.full((8, 8, 3), 255, np.uint8))
    out = str(tmp_path / "out.png")
    assert "model 'bad-upscale' is unusable: manifest.json scale: input should be 2, 3, 4 or 8" in one_error_line(
        capsys, "upscale", str(tmp_path / "in.png"), "--model", "bad-upscale", "-o", out)
    assert "model 'bad-inpaint' is unusable: manifest.json prefill: input should be a valid dictionary" in one_error_line(
        capsys, "inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "--model", "bad-inpaint",
        "-o", out)
