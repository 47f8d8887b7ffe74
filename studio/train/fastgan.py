"""FastGAN-style networks (Liu et al. 2021, "Towards Faster and Stabilized GAN
Training for High-fidelity Few-shot Image Synthesis"), cut down to train on a
CPU.

Generator: latent [N,128] -> image [N,3,R,R] in [-1,1] for R in 32..256.
Nearest upsampling + 3x3 conv + GLU per resolution, and skip-layer excitation
(SLE): a low-resolution feature map is pooled to 4x4, squeezed by a 4x4 conv to
one vector and turned into per-channel gates in (0,1) for a feature map 8-16x
larger. The gates carry global layout to the high-resolution layers without
their cost. Unlike the paper there is no BatchNorm (pixel norm instead) and no
noise injection: the generator is then the same function in train and eval
mode, its EMA copy has no buffers, and ONNX export reproduces it exactly.

Discriminator: residual down blocks to 4x4 and a logit, plus two small
decoders that rebuild, from its 8x8 and 16x16 features of a real image, the
whole image downsampled and one random quarter of it. Their L1 error is a
self-supervised loss that makes D learn features describing the whole image
rather than only the cues that separate the current fakes, the regulariser
that lets FastGAN train on a few hundred images.

Layers are nets.py's equalised-learning-rate ones, so the trainer's Adam
settings (lr 2e-3, betas (0, 0.99)) apply unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from studio.train.nets import EqualConv2d, EqualLinear, MinibatchStd, PixelNorm

RESOLUTIONS = (32, 64, 128, 256)
UPSAMPLING = ("nearest", "bilinear")
# Channels per feature resolution at width 1: nets.py's plan, narrow at the
# top where the pixels (and so the CPU time) are. The paper's 1024..32 would
# cost ~30x more per step.
G_CHANNELS = {4: 256, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8, 256: 8}
D_CHANNELS = {4: 256, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8, 256: 8}


def channel_plan(table: dict[int, int], resolution: int, width: float) -> dict[int, int]:
    """Channels per resolution 4..`resolution` (32, 64, 128 or 256), scaled by
    width (at least 8)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"FastGAN resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return {r: max(8, int(round(table[r] * width))) for r in table if r <= resolution}


def excitation_source(resolution: int) -> int:
    """The feature resolution whose SLE gates the feature map at `resolution`
    (paper: 4->64, 8->128, 16->256; here also 4->32)."""
    return max(4, resolution // 16)


class SkipExcitation(nn.Module):
    """low: [N,cin,s,s] (s a multiple of 4), high: [N,cout,H,W] -> high gated
    per channel by sigmoid(conv1x1(swish(conv4x4(avgpool_to_4x4(low)))))."""

    def __init__(self, cin: int, cout: int, low_size: int):
        super().__init__()
        # A fixed average pool rather than AdaptiveAvgPool2d: the size is known
        # here, and the legacy ONNX exporter handles a plain pool everywhere.
        self.pool = low_size // 4
        self.squeeze = EqualConv2d(cin, cout, 4)
        self.expand = EqualConv2d(cout, cout, 1)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        g = F.avg_pool2d(low, self.pool) if self.pool > 1 else low
        g = self.squeeze(g)
        g = g * torch.sigmoid(g)  # swish
        return high * torch.sigmoid(self.expand(g))


class UpBlock(nn.Module):
    """[N,cin,s,s] -> [N,cout,2s,2s]: upsample (nearest, or bilinear: no 2x2
    blocks for few-channel top layers to turn into a grid), then `convs` times
    (3x3 conv to 2*cout, pixel norm, GLU)."""

    def __init__(self, cin: int, cout: int, convs: int = 1, upsample: str = "nearest"):
        super().__init__()
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLING)}, got {upsample!r}")
        self.convs = nn.ModuleList(EqualConv2d(cin if i == 0 else cout, cout * 2, 3, padding=1) for i in range(convs))
        self.norm = PixelNorm()
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = upsample2x(x, self.upsample)
        for conv in self.convs:
            x = F.glu(self.norm(conv(x)), dim=1)
        return x


