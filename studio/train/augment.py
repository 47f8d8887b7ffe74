"""Differentiable augmentation (DiffAugment-style), applied to real and fake
images alike before the discriminator sees them, so the discriminator cannot
memorise a small dataset and the generator still gets gradients through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(images: torch.Tensor, translate: float = 0.125, colour: float = 1.0) -> torch.Tensor:
    """Random per-image translation (up to `translate` of the side, white fill)
    and colour jitter (brightness, saturation, contrast; `colour` scales the
    strength, 0 = off). images: float [N,3,H,W] in [-1,1]. Differentiable."""
    x = images
    if colour > 0:
        x = _colour_jitter(x, colour)
    if translate > 0:
        x = _translate(x, translate)
    return x


def _colour_jitter(x: torch.Tensor, strength: float) -> torch.Tensor:
    n = x.shape[0]
    r = lambda: torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    x = x + (r() - 0.5) * 0.4 * strength
    mean = x.mean(dim=1, keepdim=True)
    x = mean + (x - mean) * (1.0 + (r() - 0.5) * strength)
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = mean + (x - mean) * (1.0 + (r() - 0.5) * 0.5 * strength)
    return x


def _translate(x: torch.Tensor, ratio: float) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(
        torch.arange(n, device=x.device), torch.arange(h, device=x.device), torch.arange(w, device=x.device),
        indexing="ij",
    )
    # Pixels shifted in from outside come from a one-pixel white border: emoji
    # sit on white, so a shifted emoji still looks like one.
    gy = torch.clamp(gy + ty + 1, 0, h + 1)
    gx = torch.clamp(gx + tx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1], value=1.0)
    return padded.permute(0, 2, 3, 1)[gb, gy, gx].permute(0, 3, 1, 2)
