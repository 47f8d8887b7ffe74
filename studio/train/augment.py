"""Differentiable augmentation (DiffAugment-style), applied to real and fake
images alike before the discriminator sees them, so the discriminator cannot
memorise a small dataset and the generator still gets gradients through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(images: torch.Tensor, translate: float = 0.125, colour: float = 1.0,
            cutout: float = 0.0, p: float = 1.0) -> torch.Tensor:
    """Random per-image colour jitter (brightness, saturation, contrast; `colour`
    scales the strength, 0 = off), translation (up to `translate` of the side,
    white fill) and cutout (a grey square `cutout` of the side, 0 = off).
    images: float [N,3,H,W] in [-1,1], or [N,4,H,W] with alpha last (the
    jitter leaves alpha alone; translation fills it transparent).
    Differentiable.

    p in [0, 1]: each of the three is applied to each image independently with
    probability p (ADA's per-sample probability; p=0 returns `images` itself,
    p=1 applies everything to every image, as before p existed)."""
    x = images
    if p <= 0:
        return x
    if colour > 0:
        x = _with_probability(x, p, lambda y: _colour_jitter(y, colour))
    if translate > 0:
        x = _with_probability(x, p, lambda y: _translate(y, translate))
    if cutout > 0:
        x = _with_probability(x, p, lambda y: _cutout(y, cutout))
    return x


def _with_probability(x: torch.Tensor, p: float, op) -> torch.Tensor:
    # p >= 1 calls op alone, so the random stream (and the shipped run's
    # recipe) is exactly what it was before p existed.
    if p >= 1:
        return op(x)
    chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
    return torch.where(chosen, op(x), x)


def _colour_jitter(x: torch.Tensor, strength: float) -> torch.Tensor:
    if x.shape[1] == 4:
        return torch.cat([_colour_jitter(x[:, :3], strength), x[:, 3:]], dim=1)
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
    if x.shape[1] == 4:  # and transparent there
        border = torch.ones_like(padded[:, 3:], dtype=torch.bool)
        border[..., 1:-1, 1:-1] = False
        padded = torch.cat([padded[:, :3], padded[:, 3:].masked_fill(border, -1.0)], dim=1)
    return padded.permute(0, 2, 3, 1)[gb, gy, gx].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float) -> torch.Tensor:
    # DiffAugment's cutout: a square of side `ratio` x the image side, at a
    # random place per image (it may hang over the edge), multiplied to 0 =
    # mid grey in [-1,1]; grey rather than white, which emoji sit on and so
    # would hide nothing. Gradients still flow through the kept pixels.
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def source_size(resolution: int, crop_scale: float) -> int:
    """The side (px) training images are kept at for `crop_scale` random crops."""
    return max(resolution, int(round(resolution * crop_scale)))


def random_crops(images: torch.Tensor, size: int, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Random square crops of training images, resized to `size`: each image
    gets a side drawn uniformly from `size` to its own side (so it is seen
    whole, as a zoomed-in part, or anything between) at a random place, and
    a mirror with probability 1/2 when `flip`. images: uint8 [N,3,S,S] with
    S >= size (any device); returns float32 [N,3,size,size] in [-1,1] on the
    images' device. The draws come from `generator` (a CPU generator, saved
    in checkpoints), so a resumed run crops as the first one would have."""
    n, _, h, w = images.shape
    side_max = min(h, w)
    if side_max < size:
        raise ValueError(f"images of {side_max} px cannot give {size} px crops")
    sides = torch.randint(size, side_max + 1, (n,), generator=generator).tolist()
    corner = torch.rand(n, 2, generator=generator).tolist()
    mirror = (torch.rand(n, generator=generator) < 0.5).tolist()
    out = []
    for i in range(n):
        side = sides[i]
        top, left = int(corner[i][0] * (h - side + 1)), int(corner[i][1] * (w - side + 1))
        crop = images[i:i + 1, :, top:top + side, left:left + side].float()
        if side != size:
            crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if flip and mirror[i]:
            crop = crop.flip(3)  # mirror images are as plausible as the originals
        out.append(crop)
    return torch.cat(out) / 127.5 - 1.0


def resize_whole(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [N,3,S,S] -> float32 [N,3,size,size] in [-1,1]: the whole image,
    resized (antialiased) when S != size."""
    x = images.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x / 127.5 - 1.0
