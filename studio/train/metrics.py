"""Image-set metrics that need no pretrained network (there are no Inception
weights offline, so no FID):

- `swd`: ProGAN's sliced Wasserstein distance between two image sets, on 7x7
  neighbourhoods of their Laplacian pyramids (Karras et al. 2018, appendix D).
  Lower is closer. Reported x1000, as ProGAN's tables do.
- `diversity`: mean pairwise per-pixel L1 distance within one set, in [0, 1];
  0 means every image is the same (mode collapse).
- `luma_psnr`: PSNR on the luma channel with the borders cropped, as
  super-resolution papers report it.

Both are deterministic for a given seed, so a run's curve moves only when the
generator does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 7  # neighbourhood side, as ProGAN
DESCRIPTORS_PER_IMAGE = 128  # random neighbourhoods per image and level
DIRECTION_REPEATS = 4
DIRECTIONS_PER_REPEAT = 128
MIN_LEVEL = 16  # the coarsest pyramid level ProGAN uses (smaller images: their own size)

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N,3,H,W] (0..255) or float [N,3,H,W] in [-1,1] -> float32 in [-1,1]."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1.0
    return images.float()


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """float [N,C,H,W] -> `levels` tensors, finest first: band-pass detail at
    H, H/2, ..., and the low-pass residual last (ProGAN's pyr_down/pyr_up with
    the 5-tap binomial filter and mirrored borders)."""
    out = []
    current = images
    for _ in range(levels - 1):
        small = _pyr_down(current)
        out.append(current - _pyr_up(small))
        current = small
    out.append(current)
    return out


def pyramid_levels(resolution: int) -> int:
    """How many levels: down to 16 px (or the image itself when it is smaller)."""
    levels, r = 1, resolution
    while r > MIN_LEVEL:
        r //= 2
        levels += 1
    return levels


def swd(a: torch.Tensor, b: torch.Tensor, seed: int = 0) -> dict:
    """Sliced Wasserstein distance between image sets a and b: [N,3,R,R],
    uint8 or float in [-1,1], same N and R. Returns {"swd": mean over levels,
    "levels": {resolution: value}}, both x1000 (ProGAN's unit)."""
    if a.shape != b.shape:
        raise ValueError(f"swd needs sets of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    gen = torch.Generator().manual_seed(seed)
    a, b = as_float(a).cpu(), as_float(b).cpu()
    levels = pyramid_levels(a.shape[-1])
    per_level = {}
    for la, lb in zip(laplacian_pyramid(a, levels), laplacian_pyramid(b, levels)):
        da = _normalise(_descriptors(la, gen))
        db = _normalise(_descriptors(lb, gen))
        per_level[int(la.shape[-1])] = _sliced_wasserstein(da, db, gen) * 1e3
    return {"swd": sum(per_level.values()) / len(per_level), "levels": per_level}


def diversity(images: torch.Tensor) -> float:
    """Mean over all pairs of the mean absolute per-pixel difference, with
    pixels in [0, 1]: 0 = all identical; about 0.33 for independent uniform
    noise. images: [N,3,H,W] uint8 or float in [-1,1], N >= 2."""
    x = (as_float(images).cpu().flatten(1) + 1.0) / 2.0
    n = x.shape[0]
    if n < 2:
        raise ValueError("diversity needs at least two images")
    dist = torch.cdist(x, x, p=1) / x.shape[1]  # float32: 200 images at 256 px stay at 150 MB
    return float(dist.double().sum() / (n * (n - 1)))


def luma_psnr(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image PSNR (dB) of the luma (BT.601 Y, as in MATLAB's rgb2ycbcr)
    of float [N,3,H,W] images in [-1,1], `border` pixels cropped from every
    side: [N], capped at 100 dB."""
    weights = torch.tensor([65.481, 128.553, 24.966], device=output.device).view(1, 3, 1, 1) / 255.0

    def luma(x: torch.Tensor) -> torch.Tensor:
        y = ((x.clamp(-1.0, 1.0) + 1.0) / 2.0 * weights).sum(dim=1) + 16.0 / 255.0
        return y[:, border:y.shape[1] - border, border:y.shape[2] - border] if border else y

    mse = (luma(output) - luma(target)).pow(2).mean(dim=(1, 2))
    return (10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp(max=100.0)


def _pyr_down(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[:, :, ::2, ::2]


def _pyr_up(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    up = torch.zeros(n, c, h * 2, w * 2, dtype=x.dtype)
    up[:, :, ::2, ::2] = x
    return _blur(up) * 4.0  # the zeros took 3/4 of the energy


def _blur(x: torch.Tensor) -> torch.Tensor:
    # The 5x5 binomial kernel is separable: two 1-D passes, 2.5x fewer flops.
    c = x.shape[1]
    taps = (_GAUSS / _GAUSS.sum()).to(x.dtype)
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, taps.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, taps.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def _descriptors(level: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """DESCRIPTORS_PER_IMAGE random 7x7 neighbourhoods per image: [N*D, C, 7, 7]."""
    n, c, h, w = level.shape
    size = min(PATCH, h, w)
    ys = torch.randint(0, h - size + 1, (n, DESCRIPTORS_PER_IMAGE, 1, 1), generator=gen)
    xs = torch.randint(0, w - size + 1, (n, DESCRIPTORS_PER_IMAGE, 1, 1), generator=gen)
    offs = torch.arange(size)
    rows = ys + offs.view(1, 1, size, 1)
    cols = xs + offs.view(1, 1, 1, size)
    batch = torch.arange(n).view(n, 1, 1, 1)
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # [N, D, s, s, C]
    return patches.permute(0, 1, 4, 2, 3).reshape(-1, c, size, size)


def _normalise(desc: torch.Tensor) -> torch.Tensor:
    """Per-channel zero mean, unit std over the whole set (ProGAN), flattened."""
    mean = desc.mean(dim=(0, 2, 3), keepdim=True)
    std = desc.std(dim=(0, 2, 3), keepdim=True)
    return ((desc - mean) / (std + 1e-8)).flatten(1)


def _sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of the
    projections (sorted projections, mean absolute difference)."""
    total = 0.0
    for _ in range(DIRECTION_REPEATS):
        dirs = torch.randn(a.shape[1], DIRECTIONS_PER_REPEAT, generator=gen)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        # numpy's sort along the contiguous axis: torch's CPU sort is 3x
        # slower, and 60x slower along dim 0 of a [descriptors, directions] matrix.
        pa = np.sort((dirs.t() @ a.t()).numpy(), axis=1)
        pb = np.sort((dirs.t() @ b.t()).numpy(), axis=1)
        total += float(np.abs(pa - pb).mean())
    return total / DIRECTION_REPEATS
