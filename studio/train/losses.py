"""GAN losses: the non-saturating logistic loss (softplus form) for both
players and the R1 gradient penalty on real images."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(-D(G(z))): the non-saturating form, strong gradients early on."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """softplus(D(G(z))) + softplus(-D(x))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """mean over the batch of |dD(x)/dx|^2; real_images must require grad and be
    the tensor real_logits was computed from. The caller scales by gamma/2 and
    by the lazy interval."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).sum(dim=[1, 2, 3]).mean()
