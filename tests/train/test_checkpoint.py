"""Checkpoints: crash safety at every step of a save, RNG states, and the
shipped emoji64 checkpoint (old layout) still loading."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.train import checkpoint as ckpt_io
from studio.train.nets import Discriminator, Generator

REPO = Path(__file__).resolve().parents[2]


def _checkpoint(step: int) -> ckpt_io.Checkpoint:
    torch.manual_seed(step)
    G = Generator(8, 8, width=0.25)
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    G(torch.randn(2, 8)).mean().backward()
    opt.step()
    return ckpt_io.pack({"G": G}, {"opt_G": opt}, {"step": step, "config": {"resolution": 8}})


class _Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing may swallow it)."""


def test_a_crash_at_any_filesystem_step_of_a_save_leaves_a_whole_checkpoint(tmp_path, monkeypatch):
    old, new = _checkpoint(1), _checkpoint(2)
    template = tmp_path / "template"  # a run with a previous and a current checkpoint
    ckpt_io.save(template, _checkpoint(0))
    ckpt_io.save(template, old)
    real = {name: getattr(os, name) for name in ("replace", "link", "unlink", "fsync", "rename")}
    n, outcomes = 0, set()
    while True:
        n += 1
        run = tmp_path / f"run{n}"
        shutil.copytree(template, run)
        calls = [0]

        def dying(name):
            def op(*args, **kwargs):
                calls[0] += 1
                if calls[0] == n:
                    raise _Crash(name)
                return real[name](*args, **kwargs)
            return op

        for name in real:
            monkeypatch.setattr(os, name, dying(name))
        try:
            ckpt_io.save(run, new)
            crashed = False
        except _Crash:
            crashed = True
        finally:
            for name, fn in real.items():
                monkeypatch.setattr(os, name, fn)
        loaded = ckpt_io.load(run)
        step = loaded.info["step"]
        assert step in (1, 2), f"crash at filesystem call {n}: step {step}"
        expected = old if step == 1 else new
        assert loaded.tensors.keys() == expected.tensors.keys()
        assert all(torch.equal(loaded.tensors[k], expected.tensors[k]) for k in expected.tensors)
        outcomes.add(step)
        if not crashed:
            assert step == 2
            break
    assert n > 4 and outcomes == {1, 2}  # the save really was interrupted at several points


def test_load_falls_back_to_the_previous_checkpoint_when_the_newest_is_damaged(tmp_path):
    ckpt_io.save(tmp_path, _checkpoint(1))
    ckpt_io.save(tmp_path, _checkpoint(2))
    newest = tmp_path / ckpt_io.CHECKPOINT_FILE
    assert ckpt_io.load(tmp_path).info["step"] == 2
    assert ckpt_io.load(tmp_path / ckpt_io.PREVIOUS_FILE).info["step"] == 1
    newest.write_bytes(newest.read_bytes()[:1000])  # e.g. a disk that lied about fsync
    assert ckpt_io.load(tmp_path).info["step"] == 1
    newest.unlink()
    assert ckpt_io.load(tmp_path).info["step"] == 1
    assert json.loads((tmp_path / ckpt_io.CHECKPOINT_JSON).read_text())["step"] == 2  # the readable copy
    with pytest.raises(ckpt_io.CheckpointError, match="no checkpoint"):
        ckpt_io.load(tmp_path / "elsewhere")


def test_rng_states_round_trip():
    gen = torch.Generator().manual_seed(5)
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    torch.rand(1, generator=gen), torch.rand(1), np.random.rand(), random.random()  # move them all along
    ckpt = _checkpoint(1)
    ckpt.tensors.update(ckpt_io.capture_rng({"picker": gen})[0])
    ckpt.info["rng"] = ckpt_io.capture_rng({"picker": gen})[1]
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)],
                torch.rand(3, generator=gen))
    torch.manual_seed(99), np.random.seed(99), random.seed(99), gen.manual_seed(99)
    assert ckpt_io.restore_rng(ckpt, {"picker": gen})
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]
    assert torch.equal(torch.rand(3, generator=gen), expected[3])


def test_saved_checkpoint_is_plain_safetensors_with_everything_in_one_file(tmp_path):
    path = ckpt_io.save(tmp_path, _checkpoint(3))
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, no pickle anywhere
    loaded = ckpt_io.load(path)
    assert loaded.info["format"] == ckpt_io.FORMAT and loaded.info["tensor_count"] == len(loaded.tensors)
    assert {"rng.torch", "rng.numpy", "rng.python"} <= set(loaded.tensors)
    G = Generator(8, 8, width=0.25)
    G.load_state_dict(loaded.module_state("G"))  # strict
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    opt.load_state_dict(loaded.optimiser_state("opt_G"))
    assert float(opt.state_dict()["state"][0]["step"]) == 1


def test_the_shipped_emoji64_checkpoint_still_loads():
    ckpt = ckpt_io.load(REPO / "models" / "emoji64" / "checkpoint.safetensors")
    config = ckpt.info["config"]
    G = Generator(config["latent_size"], config["resolution"], config["width"])
    G.load_state_dict(ckpt.module_state("G_ema"))  # strict: every key present, no extras
    Discriminator(config["resolution"], config["width"]).load_state_dict(ckpt.module_state("D"))
    manifest = json.loads((REPO / "models" / "emoji64" / "manifest.json").read_text())
    assert ckpt.info["step"] == manifest["training"]["steps"] and not ckpt_io.restore_rng(ckpt, {})
