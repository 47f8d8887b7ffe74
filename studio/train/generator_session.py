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

import copy
import time

import numpy as np
import torch

from studio.train.ada import AdaptiveAugment
from studio.train.alpha import on_checkerboard
from studio.train.architecture import FASTGAN_ARCHITECTURES, build_discriminator, build_generator
from studio.train.augment import augment
from studio.train.data import parse_background
from studio.train.diagnostics import DiscriminatorAccuracy, MeanWindow
from studio.train.encoder import BETAS, build_encoder, encoder_losses, rebuild, weighted_sum
from studio.train.finetune import set_trainable
from studio.train.health import ROLLBACK, sample_diversity
from studio.train.losses import get_losses
from studio.train.metrics import diversity, luma_psnr, swd
from studio.train.protocol import METRICS, WARNING, event
from studio.train.samples import GRID_COLUMNS, render_seeds
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
        self.ada = (AdaptiveAugment(config["ada_target"], ADA_INTERVAL, config["ada_kimg"],
                                    p_min=config.get("ada_p_min", 0.0))
                    if config.get("ada_target") else None)
        self.d_accuracy = DiscriminatorAccuracy()
        self.diversity_latents = torch.randn(DIVERSITY_LATENTS, config["latent_size"],
                                             generator=torch.Generator().manual_seed(METRIC_SEED_BASE)).to(self.device)
        self.reference_diversity = diversity(self.reference[:, :3]) if self.reference is not None else None
        self.best_diversity = 0.0
        self.E = self.E_ema = None
        self.freeze_g = bool(config.get("freeze_g"))
        if config.get("encoder"):
            self.E = build_encoder(config).to(self.device)
            self.E_ema = copy.deepcopy(self.E).eval().requires_grad_(False)
            self.add_network("E", self.E, torch.optim.Adam(self.E.parameters(), lr=config["lr"], betas=BETAS),
                             self.E_ema)
            self.encoder_window = MeanWindow(*(f"loss_{name}" for name in config["encoder_weights"]))
        if self.freeze_g:  # only E learns; G and D are the base's (D as E's feature network)
            set_trainable(self.G, False)
            set_trainable(self.D, False)

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
        extras = {} if self.freeze_g else self.d_accuracy.take()
        if self.E is not None:
            extras.update(self.encoder_window.take(), grad_norm_e=round(self.grad_norms.get("e", 0.0), 3))
        return extras

    def train_step(self) -> tuple[float, float, float | None]:
        if self.freeze_g:
            return self._encoder_step()
        config, G, D, device, batch = self.config, self.G, self.D, self.device, self.local_batch
        amp = self.precision
        p = self.aug_p()
        real = self._real_batch(batch)
        # One generator pass serves both halves of the step (DCGAN's loop): D
        # learns from it detached, then G learns through the updated D. A
        # second pass for G's half cost about a fifth of the step at 128 px
        # (a 0.59 s forward of a 3 s step, fastgan2 at width 0.5, 2 threads).
        latents = torch.randn(batch, config["latent_size"], device=device)
        with amp.autocast():
            fake = G(latents)
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
        if self.E is None:
            (lg,), _ = self.generator_step(loss_g, loss_g.detach())
            return lg, ld, r1_mean
        with amp.autocast():
            terms = encoder_losses(self.E, G, D, real, fake.float(), latents)
        total = loss_g + weighted_sum(terms, config["encoder_weights"])
        (lg, *means), finite = self.generator_step(total, loss_g.detach(), *(t.detach() for t in terms.values()),
                                                   nets=("g", "e"))
        if finite:
            self.encoder_window.add(*means)
        return lg, ld, r1_mean

    def _encoder_step(self) -> tuple[float, float, None]:
        """--freeze-g: E's terms alone against the fixed G and D; the loss
        reported as G's is E's weighted total (D's is 0)."""
        latents = torch.randn(self.local_batch, self.config["latent_size"], device=self.device)
        with torch.no_grad(), self.precision.autocast():
            fake = self.G(latents).float()
        with self.precision.autocast():
            terms = encoder_losses(self.E, self.G, self.D, self._real_batch(self.local_batch), fake, latents)
        total = weighted_sum(terms, self.config["encoder_weights"])
        (le, *means), finite = self.generator_step(total, total.detach(), *(t.detach() for t in terms.values()),
                                                   nets=("e",))
        if finite:
            self.encoder_window.add(*means)
        return le, 0.0, None

    def _real_batch(self, batch: int) -> torch.Tensor:
        x = self._float_images(self.data.train[self.pick_indices(batch)])
        flip = (torch.rand(batch, generator=self.picker) < 0.5).to(self.device)
        x[flip] = x[flip].flip(3)  # mirror images are as plausible as the originals
        return x

    def _augment(self, images: torch.Tensor, p: float) -> torch.Tensor:
        aug = self.config["augment"]
        return augment(images, aug["translate"], aug["colour"], self.config.get("cutout", 0.0), p=p)

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
        """The seeds' grid; with an encoder two more rows: reference images
        and what G_ema draws from E_ema's latents for them."""
        rows = [render_seeds(self.G_ema, self.config["latent_size"])]
        if self.E is not None and self.reference is not None:
            reals = self._float_images(self.reference[:GRID_COLUMNS])
            rows += [reals.cpu().numpy(), rebuild(self.E_ema, self.G_ema, reals).cpu().numpy()]
        images = np.concatenate(rows)
        if images.shape[1] == 4:
            return on_checkerboard(images, parse_background(self.config["background"]))
        return images

    def _float_images(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(device=self.device, dtype=torch.float32) / 127.5 - 1.0

    def measure(self) -> None:
        if self.reference is None or not self.main:
            return
        t0 = time.monotonic()
        n = self.reference.shape[0]
        seeds = range(METRIC_SEED_BASE, METRIC_SEED_BASE + n)
        # Colour as composited on the background: alpha's edges show there,
        # and the numbers stay comparable with RGB runs on the same folder.
        fakes = torch.from_numpy(render_seeds(self.G_ema, self.config["latent_size"], seeds))[:, :3]
        result = swd(fakes, self.reference[:, :3], seed=0)
        div = diversity(fakes)
        rebuilt = {}
        if self.E is not None:
            reals = self._float_images(self.reference)
            psnr = float(luma_psnr(rebuild(self.E_ema, self.G_ema, reals)[:, :3], reals[:, :3]).mean())
            rebuilt = {"rebuild_psnr": round(psnr, 3)}
        measured = event(METRICS, step=self.step, swd=round(result["swd"], 3), **rebuilt,
                         swd_levels={str(k): round(v, 3) for k, v in result["levels"].items()},
                         diversity=round(div, 4), diversity_reference=round(self.reference_diversity, 4),
                         summary=f"SWD {result['swd']:.1f}, diversity {div:.3f}"
                                 + (f", pictures rebuilt at {rebuilt['rebuild_psnr']:.1f} dB" if rebuilt else ""),
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
