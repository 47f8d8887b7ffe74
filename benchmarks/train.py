"""Trainer speed: our trainer's images/s vs lightweight-gan (PyPI) on the same images.

Both are run as their real training processes, one after the other, on the
same N-image subset of --data, at the same resolution, batch and torch thread
count, and each is timed over its own training steps only (start-up, dataset
scan and the first --warmup steps are left out; periodic sample grids and
checkpoints are off in both during the timed run).

Same images: --images files of --data are copied into a temporary folder; our
trainer reads that folder. The peer reads a folder of PNGs holding exactly the
training pixels our trainer prepared from it at the run's resolution (alpha on
white, centre crop, Lanczos), so neither trainer's resize filter or alpha
handling decides the comparison, and it never sees our held-out images.

The peer (lightweight-gan, written for CUDA) runs in a throwaway venv given by
--peer-python, patched to run on the CPU by benchmarks/lightweight_gan_cpu.py;
its figures are for that CPU-patched copy. Its settings: gradient_accumulate_every
1 (its CLI default of 4 would show it 4x the images per step), no attention
layers (our FastGAN-style G has none; its CLI default puts one at 32 px),
disc_output_size 1 (its CLI default), fmap_max from --peer-fmap-max (one
table row per value): default 16, whose G costs about what ours does per image
(4.0 vs 3.1 GFLOP forward per 32 images at 64 px); its own default is 512
(744 GFLOP). Its D costs 26+ GFLOP per 32 images at any fmap_max: the 32x32
auxiliary head has linear attention built in (ours: 3.6). The notes under the
table give each side's parameters and forward GFLOP. Threads: ours gets
--threads T; the peer's driver calls torch.set_num_threads(T) before building
its networks; its DataLoader keeps its default of one decoding worker process
per core (ours decodes once, up front). Warm-up: ours skips --warmup steps
(default 5: its first steps take seconds each while kernels are first run), the
peer --peer-warmup (default 2: its steps take tens of seconds, so one-off costs
are spread thin sooner).

--swd-minutes M also trains both (the peer with the first --peer-fmap-max)
for M minutes of training time at 64 px from scratch and compares their SWD x1000 (studio.train.metrics.swd, as
benchmarks/model_swd.py) against our held-out images: ours from its EMA
generator at seeds 10000.., the peer from its own checkpoint through its Trainer
API (its plain G: its EMA only starts after 20,000 steps).

    python benchmarks/train.py [--data /work/data/emoji] [--images 500] [--batch 32]
        [--resolutions 64 128] [--seconds 60] [--warmup 5] [--peer-warmup 2] [--threads 2]
        [--peer-python /work/lwgan-venv/bin/python] [--peer-fmap-max 16 512] [--swd-minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from studio.core.imageio import IMAGE_SUFFIXES, load_image, save_image
from studio.train import checkpoint as ckpt_io
from studio.train.architecture import FASTGAN_ARCHITECTURES, build_discriminator, build_generator
from studio.train.data import load_dataset
from studio.train.metrics import diversity, swd
from studio.train.samples import render_seeds, to_pixels

SWD_RESOLUTION = 64
SWD_SEED_BASE = 10_000  # generated images for SWD use seeds 10000.., as benchmarks/model_swd.py
RUN_SETTLE_S = 600  # how long a trainer may take to start up and to finish after its last step

# Runs inside the peer's venv (lightweight-gan imports neither studio nor our
# torch settings). argv[1] is a JSON object; prints one JSON object per line.
PEER_DRIVER = r'''
import json, random, sys, time
from pathlib import Path
cfg = json.loads(sys.argv[1])
import numpy as np, torch
torch.set_num_threads(cfg["threads"])
torch.manual_seed(cfg["seed"]); random.seed(cfg["seed"]); np.random.seed(cfg["seed"])
import torchvision
from lightweight_gan import Trainer
from lightweight_gan.version import __version__

def emit(**event):
    print(json.dumps(event), flush=True)

# Never save or evaluate inside the timed loop: its sample grids every 100
# steps and checkpoints are not training (ours has them off too).
trainer = Trainer(name="peer", base_dir=cfg["workdir"], image_size=cfg["resolution"], batch_size=cfg["batch"],
                  gradient_accumulate_every=1, attn_res_layers=cfg["attn"], disc_output_size=1,
                  fmap_max=cfg["fmap_max"], aug_types=["cutout", "translation"], num_workers=cfg["workers"],
                  save_every=10**9, evaluate_every=10**9, use_aim=False)
count = lambda m: sum(p.numel() for p in m.parameters())

def gflops(fn):
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops() / 1e9

if cfg["mode"] == "train":
    trainer.clear()
    trainer.set_data_src(cfg["data"])
    save, trainer.save = trainer.save, (lambda num: None)
    trainer.evaluate = lambda *a, **k: None
    trainer.init_GAN()
    z = torch.randn(cfg["batch"], trainer.GAN.latent_dim)
    fake = trainer.GAN.G(z).detach()
    emit(event="start", version=__version__, params_G=count(trainer.GAN.G), params_D=count(trainer.GAN.D),
         gflops_G=gflops(lambda: trainer.GAN.G(z)), gflops_D=gflops(lambda: trainer.GAN.D(fake, calc_aux_loss=True)),
         threads=torch.get_num_threads(), aug_prob=trainer.aug_prob, images=len(trainer.dataset))
    t0 = time.perf_counter()
    while True:
        trainer.train()
        t = time.perf_counter() - t0
        emit(event="step", step=trainer.steps, t=round(t, 4), loss_g=trainer.g_loss, loss_d=trainer.d_loss)
        if t >= cfg["seconds"] and trainer.steps >= cfg["min_steps"]:
            break
    if cfg["save"]:
        save(trainer.checkpoint_num)
        # Its Trainer.config() leaves fmap_max out of .config.json while
        # load_config() reads it back (default 512), so a checkpoint of any other
        # fmap_max cannot be loaded by its own load(); write the value it reads.
        saved = json.loads(trainer.config_path.read_text())
        trainer.config_path.write_text(json.dumps({**saved, "fmap_max": cfg["fmap_max"]}))
    emit(event="done", step=trainer.steps, seconds=round(t, 2))
else:
    trainer.load(-1)
    trainer.GAN.eval()
    z = torch.randn(cfg["count"], trainer.GAN.latent_dim, generator=torch.Generator().manual_seed(cfg["seed"]))
    images = trainer.generate_(trainer.GAN.G, z)
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        torchvision.utils.save_image(image, str(out / f"{i:05d}.png"))
    emit(event="generated", count=len(images), folder=str(out))
'''


class OtherLoad:
    """The share of the machine's CPU time (0..1 of all cores) that went to
    processes other than this one and its children, from creation to share():
    a timed run's figure holds only for the cores it had to itself. Linux only
    (/proc/stat); None elsewhere."""

    def __init__(self):
        self.t0, self.busy0, self.ours0 = time.monotonic(), _busy_s(), _our_cpu_s()

    def share(self) -> float | None:
        """Call after the children were waited for (their CPU time counts only then)."""
        busy = _busy_s()
        if busy is None or self.busy0 is None:
            return None
        others = (busy - self.busy0) - (_our_cpu_s() - self.ours0)
        return max(others, 0.0) / ((time.monotonic() - self.t0) * (os.cpu_count() or 1))


def _busy_s() -> float | None:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _our_cpu_s() -> float:
    """CPU seconds of this process and its waited-for descendants."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class PeerError(Exception):
    """The peer could not run; str() is one line saying why."""


