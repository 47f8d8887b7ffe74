"""--task generate's session (tasks/generate.py): the GAN's networks, its
step, ADA, its samples and its metrics on session.Session's loop.

A step is one D and one G step on this rank's share of the batch. D learns,
with the run's loss (non-saturating or hinge) and lazy R1, that the folder's
images are real and the generator's fake, both augmented with ADA's
probability; fastgan's D also learns to rebuild real images. G then learns
to fool the updated D. The EMA generator (G_ema) is what samples, metrics
and the export use. Metrics: SWD and diversity of G_ema's images at fixed
latents against the held-out images; a fall in diversity warns of collapse.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from studio.train.ada import AdaptiveAugment
from studio.train.architecture import FASTGAN_ARCHITECTURES, build_discriminator, build_generator
from studio.train.augment import augment
from studio.train.diagnostics import DiscriminatorAccuracy
from studio.train.finetune import set_trainable
from studio.train.health import ROLLBACK, sample_diversity
from studio.train.losses import get_losses
from studio.train.metrics import diversity, swd
from studio.train.protocol import METRICS, WARNING, event
from studio.train.samples import render_seeds
from studio.train.session import Session

ADA_INTERVAL = 4  # D steps between updates of p
DIVERSITY_LATENTS = 16  # fixed latents whose sample diversity the Guard watches
METRIC_SEED_BASE = 1_000_000  # fixed latents for metrics, far from the grid's seeds 0..31


class GeneratorSession(Session):
    """session.Session with the GAN generator's hooks."""

    def build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        return build_generator(self.config), build_discriminator(self.config)

    def prepare(self) -> None:
        config = self.config
        self.d_loss, self.g_loss = get_losses(config.get("gan_loss", "nonsaturating"))
        self.reconstructs = config.get("arch") in FASTGAN_ARCHITECTURES  # their D also learns to rebuild real images
        # No target = a run from before ADA: every image augmented, as it was trained.
        self.ada = (AdaptiveAugment(config["ada_target"], ADA_INTERVAL, config["ada_kimg"])
                    if config.get("ada_target") else None)
        self.d_accuracy = DiscriminatorAccuracy()
        self.diversity_latents = torch.randn(DIVERSITY_LATENTS, config["latent_size"],
                                             generator=torch.Generator().manual_seed(METRIC_SEED_BASE)).to(self.device)
        self.reference_diversity = diversity(self.reference) if self.reference is not None else None
        self.best_diversity = 0.0

    def restore_extras(self, info: dict) -> None:
        if self.ada is not None and info.get("ada"):
            self.ada.load_state_dict(info["ada"])

    def checkpoint_extras(self) -> dict:
        return {"ada": self.ada.state_dict() if self.ada is not None else None}

    def aug_p(self) -> float:
        if self.ada is not None:
            return self.ada.p
        aug = self.config["augment"]
        return 1.0 if (aug.get("translate") or aug.get("colour")) else 0.0

    def progress_extras(self) -> dict:
        return self.d_accuracy.take()

    def train_step(self) -> tuple[float, float, float | None]:
        config, G, D, device, batch = self.config, self.G, self.D, self.device, self.local_batch
        amp = self.precision
        p = self.aug_p()
        real = self._real_batch(batch)
        # One generator pass serves both halves of the step (DCGAN's loop): D
        # learns from it detached, then G learns through the updated D. A
        # second pass for G's half cost about a fifth of the step at 128 px
        # (a 0.59 s forward of a 3 s step, fastgan2 at width 0.5, 2 threads).
        with amp.autocast():
            fake = G(torch.randn(batch, config["latent_size"], device=device))
        set_trainable(D, True)  # not requires_grad_: FreezeD's frozen blocks stay frozen
        do_r1 = self.r1_due()
        real_in = self._augment(real, p).detach().requires_grad_(do_r1)
        # R1's double backward runs in float32: through half-precision
        # activations the scaled input gradient overflows (StyleGAN2-ADA keeps
        # it out of fp16 too). Lazy R1 makes that one step in r1_every.
        with amp.autocast(enabled=not do_r1):
            if self.reconstructs:
                real_logits, recon = D(real_in, reconstruct=True)
            else:
                real_logits, recon = D(real_in), None
        with amp.autocast():
            fake_logits = D(self._augment(fake.detach().float(), p))
            loss_d = self.d_loss(real_logits.float(), fake_logits.float())
            total_d = loss_d if recon is None else loss_d + recon
        self.d_accuracy.observe(real_logits.detach(), fake_logits.detach())
        ld, r1_mean, stepped = self.discriminator_step(loss_d, total_d, real_logits, real_in)
        if stepped is None:
            return float("nan"), ld, r1_mean
        if stepped and self.ada is not None:
            self.ada.observe(self.gather(real_logits.detach().float()))

        set_trainable(D, False)
        with amp.autocast():
            loss_g = self.g_loss(D(self._augment(fake.float(), p)))
        (lg,), _ = self.generator_step(loss_g, loss_g.detach())
        return lg, ld, r1_mean

    def _real_batch(self, batch: int) -> torch.Tensor:
        x = self.data.train[self.pick_indices(batch)].to(device=self.device, dtype=torch.float32) / 127.5 - 1.0
        flip = (torch.rand(batch, generator=self.picker) < 0.5).to(self.device)
        x[flip] = x[flip].flip(3)  # mirror images are as plausible as the originals
        return x

    def _augment(self, images: torch.Tensor, p: float) -> torch.Tensor:
        aug = self.config["augment"]
        return augment(images, aug["translate"], aug["colour"], p=p)

    def watch_health(self) -> bool:
        """Feed the EMA generator's sample diversity at fixed latents to the
        Guard: a collapse warning when it fell; NaN weights roll back. Returns
        False when the state was rolled back (so nothing is saved from it)."""
        div = sample_diversity(self.G_ema, self.diversity_latents)
        verdict = self.guard.check(self.step, {}, diversity=div)
        if verdict.action == ROLLBACK or not self.finite():
            self.roll_back(verdict.message or f"step {self.step}: non-finite weights")
            return False
        if verdict.message:
            self.emit(event(WARNING, step=self.step, kind="collapse", message=verdict.message))
        self.snapshot.take(self.step, self.modules, self.optimisers)  # about to be checkpointed: good
        return True

    def sample_images(self) -> np.ndarray:
        return render_seeds(self.G_ema, self.config["latent_size"])

    def measure(self) -> None:
        if self.reference is None or not self.main:
            return
        t0 = time.monotonic()
        n = self.reference.shape[0]
        seeds = range(METRIC_SEED_BASE, METRIC_SEED_BASE + n)
        fakes = torch.from_numpy(render_seeds(self.G_ema, self.config["latent_size"], seeds))
        result = swd(fakes, self.reference, seed=0)
        div = diversity(fakes)
        measured = event(METRICS, step=self.step, swd=round(result["swd"], 3),
                         swd_levels={str(k): round(v, 3) for k, v in result["levels"].items()},
                         diversity=round(div, 4), diversity_reference=round(self.reference_diversity, 4),
                         summary=f"SWD {result['swd']:.1f}, diversity {div:.3f}",
                         reference="held-out" if self.data.held_out.shape[0] else "training", images=n,
                         seconds=round(time.monotonic() - t0, 2), plot=str(self.out / "curves.png"))
        self.publish_metrics(measured)
        # Collapse: variety fell to half of what this run had reached and to
        # under half of the real images' own variety.
        if div < 0.5 * self.best_diversity and div < 0.5 * self.reference_diversity:
            self.emit(event(WARNING, step=self.step, kind="collapse",
                            message=f"diversity fell to {div:.3f} (best so far {self.best_diversity:.3f}, real images "
                                    f"{self.reference_diversity:.3f}): the generator may be collapsing to few images"))
        self.best_diversity = max(self.best_diversity, div)
