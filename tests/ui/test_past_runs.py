"""The runs folder as the Train panel lists it (ui/past_runs.py), without Qt."""

import json
import os

from studio.ui.past_runs import list_past_runs


def make_run(root, name, step, mtime, config=None, weights=True):
    folder = root / name
    folder.mkdir(parents=True)
    info = folder / "checkpoint.json"
    info.write_text(json.dumps({"step": step, "config": config if config is not None else
                                {"task": "generate", "resolution": 64}}))
    if weights:
        (folder / "checkpoint.safetensors").write_bytes(b"weights")
    os.utime(info, (mtime, mtime))
    return folder


def test_runs_with_a_checkpoint_newest_first_named_without_their_stamp(tmp_path):
    make_run(tmp_path, "faces-20261201-101010", 300, 1_000)
    make_run(tmp_path, "faces-20261202-101010-2", 50, 2_000, {"task": "upscale", "resolution": 128})
    make_run(tmp_path, "no-weights", 10, 3_000, weights=False)
    make_run(tmp_path, "odd-task", 10, 3_000, {"task": "levitate"})
    make_run(tmp_path, "negative", -1, 3_000)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "checkpoint.json").write_text("{not json")
    (damaged / "checkpoint.safetensors").write_bytes(b"x")
    (tmp_path / "a-file").write_text("")
    runs = list_past_runs(tmp_path)
    assert [(r.name, r.task, r.step, r.resolution) for r in runs] == [("faces", "upscale", 50, 128),
                                                                       ("faces", "generate", 300, 64)]
    assert runs[0].label().startswith("faces  ·  128 px  ·  step 50\nUpscaler (enlarges pictures)  ·  ")
    assert list_past_runs(tmp_path / "missing") == []