def make_subset(source: Path, count: int, folder: Path, seed: int = 0) -> int:
    """Copy `count` image files of `source` (a fixed random pick, by seed) into
    `folder`; returns how many were copied."""
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        sys.exit(f"error: no images in {source} (studio datasets emoji {source} fetches the emoji set)")
    picked = random.Random(seed).sample(files, min(count, len(files)))
    folder.mkdir(parents=True)
    for i, path in enumerate(sorted(picked)):
        shutil.copy2(path, folder / f"{i:05d}{path.suffix.lower()}")
    return len(picked)


def write_pixels(images: torch.Tensor, folder: Path) -> None:
    """uint8 [N,3,R,R] -> one PNG per image in `folder` (the peer's training set)."""
    folder.mkdir(parents=True)
    for i, image in enumerate(images.numpy()):
        save_image(folder / f"{i:05d}.png", np.ascontiguousarray(image.transpose(1, 2, 0)))


def read_lines(proc: subprocess.Popen):
    """The JSON objects a trainer prints on stdout, one per line, as they come."""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def rate(points: list[tuple[int, float]], warmup: int, batch: int) -> tuple[float, int, float]:
    """points: (step, seconds since the first step began). Returns (images/s
    over the steps after `warmup`, steps timed, seconds timed)."""
    after = [p for p in points if p[0] >= warmup]
    if len(after) < 2:
        raise RuntimeError(f"only {len(points)} steps ran; a longer --seconds or a smaller --warmup is needed")
    (s0, t0), (s1, t1) = after[0], after[-1]
    return (s1 - s0) * batch / (t1 - t0), s1 - s0, t1 - t0


