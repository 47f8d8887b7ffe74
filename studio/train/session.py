"""One trainer process's worth of steps, from a fresh start or a
checkpoint: the loop every task shares, and what it keeps (checkpoints,
logs, curves), watches (the health Guard) and agrees on (several ranks).

Each task's Session subclass (tasks/) fills in the hooks below; the loop
calls them and nothing else of the task:

    image_size(config)   classmethod: the side (px) its training images are prepared at
    shortest_side(config) classmethod: the least short side (px) an image needs to be used
    build_networks()     (G, D), freshly initialised, as the config describes them
    prepare()            its own state, made last in __init__ (the shared state is ready)
    restore_extras(info) its own state back from a resumed checkpoint's info
    checkpoint_extras()  its own state for the checkpoint's info (a dict)
    train_step()         one D and one G step: (loss_g, loss_d, r1 or None) over the ranks
    aug_p()              the probability D's images are augmented with (progress events)
    progress_extras()    its own fields of the next progress event
    watch_health()       before a checkpoint: False when it rolled the state back
    sample_images()      the sample grid's images, float [N,3,H,W] in [-1,1], 8 per row
    measure()            its metrics event (publish_metrics), at --metrics-every steps
    curve_panels         what curves.png draws (plots.PANELS layout)

and uses these of the Session's: backward() (one half of a step: backward,
all-reduce, clip, mean over ranks, skip when not finite), r1_due() and
discriminator_step() (D's half: lazy R1, that and the optimiser step),
generator_step() (G's half: that, the optimiser steps and the EMAs),
add_network() (a network beyond G and D, such as an encoder), mean_over_ranks(),
gather(), pick_indices(), roll_back(), finite(), publish_metrics(), emit(),
and the shared state set in __init__ (G, D, G_ema, opt_G, opt_D, config,
data, device, precision, reference, snapshot, step, images_seen, ...).

Health: every step's losses go through health.Guard. A non-finite or
exploding loss (or NaN weights) rolls the networks back to the last good
in-memory snapshot (taken every SNAPSHOT_EVERY steps and at every
checkpoint), halves the learning rate, and emits a "nan" warning; after
ROLLBACK_LIMIT rollbacks in a row the run ends with reason "nan" and the
last good checkpoint untouched. A checkpoint is never written from
non-finite weights.

Ranks (torchrun): each draws from its own shard of the images, gradients
are averaged before every optimiser step, so all ranks hold the same
weights; rank 0 alone writes the run folder and prints progress; STOP/PAUSE
files and signals are agreed on by all ranks each step.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from studio.core.atomic import atomic_write_text
from studio.train import checkpoint as ckpt_io
from studio.train import distributed
from studio.train.alpha import fit_channels
from studio.train.control import Control
from studio.train.data import Dataset, min_side
from studio.train.diagnostics import block_gradient_norms
from studio.train.errors import DataError
from studio.train.finetune import freeze_d_layers
from studio.train.health import ROLLBACK, Guard, Snapshot, lower_learning_rate
from studio.train.losses import r1_penalty
from studio.train.nets import parameter_count
from studio.train.plots import PANELS, draw_curves
from studio.train.precision import Precision
from studio.train.progress import BarReporter, Reporter
from studio.train.protocol import (CHECKPOINT, DONE, PAUSED, PROGRESS, RESUMED, SAMPLES, START, STOP_REASONS, WARNING,
                                   event)
from studio.train.samples import write_grid
from studio.train.steps import backward, update_ema

if TYPE_CHECKING:  # plan.py imports this module; the annotation needs no import at run time
    from studio.train.plan import Plan

# Session settings a resumed run keeps unless given again (metrics_every None:
# 4x checkpoint_every); plan.settle_intervals applies them.
INTERVALS = {"checkpoint_every": 500, "metrics_every": None, "log_every": 10}
SNAPSHOT_EVERY = 50  # steps between in-memory copies of the last good state
ROLLBACK_LIMIT = 20  # rollbacks in a row (no good step between) before the run gives up
# Tests only: at this step, poison one generator weight with NaN (once per process).
INJECT_NAN_ENV = "STUDIO_TRAIN_INJECT_NAN_AT"
METRIC_IMAGES = 200  # reference images when nothing is held out
# Sample grids between checkpoints, so an artist sees something early: the
# first after this many seconds of training, then at least this often (a
# checkpoint's grid counts). Tests shorten both through the environment.
PREVIEW_FIRST_S, PREVIEW_EVERY_S = 60.0, 120.0
PREVIEW_ENV = "STUDIO_TRAIN_PREVIEW_S"  # "FIRST,EVERY" in seconds


class Session:
    """The shared loop; a task's subclass implements the hooks of this
    module's docstring."""

    curve_panels = PANELS

    def __init__(self, args: argparse.Namespace, plan: Plan, data: Dataset, device: torch.device,
                 reporter: Reporter, control: Control):
        self.args, self.plan, self.data, self.device = args, plan, data, device
        self.reporter, self.control = reporter, control
        self.out = plan.out
        self.config = config = plan.config
        self.metrics_every = (4 * args.checkpoint_every if args.metrics_every is None else args.metrics_every)
        self.main = distributed.is_main()
        self.world = distributed.world_size()
        resume = plan.resume

        if resume is None:
            torch.manual_seed(config["seed"])
            np.random.seed(config["seed"] % 2**32)
            random.seed(config["seed"])
        else:
            torch.manual_seed(config["seed"] + int(resume.info["step"]))  # replaced below when the run saved its RNG
        self.G, self.D = (net.to(device) for net in self.build_networks())
        if plan.base is not None:  # fine-tuning: G (and so G_ema) and D start from the base model
            self.load_base_state(self.G, "G")
            self.load_base_state(self.D, "D")
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        try:
            freeze_d_layers(self.D, config.get("freeze_d", 0))
        except ValueError as exc:
            raise DataError(f"--freeze-d: {exc}") from None
        betas = tuple(config["betas"])
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config["lr"], betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=config["lr"], betas=betas)
        self.guard = Guard(diversity_skip=2)
        self.grad_norms = {"g": 0.0, "d": 0.0}  # before clipping, of the last step
        self.precision = Precision(args.precision, device)
        self.step, self.images_seen, self.wall_before = 0, 0, 0.0
        self.picker = torch.Generator().manual_seed(config["seed"])
        self.last_metrics: dict | None = None
        if resume is not None:
            self.G.load_state_dict(resume.module_state("G"))
            self.G_ema.load_state_dict(resume.module_state("G_ema"))
            self.D.load_state_dict(resume.module_state("D"))
            self.opt_G.load_state_dict(resume.optimiser_state("opt_G"))
            self.opt_D.load_state_dict(resume.optimiser_state("opt_D"))
            self.step, self.images_seen = int(resume.info["step"]), int(resume.info["images_seen"])
            self.wall_before = float(resume.info.get("wall_time_s", 0.0))
            self.last_metrics = resume.info.get("metrics")
            self.guard.load_state_dict(resume.info.get("guard") or {})
            if not ckpt_io.restore_rng(resume, {"picker": self.picker}):
                self.picker.manual_seed(config["seed"] + self.step)  # the first trainer's behaviour
        # Each rank draws from its own shard of the images, with its own random
        # streams (rank 0 keeps the run's, so one process resumes exactly).
        self.indices = distributed.shard(torch.arange(data.train.shape[0]))
        if len(self.indices) == 0:
            raise DataError(f"{data.train.shape[0]} training images cannot be shared by {self.world} processes")
        self.local_batch = config["batch"] // self.world
        if self.world > 1:
            distributed.broadcast_parameters(self.G, self.G_ema, self.D)
            if not self.main:
                rank_seed = config["seed"] * 1_000_003 + self.step * 7919 + distributed.rank()
                torch.manual_seed(rank_seed)
                self.picker.manual_seed(rank_seed)
        self.modules = {"G": self.G, "G_ema": self.G_ema, "D": self.D}
        self.optimisers = {"opt_G": self.opt_G, "opt_D": self.opt_D}
        self.trainees = {"g": (self.G, self.opt_G), "d": (self.D, self.opt_D)}
        self.averages = {"g": self.G_ema}  # net -> its EMA copy
        self.snapshot = Snapshot()
        self.snapshot.take(self.step, self.modules, self.optimisers)  # the start (or the resumed checkpoint) is good
        self.rollbacks_in_row = 0
        inject = os.environ.get(INJECT_NAN_ENV)
        self.inject_nan_at = int(inject) if inject else None
        self.log_rows = self._open_log()
        self.reference = self._reference_images()
        self.checkpoint_path: str | None = str(resume.path) if resume is not None and resume.path else None
        self.saved_step = self.step  # what is on disk already (a resumed run that takes no step rewrites nothing)
        self.prepare()
        if resume is not None:
            self.restore_extras(resume.info)

    # -- the hooks a task implements (see the module docstring) -------------------
    @classmethod
    def image_size(cls, config: dict) -> int:
        return int(config["resolution"])

    @classmethod
    def shortest_side(cls, config: dict) -> int:
        """By default half the training resolution: an image is enlarged at
        most 2x, more would teach blur."""
        return min_side(int(config["resolution"]))

    def build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        raise NotImplementedError

    def prepare(self) -> None:
        pass

    def restore_extras(self, info: dict) -> None:
        pass

    def checkpoint_extras(self) -> dict:
        return {}

    def train_step(self) -> tuple[float, float, float | None]:
        raise NotImplementedError

    def aug_p(self) -> float:
        return 0.0

    def progress_extras(self) -> dict:
        return {}

    def watch_health(self) -> bool:
        """By default: NaN weights roll back (nothing is saved from them);
        otherwise the state is a good snapshot."""
        if not self.finite():
            self.roll_back(f"step {self.step}: non-finite weights")
            return False
        self.snapshot.take(self.step, self.modules, self.optimisers)
        return True

    def sample_images(self) -> np.ndarray:
        raise NotImplementedError

    def measure(self) -> None:
        pass

    # -- the loop ---------------------------------------------------------------
    def run(self) -> int:
        args, config, control = self.args, self.config, self.control
        batch = config["batch"]
        if isinstance(self.reporter, BarReporter):
            self.reporter.set_target(args.steps)
        self.started = time.monotonic()
        self.paused_s = 0.0
        first, self.preview_every = (float(v) for v in os.environ.get(PREVIEW_ENV, "").split(",")) \
            if os.environ.get(PREVIEW_ENV) else (PREVIEW_FIRST_S, PREVIEW_EVERY_S)
        self.next_preview = first  # in seconds of active training
        deadline = self.started + args.minutes * 60.0 if args.minutes is not None else None
        base = config.get("base")
        self.reporter.emit(event(START, step=self.step, resumed=self.plan.resume is not None,
                                 base=base["name"] if base else None,
                                 params_G=parameter_count(self.G), params_D=parameter_count(self.D),
                                 device=self.device.type, precision=self.precision.name,
                                 resolution=config["resolution"], batch=batch,
                                 threads=torch.get_num_threads(), images=int(self.data.train.shape[0]),
                                 arch=config["arch"], loss=config["gan_loss"], processes=self.world,
                                 task=config["task"]))
        window = {"g": 0.0, "d": 0.0, "r1": None, "n": 0, "t": time.monotonic(), "images": 0}
        reason = None
        while True:
            reason = control.stop_reason()
            if reason is None and args.steps is not None and self.step >= args.steps:
                reason = "steps"
            if reason is None and deadline is not None and time.monotonic() >= deadline:
                reason = "minutes"
            if reason is None and self.rollbacks_in_row >= ROLLBACK_LIMIT:
                reason = "nan"
            reason, paused = self._agree(reason, control.paused())
            if reason:
                break
            if paused:
                idle = self._pause()
                if deadline is not None:
                    deadline += idle
                window.update(t=time.monotonic(), images=0)
                continue

            if self.inject_nan_at is not None and self.step + 1 == self.inject_nan_at:
                self.inject_nan_at = None  # once: the rollback must then recover for good
                with torch.no_grad():
                    next(self.G.parameters()).fill_(float("nan"))
            loss_g, loss_d, r1 = self.train_step()
            verdict = self.guard.check(self.step + 1, {"loss_g": loss_g, "loss_d": loss_d})
            if verdict.action == ROLLBACK:
                self.roll_back(verdict.message)
                continue
            self.rollbacks_in_row = 0
            self.step += 1
            self.images_seen += batch
            window["g"] += loss_g
            window["d"] += loss_d
            window["r1"] = r1 if r1 is not None else window["r1"]
            window["n"] += 1
            window["images"] += batch
            if self.step % SNAPSHOT_EVERY == 0:
                self.snapshot.take(self.step, self.modules, self.optimisers)

            at_checkpoint = self.step % args.checkpoint_every == 0
            if self.step % args.log_every == 0 or at_checkpoint:
                now = time.monotonic()
                rate = window["images"] / max(now - window["t"], 1e-9)
                self.emit(event(PROGRESS, step=self.step, images_seen=self.images_seen,
                                 loss_g=round(window["g"] / window["n"], 4), loss_d=round(window["d"] / window["n"], 4),
                                 r1=None if window["r1"] is None else round(window["r1"], 5),
                                 aug_p=round(self.aug_p(), 4), lr=self.opt_G.param_groups[0]["lr"],
                                 grad_norm_g=round(self.grad_norms["g"], 3), grad_norm_d=round(self.grad_norms["d"], 3),
                                 grad_blocks_g=block_gradient_norms(self.G),
                                 grad_blocks_d=block_gradient_norms(self.D),
                                 images_per_s=round(rate, 2),
                                 eta_s=self._eta(now, deadline, rate / batch), elapsed_s=round(self._active(now), 1),
                                 **self.progress_extras()),
                           log=True)
                window.update(g=0.0, d=0.0, n=0, t=time.monotonic(), images=0)
            if at_checkpoint and self.watch_health():
                self._save(None)
            elif self.main and self._active(time.monotonic()) >= self.next_preview and self.finite():
                self._write_samples()
            if self.metrics_every and self.step % self.metrics_every == 0:
                self.measure()

        if reason != "nan":
            if self.saved_step != self.step:
                self._save(reason)
            if self.metrics_every and (self.last_metrics or {}).get("step") != self.step:
                # The checkpoint is safe on disk first; then the final metrics,
                # and the checkpoint once more so its info carries them.
                self.measure()
                self._write_checkpoint(reason, keep_previous=False)
        self._curves()
        if reason == "stop-file" and self.main:
            control.acknowledge_stop()
        self.reporter.emit(event(DONE, reason=reason, step=self.step, images_seen=self.images_seen,
                                 wall_time_s=round(self._wall(), 1), checkpoint=self.checkpoint_path))
        if self.log_file is not None:
            self.log_file.close()
        return 0


    # -- the halves of a step ----------------------------------------------------
    def backward(self, nets: str | tuple[str, ...], total: torch.Tensor, *reported: torch.Tensor | None
                 ) -> tuple[list[float | None], bool]:
        """One half of a step for the networks `nets` ("g": G and opt_G, "d":
        D and opt_D, or a key given to add_network; a tuple for several that
        one loss trains): gradients of `total`, averaged over the ranks and
        clipped (steps.backward), the norms kept for progress events. Returns
        the `reported` values (the first must be a tensor) averaged over the
        ranks, and whether they are all finite; if not, the scaler's iteration
        is closed and the caller skips the optimiser steps (the Guard rolls back)."""
        nets = (nets,) if isinstance(nets, str) else nets
        norms = backward(total, [self.trainees[net] for net in nets], self.precision, self.config["grad_clip"])
        for net, norm in zip(nets, norms):
            if math.isfinite(norm):  # a float16 overflow step has an infinite one, which JSON cannot carry
                self.grad_norms[net] = norm
        means = self.mean_over_ranks(*reported)
        finite = all(v is None or math.isfinite(v) for v in means)
        if not finite:
            self.precision.skip()
        return means, finite

    def r1_due(self) -> bool:
        """Whether this step is one of lazy R1's (every r1_every steps)."""
        return self.config["r1_gamma"] > 0 and self.step % self.config["r1_every"] == 0

    def discriminator_step(self, loss: torch.Tensor, total: torch.Tensor, real_logits: torch.Tensor,
                           real_in: torch.Tensor) -> tuple[float, float | None, bool | None]:
        """D's half of a step once its passes are done: on an r1_due() step the
        R1 penalty of real_logits at real_in (which then requires grad) joins
        `total`, then backward("d", ...) and, when finite, the optimiser step.
        R1 is taken per logit: a patch discriminator's loss is a mean over its
        logits, so its penalty is too (a one-logit D's is per image).
        Returns (loss over the ranks, R1 or None, whether D stepped: None when
        the losses were not finite and nothing stepped)."""
        r1_value = None
        if real_in.requires_grad:
            r1 = r1_penalty(real_logits, real_in) / real_logits[0].numel()
            total = total + r1 * (self.config["r1_gamma"] / 2 * self.config["r1_every"])
            r1_value = r1.detach()
        (loss_mean, r1_mean), finite = self.backward("d", total, loss.detach(), r1_value)
        return loss_mean, r1_mean, (self.precision.step(self.opt_D) if finite else None)

    def generator_step(self, loss: torch.Tensor, *reported: torch.Tensor, nets: tuple[str, ...] = ("g",)
                       ) -> tuple[list[float | None], bool]:
        """G's half of a step (with any network added to it, such as an
        encoder): backward(nets, ...), then, when finite, the optimiser steps
        and their EMA updates. Returns as backward() does."""
        means, finite = self.backward(nets, loss, *reported)
        if finite and self.precision.step(*(self.trainees[net][1] for net in nets)):
            batch = self.config["batch"]
            for net in nets:
                if net in self.averages:
                    update_ema(self.averages[net], self.trainees[net][0], self.images_seen + batch, batch,
                               self.config["ema_kimg"])
        return means, finite

    def load_base_state(self, net: torch.nn.Module, name: str) -> None:
        """Start `net` from the base model's network `name`, its image layers
        fitted when the base draws another number of channels (alpha.py)."""
        try:
            fit_channels(net, self.plan.base[name])
        except (ValueError, RuntimeError) as exc:
            raise DataError(f"base model {self.config['base']['name']} does not fit this run: "
                            f"{str(exc).splitlines()[0]}") from None

    def add_network(self, name: str, module: torch.nn.Module, optimiser: torch.optim.Optimizer,
                    average: torch.nn.Module | None = None) -> None:
        """A task's network beyond G and D (for prepare()): trained through
        backward(name.lower(), ...) and generator_step(nets=...), checkpointed
        as NAME, opt_NAME and NAME_ema (its EMA copy, when given), restored on
        resume, started from a base model's own (finetune.load_base), kept
        equal over the ranks, rolled back with the rest."""
        names = {name: module, **({f"{name}_ema": average} if average is not None else {})}
        if self.plan.resume is not None:
            for key, net in names.items():
                net.load_state_dict(self.plan.resume.module_state(key))
            optimiser.load_state_dict(self.plan.resume.optimiser_state(f"opt_{name}"))
        elif self.plan.base is not None and name in self.plan.base:  # a fine-tune: from the base's own
            for net in names.values():
                self.load_base_state(net, name)
        if self.world > 1:
            distributed.broadcast_parameters(*names.values())
        self.modules.update(names)
        self.optimisers[f"opt_{name}"] = optimiser
        self.trainees[name.lower()] = (module, optimiser)
        if average is not None:
            self.averages[name.lower()] = average
        self.snapshot.take(self.step, self.modules, self.optimisers)

    # -- health -----------------------------------------------------------------
    def roll_back(self, why: str) -> None:
        """Back to the last good snapshot with half the learning rate; says so
        in a "nan" warning."""
        self.rollbacks_in_row += 1
        back_to = self.snapshot.restore(self.modules, self.optimisers)
        lowered = lower_learning_rate(self.optimisers)
        self.emit(event(WARNING, step=self.step, kind="nan",
                         message=f"{why} (the weights of step {back_to}); {lowered}; rollback {self.rollbacks_in_row} "
                                 f"in a row, the run stops after {ROLLBACK_LIMIT}"))

    def finite(self) -> bool:
        return all(bool(torch.isfinite(t).all()) for m in self.modules.values() for t in m.state_dict().values())

    # -- ranks ------------------------------------------------------------------
    def _agree(self, reason: str | None, paused: bool) -> tuple[str | None, bool]:
        """Every rank must stop or pause at the same step: the strongest reason
        any rank has (signals, STOP and PAUSE may reach them at different steps)."""
        if self.world == 1:
            return reason, paused
        code = STOP_REASONS.index(reason) + 1 if reason else 0
        flags = torch.tensor([float(code), float(paused)], device=self.device)
        torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
        code = int(flags[0])
        return (STOP_REASONS[code - 1] if code else None), bool(flags[1])

    def mean_over_ranks(self, *values: torch.Tensor | None) -> list[float | None]:
        """Each loss averaged over the ranks (NaN anywhere is NaN everywhere,
        so all ranks skip and roll back together)."""
        present = [v for v in values if v is not None]
        if self.world > 1 and present:
            flat = torch.stack([v.float() for v in present])
            torch.distributed.all_reduce(flat)
            present = list(flat / self.world)
        it = iter(float(v) for v in present)
        return [None if v is None else next(it) for v in values]

    def gather(self, logits: torch.Tensor) -> torch.Tensor:
        """All ranks' real logits, so every rank's ADA sees the same evidence
        and keeps the same p."""
        if self.world == 1:
            return logits
        parts = [torch.empty_like(logits) for _ in range(self.world)]
        torch.distributed.all_gather(parts, logits.contiguous())
        return torch.cat(parts)

    def pick_indices(self, batch: int) -> torch.Tensor:
        """`batch` random training image indices from this rank's shard."""
        if self.world == 1:
            return torch.randint(0, self.data.train.shape[0], (batch,), generator=self.picker)
        return self.indices[torch.randint(0, len(self.indices), (batch,), generator=self.picker)]

    def _pause(self) -> float:
        """Idle while PAUSE exists (and no stop is asked); returns the seconds idled."""
        t0 = time.monotonic()
        self.reporter.emit(event(PAUSED, step=self.step))
        while self.control.paused() and self.control.stop_reason() is None:
            time.sleep(0.2)
        idle = time.monotonic() - t0
        self.paused_s += idle
        if self.control.stop_reason() is None:
            self.reporter.emit(event(RESUMED, step=self.step))
        return idle

    # -- outputs ----------------------------------------------------------------
    def _save(self, reason: str | None) -> None:
        if not self.finite():  # the grid shows what is saved, and NaN is never saved
            self.roll_back(f"step {self.step}: non-finite weights before a checkpoint")
        pixels = self.sample_images() if self.main else None
        self._write_checkpoint(reason)
        self._write_samples(pixels)
        self.reporter.emit(event(CHECKPOINT, step=self.step, path=self.checkpoint_path))
        self._curves()

    def _write_samples(self, pixels: np.ndarray | None = None) -> None:
        """samples/step_N.png (of `pixels`, else rendered now) and its event;
        the next preview is due PREVIEW_EVERY_S of training later."""
        grid = self.out / "samples" / f"step_{self.step:06d}.png"
        if self.main:
            write_grid(grid, self.sample_images() if pixels is None else pixels)
            self.next_preview = self._active(time.monotonic()) + self.preview_every
        self.reporter.emit(event(SAMPLES, step=self.step, path=str(grid)))

    def _write_checkpoint(self, reason: str | None, keep_previous: bool = True) -> None:
        """Rank 0 writes; NaN never reaches the disk (non-finite weights are
        rolled back to the last good snapshot first)."""
        if not self.finite():
            self.roll_back(f"step {self.step}: non-finite weights before a checkpoint")
        self.saved_step = self.step
        if not self.main:
            return
        info = {"step": self.step, "images_seen": self.images_seen, "wall_time_s": round(self._wall(), 1),
                "config": self.config, "stopped_by": reason, "metrics": self.last_metrics,
                "intervals": {name: getattr(self.args, name) for name in INTERVALS},
                "guard": self.guard.state_dict(), **self.checkpoint_extras()}
        ckpt = ckpt_io.pack(self.modules, self.optimisers, info, {"picker": self.picker})
        self.checkpoint_path = str(ckpt_io.save(self.out, ckpt, keep_previous))

    def publish_metrics(self, measured: dict) -> None:
        """Keep a metrics event for the checkpoint's info, log it, redraw the
        curves and emit it."""
        self.last_metrics = {k: v for k, v in measured.items() if k not in ("event", "plot")}
        self.log_rows.append(measured)
        self._log(measured)
        self._curves()
        self.reporter.emit(measured)

    def _curves(self) -> None:
        if self.main:
            draw_curves(self.log_rows, self.out / "curves.png", self.curve_panels)

    def emit(self, item: dict, log: bool = False) -> None:
        if log:
            self.log_rows.append(item)
            self._log(item)
        self.reporter.emit(item)

    def _log(self, item: dict) -> None:
        if self.log_file is None:
            return
        self.log_file.write(json.dumps(item) + "\n")
        self.log_file.flush()

    def _open_log(self) -> list[dict]:
        """log.jsonl: every progress and metrics event of the run, one per line.
        On resume the lines past the checkpoint (steps that were lost) go."""
        rows: list[dict] = []
        self.log_file = None
        if not self.main:
            return rows
        source = (self.plan.resume_dir or self.out) / "log.jsonl"
        if self.plan.resume is not None and source.is_file():
            for line in source.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # the half line a kill -9 can leave
                if isinstance(row, dict) and row.get("step", 0) <= self.step:
                    rows.append(row)
        atomic_write_text(self.out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        self.log_file = open(self.out / "log.jsonl", "a", encoding="utf-8")
        return rows

    def _reference_images(self) -> torch.Tensor | None:
        """The images metrics compare with: the held-out set, else a fixed
        sample of the training images; None with fewer than 2."""
        if self.data.held_out.shape[0] >= 2:
            return self.data.held_out
        train = self.data.train
        if train.shape[0] < 2:
            return None
        order = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(0))
        return train[order[:METRIC_IMAGES]]

    # -- time -------------------------------------------------------------------
    def _active(self, now: float) -> float:
        return now - self.started - self.paused_s

    def _wall(self) -> float:
        return self.wall_before + self._active(time.monotonic())

    def _eta(self, now: float, deadline: float | None, steps_per_s: float) -> float | None:
        if deadline is not None:
            return round(max(deadline - now, 0.0), 1)
        if self.args.steps is not None and steps_per_s > 0:
            return round(max(self.args.steps - self.step, 0) / steps_per_s, 1)
        return None

