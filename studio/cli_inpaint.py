"""`studio inpaint`: fill the holes a mask marks, in an image or a folder of
them, at full resolution.

    studio inpaint photo.jpg --mask scratch.png -o repaired.png    # auto: the model, PatchMatch for thin holes
    studio inpaint photo.jpg --mask scratch.png --method telea -o telea.png
    studio inpaint photo.jpg --mask sign.png --method patchmatch -o aware.png
    studio inpaint photos/ --mask masks/ -o repaired/    # masks matched by file name stem

A mask picture marks holes white (or opaque, when it has transparency), as
core.mask.mask_from_image reads it; values at half or more count, so the
grey specks of a JPEG-saved mask do not become holes. The output carries a
recipe (`studio recipe OUT`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.core.arguments import path_name
from studio.engine.devices import add_device_flag

METHODS = ("auto", "learned", "telea", "ns", "patchmatch")  # engine.inpaint.METHODS, without importing OpenCV
MODEL_METHODS = METHODS[:2]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=path_name, help="an image, or a folder of images (then --mask and -o are folders)")
    p.add_argument("--mask", required=True, type=path_name,
                   help="white (or opaque) where to fill, same size as the input; for a folder input, a folder "
                        "of masks named like the images (photo.jpg <- photo.png)")
    p.add_argument("--method", choices=METHODS,
                   help="auto (each hole by the inpaint model, or by patchmatch where it is too thin for the "
                        "model: scratches, wires), learned (the model alone), telea or ns (OpenCV, classical), "
                        "patchmatch (content-aware: continues the picture's own textures; slower); default: auto "
                        "when an inpaint model is installed, else telea")
    p.add_argument("--model", help="inpaint model name (see: studio models) for auto (the default) or learned")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="output file (PNG, JPEG, WebP, TIFF) or folder")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_device_flag(p)


def run(args, fail, report) -> int:
    """fail(message) raises the CLI's one-line error; report(facts) prints the result."""
    from studio.core.imageio import ImageError, image_size, load_image, save_image
    from studio.core.mask import THRESHOLD, MaskError, mask_from_image
    from studio.core.memory_budget import MemoryBudgetError, current_budget, picture_subject
    from studio.core.rect import bounds
    from studio.engine.inpaint import InpaintError, default_model, inpaint, inpaint_recipe, memory_needed
    from studio.engine.registry import ModelError, Registry
    from studio.engine.runtime import DeviceError, Runtime

    source, masks, target = Path(args.input), Path(args.mask), Path(args.output)
    for path in (source, masks):
        if not path.exists():
            fail(f"no such file or folder: {path}")
    if args.model and args.method not in (None, *MODEL_METHODS):
        fail(f"--model picks an inpaint model for auto or learned; it does not go with --method {args.method}")
    jobs, unmatched = _jobs(source, masks, target, fail)
    # (an OSError is left to cli.main(), which names the path the system refused)
    errors = (InpaintError, ImageError, MaskError, ModelError, DeviceError, MemoryBudgetError)
    written = []
    try:
        registry = Registry()
        entry = None
        if args.model:
            entry = registry.get(args.model, kind="inpaint")
        elif args.method in (None, *MODEL_METHODS):
            entry = default_model(registry)
            if entry is None and args.method is not None:
                fail("no inpaint model is installed (see: studio models); use --method telea, ns or patchmatch")
        method = (args.method or "auto") if entry is not None else (args.method or "telea")
        runtime = None
        if method in MODEL_METHODS:
            runtime = Runtime(args.device, warm=False)  # a one-shot command runs each model once
        recipe = inpaint_recipe(method, entry)
        # Memory, from the headers before any work starts, then for each picture
        # again once its mask says how much there is to fill.
        budget = current_budget()
        sizes = {src: image_size(src) for src, _, _ in jobs}
        for src, size in sizes.items():
            budget.check(picture_subject(src.name, *size), "inpainting it", memory_needed(*size, method))
        for src, mask_path, dst in jobs:
            mask = mask_from_image(load_image(mask_path)) >= THRESHOLD
            budget.check(picture_subject(src.name, *sizes[src]), "inpainting it",
                         memory_needed(*sizes[src], method, bounds(mask)))
            image = load_image(src)
            if mask.shape != image.shape[:2]:
                fail(f"{mask_path.name} is {mask.shape[1]} x {mask.shape[0]} px but {src.name} is "
                     f"{image.shape[1]} x {image.shape[0]} px; a mask must match its image")
            if not mask.any():
                fail(f"{mask_path.name} marks nothing to fill (no white or opaque pixels)")
            out = inpaint(image, mask, method, entry, runtime)
            save_image(dst, out, {**recipe, "mask": mask_path.name})
            written.append(str(dst))
    except errors as exc:
        fail(str(exc))
    if unmatched:
        shown = ", ".join(unmatched[:5]) + (f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else "")
        print(f"notice: no mask for {len(unmatched)} image(s), left out: {shown}", file=sys.stderr)
    report({"output": written[0] if len(written) == 1 else str(target), "images": len(written),
            "notice": runtime.shown_notice if runtime is not None else None,
            "method": method, "model": entry.name if entry is not None else None})
    return 0


def _jobs(source: Path, masks: Path, target: Path, fail) -> tuple[list[tuple[Path, Path, Path]], list[str]]:
    """(image, mask, output) triples, and the names of folder images without a mask."""
    from studio.core.imageio import IMAGE_SUFFIXES

    if not source.is_dir():
        if masks.is_dir():
            fail("--mask is a folder; give a mask picture for a single image")
        return [(source, masks, target)], []
    if not masks.is_dir():
        fail("the input is a folder, so --mask must be a folder of masks named like the images")
    by_stem: dict[str, Path] = {}
    for f in sorted(masks.iterdir()):
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
            if f.stem in by_stem:
                fail(f"two masks for '{f.stem}' in {masks}: {by_stem[f.stem].name} and {f.name}")
            by_stem[f.stem] = f
    images = [f for f in sorted(source.iterdir()) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        fail(f"{source} holds no images")
    jobs = [(f, by_stem[f.stem], target / f.name) for f in images if f.stem in by_stem]
    if not jobs:
        fail(f"no mask in {masks} is named like an image in {source} (photo.jpg needs e.g. photo.png)")
    return jobs, [f.name for f in images if f.stem not in by_stem]
