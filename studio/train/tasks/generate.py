"""--task generate (the default): a GAN generator, latent -> image, trained
on a folder of images (generator_session.py), exported as a "generator"
model (generator_export.py).

Networks: --arch fastgan2 (FastGAN-style G with skip-layer excitation and
RGB skips, D with a reconstruction head; the default from 32 px up),
fastgan (its first form, kept for runs made with it), projected (fastgan2's
G against a discriminator on frozen pretrained features; opt-in) or classic
(nets.py, what emoji64 was trained with; the only choice under 32 px, and
what a config without "arch" means, so old runs resume as they were);
architecture.py says how they differ. --loss picks the non-saturating
(default) or hinge loss; lazy R1 applies to both. Defaults that depend on
the resolution and the device (width, R1 weight) and the --preset table live
in presets.py.

Augmentation: by default DiffAugment's few-shot recipe, every image seen
by D augmented (colour, translation and --cutout's grey square, half the
side; presets.py says why). With --ada-p-min below 1 it is ADA's: each
image is augmented with probability p, raised while D is too sure of the
real images (mean sign of its real logits above --ada-target, default 0.6)
and lowered otherwise, at a speed of --ada-kimg thousand images for p to go
from 0 to 1 (default 20), never below --ada-p-min. Progress events report p
as "aug_p"; it is saved in checkpoints. Runs from before ADA keep p = 1
(augment every image), runs from before the cutout none.

--alpha (alpha.py): auto, the default, trains a generator that draws
transparency (4 channels) when at least half the folder's pictures have
some; keep and flatten force it either way.

--encoder (encoder.py) trains an encoder, image -> latent, with the
generator (VAE-GAN); with --base MODEL --freeze-g it trains one for an
existing generator, whose G and D then stay fixed. The export puts it
beside the generator (encoder.onnx).

A new run starts from the installed base model at its resolution and width
(`studio export --base-model`), unless --base or --from-scratch says otherwise.
"""

from __future__ import annotations

import argparse

from studio.train.base_models import model_folders, read_manifest
from studio.train.errors import DataError
from studio.train.presets import DEFAULT_RESOLUTION, PRESETS, generator_defaults, is_default_base
from studio.train.tasks.task import Task

LATENT_SIZE = 128
DEFAULT_ARCH = "fastgan2"  # at 32 px and up (FastGAN has no smaller form)
FASTGAN_MIN_RESOLUTION = 32
AUGMENT = {"translate": 0.125, "colour": 1.0}
MAX_CUTOUT = 0.75  # a larger square hides nearly every picture whole
ENCODER_MIN_RESOLUTION = 32  # encoder.py's trunk is fastgan2's, which starts there
# How much each encoder term counts in G's half of the step beside the
# adversarial loss (about 1): rebuilding in pixels and in D's features as
# much as the GAN itself, KL light enough that E still tells pictures apart.
ENCODER_WEIGHTS = {"pixel": 1.0, "features": 1.0, "kl": 0.01, "cycle": 1.0}
ALPHA_CHOICES = ("auto", "keep", "flatten")  # what alpha.py does with a folder's transparency


