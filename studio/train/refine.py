"""Refining a picture's latent (issue 15): the optional second stage of
projection, run as a torch child process so the app never loads torch
(engine/projection.py starts it and reads its lines):

    python -m studio.train refine MODEL_FOLDER TARGET.png --steps N [--start f32:...] [--threads T]

TARGET is the picture already framed at the model's resolution (RGB).
The latent starts at --start (the encoder's answer, or anything), else at
the encoder's own answer when the model has one, else at the prior's mean
(0), as the StyleGAN projector does. It is then optimised with Adam against
the model's generator (its G_ema, from the folder's checkpoint): L1 in
pixels plus L1 between the discriminator's features (the training's
perceptual term), with a light pull toward the prior so the latent stays
where walks make sense.

Output, one JSON object a line: {"event": "progress", "step", "steps",
"psnr"} every PROGRESS_EVERY steps, then {"event": "done", "latent":
"f32:...", "psnr", "steps"}; exit 0. Bad input: one `error:` line on stderr,
exit 2.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from studio.core.arguments import ArgumentError, Parser
from studio.core.fidelity import psnr
from studio.core.imageio import ImageError, load_image
from studio.core.model_pixels import to_model_pixels
from studio.core.recipe import decode_latent, encode_latent

LEARNING_RATE = 0.03
PRIOR_WEIGHT = 1e-3  # the pull toward N(0, 1): mean z^2 of the latent
PROGRESS_EVERY = 10


def build_parser() -> Parser:
    p = Parser(prog="studio train refine", description="Refine a picture's latent against a model's generator.")
    p.add_argument("model", help="the model folder (with checkpoint.safetensors)")
    p.add_argument("target", help="the picture, framed at the model's resolution")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--start", help="the latent to start from (f32:...)")
    p.add_argument("--threads", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.steps < 1:
            raise ArgumentError(f"--steps must be at least 1, got {args.steps}")
        target = load_image(args.target)
        start = decode_latent(args.start) if args.start else None
    except (ArgumentError, ImageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import torch

    from studio.train.finetune import BaseModelError, load_base

    torch.set_num_threads(max(1, args.threads))
    try:
        config, states = load_base(args.model)
    except BaseModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    latent_size = int(config["latent_size"])
    if start is not None and (start.shape != (latent_size,) or not np.isfinite(start).all()):
        kind = "" if np.isfinite(start).all() else " (not all of them finite)"
        print(f"error: --start holds {start.size} numbers{kind}; the model's latent is {latent_size} finite numbers",
              file=sys.stderr)
        return 2
    resolution = int(config["resolution"])
    if target.shape[:2] != (resolution, resolution):
        print(f"error: the picture is {target.shape[1]} x {target.shape[0]} px; the model draws {resolution} x "
              f"{resolution}", file=sys.stderr)
        return 2
    latent, psnr = refine(config, states, target, args.steps, start, _emit)
    _emit({"event": "done", "latent": encode_latent(latent), "psnr": round(psnr, 3), "steps": args.steps})
    return 0


def refine(config: dict, states: dict, target: np.ndarray, steps: int, start: np.ndarray | None,
           report) -> tuple[np.ndarray, float]:
    """(latent float32 [latent_size], PSNR dB of its drawing) after `steps`
    Adam steps; report(dict) gets the progress events."""
    import torch
    import torch.nn.functional as F

    from studio.train.architecture import build_discriminator, build_generator, image_channels
    from studio.train.data import parse_background
    from studio.train.encoder import build_encoder, discriminator_features

    torch.manual_seed(0)
    G, D = build_generator(config).eval(), build_discriminator(config).eval()
    G.load_state_dict(states["G"])
    D.load_state_dict(states["D"])
    G.requires_grad_(False)
    D.requires_grad_(False)
    as_drawn = to_model_pixels(target, parse_background(config.get("background", "#ffffff")), image_channels(config))
    real = torch.from_numpy(as_drawn.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0)
    if start is not None:
        z = torch.from_numpy(np.asarray(start, np.float32)[None].copy())
    elif "E" in states:
        encoder = build_encoder(config).eval()
        encoder.load_state_dict(states["E"])
        with torch.no_grad():
            z = encoder(real)[0]
    else:
        z = torch.zeros(1, int(config["latent_size"]))
    z.requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=LEARNING_RATE)
    with torch.no_grad():
        real_features = discriminator_features(D, real)
    for step in range(1, steps + 1):
        drawn = G(z)
        loss = (F.l1_loss(drawn, real)
                + sum(F.l1_loss(f, r) for f, r in zip(discriminator_features(D, drawn), real_features))
                / len(real_features) + PRIOR_WEIGHT * z.pow(2).mean())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % PROGRESS_EVERY == 0 or step == steps:
            report({"event": "progress", "step": step, "steps": steps, "psnr": round(_psnr(G, z, as_drawn), 3)})
    return z.detach()[0].numpy().astype(np.float32), _psnr(G, z, as_drawn)


def _psnr(G, z, target: np.ndarray) -> float:
    """PSNR of G(z) in uint8 against the target as the model draws it (HxWxC),
    on the background: the colour channels, as the app measures it."""
    import torch

    from studio.train.samples import to_pixels

    with torch.no_grad():
        return psnr(to_pixels(G(z).numpy())[0][..., :3], target[..., :3])


def _emit(item: dict) -> None:
    print(json.dumps(item), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
