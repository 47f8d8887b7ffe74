"""The inpainting GAN's two networks, shaped for ONNX export and CPU speed
(after MI-GAN, Sargsyan et al. 2023: a mobile encoder-decoder of depthwise-
separable convolutions with skip connections). No FFT, no attention, no
normalisation layers: only convolutions, leaky ReLU, nearest upsampling, a
global mean and tanh, which export to plain ONNX ops and run fast in
onnxruntime's CPU kernels.

Generator: (image [N,3,R,R] in [-1,1], mask [N,1,R,R], 1 = hole) -> the
composite image*(1-mask) + fill*mask, [N,3,R,R] in [-1,1]. It zeroes the holes
itself, so callers may pass the original pixels under the mask. The encoder
halves the resolution down to 8x8, where a few residual blocks and a global
context vector see the whole picture (what large holes need); the decoder
doubles it back, adding the encoder's features at each size (skips carry the
known pixels' detail to the output).

Discriminator: a patch discriminator conditioned on the mask:
(image, mask) -> logits [N,1,R/16,R/16], one per overlapping patch, so it
judges the fill's local texture and seams, and it knows where the hole was.
Its block outputs double as features for the feature-matching loss.

Layers are nets.py's equalised-learning-rate ones (the trainer's Adam
settings apply unchanged); the gain of leaky ReLU is folded into the next
conv's weight scale, a constant the exporter folds away.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from studio.train.nets import EqualConv2d

RESOLUTIONS = (32, 64, 128, 256, 512)
BOTTOM = 8  # the encoder's smallest feature map, px
PATCH_FACTOR = 16  # the discriminator's logits are R/16 x R/16
# Channels per feature resolution at width 1: narrow where the pixels are
# (the full-resolution layers are most of a 512 px crop's time), wide at the
# bottom where a whole picture is a few dozen positions. D uses full 3x3
# convs and runs three times a step, so it is kept about as cheap as G.
G_CHANNELS = {512: 16, 256: 24, 128: 48, 64: 96, 32: 128, 16: 160, 8: 192}
D_CHANNELS = {512: 16, 256: 16, 128: 24, 64: 48, 32: 96, 16: 128, 8: 192, 4: 256, 2: 256}
MIDDLE_BLOCKS = 2
GAIN = math.sqrt(2.0)  # leaky ReLU's He gain
SKIP_SCALE = 1.0 / math.sqrt(2.0)  # sums of two unit-variance branches stay unit variance


def channel_plan(table: dict[int, int], resolution: int, smallest: int, width: float) -> dict[int, int]:
    """Channels per feature resolution from `resolution` down to `smallest`,
    scaled by width (at least 8)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"inpainting resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    return {r: max(8, int(round(table[r] * width))) for r in table if smallest <= r <= resolution}


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class SeparableConv(nn.Module):
    """[N,cin,H,W] -> [N,cout,H/stride,W/stride]: depthwise 3x3 (stride 1 or
    2), pointwise 1x1, leaky ReLU. Input: the output of a leaky ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.depthwise = EqualConv2d(cin, cin, 3, padding=1, stride=stride, groups=cin)
        self.depthwise.scale *= GAIN
        self.pointwise = EqualConv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _lrelu(self.pointwise(self.depthwise(x)))


class EncoderStage(nn.Module):
    """One resolution of the encoder: `keep` refines the features (they go to
    the decoder as a skip), `down` halves the size and changes the width."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.keep = SeparableConv(cin, cin)
        self.down = SeparableConv(cin, cout, stride=2)


class DecoderStage(nn.Module):
    """[N,cin,s,s] + skip [N,cout,2s,2s] -> [N,cout,2s,2s]: the width change
    happens at the low resolution (a 1x1 conv there costs a quarter), then
    nearest upsampling, the skip added, and a separable conv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.narrow = EqualConv2d(cin, cout, 1)
        self.narrow.scale *= GAIN
        self.refine = SeparableConv(cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.narrow(x), scale_factor=2.0, mode="nearest")
        return self.refine((x + skip) * SKIP_SCALE)


class ResidualBlock(nn.Module):
    """Two separable convs with a residual connection (at the bottom size)."""

    def __init__(self, channels: int):
        super().__init__()
        self.first = SeparableConv(channels, channels)
        self.second = SeparableConv(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.second(self.first(x))) * SKIP_SCALE


class GlobalContext(nn.Module):
    """Adds a projection of the mean feature vector to every position: the
    whole picture's colour and content reach every part of a hole."""

    def __init__(self, channels: int):
        super().__init__()
        self.project = EqualConv2d(channels, channels, 1)
        self.project.scale *= GAIN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = _lrelu(self.project(x.mean(dim=(2, 3), keepdim=True)))
        return (x + g) * SKIP_SCALE


