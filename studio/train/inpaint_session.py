"""--task inpaint's session (tasks/inpaint.py): a conditional GAN that fills holes.

The generator (inpaint_nets.InpaintGenerator) sees a training image with a
random mask's pixels prefilled by Telea (prefill.py; with --prefill none,
zeroed), plus the mask, and returns the image with the holes filled; its
output is always the composite image*(1-mask) + fill*mask, so the known
pixels pass through untouched. Per step:

- D (a patch discriminator that also sees the mask) learns, with the
  non-saturating loss and lazy R1, that real images are real everywhere and
  that a composite is fake where it was filled (patch losses weighted by how
  much of each patch was hole);
- G learns to fool D there, plus `l1_weight` x the mean L1 (or, with
  --hole-loss l2, squared) error inside the holes and `fm_weight` x D's
  feature-matching loss (real vs. filled, the features of D's real pass of
  the same step): the reconstruction terms that keep a fill faithful
  without a pretrained perceptual network.

Masks come from masks.py, drawn from (seed, step, rank), so they need no
state of their own and a resumed run sees the masks it would have seen.
Training images are kept at crop_scale x the resolution and each step takes
a random crop (augment.random_crops), so large photos teach detail and the
whole picture alike.

Everything else (the loop, checkpoints, STOP/PAUSE/signals, resume, --base,
--precision, the Guard's rollbacks, several processes) is session.Session's.
Samples: a grid of 8 fixed reference images with fixed masks, 2 of each
kind: the masked input, the fill, the original. Metrics: L1 and PSNR inside
the holes on up to 64 reference images (held-out when the folder has them)
with fixed masks of every kind.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from studio.train import distributed
from studio.train.augment import random_crops, resize_whole, source_size
from studio.train.diagnostics import MeanWindow
from studio.train.finetune import set_trainable
from studio.train.inpaint_nets import PATCH_FACTOR, build_inpaint_networks
from studio.train.losses import (feature_matching_loss, masked_error, masked_l1, patch_discriminator_loss,
                                 patch_generator_loss)
from studio.train.masks import KINDS, fixed_masks, mask_batch
from studio.train.prefill import telea_prefill
from studio.train.protocol import METRICS, event
from studio.train.session import Session

SAMPLE_IMAGES = 8
METRIC_IMAGES = 64
METRIC_MASK_SEED = 1_000_000  # fixed masks for samples and metrics, apart from the training draws
PANELS = [
    ("losses", [("loss_g", "G (all terms)"), ("loss_d", "D")]),
    ("R1 (mean squared gradient norm)", [("r1", "R1")]),
    ("L1 inside the holes, training batches", [("loss_l1", "L1")]),
    ("PSNR inside the holes, reference images (dB)", [("psnr_hole", "PSNR")]),
]


def hole_psnr(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) inside the holes, images in [-1,1] read as [0,1]:
    [N]. A perfect fill is capped at 100 dB."""
    err = ((output - target) / 2.0).pow(2) * mask
    mse = err.sum(dim=(1, 2, 3)) / (mask.sum(dim=(1, 2, 3)) * output.shape[1]).clamp_min(1e-8)
    return (10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp(max=100.0)


class InpaintSession(Session):
    """session.Session with the inpainting networks, step, samples and metrics."""

    curve_panels = PANELS

    @classmethod
    def image_size(cls, config: dict) -> int:
        return source_size(int(config["resolution"]), float(config.get("crop_scale", 1.0)))

    def build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        return build_inpaint_networks(self.config)

    def prepare(self) -> None:
        r = int(self.config["resolution"])
        self.window = MeanWindow("loss_l1", "loss_fm")
        self.fixed_images = self.fixed_masks = None
        self.fixed_kinds: list[str] = []
        if self.reference is not None:
            images = resize_whole(self.reference[:METRIC_IMAGES], r)
            masks, self.fixed_kinds = fixed_masks(images.shape[0], r, METRIC_MASK_SEED)
            self.fixed_images = images.to(self.device)
            self.fixed_masks = torch.from_numpy(masks).to(self.device)

    def _real_batch(self, batch: int) -> torch.Tensor:
        picked = self.data.train[self.pick_indices(batch)]
        return random_crops(picked, int(self.config["resolution"]), self.picker).to(self.device)

    def _mask_batch(self, batch: int) -> torch.Tensor:
        seed = (int(self.config["seed"]), self.step, distributed.rank() if self.world > 1 else 0)
        return torch.from_numpy(mask_batch(batch, int(self.config["resolution"]), seed)).to(self.device)

    def train_step(self) -> tuple[float, float, float | None]:
        """One D step and one G step: D sees the images as they are (no
        augmentation: the mask and the fill are what it must judge)."""
        config, G, D, amp = self.config, self.G, self.D, self.precision
        batch = self.local_batch
        real = self._real_batch(batch)
        mask = self._mask_batch(batch)
        hole = F.avg_pool2d(mask, PATCH_FACTOR)  # each logit's share of hole
        # One G forward serves both steps (pix2pix's order): D learns from it
        # detached, then G's step backpropagates through it.
        with amp.autocast():
            fake = G(self._prefilled(real, mask), mask).float()

        set_trainable(D, True)
        do_r1 = self.r1_due()
        real_in = real.detach().requires_grad_(do_r1)
        with amp.autocast(enabled=not do_r1):  # R1's double backward in float32 (see GeneratorSession.train_step)
            real_logits, real_features = D(real_in, mask, features=True)
        with amp.autocast():
            loss_d = patch_discriminator_loss(real_logits.float(), D(fake.detach(), mask).float(), hole)
        ld, r1_mean, stepped = self.discriminator_step(loss_d, loss_d, real_logits, real_in)
        if stepped is None:
            return float("nan"), ld, r1_mean

        set_trainable(D, False)
        fm_weight = float(config["fm_weight"])
        with amp.autocast():
            if fm_weight > 0:
                fake_logits, fake_features = D(fake, mask, features=True)
                # D's real features of this step's D pass (one optimiser step
                # old): a second real pass would cost a sixth of the step.
                fm = feature_matching_loss([f.float() for f in fake_features],
                                           [f.detach().float() for f in real_features])
            else:
                fake_logits, fm = D(fake, mask), torch.zeros((), device=self.device)
            l1 = masked_l1(fake, real, mask)
            hole_loss = config.get("hole_loss", "l1")  # runs from before the choice were L1
            recon = l1 if hole_loss == "l1" else masked_error(fake, real, mask, hole_loss)
            loss_g = patch_generator_loss(fake_logits.float(), hole) + config["l1_weight"] * recon + fm_weight * fm
        (lg, l1_mean, fm_mean), finite = self.generator_step(loss_g, loss_g.detach(), l1.detach(), fm.detach())
        if finite:
            self.window.add(l1_mean, fm_mean)
        return lg, ld, r1_mean

    def progress_extras(self) -> dict:
        return self.window.take()

    def _prefilled(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """The generator's image input: the holes as the run's prefill leaves them."""
        return telea_prefill(images, masks) if self.config.get("prefill", "none") == "telea" else images

    @torch.no_grad()
    def _fill(self, images: torch.Tensor, masks: torch.Tensor, batch: int = 16) -> torch.Tensor:
        parts = [self.G_ema(self._prefilled(images[i:i + batch], masks[i:i + batch]), masks[i:i + batch]).float()
                 for i in range(0, len(images), batch)]
        return torch.cat(parts)

    def sample_images(self) -> np.ndarray:
        """Three rows of up to 8: the masked input (holes mid grey), the
        EMA generator's fill, the original."""
        if self.fixed_images is None:
            r = int(self.config["resolution"])
            return np.zeros((1, 3, r, r), np.float32)
        images, masks = self.fixed_images[:SAMPLE_IMAGES], self.fixed_masks[:SAMPLE_IMAGES]
        filled = self._fill(images, masks)
        return torch.cat([images * (1.0 - masks), filled, images]).cpu().numpy()

    def measure(self) -> None:
        if self.fixed_images is None or not self.main:
            return
        t0 = time.monotonic()
        images, masks = self.fixed_images, self.fixed_masks
        filled = self._fill(images, masks)
        psnr = hole_psnr(filled, images, masks).cpu()
        l1 = float(masked_l1(filled, images, masks)) / 2.0  # in [0,1] units
        by_kind = {k: round(float(psnr[[i for i, kk in enumerate(self.fixed_kinds) if kk == k]].mean()), 3)
                   for k in KINDS if k in self.fixed_kinds}
        measured = event(METRICS, step=self.step, psnr_hole=round(float(psnr.mean()), 3),
                         l1_hole=round(l1, 5), psnr_by_kind=by_kind,
                         summary=f"PSNR in the holes {float(psnr.mean()):.3f} dB, L1 {l1:.3f}",
                         reference="held-out" if self.data.held_out.shape[0] >= 2 else "training",
                         images=int(images.shape[0]), seconds=round(time.monotonic() - t0, 2),
                         plot=str(self.out / "curves.png"))
        self.publish_metrics(measured)