def run_ours(data: Path, out: Path, resolution: int, batch: int, threads: int, seconds: float, min_steps: int,
             env: dict, minutes: float | None = None, start: tuple[str, ...] = ("--from-scratch",)) -> dict:
    """Train with `python -m studio.train` until `seconds` of training and
    `min_steps` steps (by creating RUNDIR/STOP, the protocol's stop), or for
    exactly `minutes`; `start` is where from (from scratch, or ("--base",
    MODEL)). Returns {"points": [(step, elapsed_s)], "start": event, "done": event}."""
    cmd = [sys.executable, "-m", "studio.train", "--data", str(data), "--out", str(out),
           "--resolution", str(resolution), "--batch", str(batch), "--threads", str(threads), *start,
           "--checkpoint-every", "1000000000", "--metrics-every", "0", "--log-every", "1", "--progress", "json"]
    if minutes is not None:
        cmd += ["--minutes", str(minutes)]
    log = out.with_suffix(".stderr.txt")
    result: dict = {"points": [], "start": None, "done": None, "command": " ".join(cmd)}
    load = OtherLoad()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        stop_sent = False
        for event in read_lines(proc):
            kind = event.get("event")
            if kind == "start":
                result["start"] = event
            elif kind == "progress":
                result["points"].append((event["step"], event["elapsed_s"]))
                if (minutes is None and not stop_sent and event["elapsed_s"] >= seconds
                        and event["step"] >= min_steps):
                    (out / "STOP").touch()
                    stop_sent = True
            elif kind == "done":
                result["done"] = event
        code = proc.wait(timeout=RUN_SETTLE_S)
    result["others"] = load.share()
    if code != 0 or result["done"] is None:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"our trainer failed (exit {code}): {tail[0]}")
    return result


def forward_gflops(config: dict, batch: int) -> tuple[float, float]:
    """Forward GFLOP of our G and D (with its reconstruction head, as in
    training) for one batch: what a training step repeats several times."""
    G, D = build_generator(config), build_discriminator(config)
    z = torch.randn(batch, config["latent_size"])
    with torch.no_grad():
        with FlopCounterMode(display=False) as g:
            fake = G(z)
        with FlopCounterMode(display=False) as d:
            D(fake, reconstruct=True) if config["arch"] in FASTGAN_ARCHITECTURES else D(fake)
    return g.get_total_flops() / 1e9, d.get_total_flops() / 1e9


def busy_note(run: dict) -> str:
    share = run.get("others")
    return "" if share is None else f"; other processes took {share:.0%} of the CPUs meanwhile"


def peer_cmd(python: str, cfg: dict) -> list[str]:
    return [python, "-c", PEER_DRIVER, json.dumps(cfg)]


