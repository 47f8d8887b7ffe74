"""Does the Style panel's preview show what Apply makes (issue 17 item 1)?

For each photo, style and stroke scale, the preview the panel floats over the
canvas (ui/style_target.preview) is enlarged to the picture's size the way
the canvas shows it at 100 % and compared with the layer Apply lands
(render_full): mean absolute difference in levels of 255 (aim: at most 2).
Before the stroke scale the preview was a 512 px proxy while Apply painted at
full size; that row ("old") is measured too.

Strength: the change between neighbouring steps of the strength slider
(0, 10 .. 100 %), as mean absolute difference, for a built-in style (pixels
mixed) and a picture style (style vectors interpolated). Even steps give a
ratio of largest to smallest step near 1.

    python benchmarks/style_preview.py --photos /usr/share/backgrounds/mate/nature --count 3 \\
        --style-picture /usr/share/backgrounds/city.png --out benchmarks/results/style-preview
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from studio.core.document import Document
from studio.core.export import resample
from studio.core.imageio import IMAGE_SUFFIXES, load_image, save_image
from studio.core.paths import shipped_models_dir
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.style import Stylizer
from studio.ui.style_target import StyleChoice, capture, image_choice, preview, render_full

BUILTIN = ((3,), (12,))  # two built-in styles, by index


def shown_at_full_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return image if image.shape[1::-1] == size else resample(image, size)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--style-picture", type=Path, required=True)
    parser.add_argument("--scales", nargs="+", default=["large", "medium", "fine"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--strength-only", action="store_true", help="measure only the strength steps")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stylizer = Stylizer(Registry([shipped_models_dir()]), Runtime("cpu"))
    names = stylizer.style_names
    picture = load_image(args.style_picture)
    vector = stylizer.style_vector(picture)
    choices = [(names[i], StyleChoice(weights=((i, 1.0),), names=(names[i],))) for (i,) in BUILTIN]
    choices.append((f"picture {args.style_picture.stem}", image_choice(vector, args.style_picture.name)))
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:args.count]
    if not args.strength_only:
        preview_against_apply(stylizer, choices, photos, args)
    print("\n| photo | style | steps of 10 %: smallest / largest change (levels) | ratio |\n|---|---|---|---:|")
    for photo in photos:
        small = capture(Document.from_image(load_image(photo), photo.stem), "image").scaled(1024)[0]
        own = stylizer.style_vector(small)
        for style_name, choice in choices:
            frames = []
            for strength in np.linspace(0, 1, 11):
                step = StyleChoice(**{**choice.__dict__, "strength": float(strength)})
                if step.is_builtin:
                    frames.append(stylizer.builtin(small, dict(step.weights), strength=step.strength))
                else:
                    frames.append(stylizer.with_vector(small, step.vector, strength=step.strength, own_vector=own))
            changes = [mad(a, b) for a, b in zip(frames, frames[1:])]
            print(f"| {photo.stem} | {style_name} | {min(changes):.1f} / {max(changes):.1f} | "
                  f"{max(changes) / max(min(changes), 1e-6):.1f} |")


def preview_against_apply(stylizer: Stylizer, choices: list, photos: list[Path], args) -> None:
    print("| photo | style | stroke scale | preview vs applied, MAD (levels) |")
    print("|---|---|---|---:|")
    for photo in photos:
        doc = Document.from_image(load_image(photo), photo.stem)
        target = capture(doc, "image")
        size = (doc.width, doc.height)
        for style_name, choice in choices:
            for scale in args.scales:
                chosen = StyleChoice(**{**choice.__dict__, "stroke_scale": scale})
                shown = shown_at_full_size(preview(stylizer, target, chosen), size)
                applied, _recipe = render_full(stylizer, target, chosen)
                print(f"| {photo.stem} | {style_name} | {scale} | {mad(shown, applied):.2f} |")
            old_preview = shown_at_full_size(preview(stylizer, target, StyleChoice(
                **{**choice.__dict__, "stroke_scale": "large"})), size)
            full, _recipe = render_full(stylizer, target, StyleChoice(**{**choice.__dict__, "stroke_scale": "finest"}))
            print(f"| {photo.stem} | {style_name} | old: 512 px preview, full-size Apply | {mad(old_preview, full):.2f} |")
        if photo == photos[0]:
            crop = (slice(doc.height // 3, doc.height // 3 + 400), slice(doc.width // 3, doc.width // 3 + 600))
            save_image(args.out / f"{photo.stem}-old-preview-vs-apply.png",
                       np.concatenate([old_preview[crop], full[crop]], 1))
            save_image(args.out / f"{photo.stem}-preview-vs-apply.png", np.concatenate([shown[crop], applied[crop]], 1))


if __name__ == "__main__":
    main()
