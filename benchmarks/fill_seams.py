"""Content-aware fill on photos (issue 17 item 9): how long `inpaint(...,
"patchmatch")` takes on a 1600 px photo, and how visible the fill's outline
is, without and with seam blending (engine/seam.py).

The outline is measured as the colour step across the hole's border: each
border pixel of the hole against the mean of its known neighbours, averaged
along the border over a few px (the eye sees a step that runs along an
outline, not single-pixel noise), in levels of 255. The same measure on the
untouched photo along the same outline is the floor: the step the picture
itself has there.

    python benchmarks/fill_seams.py --photos /usr/share/backgrounds/mate/nature --count 3 --out benchmarks/results/fill
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from studio.core.imageio import IMAGE_SUFFIXES, load_image, save_image
from studio.engine import patchmatch
from studio.engine.inpaint import inpaint

SIDE = 1600


def holes(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """An object-sized ellipse and a brush stroke across the middle."""
    h, w = shape
    ellipse = np.zeros(shape, np.uint8)
    cv2.ellipse(ellipse, (w // 2, h // 2), (90, 60), 20, 0, 360, 255, -1)
    stroke = np.zeros(shape, np.uint8)
    cv2.polylines(stroke, [np.array([[w // 3, h // 3], [w // 2, h // 2 + 40], [2 * w // 3, h // 2 - 30]])],
                  False, 255, 28)
    return {"ellipse 180x120": ellipse, "stroke 28 px": stroke}


def border_step(image: np.ndarray, hole: np.ndarray) -> float:
    """Mean colour step (levels) across the border of `hole` in `image`."""
    known = ~hole
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    neighbours = cv2.filter2D(known.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    border = hole & (neighbours > 0)
    pixels = image.astype(np.float32)
    known_mean = cv2.filter2D(pixels * known[..., None], -1, kernel, borderType=cv2.BORDER_CONSTANT)
    step = np.zeros_like(pixels)
    step[border] = known_mean[border] / neighbours[border][:, None] - pixels[border]
    weight = border.astype(np.float32)
    along = cv2.GaussianBlur(step * weight[..., None], (0, 0), 3.0) / np.maximum(
        cv2.GaussianBlur(weight, (0, 0), 3.0), 1e-6)[..., None]
    return float(np.abs(along[border]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:args.count]
    print("| photo | hole | fill s (whole call) | step: photo itself | fill, no seam blending | fill, blended |")
    print("|---|---|---:|---:|---:|---:|")
    for photo in photos:
        image = load_image(photo)[..., :3]
        scale = SIDE / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        for name, mask in holes(image.shape[:2]).items():
            t0 = time.perf_counter()
            inpaint(image, mask, "patchmatch")
            seconds = time.perf_counter() - t0
            ys, xs = np.nonzero(mask)
            y0, y1, x0, x1 = max(0, ys.min() - 60), ys.max() + 60, max(0, xs.min() - 60), xs.max() + 60
            crop, hole = image[y0:y1, x0:x1], mask[y0:y1, x0:x1] > 0
            blended = patchmatch.fill(crop, hole)
            raw = patchmatch.fill(crop, hole, blend=False)
            raw8, blended8 = (np.clip(np.rint(a), 0, 255).astype(np.uint8) for a in (raw, blended))
            print(f"| {photo.stem} | {name} | {seconds:.2f} | {border_step(crop, hole):.1f} | "
                  f"{border_step(raw8, hole):.1f} | {border_step(blended8, hole):.1f} |")
            save_image(args.out / f"{photo.stem}-{name.split()[0]}.png", np.concatenate([crop, raw8, blended8], 1))


if __name__ == "__main__":
    main()
