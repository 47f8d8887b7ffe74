"""Putting pictures into a generator's latent space (issue 15): the encoder
alone against the optimisation the StyleGAN projector does, on pictures the
model never trained on.

For each --pair MODEL=SOURCE: MODEL is an installed generator with an
encoder; SOURCE is the training run it came from (its dataset_report.json
names the held-out pictures) or a folder of pictures. The first --count
pictures are framed as the model's training images were, then put into the
latent space four ways, each timed as the app or `studio project` would
wait for it (the refinement's child process start included):

- E alone: one encoder pass;
- E + 50 and E + 200: that, refined 50 or 200 steps (engine.projection);
- mean + 200: 200 steps from the prior's mean latent, the StyleGAN
  projector's start, with no encoder.

Reported: the mean PSNR of the drawings against the pictures (dB, higher
is closer), the SWD between the set of drawings and the set of pictures
(x1000, lower is closer; studio.train.metrics, at least 8 pictures), and
seconds per picture.

    python benchmarks/projection.py --pair clipart-people-enc=runs/cp-enc [--pair ...] [--count 12] [--threads 2] \
        [--grids DIR]   # DIR/MODEL.png: the pictures, then E alone, E + 50, E + 200, mean + 200, a row each
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from studio.core.grid import make_grid
from studio.core.imageio import IMAGE_SUFFIXES, load_image, save_image
from studio.engine.generator import Generator
from studio.engine.projection import Projector, refine_latent
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime

METHODS = ("E alone", "E + 50", "E + 200", "mean + 200")
GRID_COLUMNS = 6


def held_out(source: Path, count: int) -> list[Path]:
    """The run's held-out pictures, or the folder's pictures, sorted, the first `count`."""
    report = source / "dataset_report.json"
    if report.is_file():
        files = [Path(p) for p in json.loads(report.read_text())["held_out_files"]]
    else:
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return files[:count]


def project(projector: Projector, target: np.ndarray, method: str) -> tuple[np.ndarray, float]:
    """(drawing uint8 RxRx3, seconds) of one framed picture by `method`."""
    generator = projector.generator
    t0 = time.perf_counter()
    latent = projector.encode(target) if method != "mean + 200" else np.zeros(generator.latent_size, np.float32)
    if method != "E alone":
        latent = refine_latent(generator, target, int(method.rsplit(" ", 1)[1]), latent)
    drawing = generator.render(latent)[0]
    return drawing, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", action="append", required=True, metavar="MODEL=SOURCE")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grids", type=Path, help="a folder for MODEL.png: the first pictures, then each method's "
                                                  "drawings of them, a row each")
    args = parser.parse_args()
    os.environ["STUDIO_THREADS"] = str(args.threads)  # the refiner's child process reads it too

    import torch

    from studio.core.fidelity import psnr
    from studio.train.metrics import swd

    registry, runtime = Registry(), Runtime("cpu", threads=args.threads)
    print(f"{args.threads} threads; PSNR dB (higher is closer), SWD x1000 of the drawings vs the pictures "
          "(lower is closer), seconds per picture")
    print()
    print("| model | pictures | method | PSNR | SWD | s per picture |")
    print("|---|---:|---|---:|---:|---:|")
    for pair in args.pair:
        name, source = pair.split("=", 1)
        projector = Projector(Generator(registry.get(name, kind="generator"), runtime), runtime)
        targets = [projector.frame(load_image(path)) for path in held_out(Path(source), args.count)]
        reals = torch.from_numpy(np.stack(targets).transpose(0, 3, 1, 2).copy())
        rows = [np.stack(targets[:GRID_COLUMNS])]
        for method in METHODS:
            drawings, seconds = zip(*(project(projector, target, method) for target in targets))
            rows.append(np.stack(drawings[:GRID_COLUMNS]))
            closeness = np.mean([psnr(d, t) for d, t in zip(drawings, targets)])
            fakes = torch.from_numpy(np.stack(drawings).transpose(0, 3, 1, 2).copy())
            distance = f"{swd(fakes, reals)['swd']:.1f}" if len(targets) >= 8 else "-"
            print(f"| {name} | {len(targets)} | {method} | {closeness:.2f} | {distance} | {np.mean(seconds):.2f} |")
        if args.grids is not None:
            args.grids.mkdir(parents=True, exist_ok=True)
            save_image(args.grids / f"{name}.png", make_grid(np.concatenate(rows), columns=len(rows[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
