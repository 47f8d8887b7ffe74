"""The `studio` command.

User mistakes end with one line `error: ...` on stderr and exit status 2,
never a traceback. Heavy imports (Qt, torch) happen inside the command that
needs them, so `studio models` starts fast and never loads torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from studio import __version__
from studio.core.arguments import ArgumentError
from studio.core.arguments import Parser as _Parser
from studio.core.arguments import number, path_name, whole
from studio.core.errors import os_error_line
from studio.engine.devices import add_device_flag

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; printed as one `error:` line."""


COMMANDS = {
    "doctor": "versions, devices (available vs active and why), models and folders",
    "models": "list models with their status",
    "generate": "render one image, or a grid of seeds, from a generator",
    "interpolate": "render an animation through seeds (GIF, MP4, WebP or PNG frames)",
    "project": "put a picture into a generator's latent space (its encoder) and draw it back",
    "recipe": "print the recipe embedded in an exported file",
    "datasets": "extract installable training data (emoji)",
    "train": "train a generator on a folder of images (runs PyTorch)",
    "export": "export a training run as an ONNX model the app can use",
    "stylize": "restyle an image or a folder with a built-in style blend or any picture as the style",
    "inpaint": "fill the holes a mask marks in an image or a folder (learned model, OpenCV Telea/NS, or PatchMatch content-aware)",
    "upscale": "enlarge an image or a folder x2 or x4, to print size (learned upscaler or Lanczos)",
    "convert": "convert between .studio, OpenRaster .ora and flat images (files or folders)",
    "install-desktop": "add the app to this desktop's menus, with its icon and .studio files (Linux)",
}


# Past any picture sheet or animation a person makes, and bounded so a typo
# cannot fill the memory: frames are held until the file is written (10,000
# frames of 256 px are 2 GB); GIF timing has 10 ms steps, so 100 fps at most.
MAX_COUNT = 4096
MAX_FRAMES = 10_000
FPS_RANGE = (0.5, 100.0)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a seed (a whole number)") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed {value} is out of range 0..4294967295")
    return value


def _seed_list(text: str) -> list[int]:
    seeds = [_seed(part.strip()) for part in text.split(",") if part.strip()]
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed, e.g. 3,14,15")
    return seeds


def _path_list(text: str) -> list[str]:
    paths = [part.strip() for part in text.split(",") if part.strip()]
    if len(paths) < 2:
        raise argparse.ArgumentTypeError("give two or more pictures to walk between, e.g. a.png,b.png")
    return paths