def run_peer(python: str, cfg: dict, log: Path, timeout: float) -> dict:
    """Run the peer's driver with cfg; returns {"points", "start", "done"} (train)
    or the "generated" event. PeerError (one line) when it fails."""
    result: dict = {"points": [], "start": None, "done": None}
    load = OtherLoad()
    with open(log, "w") as err:
        proc = subprocess.Popen(peer_cmd(python, cfg), stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": str(cfg["threads"])})
        for event in read_lines(proc):
            kind = event.get("event")
            if kind == "step":
                result["points"].append((event["step"], event["t"]))
            elif kind in ("start", "done", "generated"):
                result[kind if kind != "generated" else "done"] = event
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise PeerError(f"lightweight-gan did not finish within {timeout:.0f} s") from None
    result["others"] = load.share()
    if code != 0 or result["done"] is None:
        lines = [l for l in log.read_text(errors="replace").splitlines() if l.strip()]
        raise PeerError(f"lightweight-gan failed (exit {code}): {lines[-1].strip() if lines else 'no output'}")
    return result


def check_peer(python: str | None) -> str | None:
    """None when the peer can run, else one line saying why not."""
    if not python:
        return "no --peer-python given (a venv with lightweight-gan patched by benchmarks/lightweight_gan_cpu.py)"
    if not Path(python).exists():
        return f"--peer-python {python} does not exist"
    probe = subprocess.run([python, "-c", "import lightweight_gan"], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        if "No module named 'lightweight_gan'" in last:
            return f"lightweight-gan is not installed for {python} (pip install torch==2.13.0 lightweight-gan)"
        return (f"lightweight-gan does not import in {python} ({last}); patch it with "
                f"python benchmarks/lightweight_gan_cpu.py {Path(python).parent.parent}")
    return None


def ours_images(rundir: Path, count: int) -> torch.Tensor:
    """uint8 [count,3,R,R] from a run's EMA generator at seeds 10000.. (what it
    exports; one that draws alpha: its colour on the background, as the
    trainer's own metrics and the folder's prepared images have it)."""
    ckpt = ckpt_io.load(rundir)
    config = ckpt.info["config"]
    net = build_generator(config).eval()
    net.load_state_dict(ckpt.module_state("G_ema"))
    drawn = render_seeds(net, config["latent_size"], range(SWD_SEED_BASE, SWD_SEED_BASE + count))[:, :3]
    pixels = to_pixels(drawn)
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))


def folder_images(folder: Path) -> torch.Tensor:
    """uint8 [N,3,R,R] from the PNGs in `folder` (the peer's generated images)."""
    files = sorted(folder.glob("*.png"))
    return torch.from_numpy(np.stack([load_image(f)[..., :3].transpose(2, 0, 1) for f in files]))


