"""GAN losses: the non-saturating logistic loss (softplus form) and the hinge
loss for both players, a selector between them, and the R1 gradient penalty
on real images; for inpainting, the patch-discriminator form of the
non-saturating loss, L1 inside the holes and feature matching; for
upscaling, the Laplacian-pyramid L1."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from studio.train.metrics import laplacian_pyramid, pyramid_levels


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(-D(G(z))): the non-saturating form, strong gradients early on."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(D(G(z))) + softplus(-D(x))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def discriminator_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """relu(1 - D(x)) + relu(1 + D(G(z))): reals are pushed above +1 and fakes
    below -1 and no further, so a discriminator that is already sure stops
    getting gradients (the margin FastGAN and BigGAN train with). >= 0."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """-D(G(z)): the generator side of the hinge loss (unbounded below)."""
    return -fake_logits.mean()


LossFn = Callable[..., torch.Tensor]
LOSSES: dict[str, tuple[LossFn, LossFn]] = {
    "nonsaturating": (discriminator_loss, generator_loss),
    "hinge": (discriminator_loss_hinge, generator_loss_hinge),
}
# Other names people use for the softplus form.
_ALIASES = {"ns": "nonsaturating", "non-saturating": "nonsaturating", "softplus": "nonsaturating",
            "logistic": "nonsaturating"}


def get_losses(kind: str) -> tuple[LossFn, LossFn]:
    """(discriminator_loss(real_logits, fake_logits), generator_loss(fake_logits))
    for kind "nonsaturating" (aliases ns, softplus, logistic) or "hinge".
    Raises ValueError (one line) for anything else."""
    name = _ALIASES.get(kind.lower(), kind.lower())
    if name not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; choose one of: {', '.join(LOSSES)}")
    return LOSSES[name]


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """mean over the batch of |dD(x)/dx|^2; real_images must require grad and be
    the tensor real_logits was computed from. The caller scales by gamma/2 and
    by the lazy interval."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).sum(dim=[1, 2, 3]).mean()


def patch_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Non-saturating loss of a patch discriminator on inpainted images.
    logits: [N,1,h,w]; hole: [N,1,h,w], the fraction of each patch's cell that
    was hole (0..1). Every patch of a real image is real; a composited fake's
    patch is fake as far as it was hole and real elsewhere (those pixels are
    the real ones), so D learns to find fills and seams, not to tell images
    apart by their untouched parts."""
    fake = hole * F.softplus(fake_logits) + (1.0 - hole) * F.softplus(-fake_logits)
    return F.softplus(-real_logits).mean() + fake.mean()


def patch_generator_loss(fake_logits: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """softplus(-D) over the patches the fill is in, weighted by how much of
    each was hole: the mean over the hole area."""
    return (hole * F.softplus(-fake_logits)).sum() / hole.sum().clamp_min(1e-8)


HOLE_LOSSES = ("l1", "l2")


def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |a - b| over the pixels where mask = 1 (a, b: [N,C,H,W]; mask
    [N,1,H,W] in [0,1], weights): per channel value, in a's units."""
    return masked_error(a, b, mask, "l1")


def masked_error(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean |a - b| ("l1") or (a - b)^2 ("l2") over the pixels where mask = 1,
    as masked_l1."""
    weight = mask.expand_as(a)
    error = (a - b).abs() if kind == "l1" else (a - b).square()
    return (error * weight).sum() / weight.sum().clamp_min(1e-8)


def feature_matching_loss(fake_features: list[torch.Tensor], real_features: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean |f_fake - f_real| of the discriminator's
    features (pix2pixHD): a reconstruction loss in D's terms rather than
    pixels', with no pretrained perceptual network. Real features are
    treated as constants."""
    terms = [F.l1_loss(f, r.detach()) for f, r in zip(fake_features, real_features)]
    return torch.stack(terms).mean()


def laplacian_loss(a: torch.Tensor, b: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """Mean L1 between the Laplacian pyramids of a and b [N,C,H,W] (the
    metrics' ProGAN pyramid), summed over its bands: the detail of every
    scale (edges, texture) weighs as much as the smooth colours, which plain
    L1 lets a network average away. A perceptual term that needs no
    pretrained network (Bojanowski et al. 2018 train generators with it)."""
    levels = min(levels, pyramid_levels(min(a.shape[-2:])))
    return sum((x - y).abs().mean() for x, y in zip(laplacian_pyramid(a, levels), laplacian_pyramid(b, levels)))
