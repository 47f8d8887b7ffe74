"""A Projected GAN discriminator (Sauer, Chitta, Mueller, Geiger 2021,
"Projected GANs Converge Faster") on the frozen MobileNetV2 of feature_net.py.

The paper's idea: rather than learning its features from raw pixels, the
discriminator judges images in the feature space of a fixed pretrained
network. Those features already describe shapes and textures, so the small
trainable discriminators on top of them separate real from fake in far fewer
steps, and with less data, than a discriminator starting from nothing. Two
random, fixed mixings spread the information over all channels and scales,
because without them D looks at a few strong pretrained features and ignores
the rest (the paper's ablation):
- Cross-Channel Mixing (CCM): per scale a random 1x1 convolution;
- Cross-Scale Mixing (CSM): from the coarsest scale upward, each scale gets
  the (randomly re-projected, bilinearly upsampled) mixture of the scales
  below it added (the paper's random U-Net decoder).
Then one small discriminator per scale gives a logit, and the logits are
averaged.

Here, image [N,3,R,R] in [-1,1] -> resized bilinearly to `feature_size`
(R rounded up to a multiple of 16, at least 64: 32 -> 64, 64 -> 64, 100 -> 112,
128 -> 128, 256 -> 256; the stride-16 map must be at least 4x4) ->
MobileNetFeatures, strides 4, 8, 16 (24, 32, 96 channels) -> CCM to 32, 64, 128
channels (never fewer than the features have, so the random projection loses
nothing), scaled by 1/5 so the mixed features are about unit RMS (on the
emoji set the raw features' RMS is 4.4, 5.6, 5.4 at 128 px, the mixed ones'
0.9-1.1; 1.0-1.2 at 64 px) -> CSM, cheap form: m2 = p2 (the coarsest),
m_k = (p_k + up2(W_k m_{k+1})) / sqrt(2), W_k a random 1x1 conv to the finer
scale's channels, applied before the upsampling (the two commute, so this is
exact and 4x cheaper). Unlike the paper's CSM, nothing is shifted to
twice the resolution: that would double every discriminator's input side. ->
per scale, a discriminator of nets.EqualConv2d layers (equalised learning
rate, so the trainer's Adam settings apply): 4x4 stride-2 convs + LeakyReLU(0.2)
while the map is 8 px or more, then a 3x3 conv + LeakyReLU and a conv over
the whole remaining 4..7 px map to one logit. Channels by output side:
32 (>= 16 px), 64 (8..15 px), 128 (4..7 px), times `width`, at least 8. The
paper's blocks also have BatchNorm and spectral norm; here there is neither
(the trainer feeds reals and fakes as separate batches and regularises with
R1 instead).

Frozen: the MobileNet weights (from models/style-predict/model.onnx, rebuilt
every time the class is built) and the CCM/CSM projections (drawn from
torch.Generator().manual_seed(PROJECTION_SEED), identical in every instance).
Trained: the per-scale discriminators only.

The frozen part is NOT a submodule. It lives in a plain attribute (`from_rgb`
is a read-only view of it) and follows .to()/.cuda()/.half() through an
overridden _apply; deepcopy and pickling copy it as any attribute. Reasons:
- the trainer calls finetune.set_trainable(D, True) before every D step, which
  is requires_grad_(True) on every parameter of D not frozen by FreezeD; a
  registered MobileNet would then start receiving gradients and Adam would
  update it from step one;
- D.parameters() (given to Adam, clipped, all-reduced) is exactly the
  trainable weights, and D.state_dict() (checkpoints, snapshots, exports)
  carries only "blocks.*" keys, not 0.53 M feature weights and the
  projections, which the ONNX file and the seed reproduce;
- load_state_dict(strict=True) therefore checks exactly the trained weights.
The price: a checkpoint assumes the same model.onnx and the same seed, and
module walks (D.modules(), D.apply) do not see the frozen part.

FreezeD (finetune.freeze_d_layers) sees [from_rgb, blocks[0..2], head]:
freezing from_rgb freezes nothing more (it is frozen already, the Projected
GAN being FreezeD taken to the whole feature extractor; it counts 0
parameters); freezing n >= 2 blocks freezes the per-scale discriminators from
the finest scale (stride 4, the most generic features) to the coarsest. The
head only averages and has no parameters, so it can never be frozen anyway.

Trainable parameters by scale (stride 4 / 8 / 16) and in all:
  width 1:    64 px 313,665 + 280,833 + 149,633 = 744,131;
             128 px 330,081 + 346,433 + 411,905 = 1,088,419 (256 px 1,104,931)
  width 0.5:  64 px 265,571; 128 px 359,891
  width 0.25: 64 px 106,163; 128 px 133,867
(FastDiscriminator at width 0.5, decoders included: 367,575 at 64 px,
372,087 at 128 px.) Frozen and in no state_dict: 534,464 MobileNet weights and
25,344 projection values. 32 px costs what 64 px does (it is upsampled).

Measured cost, batch 32, torch.set_num_threads(1), on the 2-core development
machine while a GAN training run kept both cores busy (load average 3-4), so
the numbers are noisy upper bounds; ranges over three runs of 4-6 repeats each,
width 1:
- forward + backward (to the input image and to D's weights):
  64 px 0.21-0.54 s, 128 px 1.16-1.84 s; of which the frozen part alone
  (forward + backward to the input) 0.17-0.21 s and 1.0-1.3 s: at 128 px the
  MobileNet is most of the cost, so a narrower `width` saves little there.
  FastDiscriminator(width 0.5) with its reconstruction, measured alongside:
  0.33-0.49 s and 0.76-1.07 s.
- a whole D step with R1 (real pass, fake pass, loss, R1's double backward
  through the MobileNet): 64 px 1.5 s, 128 px 4.3-7.0 s, against 0.84-0.94 s
  and 2.2-2.3 s for FastDiscriminator(width 0.5). R1 is the expensive part here,
  and lazy R1 (r1_every) matters more than with FastDiscriminator. (The paper
  trains its projected discriminators with spectral norm and no R1.)
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

from studio.core.paths import shipped_models_dir
from studio.train.feature_net import MobileNetFeatures
from studio.train.nets import EqualConv2d

MIN_RESOLUTION, MAX_RESOLUTION = 32, 256
FEATURE_MULTIPLE = 16    # the last stage's stride: the feature input side must be a multiple
MIN_FEATURE_SIZE = 64    # so that the stride-16 map is at least 4x4
PROJECTION_SEED = 20211101
CCM_CHANNELS = (32, 64, 128)  # per scale, >= the MobileNet's 24, 32, 96
FEATURE_SCALE = 0.2      # ~1 / the features' RMS, folded into the CCM
END_SIDE = 8             # a per-scale discriminator's down blocks run while its map is at least this big


def feature_size(resolution: int) -> int:
    """The side images are resized to before the feature net: `resolution`
    rounded up to a multiple of 16, at least 64."""
    return max(MIN_FEATURE_SIZE, -(-resolution // FEATURE_MULTIPLE) * FEATURE_MULTIPLE)


def disc_channels(side: int, width: float) -> int:
    """A per-scale discriminator's channels for a layer whose output map is
    side x side px: 32, 64 or 128 by side, times width, at least 8."""
    base = 32 if side >= 16 else 64 if side >= END_SIDE else 128
    return max(8, int(round(base * width)))


class FrozenProjection(nn.Module):
    """The fixed part: image [N,3,H,W] in [-1,1] -> resized to
    size x size -> MobileNetFeatures -> CCM -> CSM -> list of maps
    [N, CCM_CHANNELS[k], size/stride_k, size/stride_k]. Nothing here trains
    (no parameter requires grad, the projections are buffers), but gradients
    flow to the image; always in eval mode."""

    def __init__(self, model_dir: Path | str, size: int, seed: int = PROJECTION_SEED):
        super().__init__()
        self.size = size
        self.features = MobileNetFeatures(model_dir)
        self.strides = self.features.strides
        cin = self.features.channels
        cout = CCM_CHANNELS[:len(cin)]
        self.channels = tuple(cout)
        g = torch.Generator().manual_seed(seed)
        for k, (i, o) in enumerate(zip(cin, cout)):
            # Variance preserving (std 1/sqrt(fan_in)), then the feature scale.
            self.register_buffer(f"ccm{k}", torch.randn(o, i, 1, 1, generator=g) * (FEATURE_SCALE / math.sqrt(i)))
        for k in range(len(cout) - 1):
            # Coarser scale k+1 -> scale k's channels.
            self.register_buffer(f"csm{k}", torch.randn(cout[k], cout[k + 1], 1, 1, generator=g)
                                 / math.sqrt(cout[k + 1]))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "FrozenProjection":
        return super().train(False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        if image.shape[-2:] != (self.size, self.size):
            # Only ever upsampling in training (size >= resolution), so no
            # antialiasing is needed; plain bilinear has a double backward (R1).
            image = F.interpolate(image, size=(self.size, self.size), mode="bilinear", align_corners=False)
        feats = self.features(image)
        mixed = [F.conv2d(f, getattr(self, f"ccm{k}")) for k, f in enumerate(feats)]
        for k in reversed(range(len(mixed) - 1)):
            below = F.conv2d(mixed[k + 1], getattr(self, f"csm{k}"))
            below = F.interpolate(below, size=mixed[k].shape[-2:], mode="bilinear", align_corners=False)
            mixed[k] = (mixed[k] + below) * (1.0 / math.sqrt(2.0))
        return mixed


class ScaleDiscriminator(nn.Module):
    """One scale's trainable discriminator: [N, cin, side, side] -> logits [N]."""

    def __init__(self, cin: int, side: int, width: float):
        super().__init__()
        layers: list[nn.Module] = []
        c, s = cin, side
        while s >= END_SIDE:
            cout = disc_channels(s // 2, width)
            layers += [EqualConv2d(c, cout, 4, padding=1, stride=2), nn.LeakyReLU(0.2)]
            c, s = cout, s // 2
        cf = disc_channels(s, width)
        layers += [EqualConv2d(c, cf, 3, padding=1), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.side = side
        self.logit = EqualConv2d(cf, 1, s)  # over the whole remaining 4..7 px map

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.body(x)).flatten(1).squeeze(1)


class AverageLogits(nn.Module):
    """list of per-scale logits [N] -> their mean [N]. No parameters."""

    def forward(self, logits: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(logits, 0).mean(0)


class ProjectedDiscriminator(nn.Module):
    """image: float32 [N, 3, R, R] in [-1, 1] -> logit [N] (higher = more real).

    A drop-in for FastDiscriminator: D(image, reconstruct=True) -> (logits,
    zero scalar): there is no reconstruction loss (the pretrained features are
    the regulariser), the zero keeps `loss_d + recon` working and adds nothing.

    `from_rgb` is the frozen feature part (FrozenProjection, not a submodule,
    see the module docstring), `blocks` the per-scale discriminators (finest
    first), `head` the logit average. FreezeD's "freeze the first n blocks":
    n = 1 freezes nothing new (from_rgb is always frozen), n = 1 + k freezes
    the k finest per-scale discriminators as well.
    """

    def __init__(self, resolution: int, width: float = 1.0, model_dir: Path | None = None):
        super().__init__()
        if not isinstance(resolution, int) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise ValueError(f"resolution must be an integer from {MIN_RESOLUTION} to {MAX_RESOLUTION}, "
                             f"got {resolution!r}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.resolution = resolution
        self.width = width
        self.feature_size = feature_size(resolution)
        model_dir = Path(model_dir) if model_dir is not None else shipped_models_dir() / "style-predict"
        # Bypasses nn.Module.__setattr__: not a submodule, so not in
        # parameters(), state_dict() or requires_grad_().
        object.__setattr__(self, "_frozen", FrozenProjection(model_dir, self.feature_size))
        frozen = self._frozen
        self.blocks = nn.ModuleList(ScaleDiscriminator(c, self.feature_size // s, width)
                                    for c, s in zip(frozen.channels, frozen.strides))
        self.head = AverageLogits()

    @property
    def from_rgb(self) -> FrozenProjection:
        return self._frozen

    def _apply(self, fn, recurse: bool = True):
        # .to(), .cuda(), .half(), ... : move the frozen part along.
        super()._apply(fn, recurse)
        self._frozen._apply(fn, recurse)
        return self

    def extra_repr(self) -> str:
        return (f"resolution={self.resolution}, feature_size={self.feature_size}, width={self.width}, "
                f"frozen (not a submodule): MobileNetV2 strides {self._frozen.strides} "
                f"-> CCM {self._frozen.channels} -> CSM")

    def forward(self, image: torch.Tensor, reconstruct: bool = False):
        feats = self._frozen(image)
        logits = self.head([block(f) for block, f in zip(self.blocks, feats)])
        if not reconstruct:
            return logits
        return logits, torch.zeros((), device=image.device, dtype=image.dtype)
