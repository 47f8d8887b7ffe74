"""Divergence and collapse detection, rollback and the learning-rate remedy."""

from __future__ import annotations

import json
import math

import pytest
import torch

from studio.train.health import Guard, Snapshot, lower_learning_rate, sample_diversity
from studio.train.losses import discriminator_loss, generator_loss
from studio.train.nets import Discriminator, Generator


def _steady(guard: Guard, steps: int, start: int = 0) -> None:
    for step in range(start, start + steps):
        wobble = 0.1 * math.sin(step)
        verdict = guard.check(step, {"loss_g": 1.0 + wobble, "loss_d": 0.8 - wobble})
        assert verdict.action == "ok" and verdict.message == ""


def test_healthy_losses_pass_and_nan_inf_explosion_roll_back():
    guard = Guard(warmup=20)
    _steady(guard, 30)
    for bad, words in [(float("nan"), "loss_d is nan"), (float("inf"), "loss_d is inf"),
                       (250.0, "loss_d = 250 exceeds 100")]:
        verdict = guard.check(30, {"loss_g": 1.0, "loss_d": bad})
        assert verdict.action == "rollback" and words in verdict.message and "\n" not in verdict.message
    assert guard.rollbacks == 3


def test_a_jump_over_ten_times_the_median_rolls_back_but_only_after_warmup():
    guard = Guard(warmup=20, ratio=10.0, floor=2.0)
    guard.check(0, {"loss_g": 0.5})
    assert guard.check(1, {"loss_g": 30.0}).action == "ok"  # too early to judge
    guard = Guard(warmup=20, ratio=10.0, floor=2.0)
    for step in range(25):
        guard.check(step, {"loss_g": 0.5})
    assert guard.check(25, {"loss_g": 4.0}).action == "ok"  # 8x: a bad step, not a divergence
    verdict = guard.check(26, {"loss_g": 6.0})
    assert verdict.action == "rollback" and "over 10x its recent median" in verdict.message
    # The offending value did not enter the history: the same jump is caught again.
    assert guard.check(27, {"loss_g": 6.0}).action == "rollback"


def test_the_floor_ignores_noise_on_a_loss_idling_near_zero():
    guard = Guard(warmup=5, floor=2.0)
    for step in range(10):
        guard.check(step, {"loss_d": 0.01})
    assert guard.check(10, {"loss_d": 0.5}).action == "ok"  # 50x the median, but still small


def test_collapse_warns_once_then_reports_recovery():
    guard = Guard(collapse_fraction=0.5, diversity_skip=1)
    messages = []
    for step, div in enumerate([0.05, 0.4, 0.5, 0.45, 0.3, 0.2, 0.15, 0.3, 0.35]):
        verdict = guard.check(step, {"loss_g": 1.0}, diversity=div)
        assert verdict.action == "ok"
        messages.append(verdict.message)
    # 0.05 (the random start) is skipped; the best is 0.5; 0.2 < 0.25 warns once.
    assert [i for i, m in enumerate(messages) if m] == [5, 7]
    assert "possible mode collapse" in messages[5] and "0.2" in messages[5] and "0.5" in messages[5]
    assert "recovered" in messages[7]
    assert guard.collapsed is False


def test_guard_state_round_trips_through_json():
    guard = Guard(warmup=3)
    _steady(guard, 5)
    guard.check(5, {"loss_g": 1.0}, diversity=0.3)
    guard.check(6, {"loss_g": 1.0}, diversity=0.4)
    copy = Guard(warmup=3)
    copy.load_state_dict(json.loads(json.dumps(guard.state_dict())))
    assert copy.state_dict() == guard.state_dict()
    assert copy.check(7, {"loss_g": 50.0}).action == "rollback"


def test_poisoned_generator_is_caught_rolled_back_and_slowed_down():
    torch.manual_seed(0)
    G, D = Generator(128, 16, width=0.25), Discriminator(16, width=0.25)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.0, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
    modules, optimisers = {"G": G, "D": D}, {"opt_G": opt_G, "opt_D": opt_D}
    fixed = torch.randn(8, 128, generator=torch.Generator().manual_seed(1))
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    guard, snapshot = Guard(warmup=2), Snapshot()

    def train_step() -> dict[str, torch.Tensor]:
        loss_d = discriminator_loss(D(real), D(G(torch.randn(8, 128)).detach()))
        opt_D.zero_grad()
        loss_d.backward()
        opt_D.step()
        loss_g = generator_loss(D(G(torch.randn(8, 128))))
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        return {"loss_g": loss_g.detach(), "loss_d": loss_d.detach()}

    for step in range(3):
        verdict = guard.check(step, train_step(), diversity=sample_diversity(G, fixed))
        assert verdict.action == "ok"
        snapshot.take(step, modules, optimisers)
    good = {k: v.clone() for k, v in G.state_dict().items()}
    good_moments = [s["exp_avg"].clone() for s in opt_G.state_dict()["state"].values()]
    assert sample_diversity(G, fixed) > 0

    with torch.no_grad():
        G.to_rgb.weight[0, 0, 0, 0] = float("nan")
    assert math.isnan(sample_diversity(G, fixed))
    losses = train_step()  # NaN images -> NaN logits -> NaN losses
    verdict = guard.check(3, losses, diversity=sample_diversity(G, fixed))
    assert verdict.action == "rollback" and "nan" in verdict.message

    assert snapshot.restore(modules, optimisers) == 2
    assert all(torch.equal(G.state_dict()[k], good[k]) for k in good)
    message = lower_learning_rate(optimisers, 0.5)
    assert message == "learning rate lowered x0.5: opt_G 0.002 -> 0.001, opt_D 0.002 -> 0.001"
    # Training goes on from the good state, finite again, at the lower rate...
    assert guard.check(4, train_step(), diversity=sample_diversity(G, fixed)).action == "ok"
    assert torch.isfinite(torch.cat([p.flatten() for p in G.parameters()])).all()
    # ... and a second rollback keeps the lowered rate instead of restoring 2e-3.
    snapshot.restore(modules, optimisers)
    assert opt_G.param_groups[0]["lr"] == pytest.approx(1e-3)
    # The restore did not hand the snapshot's own tensors to Adam: stepping
    # again and restoring again gives the snapshot's weights and moments.
    train_step()
    snapshot.restore(modules, optimisers)
    assert all(torch.equal(G.state_dict()[k], good[k]) for k in good)
    moments = [s["exp_avg"] for s in opt_G.state_dict()["state"].values()]
    assert all(torch.equal(a, b) for a, b in zip(moments, good_moments))


def test_sample_diversity_is_zero_for_identical_images_and_keeps_the_mode():
    G = Generator(128, 16, width=0.25).train()
    same = torch.randn(1, 128).repeat(4, 1)
    assert sample_diversity(G, same) == pytest.approx(0.0, abs=1e-6)
    assert G.training  # the mode is put back
    with pytest.raises(ValueError):
        sample_diversity(G, same[:1])


def test_lower_learning_rate_refuses_a_factor_that_would_not_lower_it():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lower_learning_rate({"opt": opt}, 1.5)