def _truncation(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"truncation {value} is outside 0..2")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="studio",
        usage="studio [FILE] [--device {auto,cpu,cuda}]   (opens the app)\n       studio COMMAND [options]",
        description="Latent Studio: explore, restyle and repair images with generators you train yourself.",
        epilog="Run 'studio COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"latent-studio {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=_Parser)

    def command(name: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, prog=f"studio {name}", help=COMMANDS[name], description=COMMANDS[name])

    p = command("doctor")
    add_device_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("models")
    p.add_argument("--json", action="store_true", help="print a JSON list")

    p = command("generate")
    p.add_argument("--model", required=True, help="generator name (see: studio models)")
    p.add_argument("--seed", type=_seed, required=True, help="first seed")
    p.add_argument("--count", type=whole(1, MAX_COUNT), default=1, help="seeds seed..seed+count-1 as a grid")
    p.add_argument("--truncation", type=_truncation, default=1.0, help="0..2; lower is more typical (default 1)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="PNG, JPEG, WebP or TIFF file (several seeds: a grid), or DIR/ for one PNG per seed")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_device_flag(p)

    p = command("interpolate")
    p.add_argument("--model", required=True, help="generator name (see: studio models)")
    keys = p.add_mutually_exclusive_group(required=True)
    keys.add_argument("--seeds", type=_seed_list, help="keyframe seeds, e.g. 3,14,15")
    keys.add_argument("--images", type=_path_list,
                      help="keyframe pictures, e.g. a.png,b.png: put into the latent space by the model's encoder")
    p.add_argument("--frames", type=whole(1, MAX_FRAMES), default=48, help="frames in all (default 48)")
    p.add_argument("--mode", choices=["slerp", "lerp"], default="slerp")
    p.add_argument("--loop", action="store_true", help="return to the first keyframe for a seamless loop")
    p.add_argument("--truncation", type=_truncation, default=1.0)
    p.add_argument("--fps", type=number(*FPS_RANGE), default=24.0,
                   help=f"frames per second, {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} (default 24)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="out.gif, out.mp4, out.webp, or a folder DIR/ for PNG frames")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_device_flag(p)

    p = command("project")
    p.add_argument("image", type=path_name, help="the picture (PNG, JPEG, WebP, TIFF, ...)")
    p.add_argument("--model", required=True,
                   help="a generator (see: studio models); without --refine it needs an encoder")
    p.add_argument("--refine", type=_positive_int, metavar="N",
                   help="then optimise the latent N steps against the generator (runs PyTorch; from the encoder's "
                        "latent, or the mean latent for a model without an encoder)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="the reconstruction, with the latent in its recipe (PNG, JPEG, WebP or TIFF)")
    p.add_argument("--json", action="store_true", help="print what was written, the error and the latent as JSON")
    add_device_flag(p)

    p = command("recipe")
    p.add_argument("file", type=path_name)
    p.add_argument("--json", action="store_true", help="print the recipe as JSON")

    p = command("datasets")
    p.add_argument("dataset", choices=["emoji"], help="emoji: the Noto Color Emoji illustrations (SIL OFL)")
    p.add_argument("dest", type=path_name, help="folder to write PNG files into")

    from studio import cli_stylize

    cli_stylize.add_arguments(command("stylize"), _positive_int)

    from studio import cli_inpaint

    cli_inpaint.add_arguments(command("inpaint"))

    from studio import cli_upscale

    cli_upscale.add_arguments(command("upscale"))

    from studio import cli_convert

    cli_convert.add_arguments(command("convert"))

    from studio import cli_desktop

    cli_desktop.add_arguments(command("install-desktop"))

    for name in ("train", "export"):
        p = command(name)
        p.add_argument("args", nargs=argparse.REMAINDER, help=f"see: studio {name} --help")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv)
    except BrokenPipeError:  # `studio recipe X | head`: the reader left; nothing to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path the system refuses (too long, a loop of links, gone): one line
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


def _run(argv: list[str]) -> int:
    # `studio train/export ...` hand their arguments to the trainer untouched,
    # so its own --help and errors apply.
    if argv and argv[0] in ("train", "export"):
        from studio.core.trainer_availability import trainer_missing

        if trainer_missing():
            print(f"error: {trainer_missing()}", file=sys.stderr)
            return EXIT_USAGE
    if argv and argv[0] == "train":
        from studio.train import cli  # imports torch: only here

        return cli.main(argv[1:])
    if argv and argv[0] == "export":
        from studio.train import export

        return export.main(argv[1:])
    try:
        if argv and _is_a_mistyped_command(argv[0]):
            raise UserError(_unknown_command(argv[0]))
        if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
            return _open_app(argv)
        args = build_parser().parse_args(argv)
        return HANDLERS[args.command](args)
    except (UserError, ArgumentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _is_a_mistyped_command(word: str) -> bool:
    """A first word that is neither a command, an option nor a file to open:
    a bare word with no suffix that names nothing on disk."""
    return (word not in COMMANDS and not word.startswith("-") and not Path(word).suffix
            and not Path(word).exists())


def _unknown_command(word: str) -> str:
    import difflib

    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.5)
    close = close or [c for c in COMMANDS if c.startswith(word)][:1]
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown command '{word}' ({hint}see: studio --help)"


def _open_app(argv: list[str]) -> int:
    parser = _Parser(prog="studio", add_help=False)
    parser.add_argument("file", nargs="?")
    add_device_flag(parser)
    args = parser.parse_args(argv)
    if args.file and not Path(args.file).exists():
        raise UserError(f"no such file: {args.file}")
    from studio.ui import app  # Qt is loaded only for the window

    problem = app.display_problem()
    if problem:
        raise UserError(problem)
    return app.run(args.file, args.device)


def _engine_errors():
    """The exception types that mean 'bad input' for engine/core calls. An
    OSError is left to main(), which says which path the system refused."""
    from studio.core.imageio import ImageError
    from studio.engine.registry import ModelError
    from studio.engine.runtime import DeviceError

    return ModelError, ImageError, DeviceError


def _generator(args):
    from studio.engine.generator import Generator
    from studio.engine.registry import Registry
    from studio.engine.runtime import Runtime

    runtime = Runtime(args.device, warm=False)  # a one-shot command runs each model once
    return Generator(Registry().get(args.model, kind="generator"), runtime)


def cmd_doctor(args) -> int:
    from studio.engine.diagnostics import diagnose

    try:
        report = diagnose(args.device)
    except _engine_errors() as exc:
        raise UserError(str(exc)) from None
    from studio.core.datasets import NOTO_EMOJI_PATH
    from studio.core.trainer_availability import trainer_missing
    from studio.ui.app import display_problem  # neither loads Qt: they check what Qt would need
    from studio.ui.system_libraries import xcb_problem

    report["system"] = {
        "display": display_problem() or "ok",
        "qt_libraries": xcb_problem() or "ok",
        "trainer": trainer_missing() or "ok (PyTorch installed)",
        "emoji_font": (str(NOTO_EMOJI_PATH) if NOTO_EMOJI_PATH.is_file()
                       else "not found: `studio datasets emoji` needs it (apt install fonts-noto-color-emoji)"),
    }
    report["problems"] += [xcb_problem()] if xcb_problem() else []
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if report["problems"] else 0
    dev = report["device"]
    print(f"Latent Studio {report['studio']}  (Python {report['python']}, {report['platform']})")
    print("packages:  " + ", ".join(f"{k} {v}" for k, v in report["packages"].items()))
    print(f"device:    requested {dev['requested']}, using {dev['using']} with {dev['threads']} threads")
    print(f"providers: available {', '.join(dev['providers_available'])}")
    active = ", ".join(dev["providers_active"]) if dev["providers_active"] else "(no usable model to open a session)"
    print(f"           active    {active}")
    for name, status in dev["accelerators"].items():
        print(f"{name.upper() + ':':<10} {'usable' if status['usable'] else 'not usable'} ({status['reason']})")
    print(f"GPUs:      {', '.join(dev['gpus']) or 'none found'}")
    print("models:")
    name_w = max([20] + [len(m["name"]) for m in report["models"]])
    kind_w = max([10] + [len(m["kind"]) for m in report["models"]])
    for m in report["models"]:
        state = "ok" if m["status"] == "ok" else f"skipped: {m['reason']}"
        print(f"  {m['name']:<{name_w}} {m['kind']:<{kind_w}} {state}")
    if not report["models"]:
        print("  (none)")
    for role, folder in report["folders"].items():
        print(f"{role + ':':<16} {folder}")
    for part, state in report["system"].items():
        print(f"{part.replace('_', ' ') + ':':<16} {state}")
    for problem in report["problems"]:
        print(f"problem:   {problem}")
    return 1 if report["problems"] else 0


def cmd_models(args) -> int:
    from studio.engine.registry import Registry

    entries = [e.summary() for e in Registry().entries(usable_only=False)]
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    name_w = max([20] + [len(m["name"]) for m in entries])
    kind_w = max([10] + [len(m["kind"]) for m in entries])
    for m in entries:
        print(f"{m['name']:<{name_w}} {m['kind']:<{kind_w}} {m['status']:<8} {m['reason']}")
    if not entries:
        print("no models found")
    return 0


def cmd_generate(args) -> int:
    """One picture, a grid of seeds, or with -o DIR/ (or an existing folder) one
    file per seed, each carrying its own recipe."""
    from studio.core.grid import make_grid
    from studio.core.imageio import save_image
    from studio.core.latent import latent_from_seed, truncate

    seeds = list(range(args.seed, args.seed + args.count))
    if seeds[-1] >= 2**32:
        raise UserError(f"seeds {args.seed}..{seeds[-1]} go past the last seed, {2**32 - 1}")
    to_folder = args.output.endswith(("/", os.sep)) or Path(args.output).is_dir()
    written = []
    try:
        gen = _generator(args)
        if to_folder:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        batches = []
        for start in range(0, len(seeds), 64):
            batch = seeds[start:start + 64]
            images = gen.render(np.stack([truncate(latent_from_seed(s, gen.latent_size), args.truncation)
                                          for s in batch]))
            if not to_folder:
                batches.append(images)
                continue
            for seed, image in zip(batch, images):
                written.append(Path(args.output) / f"{gen.entry.name}-seed{seed}.png")
                save_image(written[-1], image, gen.recipe(action="generate", seeds=[seed], truncation=args.truncation))
        if not to_folder:
            images = np.concatenate(batches)
            image = images[0] if len(seeds) == 1 else make_grid(images)
            save_image(args.output, image, gen.recipe(action="generate", seeds=seeds, truncation=args.truncation))
            written.append(Path(args.output))
    except _engine_errors() as exc:
        raise UserError(str(exc)) from None
    size = list(images.shape[2:0:-1]) if to_folder else list(image.shape[1::-1])
    facts = {"outputs": [str(p) for p in written]} if to_folder else {"output": str(args.output)}
    _report(args, {**facts, "seeds": seeds, "size": size, "notice": gen.runtime.shown_notice})
    return 0


def cmd_interpolate(args) -> int:
    from studio.core.animation import save_animation
    from studio.core.imageio import load_image
    from studio.core.walk import LatentKey, LatentWalk

    for path in args.images or []:
        if not Path(path).is_file():
            raise UserError(f"no such file: {path}")
    try:
        gen = _generator(args)
        if args.images:
            from studio.engine.projection import Projector

            projector = Projector(gen)
            keys = [LatentKey.from_projection(projector.project(load_image(p)), Path(p).name, gen.name)
                    for p in args.images]
        else:
            keys = list(args.seeds)
        walk = LatentWalk(keyframes=keys, mode=args.mode, truncation=args.truncation, loop=args.loop)
        latents = walk.frames(gen.latent_size, args.frames)
        frames = np.concatenate([gen.render(latents[i:i + 16]) for i in range(0, len(latents), 16)])
        save_animation(args.output, frames, fps=args.fps, recipe=gen.recipe(**walk.animation_recipe(args.frames,
                                                                                                     args.fps)))
    except (*_engine_errors(), ValueError) as exc:  # ValueError: fewer than two keyframes
        raise UserError(str(exc)) from None
    _report(args, {"output": str(args.output), "frames": len(frames), "notice": gen.runtime.shown_notice})
    return 0


def cmd_project(args) -> int:
    from studio.core.imageio import load_image, save_image
    from studio.core.recipe import encode_latent
    from studio.engine.projection import Projector

    if not Path(args.image).is_file():
        raise UserError(f"no such file: {args.image}")
    try:
        gen = _generator(args)
        result = Projector(gen).project(load_image(args.image), refine_steps=args.refine or 0)
        recipe = gen.recipe(action="project", latent=encode_latent(result.latent), source=Path(args.image).name,
                            psnr=round(result.psnr, 2), **({"refine_steps": args.refine} if args.refine else {}))
        save_image(args.output, result.rebuilt, recipe)
    except _engine_errors() as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps({"output": str(args.output), "psnr": round(result.psnr, 3),
                          "latent": [round(float(v), 6) for v in result.latent]}))
    else:
        print(f"wrote {args.output} (the picture rebuilt at {result.psnr:.1f} dB PSNR)")
    return 0


def cmd_recipe(args) -> int:
    from studio.core.imageio import ImageError
    from studio.core.recipe import format_recipe, read_recipe

    if not Path(args.file).exists():  # a folder of exported frames is fine too
        raise UserError(f"no such file: {args.file}")
    try:
        recipe = read_recipe(args.file)
    except ImageError as exc:
        raise UserError(str(exc)) from None
    if recipe is None:
        raise UserError(f"{args.file} carries no Latent Studio recipe")
    print(json.dumps(recipe, indent=2) if args.json else format_recipe(recipe))
    return 0


def cmd_datasets(args) -> int:
    from studio.core.datasets import DatasetError, extract_emoji

    try:
        count = extract_emoji(Path(args.dest))
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {count} emoji images to {args.dest}")
    return 0


def _report(args, facts: dict) -> None:
    """What a command did, on stdout (a line, or JSON); a runtime notice the
    user asked for (facts["notice"]) goes to stderr, after the work succeeded."""
    notice = facts.pop("notice", None)
    if notice:
        print(f"notice: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(facts))
    elif "outputs" in facts:
        print(f"wrote {len(facts['outputs'])} files to {Path(facts['outputs'][0]).parent}")
    else:
        print(f"wrote {facts['output']}")


def _fail(message: str):
    """What the cli_* modules call for bad input: one error line, exit 2."""
    raise UserError(message)


def cmd_stylize(args) -> int:
    from studio import cli_stylize

    return cli_stylize.run(args, _fail, lambda facts: _report(args, facts))


def cmd_inpaint(args) -> int:
    from studio import cli_inpaint

    return cli_inpaint.run(args, _fail, lambda facts: _report(args, facts))


def cmd_upscale(args) -> int:
    from studio import cli_upscale

    return cli_upscale.run(args, _fail, lambda facts: _report(args, facts))


def cmd_convert(args) -> int:
    from studio import cli_convert

    return cli_convert.run(args, _fail, lambda facts: _report(args, facts))


def cmd_install_desktop(args) -> int:
    from studio import cli_desktop

    return cli_desktop.run(args, _fail)


HANDLERS = {"doctor": cmd_doctor, "models": cmd_models, "generate": cmd_generate,
            "interpolate": cmd_interpolate, "project": cmd_project, "recipe": cmd_recipe, "datasets": cmd_datasets,
            "stylize": cmd_stylize, "inpaint": cmd_inpaint, "upscale": cmd_upscale,
            "convert": cmd_convert, "install-desktop": cmd_install_desktop}
