"""ProjectedDiscriminator: a Projected-GAN discriminator on the frozen
MobileNet features, as a drop-in for FastDiscriminator."""

from __future__ import annotations

import copy

import pytest
import torch

from studio.train.finetune import freeze_d_layers, set_trainable
from studio.train.losses import discriminator_loss, r1_penalty
from studio.train.projected import ProjectedDiscriminator, feature_size

WIDTH = 0.25  # small and fast; the structure is the same at any width


def images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def make(resolution: int, seed: int = 0, width: float = WIDTH) -> ProjectedDiscriminator:
    torch.manual_seed(seed)  # the trainable weights' init; the frozen part ignores it
    return ProjectedDiscriminator(resolution, width)


@pytest.fixture(scope="module")
def D64():
    return make(64)


# 32 px is upsampled to 64 for the features; 100 px to 112 (maps 28, 14, 7).
@pytest.mark.parametrize("resolution,fsize,sides", [(32, 64, (16, 8, 4)), (64, 64, (16, 8, 4)),
                                                    (100, 112, (28, 14, 7)), (128, 128, (32, 16, 8))])
def test_shapes_and_zero_reconstruction(resolution, fsize, sides):
    D = make(resolution)
    assert feature_size(resolution) == D.feature_size == fsize
    x = images(2, resolution)
    feats = D.from_rgb(x)
    assert [tuple(f.shape) for f in feats] == [(2, c, s, s) for c, s in zip((32, 64, 128), sides)]
    logits = D(x)
    assert logits.shape == (2,) and torch.isfinite(logits).all()
    again, recon = D(x.requires_grad_(True), reconstruct=True)
    assert torch.equal(again, logits)
    assert recon.shape == () and recon.item() == 0.0 and not recon.requires_grad
    assert recon.dtype == x.dtype and recon.device == x.device


def test_bad_arguments():
    for resolution in (16, 31, 257, 64.0):
        with pytest.raises(ValueError):
            ProjectedDiscriminator(resolution)
    with pytest.raises(ValueError):
        ProjectedDiscriminator(64, width=0)


def test_gradients_reach_the_input_and_the_trainable_parts_only(D64):
    D64.zero_grad(set_to_none=True)
    # What the trainer does before every D step; must not unfreeze the features.
    set_trainable(D64, True)
    D64.requires_grad_(True)
    x = images(2, 64).requires_grad_(True)
    D64(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for block in D64.blocks:
        for p in block.parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0
    frozen = D64.from_rgb
    assert all(not p.requires_grad and p.grad is None for p in frozen.parameters())
    assert all(not b.requires_grad and b.grad is None for b in frozen.buffers())
    assert not frozen.training and not frozen.features.training
    D64.zero_grad(set_to_none=True)


def test_only_trained_weights_reach_the_optimiser_and_the_state_dict(D64):
    trainable = {id(p) for p in D64.blocks.parameters()}
    assert {id(p) for p in D64.parameters()} == trainable
    assert all(k.startswith("blocks.") for k in D64.state_dict())
    assert sum(p.numel() for p in D64.from_rgb.parameters()) > 500_000  # the MobileNet, kept out


def test_frozen_part_is_the_same_in_every_instance_and_state_dict_round_trips(D64):
    other = make(64, seed=1)
    a, b = D64.from_rgb.state_dict(), other.from_rgb.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = images(2, 64, seed=3)
    with torch.no_grad():
        assert not torch.equal(other(x), D64(x))  # different trainable init
        other.load_state_dict(D64.state_dict(), strict=True)
        assert torch.equal(other(x), D64(x))
        twin = copy.deepcopy(D64)
        assert twin.from_rgb is not D64.from_rgb
        assert torch.equal(twin(x), D64(x))
        # .to() moves the frozen part too (a dtype here; a device the same way).
        twin.double()
        assert all(t.dtype == torch.float64 for t in twin.from_rgb.state_dict().values())
        assert twin(x.double()).dtype == torch.float64
        twin.float()
        assert torch.equal(twin(x), D64(x))


def test_freeze_d_counts_nothing_for_the_features_then_freezes_the_finest_scales():
    D = make(64)
    assert freeze_d_layers(D, 1) == 0
    assert freeze_d_layers(D, 2) == sum(p.numel() for p in D.blocks[0].parameters())
    set_trainable(D, True)
    assert not any(p.requires_grad for p in D.blocks[0].parameters())
    assert all(p.requires_grad for p in D.blocks[1].parameters())
    with pytest.raises(ValueError):
        freeze_d_layers(D, 5)  # from_rgb, 3 scales, head: at most 4


def test_one_discriminator_step_with_r1_is_finite_and_trains_only_the_blocks():
    D = make(64)
    opt = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
    frozen_before = {k: v.clone() for k, v in D.from_rgb.state_dict().items()}
    trained_before = {k: v.clone() for k, v in D.state_dict().items()}
    real = images(4, 64, seed=1).requires_grad_(True)
    fake = images(4, 64, seed=2) * 0.5
    real_logits, recon = D(real, reconstruct=True)
    fake_logits = D(fake)
    loss_d = discriminator_loss(real_logits, fake_logits)
    r1 = r1_penalty(real_logits, real)
    total = loss_d + recon + r1 * (1.0 / 2 * 4)
    assert torch.isfinite(loss_d) and torch.isfinite(r1) and r1 > 0 and torch.isfinite(total)
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    after = D.state_dict()
    assert all(not torch.equal(after[k], trained_before[k]) for k in after if k.endswith("weight"))
    assert all(torch.equal(v, frozen_before[k]) for k, v in D.from_rgb.state_dict().items())
