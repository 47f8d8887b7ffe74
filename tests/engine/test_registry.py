import json

import numpy as np
import pytest
from model_factory import generator_manifest, tiny_generator_onnx, write_model

from studio.engine.generator import Generator
from studio.engine.registry import ModelError, Registry
from studio.engine.runtime import Runtime


def reasons(registry):
    return {e.folder.name: e.reason for e in registry.entries(usable_only=False) if not e.usable}


def test_good_model_is_listed_and_renders(tiny_generator_dir):
    registry = Registry([tiny_generator_dir])
    (entry,) = registry.entries("generator")
    assert entry.name == "tiny" and entry.usable and len(entry.sha256) == 64
    gen = Generator(registry.get("tiny"), Runtime("cpu"))
    images = gen.render(np.zeros((2, 8), np.float32))
    assert images.shape == (2, 8, 8, 3) and images.dtype == np.uint8
    assert np.all(images == 128)  # tanh(0) = 0 is mid-grey


def test_bad_models_are_skipped_with_one_reason_each(tmp_path):
    root = tmp_path / "models"
    write_model(root, "good")
    tampered = write_model(root, "tampered")
    (tampered / "model.onnx").write_bytes(tiny_generator_onnx(seed=1))  # same shape, other weights
    missing = write_model(root, "missing")
    (missing / "model.onnx").unlink()
    (root / "nomanifest").mkdir()
    broken = write_model(root, "brokenjson")
    (broken / "manifest.json").write_text("{not json")
    garbage = b"this is not onnx at all"
    manifest = generator_manifest("garbage", garbage)
    write_model(root, "garbage", garbage, manifest)
    foreign = tiny_generator_onnx(latent=4, res=8)
    write_model(root, "foreign", foreign, generator_manifest("foreign", foreign))  # says latent 8
    renamed = tiny_generator_onnx()
    manifest = generator_manifest("renamed", renamed)
    manifest["inputs"][0]["name"] = "z"
    write_model(root, "renamed", renamed, manifest)
    write_model(root, "zz-dupe", manifest=generator_manifest("good", tiny_generator_onnx()))

    registry = Registry([root])
    assert [e.name for e in registry.entries()] == ["good"]
    why = reasons(registry)
    assert "does not match the sha256" in why["tampered"]
    assert why["missing"] == "model.onnx is missing"
    assert why["nomanifest"] == "no manifest.json"
    assert "not valid JSON" in why["brokenjson"]
    assert "not a loadable ONNX model" in why["garbage"]
    assert "shape" in why["foreign"] and "latent" in why["foreign"]
    assert "do not match the manifest" in why["renamed"]
    assert "duplicate name" in why["zz-dupe"]
    assert all("\n" not in r for r in why.values())


def test_get_explains_unknown_and_unusable(tmp_path):
    root = tmp_path / "models"
    write_model(root, "good")
    bad = write_model(root, "bad")
    (bad / "model.onnx").write_bytes(b"x")
    registry = Registry([root])
    with pytest.raises(ModelError, match=r"unknown model 'nope' \(available: good\)"):
        registry.get("nope")
    with pytest.raises(ModelError, match="'bad' is unusable"):
        registry.get("bad")


def test_rescan_picks_up_new_models_and_missing_folders_are_fine(tmp_path):
    registry = Registry([tmp_path / "absent", tmp_path / "models"])
    assert registry.entries() == []
    write_model(tmp_path / "models", "late")
    registry.scan()
    assert [e.name for e in registry.entries()] == ["late"]


def test_wrong_kind_and_latent_size_are_refused(tiny_generator_dir):
    registry = Registry([tiny_generator_dir])
    entry = registry.get("tiny")
    gen = Generator(entry, Runtime("cpu"))
    with pytest.raises(ModelError, match="latents of size 8"):
        gen.render(np.zeros((1, 5), np.float32))
    manifest = json.loads((entry.folder / "manifest.json").read_text())
    entry.manifest = {**manifest, "kind": "style"}
    entry.kind = "style"
    with pytest.raises(ModelError, match="not a generator"):
        Generator(entry)