def upsample2x(x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class FastGenerator(nn.Module):
    """latent: float32 [N, latent_size], any scale (truncation scales it) ->
    image: float32 [N, C, R, R] in [-1, 1]: RGB (C = 3), or RGB composited on
    the run's background plus alpha (C = 4; alpha.py). R in 32, 64, 128, 256.

    rgb_levels > 1 (the "skip" generator of StyleGAN2): the last rgb_levels
    resolutions each add their own RGB picture to the one from below, upsampled
    bilinearly, so the layout is drawn where the channels are many and the
    narrow top layers only add detail to it."""

    def __init__(self, latent_size: int = 128, resolution: int = 64, width: float = 0.5,
                 channels: dict[int, int] = G_CHANNELS, upsample: str = "nearest", rgb_levels: int = 1,
                 image_channels: int = 3):
        super().__init__()
        plan = channel_plan(channels, resolution, width)
        self.latent_size = latent_size
        self.resolution = resolution
        self.width = width
        self.image_channels = image_channels
        # No pixel norm on the latent itself: truncation is a scale of z and
        # must still change the output.
        self.stem = EqualLinear(latent_size, plan[4] * 2 * 16)
        self.stem_norm = PixelNorm()
        self.up = nn.ModuleDict()
        self.excite = nn.ModuleDict()
        for r in sorted(plan)[1:]:
            # Two convs every other resolution (the paper's "comp" blocks),
            # one at the others: depth where it is cheap, speed where it is not.
            convs = 2 if int(math.log2(r)) % 2 == 1 else 1
            self.up[str(r)] = UpBlock(plan[r // 2], plan[r], convs, upsample)
            if r >= 32:
                src = excitation_source(r)
                self.excite[str(r)] = SkipExcitation(plan[src], plan[r], src)
        if not 1 <= rgb_levels < len(plan):
            raise ValueError(f"rgb_levels must be from 1 to {len(plan) - 1}, got {rgb_levels}")
        self.skips = rgb_levels > 1
        if self.skips:
            self.to_rgbs = nn.ModuleDict({str(r): EqualConv2d(plan[r], image_channels, 1)
                                          for r in sorted(plan)[-rgb_levels:]})
        else:  # the original form: one RGB layer, parameter names as before
            self.to_rgb = EqualConv2d(plan[resolution], image_channels, 3, padding=1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.stem(latent).view(latent.shape[0], -1, 4, 4)
        x = F.glu(self.stem_norm(x), dim=1)
        feats = {4: x}
        r = 4
        rgb = None  # the skips' running picture
        while r < self.resolution:
            r *= 2
            x = self.up[str(r)](x)
            if str(r) in self.excite:
                x = self.excite[str(r)](feats[excitation_source(r)], x)
            feats[r] = x
            if self.skips and str(r) in self.to_rgbs:
                layer = self.to_rgbs[str(r)](x)
                rgb = layer if rgb is None else upsample2x(rgb, "bilinear") + layer
        return torch.tanh(rgb if self.skips else self.to_rgb(x))


class DownBlock(nn.Module):
    """[N,cin,s,s] -> [N,cout,s/2,s/2]: two 3x3 convs and an average pool,
    plus a pooled 1x1 shortcut (residual, scaled to keep the variance)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3, padding=1)
        self.conv2 = EqualConv2d(cin, cout, 3, padding=1)
        self.skip = EqualConv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv1(x), 0.2)
        y = F.avg_pool2d(F.leaky_relu(self.conv2(y), 0.2), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) * (1.0 / math.sqrt(2.0))


class Decoder(nn.Module):
    """features [N,cin,8,8] -> image [N,C,size,size] in [-1,1]: nearest
    upsample + 3x3 conv + GLU per doubling, channels halving (>= 8)."""

    def __init__(self, cin: int, size: int, image_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        c, s = cin, 8
        while s < size:
            cout = max(8, c // 2)
            layers.append(UpBlock(c, cout))
            c, s = cout, s * 2
        self.body = nn.Sequential(*layers)
        self.to_rgb = EqualConv2d(c, image_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.body(x)))


class FastDiscriminator(nn.Module):
    """image: float32 [N, C, R, R] in [-1, 1] (C as its generator's) -> logit
    [N] (higher = more real).

    D(image, reconstruct=True) -> (logits [N], reconstruction loss scalar):
    call it that way on REAL images only; add the loss to D's loss.
    """

    def __init__(self, resolution: int = 64, width: float = 0.5, recon_size: int | None = None,
                 channels: dict[int, int] = D_CHANNELS, input_size: int | None = None, image_channels: int = 3):
        super().__init__()
        plan = channel_plan(channels, resolution, width)
        self.resolution = resolution
        self.width = width
        # The decoders rebuild a half-resolution image (FastGAN: 128 of 256),
        # capped at 64 px to stay cheap on a CPU.
        self.recon_size = recon_size or min(resolution // 2, 64)
        if self.recon_size < 8 or self.recon_size & (self.recon_size - 1) or self.recon_size > resolution // 2:
            raise ValueError(f"recon_size must be a power of two from 8 to {resolution // 2}, got {recon_size}")
        # input_size < resolution: the image is folded into channels
        # (space-to-depth) down to input_size before the first conv, so D's
        # first layers see every pixel with many channels rather than a few
        # channels at full resolution, at the same cost.
        input_size = input_size or resolution
        if input_size not in plan or input_size < 8:
            raise ValueError(f"input_size must be a power of two from 8 to {resolution}, got {input_size}")
        fold = resolution // input_size
        if fold == 1:
            self.from_rgb = nn.Sequential(EqualConv2d(image_channels, plan[resolution], 1), nn.LeakyReLU(0.2))
        else:
            self.from_rgb = nn.Sequential(nn.PixelUnshuffle(fold),
                                          EqualConv2d(image_channels * fold * fold, plan[input_size], 3, padding=1),
                                          nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList(DownBlock(plan[r], plan[r // 2]) for r in sorted(plan, reverse=True)
                                    if 4 < r <= input_size)
        c4 = plan[4]
        self.head = nn.Sequential(
            MinibatchStd(),
            EqualConv2d(c4 + 1, c4, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), EqualLinear(c4 * 16, 1),
        )
        self.decode_whole = Decoder(plan[8], self.recon_size, image_channels)
        self.decode_part = Decoder(plan[16], self.recon_size, image_channels)

    def forward(self, image: torch.Tensor, reconstruct: bool = False):
        x = self.from_rgb(image)
        feats = {}
        for block in self.blocks:
            x = block(x)
            feats[x.shape[-1]] = x
        logits = self.head(x).squeeze(1)
        if not reconstruct:
            return logits
        return logits, self.reconstruction_loss(image, feats[8], feats[16])

    def reconstruction_loss(self, image: torch.Tensor, feat8: torch.Tensor, feat16: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean L1 error of rebuilding the whole image (downsampled to
        recon_size) from feat8, and a random quarter per image (at recon_size)
        from the matching 8x8 quarter of feat16. Scalar, differentiable."""
        n, r, s = image.shape[0], self.resolution, self.recon_size
        whole = F.avg_pool2d(image, r // s) if r > s else image
        loss = F.l1_loss(self.decode_whole(feat8), whole)
        quarter = torch.randint(0, 4, (n,), generator=generator).to(image.device)
        rows = torch.arange(n, device=image.device)
        part_feat = _quarters(feat16)[rows, quarter]
        part_image = _quarters(image)[rows, quarter]
        if r // 2 > s:
            part_image = F.avg_pool2d(part_image, (r // 2) // s)
        return loss + F.l1_loss(self.decode_part(part_feat), part_image)


def _quarters(x: torch.Tensor) -> torch.Tensor:
    """[N,C,H,W] -> [N,4,C,H/2,W/2]: top-left, top-right, bottom-left, bottom-right."""
    n, c, h, w = x.shape
    return x.view(n, c, 2, h // 2, 2, w // 2).permute(0, 2, 4, 1, 3, 5).reshape(n, 4, c, h // 2, w // 2)
