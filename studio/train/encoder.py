"""The encoder of `studio train --encoder` (issue 15): image -> latent, so
an artist's own picture becomes a point the generator can draw and walk
from.

It is trained beside the generator in the VAE-GAN family (Larsen et al.
2016, with BiGAN/ALAE's latent cycle), in G's half of every step:

- rebuild: a real image x is encoded to a Gaussian (mean, log-variance), a
  latent is drawn from it (the reparameterisation trick) and G draws it;
  the drawing must match x in pixels (L1) and in the discriminator's
  features (feature matching: a perceptual loss that needs no downloaded
  network). These terms train E and G alike, so G learns to reach every
  picture of the folder (a counter to mode collapse).
- KL: the Gaussian is pulled toward G's prior N(0, 1), so E(x) lands where
  G was trained and walks between two pictures stay in familiar latents.
- cycle: a fake G(z) is re-encoded and E's mean must give back z (trains E
  only), an endless supply of exact (image, latent) pairs.

With --freeze-g (and --base) only E learns: G and D are the base model's,
fixed; D serves as the feature network.

E's trunk is fastgan2's discriminator trunk (the image folded into channels
down to 64 px, residual down blocks to 4 x 4) and a two-layer head; it is
exported as latent = E's mean (encoder.onnx beside the generator's model.onnx).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.train.architecture import CHANNELS2, D_INPUT_SIZE2, image_channels
from studio.train.fastgan import DownBlock, channel_plan
from studio.train.finetune import discriminator_blocks
from studio.train.losses import feature_matching_loss
from studio.train.nets import EqualConv2d, EqualLinear

MIN_RESOLUTION = 32  # fastgan's channel plan starts there
BETAS = (0.9, 0.99)  # E regresses rather than plays a game: Adam with momentum
LOG_VARIANCE_RANGE = (-12.0, 4.0)  # exp() of it stays finite in float16


class Encoder(nn.Module):
    """image float32 [N,C,R,R] in [-1,1] (C as its generator draws) -> (mean,
    log-variance), each [N, latent_size]."""

    def __init__(self, latent_size: int = 128, resolution: int = 128, width: float = 0.5, image_channels: int = 3):
        super().__init__()
        plan = channel_plan(CHANNELS2, resolution, width)
        self.latent_size, self.resolution = latent_size, resolution
        input_size = min(resolution, D_INPUT_SIZE2)
        fold = resolution // input_size
        self.from_rgb = nn.Sequential(nn.PixelUnshuffle(fold), EqualConv2d(image_channels * fold * fold,
                                                                           plan[input_size], 3, padding=1),
                                      nn.LeakyReLU(0.2))
        self.blocks = nn.Sequential(*(DownBlock(plan[r], plan[r // 2]) for r in sorted(plan, reverse=True)
                                      if 4 < r <= input_size))
        c4 = plan[4]
        self.head = nn.Sequential(nn.Flatten(), EqualLinear(c4 * 16, c4 * 2), nn.LeakyReLU(0.2),
                                  EqualLinear(c4 * 2, 2 * latent_size))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.head(self.blocks(self.from_rgb(image))).chunk(2, dim=1)
        return mean, log_variance.clamp(*LOG_VARIANCE_RANGE)


class EncoderMean(nn.Module):
    """What is exported: image -> E's mean, the picture's latent."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)[0]


def build_encoder(config: dict) -> Encoder:
    """The encoder a run's config describes (latent_size, resolution, width, channels)."""
    return Encoder(int(config["latent_size"]), int(config["resolution"]), float(config["width"]),
                   image_channels(config))


def discriminator_features(D: nn.Module, image: torch.Tensor) -> list[torch.Tensor]:
    """The output of each of D's blocks before its head (finetune.discriminator_blocks)."""
    features, x = [], image
    for block in discriminator_blocks(D)[:-1]:
        x = block(x)
        features.append(x)
    return features


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_variance)) || N(0, 1)), averaged over the batch and the latent's dimensions."""
    return 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance).mean()


def encoder_losses(E: nn.Module, G: nn.Module, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                   latents: torch.Tensor) -> dict[str, torch.Tensor]:
    """The encoder's terms (the keys of a config's "encoder_weights") for real images and fakes G made
    from `latents`; D must be frozen for this (set_trainable(D, False))."""
    mean, log_variance = E(real)
    drawn = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
    rebuilt = G(drawn).float()
    return {
        "pixel": F.l1_loss(rebuilt, real),
        "features": feature_matching_loss(discriminator_features(D, rebuilt), discriminator_features(D, real)),
        "kl": kl_divergence(mean.float(), log_variance.float()),
        "cycle": F.mse_loss(E(fake.detach())[0].float(), latents),
    }


def weighted_sum(terms: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    return sum(weights[name] * value for name, value in terms.items())


@torch.no_grad()
def rebuild(E: nn.Module, G: nn.Module, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """G(E's mean) of float images [N,3,R,R] in [-1,1], `batch` at a time."""
    return torch.cat([G(E(images[i:i + batch])[0]).float() for i in range(0, len(images), batch)])