class InpaintGenerator(nn.Module):
    """(image float32 [N,3,R,R] in [-1,1], mask float32 [N,1,R,R] in [0,1],
    1 = hole) -> float32 [N,3,R,R] in [-1,1]: the image with its holes filled
    (pixels where mask = 0 are the input's). Fully convolutional; R (32, 64,
    128, 256 or 512) is what it was built and trained for."""

    def __init__(self, resolution: int = 256, width: float = 1.0, residual: bool = False):
        super().__init__()
        plan = channel_plan(G_CHANNELS, resolution, min(BOTTOM, resolution), width)
        self.resolution = resolution
        self.width = width
        self.residual = residual
        sizes = sorted(plan, reverse=True)  # R, R/2, ..., 8
        self.stem = EqualConv2d(4, plan[resolution], 3, padding=1)
        self.encoder = nn.ModuleList(EncoderStage(plan[r], plan[r // 2]) for r in sizes[:-1])
        bottom = plan[sizes[-1]]
        self.middle = nn.Sequential(*(ResidualBlock(bottom) for _ in range(MIDDLE_BLOCKS)), GlobalContext(bottom))
        self.decoder = nn.ModuleList(DecoderStage(plan[r // 2], plan[r]) for r in reversed(sizes[:-1]))
        self.to_rgb = EqualConv2d(plan[resolution], 3, 3, padding=1)
        self.to_rgb.scale *= GAIN
        if residual:
            # The correction starts at zero: an untrained network returns its prefilled input.
            nn.init.zeros_(self.to_rgb.weight)

    def fill(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The network's own prediction everywhere, before compositing: [N,3,R,R]
        in [-1,1]. residual: `image` arrives with its holes prefilled
        (studio/train/prefill.py) and the prediction is that plus a correction."""
        known = image if self.residual else image * (1.0 - mask)
        x = _lrelu(self.stem(torch.cat([known, mask], dim=1)))
        skips = []
        for stage in self.encoder:
            x = stage.keep(x)
            skips.append(x)
            x = stage.down(x)
        x = self.middle(x)
        for stage, skip in zip(self.decoder, reversed(skips)):
            x = stage(x, skip)
        if self.residual:
            return torch.clamp(image + self.to_rgb(x), -1.0, 1.0)
        return torch.tanh(self.to_rgb(x))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return image * (1.0 - mask) + self.fill(image, mask) * mask


class DownBlock(nn.Module):
    """[N,cin,s,s] -> [N,cout,s/2,s/2]: 3x3 conv, average pool, 3x3 conv (the
    second at the lower resolution, where it is 4x cheaper), plus a pooled
    1x1 shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3, padding=1)
        self.conv1.scale *= GAIN
        self.conv2 = EqualConv2d(cin, cout, 3, padding=1)
        self.conv2.scale *= GAIN
        self.skip = EqualConv2d(cin, cout, 1)
        self.skip.scale *= GAIN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(_lrelu(self.conv1(x)), 2)
        y = _lrelu(self.conv2(y))
        return (y + self.skip(F.avg_pool2d(x, 2))) * SKIP_SCALE


def patch_head(channels: int) -> nn.Sequential:
    """A patch discriminator's last layers: a 3x3 conv, then one logit per position."""
    conv = EqualConv2d(channels, channels, 3, padding=1)
    conv.scale *= GAIN
    logit = EqualConv2d(channels, 1, 1)
    logit.scale *= GAIN
    return nn.Sequential(conv, nn.LeakyReLU(0.2), logit)


class PatchDiscriminator(nn.Module):
    """(image float32 [N,3,R,R] in [-1,1], mask [N,1,R,R]) -> logits
    [N,1,R/16,R/16], higher = more real. features=True also returns the four
    blocks' outputs (for feature matching). from_rgb / blocks / head are the
    layout finetune.discriminator_blocks expects, so FreezeD works."""

    def __init__(self, resolution: int = 256, width: float = 1.0):
        super().__init__()
        smallest = resolution // PATCH_FACTOR
        plan = channel_plan(D_CHANNELS, resolution, smallest, width)
        self.resolution = resolution
        self.width = width
        self.from_rgb = nn.Sequential(EqualConv2d(4, plan[resolution], 1), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList(DownBlock(plan[r], plan[r // 2]) for r in sorted(plan, reverse=True)[:-1])
        self.head = patch_head(plan[smallest])

    def forward(self, image: torch.Tensor, mask: torch.Tensor, features: bool = False):
        x = self.from_rgb(torch.cat([image, mask], dim=1))
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        logits = self.head(x)
        return (logits, feats) if features else logits


def build_inpaint_networks(config: dict) -> tuple[InpaintGenerator, PatchDiscriminator]:
    """(G, D) for an inpainting run's config ("resolution", "width")."""
    residual = config.get("prefill", "none") != "none"  # runs from before prefills had none
    return (InpaintGenerator(int(config["resolution"]), float(config["width"]), residual),
            PatchDiscriminator(int(config["resolution"]), float(config["width"])))
