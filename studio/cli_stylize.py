"""`studio stylize`: restyle an image, or a folder of them, with a built-in
style blend or any picture as the style, at full resolution.

    studio stylize photo.jpg --style 7 -o out.png
    studio stylize photo.jpg --style 3:0.5,12:0.5 --strength 0.8 --preserve-color -o out.png
    studio stylize photo.jpg --style-image painting.jpg --mask sky.png -o out.png
    studio stylize photos/ --style 4 -o styled/          # every image in the folder

The output keeps the input's size unless --max-size says otherwise, and
carries a recipe (`studio recipe OUT`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.core.arguments import path_name
from studio.engine.devices import add_device_flag

DEFAULT_TILE = 1024  # px; larger images run in tiles that share one set of statistics


def add_arguments(p: argparse.ArgumentParser, positive_int) -> None:
    p.add_argument("input", type=path_name, help="an image, or a folder of images (then -o is a folder)")
    style = p.add_mutually_exclusive_group(required=True)
    style.add_argument("--style", help="built-in style index 0..25, or a blend like 3:0.5,12:0.5")
    style.add_argument("--style-image", metavar="PAINTING", type=path_name, help="any picture, used as the style")
    p.add_argument("--strength", type=float, default=1.0, help="0 (the input) .. 1 (full style; default)")
    p.add_argument("--preserve-color", "--preserve-colour", dest="preserve_colour", action="store_true",
                   help="keep the input's colours, take only the style's light and texture")
    p.add_argument("--mask", type=path_name,
                   help="restyle only where this picture is white (or opaque); same size as the input")
    p.add_argument("--tile", type=int, default=DEFAULT_TILE,
                   help=f"tile side in px for large images (0 = whole image at once; default {DEFAULT_TILE})")
    p.add_argument("--max-size", type=positive_int, metavar="PX", help="shrink the input so its longest side is at "
                                                                       "most PX first (default: full size)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="output file (PNG, JPEG, WebP, TIFF) or folder")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_device_flag(p)


def run(args, fail, report) -> int:
    """fail(message) raises the CLI's one-line error; report(facts) prints the result."""
    import numpy as np

    from studio.core.imageio import IMAGE_SUFFIXES, ImageError, image_size, load_image, save_image
    from studio.core.mask import MaskError, mask_from_image
    from studio.core.memory_budget import MemoryBudgetError, current_budget
    from studio.core.placement import fit_within
    from studio.engine.generator import model_recipe
    from studio.engine.registry import ModelError, Registry
    from studio.engine.runtime import DeviceError, Runtime
    from studio.engine.style import StyleError, Stylizer

    source, target = Path(args.input), Path(args.output)
    if not source.exists():
        fail(f"no such file or folder: {source}")
    if args.tile < 0:
        fail(f"--tile must be 0 (whole image) or a size in px, got {args.tile}")
    if source.is_dir():
        pairs = [(f, target / f.name) for f in sorted(source.iterdir())
                 if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        if not pairs:
            fail(f"{source} holds no images")
        if args.mask:
            fail("--mask needs a single input image, not a folder")
    else:
        pairs = [(source, target)]
    # (an OSError is left to cli.main(), which names the path the system refused)
    errors = (StyleError, ImageError, MaskError, ModelError, DeviceError, MemoryBudgetError)
    written = []
    try:
        budget = current_budget()
        for src, _ in pairs:  # every picture's memory is checked before any work starts (headers only)
            _check_memory(budget, src.name, *image_size(src), args.max_size, args.tile)
        runtime = Runtime(args.device, warm=False)  # a one-shot command runs each model once
        stylizer = Stylizer(Registry(), runtime)
        if args.style_image:
            vector = stylizer.style_vector(load_image(args.style_image))
            entry = stylizer.entry("style-transform")
            recipe = model_recipe(entry, action="stylize", style_image=Path(args.style_image).name,
                                  strength=args.strength, preserve_colour=args.preserve_colour)
        else:
            weights = stylizer.weights(args.style)
            entry = stylizer.entry("style")
            recipe = model_recipe(entry, action="stylize",
                                  weights={str(i): round(float(w), 4) for i, w in enumerate(weights) if w > 0},
                                  strength=args.strength, preserve_colour=args.preserve_colour)
        mask = mask_from_image(load_image(args.mask)) if args.mask else None
        for src, dst in pairs:
            image = load_image(src)
            if args.max_size:
                image = fit_within(image, args.max_size, args.max_size)
                if mask is not None and mask.shape != image.shape[:2]:
                    fail("--mask cannot be combined with --max-size on a larger image; shrink the mask too")
            options = dict(strength=args.strength, preserve_colour=args.preserve_colour, mask=mask, tile=args.tile)
            if args.style_image:
                out = stylizer.with_vector(image, vector, **options)
            else:
                out = stylizer.builtin(image, weights, **options)
            if dst.suffix.lower() in (".jpg", ".jpeg") and out.shape[2] == 4 and (out[..., 3] < 255).any():
                out = out[..., :3]  # JPEG has no alpha; save_image would refuse
            save_image(dst, np.ascontiguousarray(out), recipe)
            written.append(str(dst))
    except errors as exc:
        fail(str(exc))
    report({"output": written[0] if len(written) == 1 else str(target), "images": len(written),
            "notice": runtime.shown_notice})
    return 0


def _check_memory(budget, name: str, width: int, height: int, max_size: int | None, tile: int) -> None:
    """MemoryBudgetError, with a --tile or --max-size that would fit as its
    hint, when decoding and styling a width x height picture would not fit."""
    from studio.core.imageio import DECODING
    from studio.core.memory_budget import MemoryBudgetError, picture_subject
    from studio.core.placement import fitted_size
    from studio.engine.style import memory_needed

    def need(tile: int, side: int | None) -> int:
        styled = fitted_size(width, height, side, side) if side else (width, height)
        return DECODING.need(width, height) + memory_needed(*styled, tile)

    wanted = need(tile, max_size)
    if budget.allows(wanted):
        return
    if tile == 0 and budget.allows(need(DEFAULT_TILE, max_size)):
        hint = f"try --tile {DEFAULT_TILE}"
    else:
        side = budget.largest_side(width, height, lambda s: need(tile, s))
        hint = f"try --max-size {side}" if side else ""
    raise MemoryBudgetError(budget.refusal(picture_subject(name, width, height), "styling it", wanted, hint))
