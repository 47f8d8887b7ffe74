"""What a GAN run's progress events say about the two players beyond their
losses, so a stalled run can be diagnosed from its log.jsonl:

- D's accuracy: the share of real images it calls real (logit > 0) and of
  fakes it calls fake (logit < 0), over the steps since the last event. Both
  near 0.5 for a whole run means D never learned to tell them apart; both
  near 1 means it wins and G's gradients vanish.
- the means of a task's own loss terms (MeanWindow) over the same steps;
- per-block gradient norms of the last step: which layers learn at all (a
  block whose norm stays orders of magnitude below its neighbours' is dead
  weight; one far above them dominates the step).
"""

from __future__ import annotations

import math

import torch


class DiscriminatorAccuracy:
    """Accumulates D's hits on real and fake batches between progress events."""

    def __init__(self) -> None:
        self._real = self._fake = 0.0
        self._count = 0

    def observe(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
        """real_logits, fake_logits: [N] (one D step's, any float dtype)."""
        self._real += float((real_logits > 0).float().mean())
        self._fake += float((fake_logits < 0).float().mean())
        self._count += 1

    def take(self) -> dict:
        """{"d_real_acc", "d_fake_acc"} in [0, 1] (null before any step),
        and a fresh window for the next event."""
        n = self._count
        out = {"d_real_acc": round(self._real / n, 3) if n else None,
               "d_fake_acc": round(self._fake / n, 3) if n else None}
        self.__init__()
        return out


class MeanWindow:
    """The mean of each named value over the steps since the last progress event."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self._sums = dict.fromkeys(names, 0.0)
        self._count = 0

    def add(self, *values: float) -> None:
        """One step's values, in the order of the names."""
        for name, value in zip(self.names, values):
            self._sums[name] += value
        self._count += 1

    def take(self) -> dict:
        """{name: mean} rounded (0 before any step), and a fresh window."""
        n = max(self._count, 1)
        out = {name: round(total / n, 4) for name, total in self._sums.items()}
        self.__init__(*self.names)
        return out


def block_gradient_norms(module: torch.nn.Module) -> dict[str, float]:
    """L2 norm of the current gradients per block: parameters grouped by
    their name up to and including the first numbered part ("up.64",
    "blocks.2", "stem"). Blocks without gradients are left out."""
    squares: dict[str, float] = {}
    for name, param in module.named_parameters():
        if param.grad is None:
            continue
        parts = name.split(".")[:-1] or [name]
        cut = next((i + 1 for i, part in enumerate(parts) if part.isdigit()), 1)
        block = ".".join(parts[:cut])
        squares[block] = squares.get(block, 0.0) + float(param.grad.float().pow(2).sum())
    return {block: round(math.sqrt(total), 5) for block, total in squares.items()}
