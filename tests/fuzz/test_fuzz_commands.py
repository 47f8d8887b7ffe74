"""Every `studio` subcommand, in-process, given generated bad arguments and
files: each call must end with exit status 2 and one `error: ` line, write
nothing, and print no traceback (refusal.py). A seeded random.Random draws
the cases, so a failure names a case that comes back on every run; the
number of tries bounds the time.

Each command's good call runs first, so the refusals are the bad
argument's doing, not a setup that fails whatever is asked."""

from __future__ import annotations

import random
import shutil

import pytest
from bad_values import bad_number, bad_whole, call, mutated
from encoder_factory import write_encoder_model
from model_factory import write_model
from refusal import clear
from world import LONG_NAME, UNKNOWN_MODELS

from studio.cli import MAX_COUNT, MAX_FRAMES, main
from studio.core.recipe import PNG_KEY

SEED_LIMIT = 2 ** 32 - 1


@pytest.fixture(scope="module")
def painter_folder(tmp_path_factory):
    """A 32 px generator with an encoder (project, interpolate --images)."""
    return write_encoder_model(tmp_path_factory.mktemp("models"), "painter")


@pytest.fixture
def models(user_dir, painter_folder):
    write_model(user_dir / "models", "tiny")
    shutil.copytree(painter_folder, user_dir / "models" / "painter")


def run_cases(refusals, world, rng, tries, command, good, bad, capfd):
    """The good call succeeds (then is cleaned away), and `tries` mutations of
    it are refused cleanly."""
    argv = call(command, good)
    assert main(argv) == 0, (argv, capfd.readouterr().err)
    clear(world.out)
    for _ in range(tries):
        refusals.check(*mutated(rng, command, good, bad))
    refusals.assert_clean()


def test_generate(refusals, world, models, capfd):
    rng = random.Random("generate")
    good = {"--model": "tiny", "--seed": "7", "--count": "2", "--truncation": "0.8", "-o": world.output()}
    bad = {"--model": lambda: rng.choice(UNKNOWN_MODELS + (None,)),
           "--seed": lambda: rng.choice([bad_whole(rng, 0, SEED_LIMIT), None]),
           "--count": lambda: bad_whole(rng, 1, MAX_COUNT),
           "--truncation": lambda: bad_number(rng, 0, 2),
           "-o": lambda: rng.choice([world.bad_output(rng), None, f"{world.notes}/"]),
           "--device": lambda: rng.choice(["warp", "CUDA", "", "gpu0"]),
           "--colour": lambda: "red"}
    run_cases(refusals, world, rng, 100, ["generate"], good, bad, capfd)


def test_generate_seeds_past_the_last(refusals, world, models):
    refusals.check("seeds past 2**32", ["generate", "--model", "tiny", "--seed", str(SEED_LIMIT - 1),
                                        "--count", "3", "-o", world.output()])
    refusals.assert_clean()


def test_interpolate(refusals, world, models, capfd):
    rng = random.Random("interpolate")
    good = {"--model": "painter", "--seeds": "3,14", "--frames": "3", "--fps": "12", "-o": world.output(".gif")}
    bad = {"--model": lambda: rng.choice(UNKNOWN_MODELS + (None,)),
           "--seeds": lambda: rng.choice(["", ",", "1,x", "-1,2", f"1,{SEED_LIMIT + 1}", "3", "nan,1", None]),
           "--images": lambda: rng.choice([f"{world.photo},{world.bad_picture_input(rng)}",
                                           f"{world.bad_picture_input(rng)},{world.photo}", str(world.photo),
                                           f"{world.photo},{world.empty_folder}", ","]),
           "--frames": lambda: bad_whole(rng, 1, MAX_FRAMES),
           "--fps": lambda: bad_number(rng, 0.5, 100),
           "--truncation": lambda: bad_number(rng, 0, 2),
           "--mode": lambda: rng.choice(["spiral", "", "SLERP"]),
           "-o": lambda: rng.choice([str(world.out / "walk.xyz"), str(world.out / "walk.png"),
                                     "/proc/nowhere/walk.gif", str(world.out / f"{LONG_NAME}.gif"),
                                     f"{world.notes}/walk.gif", "", None])}
    run_cases(refusals, world, rng, 80, ["interpolate"], good, bad, capfd)


