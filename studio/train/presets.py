"""What a new generator run trains with when the user does not say, in one
place: `studio train` (its defaults and `--preset`) and the Train panel read
it, and neither needs torch to do so (this module imports nothing heavy).

Width is resolution-aware because a step's CPU time grows with both pixels
and channels. fastgan2's table is wide at the low resolutions, so width 1 is
costly everywhere: one D and one G step of batch 32 on 2 threads (this
session's 2-core VM, a training run sharing it) trains 4.9 images/s at 64 px
and width 1, 15.9 at 64 px and width 0.5, 10.1 at 128 px and width 0.5 (3.2
at 128 px and width 1, measured alone); the loop at 128 px and width 0.5
runs 10-11 images/s on a quiet machine. So 0.5 up to 128 px, and 0.25 at
256 px on the same pixel budget (not measured yet). With CUDA the networks grow to FastGAN's own widths (64 base
channels: 1024 at 4 px down to 64 at 128 px); not measured (no GPU lent).

R1's weight follows StyleGAN2-ADA's heuristic, gamma = 0.0002 * R^2 / batch:
the penalty is a sum over pixels, so it grows with the image's area.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RESOLUTION = 64
CPU_WIDTH = {8: 0.5, 16: 0.5, 32: 0.5, 64: 0.5, 128: 0.5, 256: 0.25}
CUDA_WIDTH = 4.0  # fastgan2's table x 4 = FastGAN's ngf 64 channels
# A CPU run is bound by steps, not images: at 128 px a step of batch 8 costs a
# quarter of one of 32, and from scratch on clipart-people batch 8 reached in
# 20 minutes the SWD batch 32 reached in 60, and 1.06 x the floor at 60
# minutes where batch 32 had 1.20 (issue 12; measured at 128 px only). A GPU
# step of 32 costs little more than one of 8, so there the images win (not
# measured).
CPU_BATCH = 8
CUDA_BATCH = 32
# What does not depend on the resolution or the device. Augmentation is
# DiffAugment's few-shot recipe (Zhao et al. 2020): every image D sees is
# augmented from the first step (ADA's p held at 1) with colour, translation
# and a cutout of half the side. At 128 px, batch 8, from scratch on 2 cores
# it beat ADA's adaptive p (from 0 toward target 0.6) on SWD at equal wall
# time: clipart-people 0.98 against 1.06 x the floor at 60 minutes (level at
# 20), emoji-persons 2.65 against 2.79 at 20 and 2.29 against 2.81 at 40,
# with more varied samples (issue 12; benchmarks/results/quality128).
FIXED_DEFAULTS = {"lr": 2e-3, "r1_every": 16, "ema_kimg": 10.0, "seed": 0, "fit": "auto",
                  "background": "#ffffff", "gan_loss": "nonsaturating", "ada_target": 0.6, "ada_kimg": 20.0,
                  "ada_p_min": 1.0, "cutout": 0.5, "freeze_d": 0, "grad_clip": 10.0}
# The recipe keys a generator run has defaults for (resolution included).
DEFAULT_KEYS = ("resolution", "batch", "width", "r1_gamma", *FIXED_DEFAULTS)


def r1_gamma(resolution: int, batch: int) -> float:
    """StyleGAN2-ADA's R1 weight for R x R images in batches of `batch`."""
    return round(0.0002 * resolution * resolution / batch, 6)


def generator_defaults(resolution: int = DEFAULT_RESOLUTION, batch: int | None = None,
                       cuda: bool = False) -> dict:
    """The recipe a new generator run gets for what it is not told: every
    key of DEFAULT_KEYS, for this resolution (8..256), batch (None: the
    device's) and device."""
    width = CUDA_WIDTH if cuda else CPU_WIDTH[resolution]
    batch = batch or (CUDA_BATCH if cuda else CPU_BATCH)
    return {**FIXED_DEFAULTS, "resolution": resolution, "batch": batch, "width": width,
            "r1_gamma": r1_gamma(resolution, batch)}


def is_default_base(manifest: dict, resolution: int, width: float) -> bool:
    """Whether a model (its manifest.json as a dict) is one a new generator
    run at `resolution` and `width` starts from when it is not told
    otherwise: a generator exported with `studio export --base-model`
    whose networks are that wide."""
    training = manifest.get("training") if isinstance(manifest.get("training"), dict) else {}
    return (manifest.get("kind") == "generator" and manifest.get("base_model") is True
            and manifest.get("resolution") == resolution and training.get("width") == width)


@dataclass(frozen=True)
class Preset:
    """A named length of run with the resolution it is worth training at."""

    name: str
    label: str
    minutes: int
    resolution: int
    # What the samples look like after it, from issue 12's runs from scratch
    # at 128 px and batch 8 with the default recipe, alone on 2 cores, on
    # three folders: at 20 minutes outlined shapes in the folder's palette
    # on all three; at 60 minutes, on the uniform emoji-persons, faces with
    # eyes, a smile, hair and a shirt, and thin standing figures, all soft;
    # on the varied clip-art people upright silhouettes, on the clip-art
    # animals (birds, penguins, bats...) shapes in their palette and no
    # animal yet. The 2- and 8-hour marks are not measured yet: their lines
    # say no more than the hour showed.
    expectation: str


PRESETS = {
    "quick": Preset("quick", "Quick look", 20, 64,
                    "the folder's palette and outlined shapes; figures need longer"),
    "evening": Preset("evening", "Evening", 120, 128,
                      "soft figures from a folder of similar pictures (faces, busts); from a varied folder, "
                      "shapes and silhouettes in its palette"),
    "overnight": Preset("overnight", "Overnight", 480, 128,
                        "as Evening, given longer to settle; fine detail stays soft on a CPU"),
}
