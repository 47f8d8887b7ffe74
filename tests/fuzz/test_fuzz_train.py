"""`studio train`, `studio export` and the trainer's `refine`, in-process,
given generated bad arguments and files: exit status 2, one `error: ` line,
nothing written (refusal.py). Fewer tries than the app's commands: a call
that gets past the checks pays for the trainer's set-up."""

from __future__ import annotations

import base64
import json
import random

import numpy as np
import pytest
from bad_values import bad_number, bad_whole, call, mutated
from encoder_factory import write_encoder_model
from refusal import Refusals, clear
from world import LONG_NAME, UNKNOWN_MODELS

from studio.cli import main
from studio.core.imageio import save_image
from studio.train.__main__ import main as trainer_main

GOOD_RUN = {"--resolution": "8", "--batch": "2", "--width": "0.25", "--steps": "1", "--threads": "1",
            "--progress": "json"}


def scan_events_only(out: str) -> bool:
    """The trainer may say it is reading files before it refuses them."""
    return all(json.loads(line)["event"] == "scan" for line in out.splitlines())


@pytest.fixture
def trainer_refusals(capfd, monkeypatch, world) -> Refusals:
    return Refusals(capfd, monkeypatch, main, [world.out, world.cwd], stdout_ok=scan_events_only)


@pytest.fixture
def data(world):
    """Four small pictures to train on."""
    folder = world.inputs / "data"
    folder.mkdir()
    for seed in range(4):
        save_image(folder / f"{seed}.png", np.random.default_rng(seed).integers(0, 256, (24, 20, 3), dtype=np.uint8))
    return str(folder)


def garbage_run(world, rng) -> str:
    """A folder whose checkpoint is no checkpoint."""
    folder = world.inputs / f"run-{rng.randrange(10 ** 6)}"
    folder.mkdir()
    (folder / "checkpoint.safetensors").write_bytes(rng.choice([b"", rng.randbytes(200), b"\x08" + b"\0" * 7 + b"{"]))
    return str(folder)


def test_train(trainer_refusals, world, data, capfd):
    rng = random.Random("train")
    good = {"--data": data, "--out": str(world.out / "run"), **GOOD_RUN}
    assert main(call(["train"], good)) == 0, capfd.readouterr().err
    clear(world.out)
    bad = {
        "--data": lambda: rng.choice([world.missing(""), str(world.notes), str(world.empty_folder),
                                      str(world.notes_folder), world.broken_pictures_folder(rng, good_too=False),
                                      "", None]),
        "--out": lambda: rng.choice([str(world.notes), f"{world.notes}/run", "/proc/nowhere/run",
                                     str(world.out / LONG_NAME), "", None]),
        "--resume": lambda: rng.choice([str(world.empty_folder), str(world.notes), world.missing(""),
                                        garbage_run(world, rng)]),
        "--base": lambda: rng.choice(UNKNOWN_MODELS + (str(world.notes), str(world.empty_folder))),
        "--resolution": lambda: rng.choice(["7", "0", "-8", "x", "12", "100000", ""]),
        "--task": lambda: rng.choice(["paint", "", "GENERATE"]),
        "--fit": lambda: "stretch",
        "--background": lambda: rng.choice(["blue", "#12", "", "#gggggg", "rgb(1,2,3)"]),
        "--precision": lambda: "fp8",
        "--device": lambda: rng.choice(["warp", "cuda:99", "", "cpu:x"]),
        "--preset": lambda: "weekend",
        "--batch": lambda: bad_whole(rng, 2, 512),
        "--steps": lambda: bad_whole(rng, 1, 10 ** 9),
        "--minutes": lambda: bad_number(rng, 0, 7 * 24 * 60),  # beside --steps: refused either way
        "--checkpoint-every": lambda: bad_whole(rng, 1, 10 ** 9),
        "--metrics-every": lambda: bad_whole(rng, 0, 10 ** 9),
        "--threads": lambda: bad_whole(rng, 0, 1024),
        "--width": lambda: bad_number(rng, 0.0625, 8),
        "--lr": lambda: rng.choice([bad_number(rng, 0, 1), "0"]),
        "--r1-gamma": lambda: bad_number(rng, 0, 10 ** 4),
        "--ema-kimg": lambda: rng.choice([bad_number(rng, 0, 10 ** 6), "0"]),
        "--seed": lambda: bad_whole(rng, 0, 2 ** 32 - 1),
        "--freeze-d": lambda: bad_whole(rng, 0, 64),
        "--nice": lambda: bad_whole(rng, 0, 19),
        "--epochs": lambda: "3",
    }
    for _ in range(60):
        trainer_refusals.check(*mutated(rng, ["train"], good, bad))
    # Found by the draws above: a folder without a usable picture left an empty run folder behind.
    trainer_refusals.check("no usable picture", call(["train"], {**good, "--data": str(world.notes_folder)}))
    trainer_refusals.assert_clean()


def test_export(trainer_refusals, world, data, capfd):
    rng = random.Random("export")
    run = str(world.inputs / "run")
    assert main(call(["train"], {"--data": data, "--out": run, **GOOD_RUN})) == 0
    good = {"run": run, "--name": "mine", "--dest": str(world.out / "models")}
    assert main(call(["export"], good)) == 0, capfd.readouterr().err
    capfd.readouterr()
    clear(world.out)
    bad = {"run": lambda: rng.choice([world.missing(""), str(world.notes), str(world.empty_folder),
                                      garbage_run(world, rng), None]),
           "--name": lambda: rng.choice(["", "../evil", "a b", LONG_NAME, "mine/x", ".", None]),
           "--dest": lambda: rng.choice([str(world.notes), f"{world.notes}/models", "/proc/nowhere",
                                         str(world.out / LONG_NAME)]),
           "--colour": lambda: "red"}
    for _ in range(20):
        trainer_refusals.check(*mutated(rng, ["export"], good, bad))
    trainer_refusals.assert_clean()


def test_refine(capfd, monkeypatch, world, tmp_path):
    """The trainer's `refine`, which `studio project --refine` starts."""
    rng = random.Random("refine")
    model = write_encoder_model(tmp_path / "models", "painter")
    target = world.inputs / "target.png"
    save_image(target, np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    good = {"model": str(model), "target": str(target), "--steps": "1"}
    assert trainer_main(call(["refine"], good)) == 0
    capfd.readouterr()

    def latent(values) -> str:
        return "f32:" + base64.b64encode(np.asarray(values, "<f4").tobytes()).decode()

    bad = {"model": lambda: rng.choice([world.missing(""), str(world.notes), str(world.empty_folder),
                                        str(world.photo), None]),
           "target": lambda: rng.choice([world.bad_picture_input(rng), str(world.photo), None]),  # photo: 40 x 32
           "--steps": lambda: rng.choice(["0", "-1", "x", "", None]),
           "--start": lambda: rng.choice(["x", "f32:", "f32:!!!", "f32:AAA=", latent([0.5]), latent([np.nan] * 16),
                                          latent(np.zeros(17))]),
           "--threads": lambda: rng.choice(["x", ""])}
    refusals = Refusals(capfd, monkeypatch, trainer_main, [world.out, world.cwd])
    for _ in range(30):
        refusals.check(*mutated(rng, ["refine"], good, bad))
    # Found by the draws above: an empty latent raised a RuntimeError, a NaN one was refined into NaN.
    for start in ("f32:", latent([np.nan] * 16)):
        refusals.check(f"--start {start}", call(["refine"], {**good, "--start": start}))
    refusals.assert_clean()
