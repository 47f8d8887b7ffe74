"""Which networks a run trains, by name, so the loop, export and fine-tuning
build the same classes from a run's config:

- "classic": nets.py, what models/emoji64 was trained with; configs without
  an "arch" key mean it.
- "fastgan": fastgan.py as first written (nearest upsampling, one RGB layer,
  D's first block at full resolution, 8 channels at the top at width 0.5).
  Kept so runs made with it resume and export as they were trained.
- "fastgan2": the same blocks, changed where issue 12's diagnosis of the 128 px
  failure pointed: a wider channel table (2x from 8 px up), bilinear
  upsampling and RGB skips from the last three resolutions in G (no 2x2 grid
  from few-channel top layers), and a D that folds the image into channels
  down to 64 px before its first conv (every pixel seen with many channels
  at the cost of a 64 px layer). The default for new runs from 32 px up.
- "projected": fastgan2's generator against projected.py's discriminator,
  which judges images in the features of a frozen pretrained MobileNetV2
  (Projected GAN, issue 12 item 5). Opt-in until it wins at equal wall time.
"""

from __future__ import annotations

from torch import nn

from studio.train.fastgan import D_CHANNELS, G_CHANNELS, FastDiscriminator, FastGenerator
from studio.train.nets import Discriminator, Generator

ARCHITECTURES = ("classic", "fastgan", "fastgan2", "projected")
FASTGAN_ARCHITECTURES = ("fastgan", "fastgan2")  # their D has the reconstruction head
# Those that can draw an alpha channel: projected's D sees through a network
# pretrained on RGB, and classic is kept only as models/emoji64 was trained.
ALPHA_ARCHITECTURES = FASTGAN_ARCHITECTURES
# fastgan2's channels per resolution at width 1 (G and D alike).
CHANNELS2 = {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}
RGB_LEVELS2 = 3
D_INPUT_SIZE2 = 64  # the side fastgan2's D folds larger images down to


def _arch(config: dict) -> str:
    arch = config.get("arch", "classic")
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    return arch


def image_channels(config: dict) -> int:
    """3 (RGB) or 4 (RGB on the background + alpha) for a run's config; runs
    from before alpha was kept have no "channels" and are RGB."""
    channels = int(config.get("channels", 3))
    if channels == 4 and _arch(config) not in ALPHA_ARCHITECTURES:
        raise ValueError(f"--arch {config['arch']} draws RGB only; keeping alpha needs "
                         f"{' or '.join(ALPHA_ARCHITECTURES)}")
    return channels


def build_generator(config: dict) -> nn.Module:
    """The generator config describes (keys: arch, latent_size, resolution, width, channels)."""
    arch, channels = _arch(config), image_channels(config)
    if arch in ("fastgan2", "projected"):
        return FastGenerator(config["latent_size"], config["resolution"], config["width"], CHANNELS2,
                             upsample="bilinear", rgb_levels=RGB_LEVELS2, image_channels=channels)
    if arch == "fastgan":
        return FastGenerator(config["latent_size"], config["resolution"], config["width"], G_CHANNELS,
                             image_channels=channels)
    return Generator(config["latent_size"], config["resolution"], config["width"])


def build_discriminator(config: dict) -> nn.Module:
    """The discriminator config describes (keys: arch, resolution, width, channels)."""
    arch, channels = _arch(config), image_channels(config)
    if arch == "projected":
        # Imported here: it reads the style-predict ONNX through the onnx
        # package, whose import alone adds 0.9 s to every trainer start.
        from studio.train.projected import ProjectedDiscriminator

        return ProjectedDiscriminator(config["resolution"], config["width"])
    if arch == "fastgan2":
        resolution = config["resolution"]
        return FastDiscriminator(resolution, config["width"], channels=CHANNELS2,
                                 input_size=min(resolution, D_INPUT_SIZE2), image_channels=channels)
    if arch == "fastgan":
        return FastDiscriminator(config["resolution"], config["width"], channels=D_CHANNELS,
                                 image_channels=channels)
    return Discriminator(config["resolution"], config["width"])
