"""The parts of a training step that every task's G and D halves share:
one backward pass with its gradient bookkeeping, gradient clipping and the
generator's exponential moving average."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from studio.train import distributed
from studio.train.precision import Precision


def backward(loss: torch.Tensor, trainees: Sequence[tuple[torch.nn.Module, torch.optim.Optimizer]],
             precision: Precision, max_norm: float) -> list[float]:
    """Gradients of `loss` for each (module, optimiser) of `trainees`, ready
    for its optimiser: zeroed, backpropagated once (scaled in float16),
    averaged over the ranks, unscaled and clipped module by module. Returns
    each module's gradient norm before clipping."""
    for _, optimiser in trainees:
        optimiser.zero_grad(set_to_none=True)
    precision.backward(loss)
    norms = []
    for module, optimiser in trainees:
        # Averaged while still scaled: every rank then sees the same overflow
        # and keeps the same loss scale.
        distributed.average_gradients(module)
        precision.unscale(optimiser)
        norms.append(clip_gradients(module, max_norm))
    return norms


def clip_gradients(module: torch.nn.Module, max_norm: float) -> float:
    """Clip the gradient norm to max_norm (0 = off); returns the norm before clipping.
    Clipping happens after the all-reduce, so every rank clips the same gradients."""
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return 0.0
    if max_norm > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, images_seen: int, batch: int, ema_kimg: float) -> None:
    """Move `ema` toward `model`. The half-life is in images, ramped up early
    on (StyleGAN2) so the EMA does not drag along the random initial weights
    for the first thousands of images."""
    half_life = min(ema_kimg * 1000.0, images_seen * 0.05)
    beta = 0.5 ** (batch / max(half_life, 1e-8))
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
