import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from model_factory import write_model

from studio.cli import COMMANDS, main
from studio.core.latent import latent_from_seed
from studio.core.recipe import read_recipe
from studio.engine.generator import Generator
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime


@pytest.fixture
def tiny(user_dir):
    """The tiny generator installed as a user model."""
    write_model(user_dir / "models", "tiny")
    return "tiny"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0]


def test_help_lists_every_command_and_module_entry_point_works():
    out = subprocess.run([sys.executable, "-m", "studio", "--help"], capture_output=True, text=True, check=True).stdout
    for name in COMMANDS:
        assert name in out


def test_generate_one_image_matches_engine_and_carries_recipe(capsys, tiny, tmp_path):
    out_file = tmp_path / "one.png"
    code, out, err = run_cli(capsys, "generate", "--model", tiny, "--seed", "42", "--truncation", "0.7", "-o", str(out_file))
    assert code == 0, err
    expected = Generator(Registry().get(tiny), Runtime("cpu")).render(latent_from_seed(42, 8) * np.float32(0.7))[0]
    assert np.array_equal(iio.imread(out_file)[..., :3], expected)
    recipe = read_recipe(out_file)
    assert recipe["model"]["name"] == "tiny" and recipe["seeds"] == [42] and recipe["truncation"] == 0.7
    assert len(recipe["model"]["sha256"]) == 64


def test_generate_grid_and_json(capsys, tiny, tmp_path):
    out_file = tmp_path / "grid.webp"
    code, out, _ = run_cli(capsys, "generate", "--model", tiny, "--seed", "1", "--count", "5", "-o", str(out_file), "--json")
    assert code == 0
    facts = json.loads(out)
    assert facts["seeds"] == [1, 2, 3, 4, 5]
    assert iio.imread(out_file).shape[:2] == (8 * 2 + 2, 8 * 3 + 4)  # 3 columns, 2 rows, 2 px gaps


def test_generate_into_a_folder_writes_one_file_per_seed(capsys, tiny, tmp_path):
    folder = tmp_path / "sheet"
    code, out, err = run_cli(capsys, "generate", "--model", tiny, "--seed", "7", "--count", "3", "-o", f"{folder}/")
    assert code == 0, err
    assert out.strip() == f"wrote 3 files to {folder}"
    generator = Generator(Registry().get(tiny), Runtime("cpu"))
    for seed in (7, 8, 9):
        written = folder / f"tiny-seed{seed}.png"
        assert np.array_equal(iio.imread(written)[..., :3], generator.render(latent_from_seed(seed, 8))[0])
        assert read_recipe(written)["seeds"] == [seed]
    code, _, err = run_cli(capsys, "generate", "--model", tiny, "--seed", str(2**32 - 2), "--count", "3",
                           "-o", str(tmp_path / "x.png"))
    assert_one_error_line(code, err, "go past the last seed")


@pytest.mark.parametrize("suffix", ["gif", "webp"])
def test_interpolate_writes_every_frame(capsys, tiny, tmp_path, suffix):
    out_file = tmp_path / f"walk.{suffix}"
    code, _, err = run_cli(capsys, "interpolate", "--model", tiny, "--seeds", "3,14,15", "--frames", "12", "--loop", "-o", str(out_file))
    assert code == 0, err
    assert len(iio.imread(out_file, index=...)) == 12
    assert read_recipe(out_file)["seeds"] == [3, 14, 15]


def test_interpolate_into_a_folder_of_frames(capsys, tiny, tmp_path):
    folder = tmp_path / "frames"
    code, _, err = run_cli(capsys, "interpolate", "--model", tiny, "--seeds", "1,2", "--frames", "5", "--mode", "lerp", "-o", str(folder) + "/")
    assert code == 0, err
    assert len(list(folder.glob("*.png"))) == 5


