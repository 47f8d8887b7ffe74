"""The ADA controller and augment()'s per-sample probability and cutout."""

from __future__ import annotations

import json

import pytest
import torch

from studio.train.ada import AdaptiveAugment
from studio.train.augment import augment


def _logits(sign: float, n: int = 16) -> torch.Tensor:
    return torch.full((n,), sign * 2.0)


def test_p_rises_when_d_is_sure_of_the_reals_and_falls_when_not():
    ada = AdaptiveAugment(target=0.6, interval=4, speed_kimg=1.0)  # 1000 images for 0 -> 1
    for _ in range(8):
        ada.observe(_logits(+1))  # r_t = 1 > 0.6: overfitting
    # 8 steps x 16 images = 128 images -> p = 128 / 1000
    assert ada.p == pytest.approx(0.128)
    assert ada.rt == 1.0
    for _ in range(4):
        ada.observe(_logits(-1))  # r_t = -1 < 0.6
    assert ada.p == pytest.approx(0.064)
    for _ in range(40):
        ada.observe(_logits(-1))
    assert ada.p == 0.0  # clamped


def test_p_moves_only_every_interval_and_is_clamped_at_one():
    ada = AdaptiveAugment(interval=3, speed_kimg=0.1)  # 100 images for the full range
    ada.observe(_logits(+1))
    ada.observe(_logits(+1))
    assert ada.p == 0.0
    ada.observe(_logits(+1))
    assert ada.p == pytest.approx(0.48)
    for _ in range(9):
        ada.observe(_logits(+1))
    assert ada.p == 1.0


def test_mixed_logits_near_the_target_hold_p_in_place():
    ada = AdaptiveAugment(target=0.6, interval=1, speed_kimg=1.0, p=0.3)
    # 8 of 10 positive: r_t = (8 - 2) / 10 = 0.6 exactly -> no move
    ada.observe(torch.tensor([1.0] * 8 + [-1.0] * 2))
    assert ada.rt == pytest.approx(0.6) and ada.p == pytest.approx(0.3)
    ada.observe(torch.tensor([1.0] * 7 + [-1.0] * 3))  # r_t = 0.4 -> down by 10/1000
    assert ada.p == pytest.approx(0.29)


def test_p_never_falls_below_its_floor():
    ada = AdaptiveAugment(target=0.6, interval=1, speed_kimg=0.1, p_min=0.5)
    assert ada.p == 0.5  # augmenting from the first step
    for _ in range(5):
        ada.observe(_logits(-1))  # D unsure of the reals: p would fall to 0
    assert ada.p == 0.5
    ada.observe(_logits(+1))
    assert ada.p > 0.5
    copy = AdaptiveAugment()
    copy.load_state_dict(json.loads(json.dumps(ada.state_dict())))
    assert (copy.p, copy.p_min) == (ada.p, 0.5)
    assert AdaptiveAugment(p_min=1.0).p == 1.0  # DiffAugment's always-on
    with pytest.raises(ValueError, match="least probability"):
        AdaptiveAugment(p_min=1.5)


def test_state_round_trips_through_json():
    ada = AdaptiveAugment(target=0.7, interval=2, speed_kimg=5.0)
    for _ in range(4):
        ada.observe(_logits(+1))
    copy = AdaptiveAugment()
    copy.load_state_dict(json.loads(json.dumps(ada.state_dict())))
    assert (copy.p, copy.rt, copy.target, copy.interval, copy.speed_kimg) == (ada.p, ada.rt, 0.7, 2, 5.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="target"):
        AdaptiveAugment(target=1.5)
    with pytest.raises(ValueError, match="interval"):
        AdaptiveAugment(interval=0)


def test_p_zero_is_identity_and_p_one_is_the_old_augment():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    assert augment(x, translate=0.25, colour=1.0, cutout=0.5, p=0.0) is x
    # p=1 without cutout draws the same random numbers as before p existed.
    torch.manual_seed(3)
    a = augment(x)
    torch.manual_seed(3)
    b = augment(x, 0.125, 1.0, cutout=0.0, p=1.0)
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_p_chooses_images_independently():
    torch.manual_seed(0)
    x = torch.rand(400, 3, 8, 8) * 2 - 1
    y = augment(x, translate=0.0, colour=1.0, p=0.3)
    changed = (y != x).flatten(1).any(dim=1).float().mean().item()
    assert 0.2 < changed < 0.4  # about 30% of the images, each all-or-nothing
    touched = (y != x).flatten(1)
    assert ((touched.sum(1) == 0) | (touched.sum(1) > 100)).all()


def test_cutout_and_translation_keep_shape_and_let_gradients_through():
    torch.manual_seed(0)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = augment(x, translate=0.125, colour=0.0, cutout=0.5, p=1.0)
    assert y.shape == x.shape
    # Each image loses one 8x8 square (less where it hangs over an edge).
    holes = (y == 0).all(dim=1).flatten(1).sum(1)
    assert ((holes > 0) & (holes <= 64)).all()
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    assert (x.grad == 0).any()  # the cut-out pixels get no gradient


def test_partial_p_is_differentiable():
    x = (torch.rand(8, 3, 16, 16) * 2 - 1).requires_grad_(True)
    augment(x, translate=0.125, colour=1.0, cutout=0.25, p=0.5).pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