def test_interpolate_through_pictures_with_a_model_without_an_encoder(refusals, world, models):
    refusals.check("tiny has no encoder", ["interpolate", "--model", "tiny", "--images",
                                           f"{world.photo},{world.photo}", "-o", world.output(".gif")])
    refusals.assert_clean()


def test_project(refusals, world, models, capfd):
    rng = random.Random("project")
    good = {"image": str(world.photo), "--model": "painter", "-o": world.output()}
    bad = {"image": lambda: rng.choice([world.bad_picture_input(rng), str(world.empty_folder), "", None]),
           "--model": lambda: rng.choice(UNKNOWN_MODELS + ("tiny", None)),  # tiny: no encoder
           "--refine": lambda: rng.choice(["0", "-3", "x", "1.5", "", "nan"]),
           "-o": lambda: rng.choice([world.bad_output(rng), None]),
           "--json": lambda: "yes"}
    run_cases(refusals, world, rng, 60, ["project"], good, bad, capfd)


def test_recipe(refusals, world, models, capfd):
    rng = random.Random("recipe")
    assert main(["generate", "--model", "tiny", "--seed", "1", "-o", str(world.inputs / "made.png")]) == 0
    made = (world.inputs / "made.png").read_bytes()
    good = {"file": str(world.inputs / "made.png")}

    def damaged_recipe() -> str:
        # A PNG whose recipe chunk says something else than a recipe.
        from PIL import Image, PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_itxt(PNG_KEY, rng.choice(['{"format": "latent-studio/recipe@1", "seeds": ', "[1, 2]", "NaN",
                                           '{"format": "latent-studio/recipe@99"}',
                                           '{"format": 7}', "{" * 5000]))
        path = world.write("recipe", ".png", b"")
        Image.new("RGB", (4, 4)).save(path, pnginfo=info)
        return path

    bad = {"file": lambda: rng.choice([
        lambda: world.bad_picture_input(rng), lambda: world.missing(".json"), lambda: str(world.empty_folder),
        lambda: str(world.photo),  # carries no recipe
        lambda: world.write("deep", ".json", b'{"format": "latent-studio/recipe@1", "x": ' + b"[" * 50000),
        lambda: world.write("cut", ".png", made[: rng.randint(1, len(made) // 2)]),
        lambda: world.write("noise", ".mp4", rng.randbytes(300)),
        damaged_recipe, lambda: None])(),
        "--colour": lambda: "red"}
    run_cases(refusals, world, rng, 60, ["recipe"], good, bad, capfd)


def test_datasets(refusals, world):
    # Only bad calls: the good one extracts four thousand pictures.
    rng = random.Random("datasets")
    for _ in range(8):
        dest = rng.choice([str(world.notes), f"{world.notes}/emoji", "/proc/nowhere/emoji",
                           str(world.out / LONG_NAME)])
        refusals.check(f"dest {dest[-40:]!r}", ["datasets", "emoji", dest])
    for dataset in ("pokemon", "", "EMOJI"):
        refusals.check(f"dataset {dataset!r}", ["datasets", dataset, str(world.out / "emoji")])
    refusals.check("no dest", ["datasets", "emoji"])
    refusals.assert_clean()


def test_stylize(refusals, world, capfd):
    rng = random.Random("stylize")
    good = {"input": str(world.photo), "--style": "3:0.5,12:0.5", "--strength": "0.7", "--tile": "0",
            "--mask": str(world.mask), "-o": world.output()}
    bad = {"input": lambda: rng.choice([world.bad_picture_input(rng), str(world.empty_folder),
                                        str(world.notes_folder), None]),
           "--style": lambda: rng.choice(["99", "-1", "26", "3:x", "3:-1", "3:nan", "3:inf", "", ":", "1:0",
                                          "abc", "3:0.5,", "3::1", "1e3", None]),
           "--style-image": lambda: rng.choice([world.bad_picture_input(rng), str(world.empty_folder)]),
           "--strength": lambda: bad_number(rng, 0, 1),
           "--tile": lambda: rng.choice(["-1", "x", "1.5", "", "nan"]),
           "--max-size": lambda: rng.choice(["0", "-5", "x", "1.5", ""]),
           "--mask": lambda: rng.choice([world.bad_picture_input(rng), str(world.small_mask),
                                         str(world.empty_folder)]),
           "-o": lambda: world.bad_output(rng),
           "--device": lambda: "warp"}
    run_cases(refusals, world, rng, 80, ["stylize"], good, bad, capfd)


def test_stylize_a_folder_with_a_mask(refusals, world):
    folder = world.inputs / "photos"
    folder.mkdir()
    shutil.copy(world.photo, folder)
    refusals.check("a folder and --mask", ["stylize", str(folder), "--style", "3", "--mask", str(world.mask),
                                           "-o", str(world.out / "styled")])
    refusals.check("a broken picture in a folder", ["stylize", world.broken_pictures_folder(random.Random(1)),
                                                    "--style", "3", "-o", str(world.out / "styled")])
    refusals.assert_clean()


def test_inpaint(refusals, world, capfd):
    rng = random.Random("inpaint")
    good = {"input": str(world.photo), "--mask": str(world.mask), "--method": "telea", "-o": world.output()}
    bad = {"input": lambda: rng.choice([world.bad_picture_input(rng), str(world.empty_folder), None]),
           "--mask": lambda: rng.choice([world.bad_picture_input(rng), str(world.small_mask), str(world.black_mask),
                                         str(world.empty_folder), None]),
           "--method": lambda: rng.choice(["magic", "", "TELEA"]),
           "--model": lambda: rng.choice(UNKNOWN_MODELS + ("style26",)),  # with telea, or of another kind
           "-o": lambda: world.bad_output(rng),
           "--device": lambda: "warp"}
    run_cases(refusals, world, rng, 80, ["inpaint"], good, bad, capfd)


def test_inpaint_folders(refusals, world):
    photos = world.broken_pictures_folder(random.Random(2))
    refusals.check("folder and a mask file", ["inpaint", photos, "--mask", str(world.mask), "-o", world.output()])
    refusals.check("file and a mask folder", ["inpaint", str(world.photo), "--mask", photos, "-o", world.output()])
    refusals.check("no mask named like a picture", ["inpaint", photos, "--mask", str(world.empty_folder),
                                                    "-o", str(world.out / "filled")])
    masks = world.inputs / "masks"
    masks.mkdir()
    shutil.copy(world.mask, masks / "a.png")
    refusals.check("a broken picture in a folder", ["inpaint", photos, "--mask", str(masks), "--method", "telea",
                                                    "-o", str(world.out / "filled")])
    refusals.assert_clean()


def test_upscale(refusals, world, capfd):
    rng = random.Random("upscale")
    good = {"input": str(world.photo), "--scale": "2", "--method": "lanczos", "-o": world.output()}
    bad = {"input": lambda: rng.choice([world.bad_picture_input(rng), str(world.empty_folder),
                                        world.broken_pictures_folder(rng), None]),
           "--scale": lambda: rng.choice(["3", "0", "-2", "x", "8", "", "2.0"]),
           "--method": lambda: rng.choice(["bicubic", "", "LANCZOS"]),
           "--model": lambda: rng.choice(UNKNOWN_MODELS + ("style26",)),
           "--tile": lambda: rng.choice(["15", "0", "-1", "x", "", "1e9"]),
           "-o": lambda: world.bad_output(rng),
           "--device": lambda: "warp"}
    run_cases(refusals, world, rng, 80, ["upscale"], good, bad, capfd)


def test_convert(refusals, world, capfd):
    rng = random.Random("convert")
    good = {"input": str(world.project), "-o": world.output(".ora")}
    bad = {"input": lambda: rng.choice([lambda: world.broken_layered(rng, ".studio"),
                                        lambda: world.broken_layered(rng, ".ora"),
                                        lambda: world.bad_picture_input(rng), lambda: str(world.empty_folder),
                                        lambda: str(world.notes_folder), lambda: world.missing(".studio"),
                                        lambda: None])(),
           "-o": lambda: rng.choice([str(world.out / "result.psd"), "/proc/nowhere/result.ora",
                                     str(world.out / f"{LONG_NAME}.studio"), f"{world.notes}/result.ora", "",
                                     str(world.out / "result"), None]),
           "--to": lambda: rng.choice(["psd", "png", "", "ORA"])}  # png: not the output's suffix
    run_cases(refusals, world, rng, 100, ["convert"], good, bad, capfd)


def test_convert_a_folder(refusals, world):
    refusals.check("folder without --to", ["convert", str(world.inputs), "-o", str(world.out / "converted")])
    refusals.check("folder of a broken picture", ["convert", world.broken_pictures_folder(random.Random(3)),
                                                  "--to", "ora", "-o", str(world.out / "converted")])
    refusals.assert_clean()


def test_install_desktop(refusals, world, tmp_path):
    rng = random.Random("install-desktop")
    for _ in range(8):
        home = rng.choice([str(world.notes), f"{world.notes}/share", "/proc/nowhere", str(world.out / LONG_NAME)])
        refusals.check(f"XDG_DATA_HOME {home[-40:]!r}", ["install-desktop"], env={"XDG_DATA_HOME": home})
    refusals.check("an argument", ["install-desktop", "now"], env={"XDG_DATA_HOME": str(tmp_path / "share")})
    refusals.check("a flag", ["install-desktop", "--system"], env={"XDG_DATA_HOME": str(tmp_path / "share")})
    refusals.assert_clean()


@pytest.mark.parametrize("command", ["doctor", "models"])
def test_doctor_and_models(refusals, world, command):
    rng = random.Random(command)
    for argv in ([command, "--device", "warp"], [command, "--colour"], [command, "extra"], [command, "--json=no"]):
        refusals.check(" ".join(argv), argv)
    for _ in range(4):
        home = rng.choice([str(world.out / LONG_NAME), f"{world.out}/{LONG_NAME}/{LONG_NAME}"])
        refusals.check("STUDIO_USER_DIR too long", [command], env={"STUDIO_USER_DIR": home})
    refusals.assert_clean()


def test_what_the_fuzzing_found(refusals, world, models):
    """Cases the draws above once found wrong, kept whatever the draws become."""
    for label, argv, env in [
        ("-o '' wrote into the working folder", ["generate", "--model", "tiny", "--seed", "1", "-o", ""], {}),
        ("-o '' said PosixPath('.')", ["interpolate", "--model", "tiny", "--seeds", "1,2", "-o", ""], {}),
        ("[Errno 17] File exists", ["generate", "--model", "tiny", "--seed", "1", "-o", f"{world.notes}/"], {}),
        ("[Errno 2] No such file", ["datasets", "emoji", "/proc/nowhere/emoji"], {}),
        ("[Errno 36] File name too long", ["doctor"], {"STUDIO_USER_DIR": str(world.out / LONG_NAME)}),
    ]:
        refusals.check(label, argv, env)
    refusals.assert_clean()


def test_no_command_or_a_wrong_one(refusals, world):
    rng = random.Random("top")
    for _ in range(30):
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz-") for _ in range(rng.randint(1, 12)))
        argv = rng.choice([[word.strip("-") or "x"], [world.missing(rng.choice([".studio", ".ora", ".png"]))],
                           ["--" + word], [str(world.out / LONG_NAME) + ".studio"],
                           ["--device", rng.choice(["warp", ""])]])
        refusals.check(" ".join(argv)[:60], argv)
    refusals.assert_clean()
