"""Upscaling quality and speed: our upscalers beside Pillow Lanczos and
bicubic and OpenCV INTER_CUBIC, as super-resolution papers measure them.

Pictures: each --set NAME=FOLDER (photos, paintings, clip art that no
training saw: evaluation packages, or the evaluation folders of
benchmarks/folders.py), the first --count of its images by path after a
fixed shuffle. A picture larger than twice --side on its shorter side is
first area-downscaled to that (a 4K wallpaper's own pixels are soft; at
half or a quarter of its size it is as sharp as a 2K training picture,
as DIV2K's are), then its centre --side px square is taken, a multiple of 4
(one with no detail, a flat margin, is passed over). Each is
downscaled --scale times (4 or 2) by area averaging, enlarged back by every
method (an x4 model at --scale 2 enlarges x4 and averages 2 x 2 blocks, as
`studio upscale --scale 2` does with it), and
compared with the original on the luma channel (BT.601 Y) with 4 px
borders cropped: PSNR (dB) and SSIM (Wang et al.), plus sharpness: the
mean absolute Laplacian of the result over the original's (1.0 = as much
fine detail as the original; interpolation stays well under it).

Speed at --threads (the sizes here at x4; x2 enlarges the same inputs to
half the side): ms per output megapixel (512 x 512 -> 2048 x 2048, best
of 3 after a warm-up), and, each in its own process, 1024 x 1024 -> 4096 x
4096 and 2048 x 2048 -> 8192 x 8192 (time, peak resident memory), plus the
whole `studio upscale` command on a 1024 x 1024 PNG (start-up, reading and
writing included). --out writes side-by-side crops (input, Lanczos, each
model, original) as PNG.

    python benchmarks/upscale.py --set photos=/usr/share/backgrounds/mate --set art=DEST/clipart-people \
        --model upscale-x4 [--model my-finetune] [--scale 4|2] [--count 24] [--side 384] [--threads 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from studio.core.imageio import IMAGE_SUFFIXES, load_image, save_image
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.upscale import upscale

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inpaint import ssim  # noqa: E402

SIDE_MULTIPLE = 4  # the measured squares divide by every --scale
# A centre square this flat (luma std in levels: a clip art's empty
# margin) has nothing to enlarge: every method scores a near-infinite PSNR
# there, which adds the same huge number to each mean and hides nothing but
# says nothing either, so such a picture is passed over.
MIN_DETAIL = 2.0
BORDER = 4
BASELINES = {
    "Pillow Lanczos": lambda rgb, size: np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)),
    "Pillow bicubic": lambda rgb, size: np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC)),
    "OpenCV INTER_CUBIC": lambda rgb, size: cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC),
}


def pictures(folder: Path, count: int, side: int) -> list[np.ndarray]:
    """The first `count` usable pictures of `folder` (after a fixed shuffle),
    each its centre square of at most `side` px, a multiple of SIDE_MULTIPLE, RGB."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    random.Random(0).shuffle(files)
    out = []
    for path in files:
        try:
            image = load_image(path)
        except Exception:  # an unreadable file is not a picture to measure with
            continue
        h, w = image.shape[:2]
        if min(h, w) > 2 * side:
            factor = 2 * side / min(h, w)
            image = cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
        s = min(side, h, w) // SIDE_MULTIPLE * SIDE_MULTIPLE
        if s < 32:
            continue
        top, left = (h - s) // 2, (w - s) // 2
        rgba = image[top:top + s, left:left + s]
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0  # transparency shown on white, as the canvas does
        rgb = (rgba[..., :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        if luma(rgb).std() < MIN_DETAIL:
            continue
        out.append(rgb)
        if len(out) == count:
            break
    return out


def luma(rgb: np.ndarray) -> np.ndarray:
    y = rgb.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255.0 + 16.0
    return y[BORDER:-BORDER, BORDER:-BORDER]


def scores(result: np.ndarray, original: np.ndarray) -> tuple[float, float, float]:
    a, b = luma(result), luma(original)
    psnr = 10 * np.log10(255.0 ** 2 / max(float(np.mean((a - b) ** 2)), 1e-10))
    # inpaint.ssim wants channels (OpenCV drops a single one): the luma thrice averages to itself.
    similarity = ssim(np.repeat(a[..., None], 3, axis=2), np.repeat(b[..., None], 3, axis=2), np.ones(a.shape, bool))
    detail = np.abs(cv2.Laplacian(a, cv2.CV_64F)).mean() / max(np.abs(cv2.Laplacian(b, cv2.CV_64F)).mean(), 1e-9)
    return float(psnr), float(similarity), float(detail)


def methods(models: list[str], threads: int, scale: int) -> dict:
    """name -> enlarge(rgb, (w, h)) for the baselines and each model (`scale` times)."""
    runtime = Runtime("cpu", threads=threads)
    registry = Registry()
    found = dict(BASELINES)
    for name in models:
        entry = registry.get(name, kind="upscale")
        found[name] = (lambda e: lambda rgb, size: upscale(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
                                                             scale, e, runtime)[..., :3])(entry)
    return found


def big_run(method: str, side: int, threads: int, scale: int) -> dict:
    """One enlargement of a side x side picture in this process: seconds and peak resident MB."""
    enlarge = methods([] if method in BASELINES else [method], threads, scale)[method]
    rgb = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    enlarge(rgb, (side * scale, side * scale))
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 2), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def in_child(method: str, side: int, threads: int, scale: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--big", method, str(side), "--threads", str(threads),
                          "--scale", str(scale)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_seconds(picture: np.ndarray, model: str | None, threads: int, scale: int) -> float:
    """Wall time of the whole `studio upscale` process on `picture` as a 1024 x 1024 PNG."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.png"
        save_image(source, cv2.resize(picture, (1024, 1024), interpolation=cv2.INTER_CUBIC))
        command = [sys.executable, "-m", "studio", "upscale", str(source), "--scale", str(scale),
                   "-o", str(Path(tmp) / "out.png"), "--device", "cpu"]
        command += ["--model", model] if model else ["--method", "lanczos"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "STUDIO_THREADS": str(threads)}
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--model", action="append", default=[], help="an installed upscale model (repeatable)")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--side", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale", type=int, choices=(4, 2), default=4)
    parser.add_argument("--out", type=Path, help="write side-by-side crops here")
    parser.add_argument("--big", nargs=2, metavar=("METHOD", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big:
        print(json.dumps(big_run(args.big[0], int(args.big[1]), args.threads, args.scale)))
        return 0

    scale = args.scale
    enlargers = methods(args.model, args.threads, scale)
    print(f"x{scale} from area-averaged downscales, luma, {BORDER} px borders cropped; {args.threads} threads")
    print()
    print("| pictures | method | PSNR (dB) ↑ | SSIM ↑ | sharpness (1 = original) |")
    print("|---|---|---:|---:|---:|")
    first = None
    for spec in args.set:
        name, folder = spec.split("=", 1)
        originals = pictures(Path(folder), args.count, args.side)
        first = originals[0] if first is None else first
        shown = []
        for method, enlarge in enlargers.items():
            rows = []
            for original in originals:
                h, w = original.shape[:2]
                small = cv2.resize(original, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
                result = enlarge(small, (w, h))
                rows.append(scores(result, original))
                if len(shown) < len(enlargers) and original is originals[0]:
                    shown.append((method, small, result))
            p, s, d = np.mean(rows, axis=0)
            print(f"| {name} ({len(originals)}) | {method} | {p:.2f} | {s:.4f} | {d:.2f} |")
        if args.out:
            write_comparison(args.out / f"{name}.png", originals[0], shown)

    print()
    print(f"| method | ms per output Mpx (512 -> {512 * scale}) | 1024 -> {1024 * scale} s | "
          f"2048 -> {2048 * scale} s | peak MB |")
    print("|---|---:|---:|---:|---:|")
    rgb = np.random.default_rng(2).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    for method, enlarge in enlargers.items():
        enlarge(rgb[:64, :64], (64 * scale, 64 * scale))
        best = min(_timed(enlarge, rgb, scale) for _ in range(3))
        mid, big = in_child(method, 1024, args.threads, scale), in_child(method, 2048, args.threads, scale)
        print(f"| {method} | {best * 1000 / ((512 * scale) ** 2 / 1e6):.0f} | {mid['seconds']} | {big['seconds']} | "
              f"{big['peak_mb']} |")
    print()
    for model in [None, *args.model]:  # a real picture: PNG's time depends on what it compresses
        print(f"`studio upscale` 1024 x 1024 PNG -> x{scale} PNG, whole process, {model or 'Lanczos'}: "
              f"{cli_seconds(first, model, args.threads, scale):.1f} s")
    return 0


def _timed(enlarge, rgb: np.ndarray, scale: int) -> float:
    t0 = time.perf_counter()
    enlarge(rgb, (rgb.shape[1] * scale, rgb.shape[0] * scale))
    return time.perf_counter() - t0


def write_comparison(path: Path, original: np.ndarray, shown: list) -> None:
    """One row: the input (nearest, so its pixels show), each method, the original."""
    h, w = original.shape[:2]
    small = shown[0][1]
    tiles = [cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)] + [r for _, _, r in shown] + [original]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(path, np.concatenate(tiles, axis=1))


if __name__ == "__main__":
    raise SystemExit(main())
