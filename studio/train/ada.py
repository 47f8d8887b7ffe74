"""Adaptive discriminator augmentation (ADA, Karras et al. 2020): the
probability p with which augment() transforms each image is steered by how
sure the discriminator is about the real images.

The overfitting heuristic is r_t = E[sign(D(real))] over the last `interval`
observations: 0 when D cannot tell reals apart from fakes, 1 when it calls
every real image real (it has memorised them). Above `target`, p goes up;
below, it goes down, at a fixed speed: `speed_kimg` thousand images for p to
travel the whole way from 0 to 1 (ADA uses 500; small runs see far fewer
images and want far less).
"""

from __future__ import annotations

import torch


class AdaptiveAugment:
    """Controller of the augmentation probability p in [0, 1].

    Call observe(real_logits) once per discriminator step with D's logits on
    the (augmented) real batch; read .p and pass it to augment(..., p=p) for
    reals and fakes alike.
    """

    def __init__(self, target: float = 0.6, interval: int = 4, speed_kimg: float = 500.0, p: float = 0.0,
                 p_min: float = 0.0):
        if not 0.0 < target < 1.0:
            raise ValueError(f"ADA target must be between 0 and 1, got {target}")
        if interval < 1:
            raise ValueError(f"ADA interval must be at least 1 step, got {interval}")
        if speed_kimg <= 0:
            raise ValueError(f"ADA speed must be a positive number of kimg, got {speed_kimg}")
        self.target = float(target)
        self.interval = int(interval)
        self.speed_kimg = float(speed_kimg)
        if not 0.0 <= p_min <= 1.0:
            raise ValueError(f"ADA's least probability must be from 0 to 1, got {p_min}")
        # A floor on p: 1 augments every image from the first step, as DiffAugment does.
        self.p_min = float(p_min)
        self.p = min(max(float(p), self.p_min), 1.0)
        self.rt: float | None = None  # the last heuristic value, for the progress log
        self._sign_sum = 0.0
        self._count = 0
        self._calls = 0

    def observe(self, real_logits: torch.Tensor) -> float:
        """Accumulate sign(D(real)); every `interval` calls, move p toward
        balance by (images seen since the last move) / (speed_kimg * 1000).
        real_logits: [N] (any float dtype/device). Returns the current p."""
        logits = real_logits.detach()
        self._sign_sum += float(torch.sign(logits).sum())
        self._count += logits.numel()
        self._calls += 1
        if self._calls >= self.interval:
            self.rt = self._sign_sum / max(self._count, 1)
            direction = (self.rt > self.target) - (self.rt < self.target)  # sign, 0 at the target exactly
            step = self._count / (self.speed_kimg * 1000.0)
            self.p = min(max(self.p + direction * step, self.p_min), 1.0)
            self._sign_sum, self._count, self._calls = 0.0, 0, 0
        return self.p

    def state_dict(self) -> dict:
        """JSON-able state for a checkpoint's info, with the partial window
        ([sign sum, count, calls]) so a resumed run continues exactly."""
        return {"p": self.p, "rt": self.rt, "target": self.target, "interval": self.interval,
                "speed_kimg": self.speed_kimg, "p_min": self.p_min,
                "window": [self._sign_sum, self._count, self._calls]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() gave; settings come back too."""
        self.__init__(state.get("target", self.target), state.get("interval", self.interval),
                      state.get("speed_kimg", self.speed_kimg), state.get("p", 0.0), state.get("p_min", 0.0))
        self.rt = state.get("rt")
        if state.get("window"):  # the partial window, so a resumed run updates p on the same steps
            self._sign_sum, self._count, self._calls = float(state["window"][0]), int(state["window"][1]), \
                int(state["window"][2])
