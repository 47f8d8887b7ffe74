"""`studio upscale`: enlarge an image, or a folder of them, with a learned
upscaler (studio train --task upscale) or Lanczos, in tiles, at any size.

    studio upscale painting.png -o painting-x4.png                 # the installed upscaler, its factor
    studio upscale scan.jpg --scale 2 --model upscale-x4 -o scan-x2.png
    studio upscale renders/ --method lanczos --scale 2 -o big/

The output carries a recipe (`studio recipe OUT`) naming the upscaler.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.core.arguments import path_name
from studio.engine.devices import add_device_flag

METHODS = ("model", "lanczos")  # engine.upscale.METHODS, without importing onnxruntime for --help
SCALES = (2, 4)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=path_name, help="an image, or a folder of images (then -o is a folder)")
    p.add_argument("--scale", type=int, choices=SCALES,
                   help="enlargement factor (default: the model's, 4 with Lanczos)")
    p.add_argument("--method", choices=METHODS,
                   help="model (a learned upscaler) or lanczos (Pillow); default: model when one is installed, "
                        "else lanczos")
    p.add_argument("--model", help="upscale model name (see: studio models); implies --method model")
    p.add_argument("--tile", type=int, help="input pixels per tile side (default 512; smaller uses less memory)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="output file (PNG, JPEG, WebP, TIFF) or folder")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_device_flag(p)


def run(args, fail, report) -> int:
    """fail(message) raises the CLI's one-line error; report(facts) prints the result."""
    from studio.core.imageio import IMAGE_SUFFIXES, ImageError, image_size, load_image, save_image
    from studio.core.memory_budget import MemoryBudgetError, current_budget
    from studio.engine.registry import ModelError, Registry
    from studio.engine.runtime import DeviceError, Runtime
    from studio.engine.upscale import (DEFAULT_TILE, MAX_OUTPUT_PIXELS, UpscaleError, default_model, output_size,
                                       upscale, upscale_recipe)

    source, target = Path(args.input), Path(args.output)
    if not source.exists():
        fail(f"no such file or folder: {source}")
    if args.model and args.method == "lanczos":
        fail("--model picks a learned upscaler; it does not go with --method lanczos")
    if args.tile is not None and args.tile < 16:
        fail(f"--tile must be at least 16 px, got {args.tile}")
    if source.is_dir():
        jobs = [(f, target / f.name) for f in sorted(source.iterdir())
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        if not jobs:
            fail(f"{source} holds no images")
    else:
        jobs = [(source, target)]
    # (an OSError is left to cli.main(), which names the path the system refused)
    errors = (UpscaleError, ImageError, ModelError, DeviceError, MemoryBudgetError)
    written = []
    try:
        registry = Registry()
        entry = None
        if args.model:
            entry = registry.get(args.model, kind="upscale")
        elif args.method in (None, "model"):
            entry = default_model(registry, args.scale)
            if entry is None and args.method == "model":
                fail("no upscale model is installed (see: studio models); use --method lanczos")
        method = "model" if entry is not None else "lanczos"
        scale = args.scale or (int(entry.manifest.get("scale", 4)) if entry is not None else 4)
        runtime = None
        if entry is not None:
            runtime = Runtime(args.device, warm=False)  # a one-shot command runs each model once
        tile = args.tile or DEFAULT_TILE
        budget = current_budget()
        for src, _ in jobs:  # every size and memory need is checked before any work starts (headers only)
            size = image_size(src, MAX_OUTPUT_PIXELS)
            try:
                output_size(*size, scale)
            except UpscaleError as exc:
                fail(f"{src.name}: {exc}")
            _check_memory(budget, src.name, *size, scale, method, tile)
        limit = MAX_OUTPUT_PIXELS // scale ** 2  # inputs are bounded by the output's limit, not the canvas's
        recipe = upscale_recipe(method, scale, entry)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        for src, dst in jobs:
            out = upscale(load_image(src, max_pixels=limit), scale, entry, runtime, tile=tile)
            save_image(dst, out, recipe)
            written.append(str(dst))
    except errors as exc:
        fail(str(exc))
    report({"output": written[0] if len(written) == 1 else str(target), "images": len(written),
            "notice": runtime.shown_notice if runtime is not None else None,
            "method": method, "model": entry.name if entry is not None else None, "scale": scale})
    return 0


def _check_memory(budget, name: str, width: int, height: int, scale: int, method: str, tile: int) -> None:
    """MemoryBudgetError, with a smaller --tile or --scale that would fit as
    its hint, when decoding and enlarging the picture would not fit."""
    from studio.core.imageio import DECODING
    from studio.core.memory_budget import MemoryBudgetError, picture_subject
    from studio.engine.upscale import memory_needed

    def need(scale: int, tile: int) -> int:
        return DECODING.need(width, height) + memory_needed(width, height, scale, method, tile)

    wanted = need(scale, tile)
    if budget.allows(wanted):
        return
    smaller = [(f"try --tile {t}", need(scale, t)) for t in (256, 128) if method == "model" and t < tile]
    smaller += [(f"try --scale {s}", need(s, tile)) for s in SCALES if s < scale]
    hint = next((text for text, n in smaller if budget.allows(n)), "")
    raise MemoryBudgetError(budget.refusal(picture_subject(name, width, height), f"enlarging it x{scale}", wanted,
                                           hint))
