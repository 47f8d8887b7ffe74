"""What an artist gets after M minutes: equal-wall-time image quality of our
trainer from scratch, ours fine-tuned from a base model, and (optionally)
lightweight-gan, on each evaluation folder (benchmarks/folders.py eval DEST).

    python benchmarks/train_quality.py --folders DEST/clipart-people DEST/clipart-animals DEST/emoji-persons
        [--resolutions 64 128] [--minutes 20 60] [--base base128] [--threads 2]
        [--peer-python /work/lwgan-venv/bin/python] [--out benchmarks/results/quality]

Quality is SWD x1000 (studio.train.metrics.swd) against a larger reference
than the trainer's own 5 % held out (14-19 images in a 300-image folder make
its SWD mostly noise: blobs scored within 1.2x of the real-vs-real floor).
Here the folder's prepared images are split at random into halves A and B
(at most 150 each): the floor is SWD(A, B), a model's score is SWD(its n
samples, B), both averaged over 3 splits, and the table gives each model's
ratio to the floor (1.0 = as close to the folder as the folder is to
itself), overall and at each pyramid level (the finest is detail, the
coarsest, 16 px, layout: an overall ratio near 1 can hide missing detail). B holds training images, as FID against the training set does;
with ~300 images and minutes of training, memorising them is not what a
ratio near 1 means here, and the sample grids saved beside the table show it.

Each run is its own trainer process started as the app starts one (every
run gets the same training time and --threads), run one after the other on
an otherwise idle machine; "from the base" rows need the base at that
resolution (rows are skipped, with the reason, where there is none).
--minutes takes cumulative marks (`--minutes 20 60`): each of our runs trains
to the first mark, is scored, and is resumed to the next, as an artist who
looks at a run after 20 minutes and lets it go on would (the peer trains to
the last mark only). Rows are added to OUT/table.json as they are scored and
a run whose marks are all there is skipped, so a comparison longer than a
session goes on in the next with the same --out; a run scored at its first
marks and not the later ones is resumed from its checkpoint (a new mark
added later, `--minutes 20 60` after `--minutes 20`, trains only the rest).
The peer is CPU-patched lightweight-gan (benchmarks/lightweight_gan_cpu.py),
trained on the same prepared pixels, its fmap_max from --peer-fmap-max.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from studio.train.data import load_dataset
from studio.train.metrics import swd
from studio.train.samples import write_grid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import check_peer, folder_images, ours_images, run_ours, run_peer, write_pixels  # noqa: E402

SPLITS = 3
HALF_MAX = 150
GRID = 32  # samples in each saved grid


def score(images: torch.Tensor, samples: torch.Tensor) -> tuple[float, dict[str, float]]:
    """Mean over SPLITS random splits of `images` (uint8 [N,3,R,R]) into A
    and B (n each) of SWD(samples, B), over the mean of SWD(A, B); and the
    same ratio at each pyramid level (its side in px: the finest is detail,
    the coarsest layout). samples: uint8 [n * SPLITS, 3, R, R], a fresh n
    for each split."""
    n = min(images.shape[0] // 2, HALF_MAX)
    floors, models = [], []
    for split in range(SPLITS):
        order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(split))
        a, b = images[order[:n]], images[order[n:2 * n]]
        floors.append(swd(a, b, seed=split))
        models.append(swd(samples[split * n:(split + 1) * n], b, seed=split))
    ratio = float(np.mean([m["swd"] for m in models]) / np.mean([f["swd"] for f in floors]))
    levels = {str(level): round(float(np.mean([m["levels"][level] for m in models])
                                      / np.mean([f["levels"][level] for f in floors])), 2)
              for level in floors[0]["levels"]}
    return ratio, levels


def flag_slug(flags: tuple[str, ...]) -> str:
    """"" for no flags, else "-" and the flags as one file-name-safe word: a
    run's folder carries its recipe, so runs of two recipes kept in one --out
    never share a folder (a start from scratch empties the folder it uses)."""
    words = re.sub(r"[^A-Za-z0-9.]+", "-", " ".join(flags)).strip("-")
    return f"-{words}" if words else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=Path, nargs="+", required=True)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--minutes", type=float, nargs="+", default=[20.0],
                        help="cumulative training times at which each run is scored")
    parser.add_argument("--base", help="base model name or folder for the fine-tuning rows (at its resolution)")
    parser.add_argument("--batch", type=int, default=8, help="images per step (default 8, the trainer's on a CPU)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--trainer-flags", default="",
                        help="more flags for each of our runs (`--arch projected --r1-gamma 0`); the rows' trainer "
                             "names carry them")
    parser.add_argument("--peer-python", help="python of a venv with lightweight-gan patched for the CPU")
    parser.add_argument("--peer-fmap-max", type=int, default=16)
    parser.add_argument("--out", type=Path, help="keep runs, sample grids and the table here (default: temporary)")
    args = parser.parse_args()

    holder = None if args.out else tempfile.TemporaryDirectory(prefix="studio-bench-quality-")
    work = args.out or Path(holder.name)
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "STUDIO_CACHE_DIR": str(work / "cache")}
    os.environ["STUDIO_CACHE_DIR"] = env["STUDIO_CACHE_DIR"]
    why_no_peer = check_peer(args.peer_python)
    marks = sorted(args.minutes)
    table = work / "table.json"
    rows = [tuple(row) for row in json.loads(table.read_text())] if table.exists() else []

    def add(row: tuple) -> None:
        rows.append(row)
        table.write_text(json.dumps(rows, indent=1) + "\n")

    def missing(folder: Path, resolution: int, name: str, wanted: list[float]) -> bool:
        scored = {row[3] for row in rows if tuple(row[:3]) == (folder.name, resolution, name)}
        return not all(mark in scored for mark in wanted)

    for folder in args.folders:
        for resolution in args.resolutions:
            data = load_dataset(folder, resolution, "auto")
            images = torch.cat([data.train, data.held_out])
            n = min(images.shape[0] // 2, HALF_MAX)
            tag = f"{folder.name}-{resolution}"
            write_grid(work / f"{tag}-real.png", _as_float(images[:GRID]))
            flags = tuple(shlex.split(args.trainer_flags))
            named = f" ({args.trainer_flags})" if flags else ""
            starts = [(f"ours from scratch{named}", ("--from-scratch", *flags))]
            if args.base:
                starts.append((f"ours from {args.base}{named}", ("--base", args.base, *flags)))
            for name, start in starts:
                if not missing(folder, resolution, name, marks):
                    continue
                rundir = work / f"{tag}-{'base' if start[0] == '--base' else 'scratch'}{flag_slug(flags)}"
                done = resumable_mark(rundir, [row for row in rows if tuple(row[:3]) == (folder.name, resolution, name)],
                                      marks)
                if done == 0:
                    # A run cut short in an earlier session starts again; its early rows go with it.
                    shutil.rmtree(rundir, ignore_errors=True)
                    rows[:] = [row for row in rows if tuple(row[:3]) != (folder.name, resolution, name)]
                for mark in (mark for mark in marks if mark > done):
                    try:
                        run = run_ours(folder, rundir, resolution, args.batch, args.threads, 0, 0, env,
                                       minutes=mark - done, start=start if done == 0 else ("--resume",))
                    except RuntimeError as exc:
                        add((folder.name, resolution, name, mark, None, None, {}, str(exc)))
                        break
                    done = mark
                    samples = ours_images(rundir, n * SPLITS)
                    write_grid(work / f"{rundir.name}-{mark:g}min.png", _as_float(samples[:GRID]))
                    add((folder.name, resolution, name, mark, run["done"]["images_seen"], *score(images, samples), ""))
            peer_name = f"lightweight-gan fmap_max {args.peer_fmap_max}"
            if why_no_peer is None and missing(folder, resolution, peer_name, marks[-1:]):
                peer_data = work / f"{tag}-peer-data"
                if not peer_data.exists():
                    write_pixels(data.train, peer_data)
                common = {"threads": args.threads, "seed": 0, "attn": [], "fmap_max": args.peer_fmap_max,
                          "workers": None, "batch": args.batch, "workdir": str(work / f"{tag}-peer"),
                          "resolution": resolution}
                seconds = marks[-1] * 60
                try:
                    peer = run_peer(args.peer_python, {**common, "mode": "train", "data": str(peer_data),
                                                       "seconds": seconds, "min_steps": 0, "save": True},
                                    work / f"{tag}-peer.stderr.txt", seconds * 3 + 600)
                    run_peer(args.peer_python, {**common, "mode": "generate", "count": n * SPLITS,
                                                "out": str(work / f"{tag}-peer-images")},
                             work / f"{tag}-peer-generate.stderr.txt", 600)
                    samples = folder_images(work / f"{tag}-peer-images")
                    write_grid(work / f"{tag}-peer-{marks[-1]:g}min.png", _as_float(samples[:GRID]))
                    add((folder.name, resolution, peer_name, marks[-1], peer["done"]["step"] * args.batch,
                         *score(images, samples), ""))
                except Exception as exc:  # the peer's failures are its own; the table says which
                    add((folder.name, resolution, peer_name, marks[-1], None, None, {}, str(exc).splitlines()[0]))

    print(f"batch {args.batch}, {args.threads} threads, torch {torch.__version__}; SWD ratio to the folder's "
          "own split floor (lower is better, 1.0 = floor)")
    if why_no_peer:
        print(f"peer rows missing: {why_no_peer}")
    print()
    print("| folder | px | trainer | minutes | images seen | SWD / floor | by level (px: ratio) | note |")
    print("|---|---:|---|---:|---:|---:|---|---|")
    for row in rows:
        folder, resolution, name, minutes, seen, ratio = row[:6]
        levels, note = (row[6], row[7]) if len(row) == 8 else ({}, row[6])  # rows from before the levels
        by_level = ", ".join(f"{level}: {value:.2f}" for level, value in (levels or {}).items())
        print(f"| {folder} | {resolution} | {name} | {minutes:g} | {seen if seen is not None else '-'} | "
              f"{'-' if ratio is None else f'{ratio:.2f}'} | {by_level} | {note} |")
    return 0


def resumable_mark(rundir: Path, scored: list, marks: list[float]) -> float:
    """The last mark a run can go on from instead of starting again: its
    rows are the first marks asked for, and its checkpoint is where the last
    of them was scored (the same images seen). 0 when there is none."""
    done = sorted(row[3] for row in scored)
    state = rundir / "checkpoint.json"
    if not done or done != marks[:len(done)] or not state.exists():
        return 0.0
    last = max(scored, key=lambda row: row[3])
    return done[-1] if json.loads(state.read_text()).get("images_seen") == last[4] else 0.0


def _as_float(images: torch.Tensor) -> np.ndarray:
    """uint8 [N,3,R,R] -> float [N,3,R,R] in [-1,1], what write_grid takes."""
    return images.numpy().astype(np.float32) / 127.5 - 1.0


if __name__ == "__main__":
    raise SystemExit(main())
