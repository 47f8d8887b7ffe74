"""Which networks a run trains, by name, so the loop, export and fine-tuning
build the same classes from a run's config: "classic" (nets.py, what
models/emoji64 was trained with; configs without an "arch" key mean it) or
"fastgan" (fastgan.py)."""

from __future__ import annotations

from torch import nn

from studio.train.fastgan import FastDiscriminator, FastGenerator
from studio.train.nets import Discriminator, Generator

ARCHITECTURES = ("classic", "fastgan")


def _arch(config: dict) -> str:
    arch = config.get("arch", "classic")
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    return arch


def build_generator(config: dict) -> nn.Module:
    """The generator config describes (keys: arch, latent_size, resolution, width)."""
    if _arch(config) == "fastgan":
        return FastGenerator(config["latent_size"], config["resolution"], config["width"])
    return Generator(config["latent_size"], config["resolution"], config["width"])


def build_discriminator(config: dict) -> nn.Module:
    """The discriminator config describes (keys: arch, resolution, width)."""
    if _arch(config) == "fastgan":
        return FastDiscriminator(config["resolution"], config["width"])
    return Discriminator(config["resolution"], config["width"])