def peer_config(args, mode: str, fmap_max: int, **extra) -> dict:
    return {"mode": mode, "threads": args.threads, "seed": 0, "attn": [], "fmap_max": fmap_max,
            "workers": args.peer_workers, "batch": args.batch, **extra}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/data/emoji"))
    parser.add_argument("--images", type=int, default=500, help="images copied from --data for both trainers")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--resolutions", type=int, nargs="*", default=[64, 128],
                        help="resolutions timed (none: only the --swd-minutes comparison)")
    parser.add_argument("--seconds", type=float, default=60.0, help="training seconds per timed run")
    parser.add_argument("--warmup", type=int, default=5, help="our first steps left out of the rate")
    parser.add_argument("--peer-warmup", type=int, default=2, help="the peer's first steps left out of the rate")
    parser.add_argument("--min-steps", type=int, default=4,
                        help="steps timed at least past the warm-up (4 = one cycle of the peer's gradient penalty)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for both")
    parser.add_argument("--peer-python", help="python of a venv with lightweight-gan patched for the CPU")
    parser.add_argument("--peer-fmap-max", type=int, nargs="+", default=[16],
                        help="lightweight-gan's fmap_max, one row each (16: G FLOPs near ours; its default 512)")
    parser.add_argument("--peer-workers", type=int, default=None,
                        help="lightweight-gan's DataLoader workers (default: its own, one per core)")
    parser.add_argument("--swd-minutes", type=float, help="also train both this long at 64 px and compare SWD")
    parser.add_argument("--keep", type=Path, help="work in this new folder and keep it (default: a temp folder)")
    args = parser.parse_args()

    if args.keep:
        args.keep.mkdir(parents=True)
        work = args.keep
    else:
        holder = tempfile.TemporaryDirectory(prefix="studio-bench-train-")
        work = Path(holder.name)
    # The dataset cache goes into the work folder, not the user's cache.
    env = {**os.environ, "STUDIO_CACHE_DIR": str(work / "cache")}
    os.environ["STUDIO_CACHE_DIR"] = env["STUDIO_CACHE_DIR"]
    subset = work / "images"
    copied = make_subset(args.data, args.images, subset)
    why_no_peer = check_peer(args.peer_python)

    rows, notes = [], []
    for resolution in args.resolutions:
        data = load_dataset(subset, resolution)
        ours_dir = work / f"ours-{resolution}"
        ours = run_ours(subset, ours_dir, resolution, args.batch, args.threads, args.seconds,
                        args.warmup + args.min_steps, env)
        ours_rate, ours_steps, ours_s = rate(ours["points"], args.warmup, args.batch)
        start = ours["start"]
        g_flops, d_flops = forward_gflops(json.loads((ours_dir / "config.json").read_text()), args.batch)
        notes.append(f"ours {resolution}px: {start['arch']}, G {start['params_G']:,} / D {start['params_D']:,} params, "
                     f"forward {g_flops:.1f} / {d_flops:.1f} GFLOP per batch, {start['threads']} threads, "
                     f"{ours_steps} steps in {ours_s:.1f} s timed{busy_note(ours)}")
        for fmap_max in args.peer_fmap_max:
            if why_no_peer is not None:
                rows.append((resolution, "-", ours_rate, None))
                break
            peer_rate = None
            try:
                peer_data = work / f"peer-data-{resolution}"
                if not peer_data.exists():
                    write_pixels(data.train, peer_data)
                cfg = peer_config(args, "train", fmap_max, data=str(peer_data),
                                  workdir=str(work / f"peer-{resolution}-{fmap_max}"), resolution=resolution,
                                  seconds=args.seconds, min_steps=args.peer_warmup + args.min_steps, save=False)
                peer = run_peer(args.peer_python, cfg, work / f"peer-{resolution}-{fmap_max}.stderr.txt",
                                args.seconds * 20 + RUN_SETTLE_S * 3)
                peer_rate, peer_steps, peer_s = rate(peer["points"], args.peer_warmup, args.batch)
                p = peer["start"]
                notes.append(f"lightweight-gan {p['version']} {resolution}px fmap_max {fmap_max}: no attention "
                             f"layers, G {p['params_G']:,} / D {p['params_D']:,} params, forward "
                             f"{p['gflops_G']:.1f} / {p['gflops_D']:.1f} GFLOP per batch, {p['threads']} threads, "
                             f"aug_prob {p['aug_prob']:.2f}, {peer_steps} steps in {peer_s:.1f} s timed"
                             f"{busy_note(peer)}")
            except (PeerError, RuntimeError) as exc:
                why_no_peer = str(exc)
            rows.append((resolution, fmap_max, ours_rate, peer_rate))

    if not rows:
        if args.swd_minutes:
            compare_swd(args, subset, work, env, why_no_peer)
        return 0
    print(f"{copied} images from {args.data} ({data.train.shape[0]} train / {data.held_out.shape[0]} held out), "
          f"CPU, {os.cpu_count()} cores, {args.threads} torch thread(s) each, torch {torch.__version__}; "
          f"~{args.seconds:.0f} s of training per run (at least {args.min_steps} timed steps), first "
          f"{args.warmup} (ours) / {args.peer_warmup} (peer) steps not timed")
    for note in notes:
        print(f"  {note}")
    if why_no_peer:
        print(f"peer column empty: {why_no_peer}")
    else:
        print("peer: lightweight-gan CPU-patched (benchmarks/lightweight_gan_cpu.py); written for CUDA")
    print()
    print("| resolution | batch | peer fmap_max | ours img/s | lightweight-gan img/s | ours/theirs |")
    print("|---:|---:|---:|---:|---:|---:|")
    for resolution, fmap_max, ours_rate, peer_rate in rows:
        peer_text = f"{peer_rate:.2f}" if peer_rate else "-"
        ratio = f"{ours_rate / peer_rate:.1f}x" if peer_rate else "-"
        print(f"| {resolution} | {args.batch} | {fmap_max} | {ours_rate:.1f} | {peer_text} | {ratio} |")

    if args.swd_minutes:
        print()
        compare_swd(args, subset, work, env, why_no_peer)
    return 0


