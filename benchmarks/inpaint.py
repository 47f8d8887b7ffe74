"""Inpainting quality and speed: every method side by side on held-out images.

Images: COUNT of the images the trainer holds out of a training folder
(default /work/data/emoji, the Noto emoji `studio datasets emoji` extracts),
taken by the trainer's own scan at --trained-at px (studio/train/data.py:
5% of the usable images, first by content sha256; 196 of the emoji), so
these never reach training; the first COUNT of them by content sha256. Each
is prepared as the trainer prepares it (alpha on white, centre square,
Lanczos to SIZE px).

Masks, seeded per image: "strokes" (3-6 brush strokes, 4-14 px wide at 256 px,
about 5-12% of the image) and "blobs" (1-3 filled ellipses and polygons,
20-50% of the image, a third of them pushed against an edge).

Metrics, inside the hole only (the rest is the original by construction):
PSNR (dB, RGB); SSIM (Gaussian window sigma 1.5, per channel, the SSIM map
averaged over hole pixels); SWD 7x7: sliced Wasserstein distance between
the 7x7 RGB patches centred on hole pixels in the result and in the original
(64 random directions, values 0..1, x100; lower is better), which asks
whether the fill has the right texture statistics rather than the right
pixels. ms: mean per image through engine.inpaint.inpaint (crop, resize,
network or OpenCV, paste). Each model is run twice: "learned" (the network
on every hole) and "auto" (PatchMatch on the holes too thin for it). A second table pairs each method's PSNR with
Telea's on the same image and mask: mean difference, 95% interval, and on
how many images it is ahead; with several models, a third pairs the others
with the first (a fine-tune with its base: --models base,tuned). Speed table: one 512 x 512 image whose mask is a
256 px blob, which makes the crop the whole image, and three strokes across
it (three regions, three crops); median of REPEATS runs after a warm-up.

    python benchmarks/inpaint.py [--data DIR [--evaluation-only]] [--count 24] [--models a,b] [--threads N]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from studio.core.imageio import ImageError, load_image
from studio.engine.inpaint import inpaint
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime, default_threads
from studio.train.data import load_dataset, prepare_image

CLASSICAL = ("telea", "ns", "patchmatch")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
KINDS = ("strokes", "blobs")


def held_out(folder: Path, count: int, resolution: int) -> list[Path]:
    """The first `count`, by content sha256, of the images the trainer holds
    out of `folder` when it trains at `resolution` (its own scan: searched
    recursively, duplicates and images too small for `resolution` skipped)."""
    files = [Path(p) for p in load_dataset(folder, resolution, fit="crop").held_out_files]
    if count > len(files):
        raise SystemExit(f"the trainer holds out {len(files)} images of {folder} at {resolution} px, "
                         f"fewer than --count {count}")
    return sorted(files, key=lambda f: hashlib.sha256(f.read_bytes()).hexdigest())[:count]


def evaluation_only(folder: Path, count: int) -> list[Path]:
    """The first `count`, by content sha256, of the pictures in `folder` (searched
    recursively): for a folder no model was trained on, such as the photos of
    the Debian packages kept for evaluation, where every picture is held out."""
    files = [f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    return sorted(files, key=lambda f: hashlib.sha256(f.read_bytes()).hexdigest())[:count]


def strokes(rng: np.random.Generator, size: int) -> np.ndarray:
    scale = size / 256
    while True:
        mask = np.zeros((size, size), np.uint8)
        for _ in range(rng.integers(3, 7)):
            points = [rng.uniform(0, size, 2)]
            angle = rng.uniform(0, 2 * np.pi)
            for _ in range(rng.integers(3, 8)):
                angle += rng.normal(0, 0.8)
                step = rng.uniform(15, 45) * scale
                points.append(points[-1] + step * np.array([np.cos(angle), np.sin(angle)]))
            width = int(rng.integers(4, 15) * scale)
            cv2.polylines(mask, [np.round(points).astype(np.int32)], False, 255, max(1, width), cv2.LINE_8)
        if 0.05 <= (mask > 0).mean() <= 0.12:
            return mask


def blobs(rng: np.random.Generator, size: int) -> np.ndarray:
    while True:
        mask = np.zeros((size, size), np.uint8)
        for _ in range(rng.integers(1, 4)):
            centre = rng.uniform(0.15, 0.85, 2) * size
            if rng.random() < 1 / 3:  # against an edge
                axis = rng.integers(2)
                centre[axis] = rng.choice([0.0, size - 1.0])
            if rng.random() < 0.5:
                axes = (rng.uniform(0.12, 0.35, 2) * size).astype(int)
                cv2.ellipse(mask, tuple(int(c) for c in centre), tuple(int(a) for a in axes),
                            float(rng.uniform(0, 180)), 0, 360, 255, -1)
            else:
                angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(5, 10)))
                radii = rng.uniform(0.1, 0.35, angles.size) * size
                pts = centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
                cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255)
        if 0.2 <= (mask > 0).mean() <= 0.5:
            return mask


def make_mask(kind: str, seed: int, index: int, size: int) -> np.ndarray:
    rng = np.random.default_rng([seed, index, KINDS.index(kind)])
    return strokes(rng, size) if kind == "strokes" else blobs(rng, size)


def psnr(a: np.ndarray, b: np.ndarray, hole: np.ndarray) -> float:
    mse = np.mean((a[hole].astype(np.float64) - b[hole]) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray, hole: np.ndarray) -> float:
    """Mean SSIM over hole pixels (Wang et al. 2004: Gaussian sigma 1.5, K1 0.01, K2 0.03)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(v):
        return cv2.GaussianBlur(v, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    smap = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(smap.mean(axis=2)[hole].mean())


def patches(image: np.ndarray, centres: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """7x7x3 patches around the centres as rows of 147 values in 0..1."""
    padded = np.pad(image, ((3, 3), (3, 3), (0, 0)), mode="reflect").astype(np.float32) / 255
    ys, xs = centres
    offsets = np.arange(7)
    rows = padded[ys[:, None, None] + offsets[None, :, None], xs[:, None, None] + offsets[None, None, :]]
    return rows.reshape(len(ys), -1)


def swd(a: np.ndarray, b: np.ndarray, hole: np.ndarray, directions: np.ndarray, rng: np.random.Generator,
        limit: int = 2048) -> float:
    ys, xs = np.nonzero(hole)
    if ys.size > limit:
        pick = rng.choice(ys.size, limit, replace=False)
        ys, xs = ys[pick], xs[pick]
    pa, pb = patches(a, (ys, xs)) @ directions, patches(b, (ys, xs)) @ directions
    return float(np.abs(np.sort(pa, axis=0) - np.sort(pb, axis=0)).mean() * 100)


def timed_512(method: str, model, runtime: Runtime, picture: np.ndarray, repeats: int) -> dict[str, float]:
    big = cv2.resize(picture, (512, 512), interpolation=cv2.INTER_LANCZOS4)
    blob = np.zeros((512, 512), np.uint8)
    cv2.ellipse(blob, (256, 256), (128, 100), 0, 0, 360, 255, -1)  # 256 px wide: crop 256 + 2 x 128
    lines = np.zeros((512, 512), np.uint8)
    for y in (140, 250, 370):
        cv2.line(lines, (20, y), (492, y + 40), 255, 9)
    times = {}
    for kind, mask in (("strokes", lines), ("blob", blob)):
        inpaint(big, mask, method, model, runtime)  # warm-up
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            inpaint(big, mask, method, model, runtime)
            runs.append((time.perf_counter() - start) * 1000)
        times[kind] = statistics.median(runs)
    return times


def paired(per_image: dict[tuple[str, str], np.ndarray], reference: str, name: str) -> None:
    """Each method's PSNR minus `reference`'s, image by image: the mean
    difference, its 95% interval (1.96 standard errors), images ahead."""
    print(f"\nPSNR in the hole against {name}, image by image (the same images and masks): the mean difference "
          "with its 95% interval (1.96 standard errors) and the images where the method is ahead\n")
    print(f"| method | masks | PSNR - {name} (dB) | ahead on |")
    print("| --- | --- | ---: | ---: |")
    for (label, kind), values in per_image.items():
        if label == reference:
            continue
        diff = values - per_image[reference, kind]
        half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else float("nan")
        print(f"| {label} | {kind} | {diff.mean():+.2f} ± {half:.2f} | {int((diff > 0).sum())} of {diff.size} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/data/emoji"))
    parser.add_argument("--count", type=int, default=24, help="held-out images (default 24)")
    parser.add_argument("--size", type=int, default=256, help="px the images are prepared at (default 256)")
    parser.add_argument("--trained-at", type=int, default=128,
                        help="px the models were trained at: which images the trainer held out depends on it "
                             "(default 128)")
    parser.add_argument("--evaluation-only", action="store_true",
                        help="--data was never trained on (photos kept for evaluation): take its first --count "
                             "pictures by content sha256, all of them when it has fewer")
    parser.add_argument("--models", help="inpaint models to compare, comma-separated (default: every installed one)")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    registry = Registry()
    names = [n for n in args.models.split(",") if n] if args.models else [e.name for e in registry.entries("inpaint")]
    models = {name: registry.get(name, kind="inpaint") for name in names}
    runtime = Runtime(args.device, threads=args.threads)
    files = (evaluation_only(args.data, args.count) if args.evaluation_only
             else held_out(args.data, args.count, args.trained_at))
    images = []
    for f in files:
        try:
            images.append(prepare_image(load_image(f), args.size, fit="crop").transpose(1, 2, 0).copy())
        except ImageError as exc:
            print(f"skipped {f.name}: {exc}", file=sys.stderr)
    directions = np.random.default_rng(12345).standard_normal((147, 64)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    masks = {kind: [make_mask(kind, args.seed, i, args.size) for i in range(len(images))] for kind in KINDS}

    columns = [(m, None) for m in CLASSICAL] + [(m, models[n]) for m in ("learned", "auto") for n in names]
    rows, speeds = [], []
    per_image: dict[tuple[str, str], np.ndarray] = {}  # (method label, kind) -> PSNR of each image
    for method, model in columns:
        label = method if model is None else f"{method}: {model.name}"
        speed = timed_512(method, model, runtime, images[0], args.repeats)
        for kind in KINDS:
            scores, ms = [], []
            rng = np.random.default_rng(args.seed)
            for image, mask in zip(images, masks[kind]):
                start = time.perf_counter()
                out = inpaint(image, mask, method, model, runtime)
                ms.append((time.perf_counter() - start) * 1000)
                hole = mask > 0
                scores.append((psnr(out, image, hole), ssim(out, image, hole), swd(out, image, hole, directions, rng)))
            per_image[label, kind] = np.array([score[0] for score in scores])
            p, s, w = (float(np.mean(v)) for v in zip(*scores))
            rows.append((label, kind, f"{p:.2f}", f"{s:.3f}", f"{w:.2f}", f"{np.mean(ms):.1f}"))
        speeds.append((label, f"{speed['blob']:.1f}", f"{speed['strokes']:.1f}"))
    if not names:
        rows += [("learned", kind, "no model", "no model", "no model", "no model") for kind in KINDS]
        speeds.append(("learned", "no model", "no model"))

    coverage = {k: 100 * np.mean([(m > 0).mean() for m in masks[k]]) for k in KINDS}
    which = "evaluation-only" if args.evaluation_only else "held-out"
    print(f"{len(images)} {which} images from {args.data} (first by content sha256), {args.size} x {args.size} px; "
          f"holes: strokes {coverage['strokes']:.1f}%, blobs {coverage['blobs']:.1f}% of the image on average; "
          f"{runtime.device}, {args.threads} thread(s)\n")
    print("| method | masks | PSNR in hole (dB) ↑ | SSIM in hole ↑ | SWD 7x7 x100 ↓ | ms / image |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    paired(per_image, "telea", "Telea's")
    if len(names) > 1:  # a fine-tune against its base: the first model named
        paired({key: v for key, v in per_image.items() if key[0].startswith("learned")}, f"learned: {names[0]}",
               f"{names[0]}'s")
    print(f"\n512 x 512 image, median of {args.repeats} runs:\n")
    print("| method | ms, 256 px blob (one 512² crop) | ms, 3 strokes across (3 crops) |")
    print("| --- | ---: | ---: |")
    for row in speeds:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
