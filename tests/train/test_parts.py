"""The trainer's parts on their own: augmentation, losses, nets (data: test_data.py)."""

from __future__ import annotations

import pytest
import torch

from studio.train.augment import augment
from studio.train.losses import discriminator_loss, generator_loss, r1_penalty
from studio.train.nets import Discriminator, Generator


def test_generator_shapes_and_range():
    G = Generator(128, 32, width=0.25)
    out = G(torch.randn(3, 128) * 5)
    assert out.shape == (3, 3, 32, 32) and out.abs().max() <= 1.0
    assert Discriminator(32, width=0.25)(out).shape == (3,)


def test_augment_is_differentiable_and_keeps_shape():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = augment(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # translation shifts in white, never leaves holes of another colour
    white = torch.ones(2, 3, 16, 16)
    assert torch.equal(augment(white, translate=0.25, colour=0), white)


def test_losses_prefer_the_right_answers():
    confident = torch.tensor([5.0, 5.0])
    assert discriminator_loss(confident, -confident) < discriminator_loss(-confident, confident)
    assert generator_loss(confident) < generator_loss(-confident)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    logits = (x * 3).sum(dim=[1, 2, 3])
    assert r1_penalty(logits, x).item() == pytest.approx(9 * 3 * 8 * 8)


def test_gradient_clip_is_a_safety_net_that_reports_the_norm():
    from studio.train.steps import clip_gradients

    net = torch.nn.Linear(4, 3)
    for p in net.parameters():
        p.grad = torch.full_like(p, 10.0)  # norm 10 * sqrt(15) ~ 38.7
    before = clip_gradients(net, 5.0)
    after = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in net.parameters()]))
    assert before == pytest.approx(10 * 15 ** 0.5, rel=1e-5)
    assert float(after) == pytest.approx(5.0, rel=1e-4)
    assert clip_gradients(net, 0.0) == pytest.approx(5.0, rel=1e-4)  # 0 = off: reported, not changed
