"""--task inpaint: a conditional GAN that fills the holes of a masked image
(inpaint_session.py trains it, inpaint_export.py exports it as an "inpaint"
model). Its own recipe: 256 px by default, the width its speed target was
measured at, a fine-tune's losses taken from its base unless given.
"""

from __future__ import annotations

import argparse
import math

from studio.train.errors import DataError
from studio.train.tasks.task import Task

DEFAULTS = {"resolution": 256, "batch": 8, "width": 1.0, "lr": 2e-3, "r1_gamma": 1.0, "r1_every": 16,
            "ema_kimg": 2.0, "seed": 0, "fit": "crop", "background": "#ffffff", "freeze_d": 0, "grad_clip": 10.0,
            "l1_weight": 10.0, "hole_loss": "l1", "fm_weight": 5.0, "crop_scale": 1.5, "prefill": "telea"}
BASE_LOSS_KEYS = ("l1_weight", "hole_loss", "fm_weight")  # a fine-tune goes on as its base was trained


class InpaintTask(Task):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from studio.train.losses import HOLE_LOSSES
        from studio.train.prefill import PREFILLS

        group = parser.add_argument_group("--task inpaint (recipe)")
        group.add_argument("--l1-weight", type=float,
                           help="weight of the reconstruction error inside the holes (default 10; a fine-tune: its "
                                "base's)")
        group.add_argument("--hole-loss", choices=HOLE_LOSSES,
                           help="that error: l1 (default; mean absolute) or l2 (mean squared, what PSNR measures: a "
                                "blend where the hole could be either of two things, not a guess of one); a "
                                "fine-tune: its base's")
        group.add_argument("--fm-weight", type=float,
                           help="weight of discriminator feature matching (default 5; 0 = off, a little faster; a "
                                "fine-tune: its base's)")
        group.add_argument("--prefill", choices=PREFILLS,
                           help="what fills the holes before the network corrects them: telea (default; the network "
                                "starts at OpenCV Telea's fill) or none (it fills from grey)")

    def check_arguments(self, args: argparse.Namespace) -> None:
        for name in ("l1_weight", "fm_weight"):
            value = getattr(args, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise DataError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")

    def inherit(self, base_config: dict) -> dict:
        return {"prefill": base_config.get("prefill", "none")}  # the base network's input is what its prefill made

    def defaults_from_base(self, base_config: dict) -> dict:
        return {key: base_config[key] for key in BASE_LOSS_KEYS if key in base_config}

    def new_config(self, settled: dict, preset: str | None, cuda: bool) -> dict:
        config = {**DEFAULTS, **settled, "task": self.name, "betas": [0.0, 0.99], "arch": "inpaint-mobile",
                  "gan_loss": "nonsaturating", "ada_target": None, "ada_kimg": None}
        config["loss"] = (f"nonsaturating patch GAN + lazy R1 + {config['hole_loss'].upper()} in the holes"
                          + (" + feature matching" if config["fm_weight"] else ""))
        return config

    def session_class(self) -> type:
        from studio.train.inpaint_session import InpaintSession

        return InpaintSession

    def exporter(self):
        from studio.train import inpaint_export

        return inpaint_export

    def metrics_facts(self, metrics: dict) -> dict:
        return {key: metrics.get(key) for key in ("step", "psnr_hole", "l1_hole", "psnr_by_kind", "reference",
                                                  "images")}


TASK = InpaintTask(
    name="inpaint",
    help="inpaint: a conditional GAN that fills the holes of a masked image (its defaults: --resolution 256 "
         "--batch 8 --width 1 --r1-gamma 1 --ema-kimg 2)",
    label="Inpainting (fills holes)",
    tip="Crop size the network fills at; larger holes and finer detail need more, each doubling costs about 4× the "
        "time",
    resolutions=(32, 64, 128, 256, 512),
    default_resolution=DEFAULTS["resolution"],
    panel_resolutions=(64, 128, 256, 512),
    panel_resolution=128,
    model_kind="inpaint",
    metric="psnr_hole",
    metric_name="PSNR",
    metric_label="PSNR in the holes, dB (higher is better)",
    keys=("l1_weight", "hole_loss", "fm_weight", "crop_scale", "prefill"),
)
