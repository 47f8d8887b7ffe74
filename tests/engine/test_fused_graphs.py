"""Fused graphs are cached by the model's sha256, so a one-shot command loads
`onnx` only the first time a model is opened on the machine."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from studio.core.paths import shipped_models_dir
from studio.engine.fused_graphs import fused_graph
from studio.engine.norm_fusion import fuse_instance_norms

OPEN_STYLE = """
import sys
from studio.core.paths import shipped_models_dir
from studio.engine.runtime import Runtime
Runtime("cpu", threads=1, warm=False).session(shipped_models_dir() / "style26" / "model.onnx")
print("onnx" in sys.modules)
"""


def test_the_cached_graph_is_the_fused_one_and_a_second_process_skips_onnx(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    model = shipped_models_dir() / "style26" / "model.onnx"
    assert fused_graph(model) == fuse_instance_norms(model.read_bytes())[0]
    assert len(list((tmp_path / "cache" / "fused-graphs").glob("*.onnx"))) == 1
    env = dict(os.environ, STUDIO_CACHE_DIR=str(tmp_path / "cache"))
    again = subprocess.run([sys.executable, "-c", OPEN_STYLE], capture_output=True, text=True, env=env, timeout=120)
    assert again.stdout.strip() == "False", again.stderr  # served from the cache: onnx never imported
    env["STUDIO_CACHE_DIR"] = str(tmp_path / "empty")
    first = subprocess.run([sys.executable, "-c", OPEN_STYLE], capture_output=True, text=True, env=env, timeout=120)
    assert first.stdout.strip() == "True", first.stderr  # a miss fuses, with onnx


def test_an_unwritable_cache_still_gives_the_fused_graph(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "a-file"))
    model = shipped_models_dir() / "style-transform" / "model.onnx"
    assert np.array_equal(np.frombuffer(fused_graph(model), np.uint8),
                          np.frombuffer(fuse_instance_norms(model.read_bytes())[0], np.uint8))