@pytest.mark.parametrize("argv,needles", [
    (["generate", "--model", "nope", "--seed", "1", "-o", "x.png"], ["unknown model 'nope'"]),
    (["generate", "--model", "tiny", "--seed", "abc", "-o", "x.png"], ["not a seed"]),
    (["generate", "--model", "tiny", "--seed", "1", "--truncation", "9", "-o", "x.png"], ["outside 0..2"]),
    (["generate", "--model", "tiny", "--seed", "1", "-o", "x.xyz"], ["xyz"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,x", "-o", "a.gif"], ["not a seed"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,2", "--frames", "0", "-o", "a.gif"], ["is not from 1"]),
    (["recipe", "missing.png"], ["no such file"]),
    (["frobnicate"], ["unknown command 'frobnicate'"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,2", "--fps", "nan", "-o", "a.gif"], ["--fps", "not from 0.5"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,2", "--fps", "0", "-o", "a.gif"], ["--fps"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,2", "--fps", "inf", "-o", "a.gif"], ["--fps"]),
    (["interpolate", "--model", "tiny", "--seeds", "1,2", "--frames", "100000000", "-o", "a.gif"], ["--frames"]),
    (["generate", "--model", "tiny", "--seed", "1", "--count", "100000000", "-o", "x.png"], ["--count"]),
    (["gen", "--model", "tiny", "--seed", "1", "-o", "x.png"], ["unknown command 'gen'", "did you mean 'generate'"]),
    (["stylise", "a.png", "-o", "b.png"], ["unknown command 'stylise'", "did you mean 'stylize'"]),
    (["missing.studio"], ["no such file: missing.studio"]),
    (["generate", "--seed", "1"], ["required"]),
])
def test_user_errors_exit_2_with_one_line(capsys, tiny, tmp_path, monkeypatch, argv, needles):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert_one_error_line(code, err, *needles)


def test_unreadable_and_recipe_free_files(capsys, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    code, _, err = run_cli(capsys, "recipe", str(junk))
    assert_one_error_line(code, err, "junk.png")
    plain = tmp_path / "plain.png"
    iio.imwrite(plain, np.zeros((4, 4, 3), np.uint8))
    code, _, err = run_cli(capsys, "recipe", str(plain))
    assert_one_error_line(code, err, "no Latent Studio recipe")


def test_recipe_prints_human_and_json(capsys, tiny, tmp_path):
    out_file = tmp_path / "r.jpg"
    assert run_cli(capsys, "generate", "--model", tiny, "--seed", "7", "-o", str(out_file))[0] == 0
    code, out, _ = run_cli(capsys, "recipe", str(out_file))
    assert code == 0 and "tiny" in out and "7" in out
    code, out, _ = run_cli(capsys, "recipe", str(out_file), "--json")
    assert json.loads(out)["seeds"] == [7]


def test_models_json_lists_good_and_skipped(capsys, tiny, user_dir):
    (user_dir / "models" / "broken").mkdir()
    code, out, _ = run_cli(capsys, "models", "--json")
    models = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    assert models["tiny"]["kind"] == "generator" and models["tiny"]["status"] == "ok"
    assert models["broken"]["status"] == "skipped" and models["broken"]["reason"] == "no manifest.json"


def test_doctor_reports_devices_and_models(capsys, tiny):
    code, out, _ = run_cli(capsys, "doctor", "--json", "--device", "cpu")
    report = json.loads(out)
    assert code == 0
    assert report["device"]["using"] == "cpu"
    assert report["device"]["providers_active"] == ["CPUExecutionProvider"]
    assert "CPUExecutionProvider" in report["device"]["providers_available"]
    assert any(m["name"] == "tiny" for m in report["models"])
    assert set(report["device"]["accelerators"]) == {"cuda", "coreml", "directml"}
    assert report["system"]["display"] == "ok" and report["system"]["trainer"].startswith("ok")
    code, out, _ = run_cli(capsys, "doctor")
    assert code == 0 and "providers" in out and "tiny" in out
    assert "\nemoji font:      " in out and "\nCOREML:    not usable (" in out


@pytest.mark.parametrize("shipped", ["missing", "empty"])
def test_doctor_calls_a_missing_or_empty_shipped_models_folder_a_problem(capsys, tiny, tmp_path, monkeypatch, shipped):
    folder = tmp_path / "shipped"
    if shipped == "empty":
        folder.mkdir()
    monkeypatch.setattr("studio.engine.diagnostics.shipped_models_dir", lambda: folder)
    code, out, _ = run_cli(capsys, "doctor")
    assert code == 1
    assert f"problem:   the shipped models folder {folder}" in out
    code, out, _ = run_cli(capsys, "doctor", "--json")
    assert code == 1 and "reinstall latent-studio" in json.loads(out)["problems"][0]


def test_without_a_display_the_app_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "studio"], capture_output=True, text=True, env=env, timeout=60)
    assert_one_error_line(proc.returncode, proc.stderr, "no display", "QT_QPA_PLATFORM=offscreen")


def test_a_recipe_nested_past_the_stack_is_one_error_line(capsys, tmp_path):
    (tmp_path / "deep.json").write_text('{"format": "latent-studio/recipe@1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = run_cli(capsys, "recipe", str(tmp_path / "deep.json"))
    assert_one_error_line(code, err, "nested too deeply")


@pytest.mark.skipif(Runtime("auto").device != "cpu", reason="an accelerator runs here: there is no notice")
def test_the_accelerator_notice_only_when_asked_for_and_never_beside_an_error(capsys, tiny, tmp_path):
    code, _, err = run_cli(capsys, "generate", "--model", tiny, "--seed", "1", "-o", str(tmp_path / "a.png"),
                           "--device", "auto")
    assert code == 0 and err == ""
    code, _, err = run_cli(capsys, "generate", "--model", "missing", "--seed", "1", "-o", str(tmp_path / "b.png"),
                           "--device", "cuda")
    assert_one_error_line(code, err, "unknown model")
    code, _, err = run_cli(capsys, "generate", "--model", tiny, "--seed", "1", "-o", str(tmp_path / "c.png"),
                           "--device", "cuda")
    assert code == 0 and err.startswith("notice: CUDA not usable") and err.count("\n") == 1


@pytest.mark.parametrize("command", [["recipe", "{long}.png"], ["stylize", "{long}.png", "--style", "1", "-o", "o.png"],
                                     ["train", "--data", "{long}", "--out", "run"], ["export", "{long}", "--name", "x"],
                                     ["models"]])
def test_a_name_too_long_for_the_file_system_is_one_line(capsys, tmp_path, monkeypatch, command):
    long = str(tmp_path / ("a" * 300))
    if command == ["models"]:
        monkeypatch.setenv("STUDIO_USER_DIR", long)
    code, _, err = run_cli(capsys, *[part.format(long=long) for part in command])
    assert_one_error_line(code, err, "file name too long", "...")
