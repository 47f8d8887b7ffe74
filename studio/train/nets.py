"""The GAN's two networks: a generator latent[N,128] -> image[N,3,R,R] in [-1,1]
and a convolutional discriminator image -> realness logit[N].

The generator uses only ops that export cleanly to ONNX and behave the same in
train and eval mode: nearest upsampling + 3x3 convs (no transposed convs, so no
checkerboard artefacts), LeakyReLU and pixel norm (no BatchNorm, so the EMA copy
needs no running statistics and export needs no folding).
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

# Feature channels per resolution. Kept narrow at 32/64 px because those layers
# dominate the cost of a step on a CPU; wide at 4/8 px where compute is cheap.
CHANNELS = {4: 256, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8, 256: 8}


def channel_plan(resolution: int, width: float = 1.0) -> dict[int, int]:
    """Channels per resolution 4..`resolution` (a power of two >= 8), scaled by width."""
    if resolution < 8 or resolution & (resolution - 1) or resolution not in CHANNELS:
        raise ValueError(f"resolution must be a power of two from 8 to 256, got {resolution}")
    plan = {}
    r = 4
    while r <= resolution:
        plan[r] = max(8, int(round(CHANNELS[r] * width)))
        r *= 2
    return plan


class PixelNorm(nn.Module):
    """Scales each pixel's feature vector to unit RMS (ProGAN); a stateless
    stand-in for BatchNorm that keeps activations bounded."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualConv2d(nn.Module):
    """Conv with an equalised learning rate (ProGAN): weights are stored as
    N(0,1) and scaled by He's constant at run time, so Adam moves every layer
    at the same relative speed. The scale is a constant multiply, which the
    ONNX exporter folds into the weights."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int = 0, stride: int = 1, groups: int = 1):
        super().__init__()
        # groups=cin makes a depthwise conv (inpaint_nets' separable convs).
        self.weight = nn.Parameter(torch.randn(cout, cin // groups, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = 1.0 / math.sqrt(cin // groups * kernel * kernel)
        self.padding = padding
        self.stride = stride
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding,
                        groups=self.groups)


class EqualLinear(nn.Module):
    """Linear layer with an equalised learning rate (see EqualConv2d)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = 1.0 / math.sqrt(cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _conv_act(cin: int, cout: int) -> list[nn.Module]:
    return [EqualConv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2), PixelNorm()]


class Generator(nn.Module):
    """latent: float32 [N, latent_size], any scale (truncation scales it) ->
    image: float32 [N, 3, R, R] in [-1, 1], RGB."""

    def __init__(self, latent_size: int = 128, resolution: int = 64, width: float = 1.0):
        super().__init__()
        plan = channel_plan(resolution, width)
        self.latent_size = latent_size
        self.resolution = resolution
        c4 = plan[4]
        # No pixel norm on the input latent: that would make truncation (a scale
        # of z) a no-op.
        self.stem = EqualLinear(latent_size, c4 * 16)
        self.stem_post = nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(), *_conv_act(c4, c4))
        layers: list[nn.Module] = []
        cin = c4
        for r in sorted(plan)[1:]:
            cout = plan[r]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv_act(cin, cout), *_conv_act(cout, cout)]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.to_rgb = EqualConv2d(cin, 3, 1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.stem(latent).view(latent.shape[0], -1, 4, 4)
        x = self.body(self.stem_post(x))
        return torch.tanh(self.to_rgb(x))


class MinibatchStd(nn.Module):
    """Appends the batch's mean feature std as one channel, so the
    discriminator can see a lack of variety (a guard against mode collapse)."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = math.gcd(self.group, n)
        y = x.view(g, -1, c, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])  # [n/g]
        y = y.view(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """image: float32 [N, 3, R, R] in [-1, 1] -> logit [N] (higher = more real)."""

    def __init__(self, resolution: int = 64, width: float = 1.0):
        super().__init__()
        plan = channel_plan(resolution, width)
        res = sorted(plan, reverse=True)
        self.from_rgb = nn.Sequential(EqualConv2d(3, plan[res[0]], 1), nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        for r in res[:-1]:
            cin, cout = plan[r], plan[r // 2]
            layers += [
                EqualConv2d(cin, cin, 3, padding=1), nn.LeakyReLU(0.2),
                EqualConv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2),
                nn.AvgPool2d(2),
            ]
        self.body = nn.Sequential(*layers)
        c4 = plan[4]
        self.head = nn.Sequential(
            MinibatchStd(),
            EqualConv2d(c4 + 1, c4, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), EqualLinear(c4 * 16, c4), nn.LeakyReLU(0.2),
            EqualLinear(c4, 1),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.from_rgb(image))).squeeze(1)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