class GenerateTask(Task):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from studio.train.architecture import ARCHITECTURES
        from studio.train.losses import LOSSES

        group = parser.add_argument_group("--task generate (recipe)")
        group.add_argument("--arch", choices=ARCHITECTURES,
                           help="networks: fastgan2 (default from 32 px), fastgan (its first form), projected "
                                "(fastgan2's G against a discriminator on frozen pretrained features; experimental) "
                                "or classic (default under 32 px; emoji64's)")
        group.add_argument("--loss", dest="gan_loss", choices=tuple(LOSSES),
                           help="GAN loss: nonsaturating (default) or hinge; lazy R1 either way")
        group.add_argument("--ada-target", type=float,
                           help="ADA: raise augmentation while D's mean sign on real images is above this (0..1, "
                                "default 0.6)")
        group.add_argument("--ada-kimg", type=float,
                           help="ADA: thousands of images for the augmentation probability to go from 0 to 1 "
                                "(default 20)")
        group.add_argument("--ada-p-min", type=float,
                           help="ADA: the augmentation probability never falls below this (0..1; default 1, every "
                                "image augmented from the first step, as DiffAugment does; 0 lets ADA start from none)")
        group.add_argument("--cutout", type=float,
                           help="augmentation: also hide a grey square this fraction of the side in each image D "
                                "sees, with the same probability (0..0.75; default 0.5, DiffAugment's few-shot "
                                "recipe; 0 = off)")
        group.add_argument("--alpha", choices=ALPHA_CHOICES,
                           help="transparency: auto (default: the generator draws it when at least half the "
                                "pictures have it), keep, or flatten (pictures composited on --background)")
        group.add_argument("--encoder", action="store_true", default=None,
                           help="also train an encoder (image -> latent) so pictures can be put into the latent "
                                "space; exported beside the generator")
        group.add_argument("--freeze-g", action="store_true", default=None,
                           help="with --encoder and --base MODEL: train only the encoder, for MODEL's generator "
                                "as it is")

    def check_arguments(self, args: argparse.Namespace) -> None:
        if args.ada_target is not None and not 0 < args.ada_target < 1:
            raise DataError(f"--ada-target must be between 0 and 1, got {args.ada_target}")
        if args.ada_kimg is not None and not args.ada_kimg > 0:
            raise DataError("--ada-kimg must be positive")
        if args.ada_p_min is not None and not 0 <= args.ada_p_min <= 1:
            raise DataError(f"--ada-p-min must be from 0 to 1, got {args.ada_p_min}")
        if args.cutout is not None and not 0 <= args.cutout <= MAX_CUTOUT:
            raise DataError(f"--cutout must be from 0 to {MAX_CUTOUT}, got {args.cutout}")

    def default_base(self, explicit: dict, preset: str | None, cuda: bool) -> str | None:
        """The first installed base model (shipped models, then the user's)
        at the run's resolution and width (given, or the device's default),
        as long as a given --arch agrees with it."""
        resolution = explicit.get("resolution") or (PRESETS[preset].resolution if preset else DEFAULT_RESOLUTION)
        width = explicit.get("width", generator_defaults(resolution, cuda=cuda)["width"])
        for folder in model_folders():
            manifest = read_manifest(folder)
            arch = manifest.get("training", {}).get("arch") if is_default_base(manifest, resolution, width) else None
            if arch is not None and explicit.get("arch", arch) == arch:
                return str(folder)
        return None

    def inherit(self, base_config: dict) -> dict:
        return {"arch": base_config.get("arch", "classic"), "latent_size": int(base_config["latent_size"])}

    def reads_alpha(self, config: dict) -> bool:
        # Runs from before --alpha have neither key and draw RGB.
        if "channels" in config:
            return int(config["channels"]) == 4
        return config.get("alpha", "flatten") != "flatten"

    def new_config(self, settled: dict, preset: str | None, cuda: bool) -> dict:
        from studio.train.architecture import ALPHA_ARCHITECTURES

        resolution = settled.get("resolution") or (PRESETS[preset].resolution if preset else self.default_resolution)
        defaults = generator_defaults(resolution, settled.get("batch"), cuda)
        config = {**defaults, "latent_size": LATENT_SIZE, **settled, "task": self.name, "betas": [0.0, 0.99],
                  "augment": dict(AUGMENT)}
        if "arch" not in config:
            config["arch"] = DEFAULT_ARCH if config["resolution"] >= FASTGAN_MIN_RESOLUTION else "classic"
        if config["arch"] != "classic" and config["resolution"] < FASTGAN_MIN_RESOLUTION:
            raise DataError(f"--arch {config['arch']} needs --resolution {FASTGAN_MIN_RESOLUTION} or more; use "
                            f"--arch classic at {config['resolution']} px")
        if config.get("alpha") == "keep" and config["arch"] not in ALPHA_ARCHITECTURES:
            raise DataError(f"--alpha keep needs --arch {' or '.join(ALPHA_ARCHITECTURES)}; --arch {config['arch']} "
                            "draws RGB only")
        # auto keeps alpha only where the networks can draw it.
        config.setdefault("alpha", "auto" if config["arch"] in ALPHA_ARCHITECTURES else "flatten")
        if config["alpha"] == "flatten":
            config["channels"] = 3  # else the folder decides (alpha.settle_channels)
        config["loss"] = f"{config['gan_loss']} + lazy R1"  # a description; the recipe key is gan_loss
        config["encoder"], config["freeze_g"] = bool(config.get("encoder")), bool(config.get("freeze_g"))
        if config["freeze_g"] and not (config["encoder"] and config.get("base")):
            raise DataError("--freeze-g trains an encoder for an existing generator: give it with --encoder and "
                            "--base MODEL")
        if config["encoder"]:
            if config["arch"] == "projected":
                raise DataError("--encoder needs a discriminator of its own for its perceptual loss; --arch "
                                "projected has none (use fastgan2)")
            if config["resolution"] < ENCODER_MIN_RESOLUTION:
                raise DataError(f"--encoder needs --resolution {ENCODER_MIN_RESOLUTION} or more")
            config["encoder_weights"] = dict(ENCODER_WEIGHTS)
        return config

    def session_class(self) -> type:
        from studio.train.generator_session import GeneratorSession

        return GeneratorSession

    def exporter(self):
        from studio.train import generator_export

        return generator_export

    def metrics_facts(self, metrics: dict) -> dict:
        return {key: metrics.get(key) for key in ("step", "swd", "diversity", "diversity_reference", "reference",
                                                  "images")}


TASK = GenerateTask(
    name="generate",
    help="generate: a GAN generator, latent -> image (default)",
    label="Generator (new images)",
    tip="Image size the generator makes; each doubling costs about 4× the time",
    resolutions=(8, 16, 32, 64, 128, 256),
    default_resolution=DEFAULT_RESOLUTION,
    panel_resolutions=(64, 128, 256),
    panel_resolution=DEFAULT_RESOLUTION,
    model_kind="generator",
    metric="swd",
    metric_name="SWD",
    metric_label="SWD (lower is better)",
    keys=("arch", "gan_loss", "ada_target", "ada_kimg", "ada_p_min", "cutout", "alpha", "encoder", "freeze_g"),
    base_needs=("resolution", "latent_size"),
    default_bases=True,
    offers_encoder=True,
)
