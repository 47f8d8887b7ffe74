"""The networks of --task upscale.

UpscaleNet, in the spirit of Real-ESRGAN's SRVGGNetCompact: plain 3x3
convolutions with PReLU at the input's resolution, one last convolution to
3 x scale^2 channels and a pixel shuffle, added to a plain enlargement of
the input (its "skip"; the network learns only what that leaves out).
The skip is bilinear: with a nearest-neighbour skip (the first shipped
model's) the network had to cancel scale x scale steps on smooth areas and
left faint ones on skies and bokeh. No normalisation and no global operation, so each output pixel
depends on a fixed window of the input (RECEPTIVE margin): a picture of any
size is upscaled in tiles with that margin and equals the whole-image run.
Its cost is one 3x3 conv per layer at the input's resolution: at width 0.5
(32 channels) and 16 layers, about 150 GMAC for a 1024 x 1024 input
(2.8 s to 4096 x 4096 on 2 CPU threads, onnxruntime).

UpscaleDiscriminator: a patch discriminator on the large image (logits at
1/16 of its side), with inpaint_nets' down blocks and the from_rgb / blocks /
head layout that finetune.discriminator_blocks (FreezeD) expects.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.train.inpaint_nets import D_CHANNELS, PATCH_FACTOR, DownBlock, channel_plan, patch_head
from studio.train.nets import EqualConv2d

SCALES = (2, 4)
SKIPS = ("bilinear", "nearest")
# A run or model that names no skip is from before bilinear became the default.
OLD_SKIP = "nearest"
BASE_CHANNELS = 64  # SRVGGNetCompact's num_feat at width 1


def receptive_margin(layers: int) -> int:
    """Input pixels on each side that one output pixel depends on: one per
    3x3 conv (the first, the `layers` body convs and the last). The skip
    runs beside them and reaches only one pixel, so it adds nothing."""
    return layers + 2


class UpscaleNet(nn.Module):
    """image float32 [N,3,h,w] in [-1,1] -> [N,3,h*scale,w*scale] in about [-1,1]."""

    def __init__(self, scale: int = 4, width: float = 0.5, layers: int = 16, skip: str = "bilinear"):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"upscale factor must be one of {', '.join(map(str, SCALES))}, got {scale}")
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {', '.join(SKIPS)}, got {skip!r}")
        channels = max(8, int(round(BASE_CHANNELS * width)))
        self.scale, self.layers, self.skip = scale, layers, skip
        body: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.PReLU(channels)]
        for _ in range(layers):
            body += [nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels)]
        body += [nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)]
        self.body = nn.Sequential(*body)
        self.shuffle = nn.PixelShuffle(scale)
        # Start as the skip's plain enlargement: the residual begins at zero.
        nn.init.zeros_(body[-1].weight)
        nn.init.zeros_(body[-1].bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.skip == "nearest":
            enlarged = F.interpolate(image, scale_factor=self.scale, mode="nearest")
        else:
            enlarged = F.interpolate(image, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.shuffle(self.body(image)) + enlarged


def rescaled_state(state: dict[str, torch.Tensor], layers: int, have: int, want: int) -> dict[str, torch.Tensor]:
    """An UpscaleNet's state for another factor: the body as it is, the last
    convolution's outputs (3 x have^2 sub-pixels, shuffled to have x have
    blocks) mapped to 3 x want^2. Fewer sub-pixels average the blocks they
    cover, so an x2 net from an x4 one starts as the x4's detail averaged
    over 2 x 2 blocks, which is what studio upscale --scale 2 does with it;
    more repeat the sub-pixel they fall in."""
    last = f"body.{2 * layers + 2}"
    fitted = dict(state)
    for key in (f"{last}.weight", f"{last}.bias"):
        tensor = state[key]
        blocks = tensor.reshape(3, have, have, *tensor.shape[1:])
        if have > want:
            k = have // want
            blocks = blocks.reshape(3, want, k, want, k, *tensor.shape[1:]).mean(dim=(2, 4))
        else:
            k = want // have
            blocks = blocks.repeat_interleave(k, dim=1).repeat_interleave(k, dim=2)
        fitted[key] = blocks.reshape(3 * want * want, *tensor.shape[1:]).contiguous()
    return fitted


class UpscaleDiscriminator(nn.Module):
    """image float32 [N,3,R,R] in [-1,1] -> logits [N,1,R/16,R/16], higher = more real."""

    def __init__(self, resolution: int = 128, width: float = 0.5):
        super().__init__()
        smallest = resolution // PATCH_FACTOR
        plan = channel_plan(D_CHANNELS, resolution, smallest, width)
        self.from_rgb = nn.Sequential(EqualConv2d(3, plan[resolution], 1), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList(DownBlock(plan[r], plan[r // 2]) for r in sorted(plan, reverse=True)[:-1])
        self.head = patch_head(plan[smallest])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.from_rgb(image)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def build_upscale_networks(config: dict) -> tuple[UpscaleNet, UpscaleDiscriminator]:
    """(G, D) for an upscaling run's config ("scale", "width", "layers", "skip", "resolution")."""
    return (UpscaleNet(int(config["scale"]), float(config["width"]), int(config["layers"]),
                       config.get("skip", OLD_SKIP)),
            UpscaleDiscriminator(int(config["resolution"]), float(config["width"])))