def compare_swd(args, subset: Path, work: Path, env: dict, why_no_peer: str | None) -> None:
    """Train both for --swd-minutes at 64 px, then SWD x1000 of each against
    the held-out images (same count as held out), with the real-vs-real floor."""
    data = load_dataset(subset, SWD_RESOLUTION)
    held = data.held_out
    n = held.shape[0]
    if n < 2:
        print(f"SWD skipped: {subset} holds too few images for a held-out set (--images more)")
        return
    ours_dir = work / "ours-swd"
    ours = run_ours(subset, ours_dir, SWD_RESOLUTION, args.batch, args.threads, 0, 0, env, minutes=args.swd_minutes)
    rows = [("real training subset (the floor)",
             data.train[np.random.default_rng(0).choice(len(data.train), n, replace=False)], None, None)]
    rows.append((f"ours (EMA G), {ours['done']['step']} steps", ours_images(ours_dir, n), ours["done"]["images_seen"],
                 ours.get("others")))
    if why_no_peer is None:
        try:
            peer_data = work / "peer-data-swd"
            write_pixels(data.train, peer_data)
            workdir = str(work / "peer-swd")
            fmap_max = args.peer_fmap_max[0]
            cfg = peer_config(args, "train", fmap_max, data=str(peer_data), workdir=workdir,
                              resolution=SWD_RESOLUTION, seconds=args.swd_minutes * 60, min_steps=0, save=True)
            peer = run_peer(args.peer_python, cfg, work / "peer-swd.stderr.txt",
                            args.swd_minutes * 60 + RUN_SETTLE_S * 3)
            gen_cfg = peer_config(args, "generate", fmap_max, workdir=workdir, resolution=SWD_RESOLUTION, count=n,
                                  out=str(work / "peer-swd-images"))
            run_peer(args.peer_python, gen_cfg, work / "peer-swd-generate.stderr.txt", RUN_SETTLE_S)
            steps = peer["done"]["step"]
            rows.append((f"lightweight-gan fmap_max {fmap_max} (G), {steps} steps",
                         folder_images(work / "peer-swd-images"), steps * args.batch, peer.get("others")))
        except PeerError as exc:
            why_no_peer = str(exc)
    print(f"SWD x1000 at {SWD_RESOLUTION} px after {args.swd_minutes:g} min of training each (batch {args.batch}, "
          f"{args.threads} threads), {n} generated vs {n} held-out images (lower is better)")
    if why_no_peer:
        print(f"peer row missing: {why_no_peer}")
    print()
    print("| images | images seen | SWD | diversity | CPU taken by other processes |")
    print("|---|---:|---:|---:|---:|")
    scores = []
    for name, images, seen, others in rows:
        scores.append(swd(images, held)["swd"])
        print(f"| {name} | {seen if seen is not None else '-'} | {scores[-1]:.1f} | "
              f"{diversity(images):.3f} | {'-' if others is None else f'{others:.0%}'} |")
    if len(scores) == 3:
        ours_swd, peer_swd = scores[1], scores[2]
        verdict = "lower (better)" if ours_swd < peer_swd else "NOT lower"
        print(f"ours: SWD {ours_swd:.1f} vs {peer_swd:.1f}, {verdict} at equal wall-clock time")


if __name__ == "__main__":
    raise SystemExit(main())
