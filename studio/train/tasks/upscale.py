"""--task upscale: a super-resolution network (x2 or x4) trained on random
crops of any folder through a realistic degradation pipeline
(upscale_session.py trains it, upscale_export.py exports it as an "upscale"
model). --resolution is the side of the sharp training crops (the network's
input is that divided by --scale); the network itself takes any size.
Pictures are kept at --crop-scale x --resolution px and never enlarged to
it (a blurred target would teach blur): smaller ones are skipped, so a
folder of small pictures trains with --crop-scale 1 or a lower --resolution.
A fine-tune of the shipped upscaler learns a folder's brushwork at the
size its pictures are enlarged at, so it wants the largest --crop-scale the
pictures allow: on clip-art animals, 4 (58 pictures of 512 px and up,
little shrunk) gained +0.30 dB on held-out pictures in 40 minutes and +0.42
in 60, where 2 (123 pictures shrunk to 256 px) lost 0.13 (issue 14, with
clean downscales and lr 2e-4). So a fine-tune, the Train panel's default,
takes that recipe unless told otherwise: FINE_TUNE_DEFAULTS, and the largest
of CROP_SCALES that keeps FINE_TUNE_KEPT pictures of the folder (or half of
those it has at the least scale, for a smaller folder).

Defaults: a compact network (width 0.5 = 32 channels, 16 layers: 1024 x
1024 -> 4096 x 4096 in 2.8 s on 2 CPU threads; 64 channels took 8.4 s), L1 + the Laplacian-pyramid L1, the
adversarial term off (--gan-weight turns it on; it stays off by default
until it measures better), Adam at 5e-4 with betas (0.9, 0.99) as
Real-ESRGAN's PSNR-oriented stage.
"""

from __future__ import annotations

import argparse
import math

from studio.train.errors import DataError
from studio.train.tasks.task import Task

DEGRADATIONS = ("realistic", "clean")
DEFAULTS = {"resolution": 128, "batch": 16, "width": 0.5, "lr": 5e-4, "r1_gamma": 1.0, "r1_every": 16,
            "ema_kimg": 5.0, "seed": 0, "fit": "crop", "background": "#ffffff", "freeze_d": 0, "grad_clip": 10.0,
            "crop_scale": 2.0, "scale": 4, "layers": 16, "perceptual_weight": 1.0, "gan_weight": 0.0,
            "degradation": "realistic", "skip": "bilinear"}
FINE_TUNE_DEFAULTS = {"lr": 2e-4, "degradation": "clean"}
CROP_SCALES = (4.0, 3.0, 2.0, 1.0)  # a fine-tune's --crop-scale, the first that keeps enough pictures
FINE_TUNE_KEPT = 50  # the measured fine-tune kept 58


class UpscaleTask(Task):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from studio.train.upscale_nets import SCALES, SKIPS

        group = parser.add_argument_group("--task upscale (recipe)")
        group.add_argument("--scale", type=int, choices=SCALES,
                           help="enlargement factor (default 4, or the base model's; an x2 can start from an x4 base)")
        group.add_argument("--layers", type=int,
                           help="3x3 convolutions in the network's body (default 16; the receptive margin is this + "
                                "2 input pixels)")
        group.add_argument("--perceptual-weight", type=float,
                           help="weight of the Laplacian-pyramid L1 (edges and texture at every scale) beside plain "
                                "L1 (default 1; 0 = off)")
        group.add_argument("--gan-weight", type=float,
                           help="weight of the adversarial loss of a patch discriminator (default 0 = off)")
        group.add_argument("--degradation", choices=DEGRADATIONS,
                           help="the inputs it learns from: realistic (default: blur, resizing, noise and JPEG in "
                                "two rounds, and plain downscales) or clean (plain downscales only)")
        group.add_argument("--skip", choices=SKIPS,
                           help="the plain enlargement the network adds its detail to (default bilinear; a "
                                "fine-tune keeps its base's)")

    def check_arguments(self, args: argparse.Namespace) -> None:
        for name in ("perceptual_weight", "gan_weight"):
            value = getattr(args, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise DataError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")
        if args.layers is not None and not 1 <= args.layers <= 64:
            raise DataError(f"--layers must be from 1 to 64, got {args.layers}")

    def inherit(self, base_config: dict) -> dict:
        return {"layers": int(base_config["layers"])}

    def defaults_from_base(self, base_config: dict) -> dict:
        from studio.train.upscale_nets import OLD_SKIP

        # --scale may differ from the base's: an x2 model starts from an x4's body (fit_base).
        return {"skip": base_config.get("skip", OLD_SKIP), "scale": int(base_config["scale"]), **FINE_TUNE_DEFAULTS}

    def fit_to_folder(self, config: dict, explicit: dict, folder: str) -> dict:
        from studio.train.augment import source_size
        from studio.train.data import short_sides

        if not config.get("base") or "crop_scale" in explicit:
            return config
        sides, resolution = short_sides(folder), int(config["resolution"])
        kept = {scale: sum(side >= source_size(resolution, scale) for side in sides) for scale in CROP_SCALES}
        enough = min(FINE_TUNE_KEPT, kept[CROP_SCALES[-1]] / 2)
        return {**config, "crop_scale": next(scale for scale in CROP_SCALES if kept[scale] >= enough)}

    def fit_base(self, states: dict, base_config: dict, config: dict) -> dict:
        from studio.train.upscale_nets import rescaled_state

        have, want = int(base_config["scale"]), int(config["scale"])
        if have == want:
            return states
        return {**states, "G": rescaled_state(states["G"], int(config["layers"]), have, want)}

    def new_config(self, settled: dict, preset: str | None, cuda: bool) -> dict:
        config = {**DEFAULTS, **settled, "task": self.name, "betas": [0.9, 0.99], "arch": "upscale-compact",
                  "gan_loss": "nonsaturating", "ada_target": None, "ada_kimg": None}
        config["loss"] = ("L1 + Laplacian L1" + (" + nonsaturating patch GAN + lazy R1" if config["gan_weight"] else ""))
        return config

    def session_class(self) -> type:
        from studio.train.upscale_session import UpscaleSession

        return UpscaleSession

    def exporter(self):
        from studio.train import upscale_export

        return upscale_export

    def metrics_facts(self, metrics: dict) -> dict:
        return {key: metrics.get(key) for key in ("step", "psnr", "psnr_lanczos", "psnr_degraded",
                                                  "psnr_degraded_lanczos", "reference", "images")}


TASK = UpscaleTask(
    name="upscale",
    help="upscale: a super-resolution network, x2 or x4 (its defaults: --resolution 128 (the sharp crops) --batch 16 "
         "--width 0.5 --scale 4)",
    label="Upscaler (enlarges pictures)",
    tip="Side of the sharp crops it learns from; the network then enlarges pictures of any size",
    resolutions=(64, 128, 256),
    default_resolution=DEFAULTS["resolution"],
    panel_resolutions=(64, 128, 256),
    panel_resolution=DEFAULTS["resolution"],
    model_kind="upscale",
    metric="psnr",
    metric_name="PSNR",
    metric_label="Luma PSNR of enlarged held-out crops, dB (higher is better)",
    keys=("crop_scale", "scale", "layers", "perceptual_weight", "gan_weight", "degradation", "skip"),
    base_needs=("resolution", "scale", "layers"),
)
