"""--task upscale's session (tasks/upscale.py): a super-resolution network
(upscale_nets.UpscaleNet) learning to enlarge degraded crops of the folder.

Training images are kept at crop_scale x the resolution and each step takes
a random crop of `resolution` px (augment.random_crops): the sharp target.
Its input is that crop made small and imperfect by degrade.py (two rounds of
blur, resizing, noise and JPEG, or a plain downscale), drawn from (seed,
step, rank), so a resumed run sees the inputs it would have seen. Per step:

- G learns L1 to the target plus `perceptual_weight` x the Laplacian-pyramid
  L1 (losses.laplacian_loss: edges and texture at every scale) plus, when
  `gan_weight` > 0, the non-saturating adversarial loss of a patch
  discriminator on the large image;
- D (only when gan_weight > 0) learns real crops from enlarged ones, with
  lazy R1.

Metrics (the EMA network, fixed centre crops of up to 64 reference images,
held-out when the folder has them): luma PSNR with the borders cropped, as
papers report it, on plain area-averaged downscales ("psnr", what
benchmarks/upscale.py measures) and on fixed realistic degradations
("psnr_degraded"), each beside Lanczos on the same inputs. Samples: 8
reference crops in three rows: the input (nearest-enlarged), the output,
the original; the first 4 inputs are plain downscales, the last 4 degraded.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from studio.train import distributed
from studio.train.augment import random_crops, source_size
from studio.train.degrade import CLEAN_SHARE, clean_downscale, degrade_batch
from studio.train.diagnostics import MeanWindow
from studio.train.finetune import set_trainable
from studio.train.losses import discriminator_loss, generator_loss, laplacian_loss
from studio.train.metrics import luma_psnr
from studio.train.protocol import METRICS, event
from studio.train.session import Session
from studio.train.upscale_nets import build_upscale_networks

SAMPLE_IMAGES = 8
METRIC_IMAGES = 64
METRIC_SEED = 1_000_000  # fixed degradations for samples and metrics, apart from the training draws
PANELS = [
    ("losses", [("loss_g", "G (all terms)"), ("loss_d", "D")]),
    ("L1 and Laplacian L1, training batches", [("loss_l1", "L1"), ("loss_lap", "Laplacian")]),
    ("luma PSNR, plain downscales (dB)", [("psnr", "ours"), ("psnr_lanczos", "Lanczos")]),
    ("luma PSNR, degraded inputs (dB)", [("psnr_degraded", "ours"), ("psnr_degraded_lanczos", "Lanczos")]),
]


def lanczos(images: torch.Tensor, scale: int) -> torch.Tensor:
    """float [N,3,h,w] in [-1,1] -> Lanczos enlargement x scale (OpenCV), clamped."""
    arrays = images.detach().cpu().numpy().transpose(0, 2, 3, 1)
    big = [cv2.resize(a, (a.shape[1] * scale, a.shape[0] * scale), interpolation=cv2.INTER_LANCZOS4) for a in arrays]
    return torch.from_numpy(np.stack(big).transpose(0, 3, 1, 2)).clamp(-1.0, 1.0)


class UpscaleSession(Session):
    """session.Session with the upscaling network, step, samples and metrics."""

    curve_panels = PANELS

    @classmethod
    def image_size(cls, config: dict) -> int:
        return source_size(int(config["resolution"]), float(config["crop_scale"]))

    @classmethod
    def shortest_side(cls, config: dict) -> int:
        """The whole kept size: the targets must be sharp, so no picture is
        enlarged to it (a smaller folder trains with a lower --crop-scale or
        --resolution)."""
        return cls.image_size(config)

    def build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        return build_upscale_networks(self.config)

    def prepare(self) -> None:
        config = self.config
        self.scale, r = int(config["scale"]), int(config["resolution"])
        self.clean_share = 1.0 if config["degradation"] == "clean" else CLEAN_SHARE
        self.window = MeanWindow("loss_l1", "loss_lap")
        self.fixed_hr = self.fixed_clean = self.fixed_degraded = None
        if self.reference is not None:
            hr = _centre_crops(self.reference[:METRIC_IMAGES], r)
            rng = np.random.default_rng(METRIC_SEED)
            small = (r // self.scale, r // self.scale)
            arrays = ((hr.numpy().transpose(0, 2, 3, 1) + 1.0) / 2.0).astype(np.float32)
            clean = np.stack([clean_downscale(a, small, self.scale, rng, method=cv2.INTER_AREA) for a in arrays])
            self.fixed_hr = hr.to(self.device)
            self.fixed_clean = torch.from_numpy(clean.transpose(0, 3, 1, 2) * 2.0 - 1.0).to(self.device)
            self.fixed_degraded = degrade_batch(hr, self.scale, METRIC_SEED, clean_share=0.0).to(self.device)

    def _real_batch(self, batch: int) -> torch.Tensor:
        picked = self.data.train[self.pick_indices(batch)]
        return random_crops(picked, int(self.config["resolution"]), self.picker).to(self.device)

    def _inputs(self, hr: torch.Tensor) -> torch.Tensor:
        seed = (int(self.config["seed"]), self.step, distributed.rank() if self.world > 1 else 0)
        return degrade_batch(hr, self.scale, seed, self.clean_share)

    def train_step(self) -> tuple[float, float, float | None]:
        config, G, D, amp = self.config, self.G, self.D, self.precision
        hr = self._real_batch(self.local_batch)
        lr = self._inputs(hr)
        gan_weight = float(config["gan_weight"])
        with amp.autocast():
            sr = G(lr).float()

        ld, r1_mean = 0.0, None
        if gan_weight > 0:
            set_trainable(D, True)
            do_r1 = self.r1_due()
            real_in = hr.detach().requires_grad_(do_r1)
            with amp.autocast(enabled=not do_r1):  # R1's double backward in float32 (see GeneratorSession)
                real_logits = D(real_in)
            with amp.autocast():
                loss_d = discriminator_loss(real_logits.float(), D(sr.detach()).float())
            ld, r1_mean, stepped = self.discriminator_step(loss_d, loss_d, real_logits, real_in)
            if stepped is None:
                return float("nan"), ld, r1_mean
            set_trainable(D, False)

        with amp.autocast():
            l1 = (sr - hr).abs().mean()
            lap = laplacian_loss(sr, hr)
            loss_g = l1 + float(config["perceptual_weight"]) * lap
            if gan_weight > 0:
                loss_g = loss_g + gan_weight * generator_loss(D(sr).float())
        (lg, l1_mean, lap_mean), finite = self.generator_step(loss_g, loss_g.detach(), l1.detach(), lap.detach())
        if finite:
            self.window.add(l1_mean, lap_mean)
        return lg, ld, r1_mean

    def progress_extras(self) -> dict:
        return self.window.take()

    @torch.no_grad()
    def _enlarge(self, images: torch.Tensor, batch: int = 16) -> torch.Tensor:
        return torch.cat([self.G_ema(images[i:i + batch]).float().clamp(-1.0, 1.0)
                          for i in range(0, len(images), batch)])

    def sample_images(self) -> np.ndarray:
        if self.fixed_hr is None:
            r = int(self.config["resolution"])
            return np.zeros((1, 3, r, r), np.float32)
        half = SAMPLE_IMAGES // 2
        inputs = torch.cat([self.fixed_clean[:half], self.fixed_degraded[half:SAMPLE_IMAGES]])
        shown = F.interpolate(inputs, scale_factor=self.scale, mode="nearest")
        return torch.cat([shown, self._enlarge(inputs), self.fixed_hr[:len(inputs)]]).cpu().numpy()

    def measure(self) -> None:
        if self.fixed_hr is None or not self.main:
            return
        t0 = time.monotonic()
        hr, border = self.fixed_hr.cpu(), self.scale
        scores = {}
        for name, inputs in (("psnr", self.fixed_clean), ("psnr_degraded", self.fixed_degraded)):
            scores[name] = float(luma_psnr(self._enlarge(inputs).cpu(), hr, border).mean())
            scores[f"{name}_lanczos"] = float(luma_psnr(lanczos(inputs, self.scale), hr, border).mean())
        measured = event(METRICS, step=self.step, **{k: round(v, 3) for k, v in scores.items()},
                         reference="held-out" if self.data.held_out.shape[0] >= 2 else "training",
                         images=int(hr.shape[0]), seconds=round(time.monotonic() - t0, 2),
                         summary=f"luma PSNR {scores['psnr']:.2f} dB (Lanczos {scores['psnr_lanczos']:.2f}), "
                                 f"degraded inputs {scores['psnr_degraded']:.2f} dB "
                                 f"(Lanczos {scores['psnr_degraded_lanczos']:.2f})",
                         plot=str(self.out / "curves.png"))
        self.publish_metrics(measured)


def _centre_crops(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [N,3,S,S] -> their centre size x size crops, float32 in [-1,1]
    (native scale: the detail an upscaler must restore)."""
    top = (images.shape[-2] - size) // 2
    left = (images.shape[-1] - size) // 2
    return images[:, :, top:top + size, left:left + size].float() / 127.5 - 1.0
