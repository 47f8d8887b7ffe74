"""Watching a GAN run for its two classic failures, so the loop can react
instead of burning hours:

- divergence: a loss turns NaN/inf or explodes -> roll back to the last good
  weights and lower the learning rate;
- mode collapse: the EMA generator's samples at fixed latents stop differing
  from one another -> warn (the run may recover; a person decides).

Guard.check() turns the numbers into a verdict; Snapshot keeps the last good
state in memory; lower_learning_rate() applies the usual remedy.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F

OK = "ok"
ROLLBACK = "rollback"


@torch.no_grad()
def sample_diversity(generator: torch.nn.Module, latents: torch.Tensor, size: int = 16) -> float:
    """Mean pairwise RMS distance between the generator's images for
    `latents` [N>=2, latent_size], each area-downsampled to size x size (so
    the measure is about layout and colour, not texture noise). Images in
    [-1,1] give values in [0, 2]; NaN if the generator outputs NaN."""
    if latents.shape[0] < 2:
        raise ValueError("sample_diversity needs at least 2 latents")
    was_training = generator.training
    generator.eval()
    try:
        images = generator(latents)
    finally:
        generator.train(was_training)
    small = F.adaptive_avg_pool2d(images.float(), size).flatten(1)
    if not torch.isfinite(small).all():
        return float("nan")
    n = small.shape[0]
    dist = torch.cdist(small, small) / math.sqrt(small.shape[1])
    return float(dist.sum() / (n * (n - 1)))  # the diagonal is 0


@dataclass
class Verdict:
    """action: "ok" or "rollback"; message: "" or one line for the log
    (with action "ok" it is a warning, e.g. about collapse)."""

    action: str
    message: str = ""


class Guard:
    """Divergence and collapse detector. Call check() every step (or every
    few) with that step's losses; pass a diversity value from
    sample_diversity() whenever one was measured.

    Divergence (-> "rollback"): a loss is NaN/inf, or |loss| > `explode`, or,
    once `warmup` values of that loss have been seen, |loss| > `ratio` x the
    median |loss| of the last `window` values and > `floor` (the floor keeps
    a loss that idles near 0, like a hinge D loss, from tripping on noise).
    A NaN/inf diversity also means NaN weights -> "rollback".

    Collapse (-> "ok" + warning): diversity < `collapse_fraction` x the best
    diversity seen, ignoring the first `diversity_skip` values (the random
    initial generator's spread says nothing about the data). It warns once
    when the drop starts and says so again when it is over.
    """

    def __init__(self, explode: float = 100.0, ratio: float = 10.0, window: int = 200, warmup: int = 20,
                 floor: float = 2.0, collapse_fraction: float = 0.5, diversity_skip: int = 1):
        self.explode = explode
        self.ratio = ratio
        self.warmup = warmup
        self.floor = floor
        self.collapse_fraction = collapse_fraction
        self.diversity_skip = diversity_skip
        self._window = window
        self._history: dict[str, deque[float]] = {}
        self._diversities = 0
        self.best_diversity: float | None = None
        self.collapsed = False
        self.rollbacks = 0

    def check(self, step: int, losses: Mapping[str, float | torch.Tensor], diversity: float | None = None) -> Verdict:
        """Verdict for this step. losses: name -> scalar (float or 0-d
        tensor). Values that trigger a rollback are not added to the history,
        so the rolled-back steps do not move the baseline."""
        values = {name: float(v.detach()) if torch.is_tensor(v) else float(v) for name, v in losses.items()}
        for name, value in values.items():
            reason = self._divergence(name, value)
            if reason:
                self.rollbacks += 1
                return Verdict(ROLLBACK, f"step {step}: {reason}; rolling back to the last good state")
        if diversity is not None and not math.isfinite(diversity):
            self.rollbacks += 1
            return Verdict(ROLLBACK, f"step {step}: the generator's samples are not finite (NaN weights); "
                                     "rolling back to the last good state")
        for name, value in values.items():
            self._history.setdefault(name, deque(maxlen=self._window)).append(abs(value))
        return Verdict(OK, self._collapse(step, diversity) if diversity is not None else "")

    def _divergence(self, name: str, value: float) -> str:
        if not math.isfinite(value):
            return f"loss {name} is {value}"
        if abs(value) > self.explode:
            return f"loss {name} = {value:.4g} exceeds {self.explode:g}"
        history = self._history.get(name)
        if history is not None and len(history) >= self.warmup:
            median = statistics.median(history)
            if abs(value) > self.ratio * median and abs(value) > self.floor:
                return f"loss {name} = {value:.4g} is over {self.ratio:g}x its recent median {median:.4g}"
        return ""

    def _collapse(self, step: int, diversity: float) -> str:
        self._diversities += 1
        if self._diversities <= self.diversity_skip:
            return ""
        if self.best_diversity is None or diversity > self.best_diversity:
            self.best_diversity = diversity
        low = diversity < self.collapse_fraction * self.best_diversity
        if low and not self.collapsed:
            self.collapsed = True
            return (f"step {step}: possible mode collapse: sample diversity {diversity:.4g} is below "
                    f"{self.collapse_fraction:g}x its best {self.best_diversity:.4g}")
        if not low and self.collapsed:
            self.collapsed = False
            return f"step {step}: sample diversity recovered to {diversity:.4g} (best {self.best_diversity:.4g})"
        return ""

    def state_dict(self) -> dict:
        """JSON-able state for a checkpoint's info."""
        return {"history": {k: list(v) for k, v in self._history.items()}, "diversities": self._diversities,
                "best_diversity": self.best_diversity, "collapsed": self.collapsed, "rollbacks": self.rollbacks}

    def load_state_dict(self, state: dict) -> None:
        self._history = {k: deque(v, maxlen=self._window) for k, v in state.get("history", {}).items()}
        self._diversities = int(state.get("diversities", 0))
        self.best_diversity = state.get("best_diversity")
        self.collapsed = bool(state.get("collapsed", False))
        self.rollbacks = int(state.get("rollbacks", 0))


def lower_learning_rate(optimisers: Mapping[str, torch.optim.Optimizer], factor: float = 0.5) -> str:
    """Multiply every param group's lr by `factor` (0 < factor < 1); returns
    one line saying what changed, e.g. "learning rate lowered x0.5: opt_G
    0.002 -> 0.001, opt_D 0.002 -> 0.001"."""
    if not 0.0 < factor < 1.0:
        raise ValueError(f"learning-rate factor must be between 0 and 1, got {factor}")
    changes = []
    for name, opt in optimisers.items():
        before = [g["lr"] for g in opt.param_groups]
        for group in opt.param_groups:
            group["lr"] = group["lr"] * factor
        after = [g["lr"] for g in opt.param_groups]
        fmt = lambda lrs: ",".join(f"{lr:.3g}" for lr in lrs)  # noqa: E731
        changes.append(f"{name} {fmt(before)} -> {fmt(after)}")
    return f"learning rate lowered x{factor:g}: " + ", ".join(changes)


class Snapshot:
    """The last good weights and optimiser states, kept in memory (CPU
    copies) so a rollback costs no disk read. take() after steps the Guard
    called ok; restore() after a "rollback" verdict."""

    def __init__(self) -> None:
        self._modules: dict[str, dict[str, torch.Tensor]] = {}
        self._optimisers: dict[str, dict] = {}
        self.step: int | None = None

    def take(self, step: int, modules: Mapping[str, torch.nn.Module],
             optimisers: Mapping[str, torch.optim.Optimizer]) -> None:
        self._modules = {name: {k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()}
                         for name, m in modules.items()}
        self._optimisers = {name: _cpu_copy(opt.state_dict()) for name, opt in optimisers.items()}
        self.step = step

    def restore(self, modules: Mapping[str, torch.nn.Module], optimisers: Mapping[str, torch.optim.Optimizer]) -> int:
        """Load the snapshot back; returns its step. Learning rates keep their
        CURRENT values, so lowering them after each rollback compounds instead
        of being undone by the next restore."""
        if self.step is None:
            raise RuntimeError("no snapshot to roll back to")
        for name, module in modules.items():
            module.load_state_dict(self._modules[name])
        for name, opt in optimisers.items():
            lrs = [g["lr"] for g in opt.param_groups]
            # A copy: on the same device load_state_dict keeps the very tensors
            # it is given and Adam then updates them in place, which would
            # quietly change the snapshot.
            opt.load_state_dict(_cpu_copy(self._optimisers[name]))
            for group, lr in zip(opt.param_groups, lrs):
                group["lr"] = lr
        return self.step


def _cpu_copy(state):
    if torch.is_tensor(state):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: _cpu_copy(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_cpu_copy(v) for v in state]
    return copy.deepcopy(state)
