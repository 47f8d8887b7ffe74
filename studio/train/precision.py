"""Mixed precision for the training step: autocast for the forward passes and,
for float16, a gradient scaler.

"auto" means bfloat16 on a CUDA device that supports it (it has float32's
exponent range, so GAN logits and the R1 double-backward cannot overflow and no
loss scaling is needed), float16 with loss scaling on older CUDA devices, and
float32 on CPU (CPUs without AMX run half precision slower than float32). Any
mode can be asked for explicitly on any device; the tests run fp16 and bf16 on
CPU.

Weights, optimiser states, EMA and checkpoints stay float32 in every mode:
precision is a property of a session, not of the recipe, so a run may resume
in another precision.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_precision(name: str, device: torch.device) -> str:
    """The concrete mode ("fp32", "fp16" or "bf16") that `name` means on `device`."""
    if name != "auto":
        return name
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


class Precision:
    """Autocast + loss scaling for one session. With fp32 every method is a no-op
    passthrough, so the training step reads the same in every mode."""

    def __init__(self, name: str, device: torch.device, init_scale: float = 2.0**16):
        self.name = resolve_precision(name, device)
        self.device_type = device.type
        # Only float16 needs scaling: its smallest normal is ~6e-5, and GAN
        # gradients routinely fall below that.
        self.scaler = torch.amp.GradScaler(device.type, init_scale=init_scale, enabled=self.name == "fp16")

    def autocast(self, enabled: bool = True) -> contextlib.AbstractContextManager:
        """Context for forward passes (losses included: autocast keeps softplus,
        sums and means in float32 by itself). enabled=False: float32 for this pass."""
        if self.name == "fp32" or not enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=_DTYPES[self.name])

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def unscale(self, optimiser: torch.optim.Optimizer) -> None:
        """Bring the gradients back to their true size (before clipping them)."""
        self.scaler.unscale_(optimiser)

    def step(self, *optimisers: torch.optim.Optimizer) -> bool:
        """Step the optimisers of one backward pass unless float16 overflowed
        its gradients (the scaler then skips them and lowers the scale:
        routine, not a divergence). Returns whether the weights changed."""
        if not self.scaler.is_enabled():
            for optimiser in optimisers:
                optimiser.step()
            return True
        before = self.scaler.get_scale()
        for optimiser in optimisers:
            self.scaler.step(optimiser)
        self.scaler.update()
        return self.scaler.get_scale() >= before

    def skip(self) -> None:
        """End an iteration whose gradients were unscaled but not stepped (the
        step was refused for a non-finite loss), so the next one can unscale again."""
        if self.scaler.is_enabled():
            self.scaler.update()

    def loss_scale(self) -> float:
        """The factor losses are multiplied by before backward (1 without scaling)."""
        return float(self.scaler.get_scale()) if self.scaler.is_enabled() else 1.0
