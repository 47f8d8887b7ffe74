"""The one table of a new generator run's defaults and presets, as the CLI
plans a run from it."""

from __future__ import annotations

import pytest

from dataset_factory import make_images
from studio.train.cli import apply_preset, build_parser
from studio.train.plan import plan_run
from studio.train.presets import (CPU_BATCH, CPU_WIDTH, CUDA_BATCH, CUDA_WIDTH, DEFAULT_KEYS, PRESETS, generator_defaults, is_default_base,
                                  r1_gamma)


def test_r1_weight_follows_the_stylegan2_ada_heuristic():
    assert r1_gamma(64, 32) == pytest.approx(0.0256)
    assert r1_gamma(128, 32) == pytest.approx(0.1024)
    assert r1_gamma(256, 16) == pytest.approx(0.8192)


def test_defaults_cover_every_key_and_grow_on_cuda():
    for resolution in CPU_WIDTH:
        cpu = generator_defaults(resolution)
        assert set(cpu) == set(DEFAULT_KEYS) and cpu["resolution"] == resolution
        assert generator_defaults(resolution, cuda=True)["width"] == CUDA_WIDTH > cpu["width"]
    assert CPU_WIDTH[256] < CPU_WIDTH[128]  # the CPU cost grows with the pixels


def _plan(tmp_path, *flags, cuda=False):
    data = make_images(tmp_path / "data")
    args = build_parser().parse_args(["--data", str(data), "--out", str(tmp_path / "run"), *flags])
    return plan_run(args, cuda=cuda).config


def test_a_preset_sets_the_resolution_and_the_defaults_follow_it(tmp_path):
    config = _plan(tmp_path, "--preset", "evening")
    assert config["resolution"] == PRESETS["evening"].resolution
    assert config["width"] == CPU_WIDTH[config["resolution"]]
    assert config["r1_gamma"] == r1_gamma(config["resolution"], config["batch"])
    assert config["arch"] == "fastgan2" and config["fit"] == "auto"


def test_given_flags_win_over_the_preset_and_the_defaults(tmp_path):
    config = _plan(tmp_path, "--preset", "evening", "--resolution", "64", "--batch", "16", "--width", "0.75")
    assert (config["resolution"], config["batch"], config["width"]) == (64, 16, 0.75)
    assert config["r1_gamma"] == r1_gamma(64, 16)


def test_cuda_runs_get_gpu_class_widths(tmp_path):
    assert _plan(tmp_path, "--resolution", "128", cuda=True)["width"] == CUDA_WIDTH


def test_a_cpu_run_takes_small_batches_and_its_r1_weight_follows(tmp_path):
    cpu, cuda = _plan(tmp_path, "--resolution", "128"), _plan(tmp_path, "--resolution", "128", cuda=True)
    assert (cpu["batch"], cuda["batch"]) == (CPU_BATCH, CUDA_BATCH) and CPU_BATCH < CUDA_BATCH
    assert cpu["r1_gamma"] == r1_gamma(128, CPU_BATCH) > cuda["r1_gamma"]


def test_a_preset_sets_the_duration_unless_it_is_given():
    for flags, minutes, steps in ((["--preset", "overnight"], PRESETS["overnight"].minutes, None),
                                  (["--preset", "overnight", "--minutes", "5"], 5, None),
                                  (["--preset", "overnight", "--steps", "7"], None, 7)):
        args = build_parser().parse_args(flags)
        apply_preset(args)
        assert (args.minutes, args.steps) == (minutes, steps)


def test_a_default_base_is_a_generator_exported_as_one_at_the_runs_size():
    manifest = {"kind": "generator", "base_model": True, "resolution": 128, "training": {"width": 0.5}}
    assert is_default_base(manifest, 128, 0.5)
    assert not is_default_base(manifest, 64, 0.5) and not is_default_base(manifest, 128, 4.0)
    assert not is_default_base({**manifest, "base_model": False}, 128, 0.5)
    assert not is_default_base({**manifest, "kind": "inpaint"}, 128, 0.5)
    assert not is_default_base({"kind": "generator", "base_model": True, "resolution": 128}, 128, 0.5)


def test_a_manifest_nested_past_what_json_parses_is_not_a_base(tmp_path):
    from studio.train.base_models import read_manifest

    (tmp_path / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    assert read_manifest(tmp_path) == {}
