"""What a training task is: the Task class every module in tasks/ makes
one instance of. Its fields and methods are the hooks listed in
tasks/__init__.py's docstring; this module imports nothing heavy, so the
GUI process reads the tasks' facts without loading torch."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """One thing `studio train --task NAME` trains (see tasks/__init__.py)."""

    name: str
    help: str  # its --task choice, for the parser's help
    label: str  # the Train panel's Train menu
    tip: str  # the panel's resolution menu tooltip
    resolutions: tuple[int, ...]  # what --resolution accepts
    default_resolution: int  # a new run's when neither --resolution, a preset nor a base says
    panel_resolutions: tuple[int, ...]  # what the panel offers
    panel_resolution: int  # the panel's default
    model_kind: str  # the manifest kind its export makes (and its base models have)
    metric: str  # the quality key of its "metrics" events
    metric_name: str  # its short name, for the plot's legend
    metric_label: str  # the panel's plot title for it
    # Recipe keys it uses beyond plan.SHARED_KEYS: its own flags, and shared
    # optional ones (--crop-scale); another task's run refuses them.
    keys: tuple[str, ...] = field(default=())
    base_needs: tuple[str, ...] = field(default=("resolution",))  # config keys its base's checkpoint must hold
    # New runs start from an installed base model (`studio export --base-model`)
    # unless told --from-scratch, and presets pick their size.
    default_bases: bool = False
    # It can train an encoder beside its network (--encoder; the Train panel's checkbox).
    offers_encoder: bool = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Register its own flags (those of its keys the shared parser has not) in the shared parser."""

    def check_arguments(self, args: argparse.Namespace) -> None:
        """DataError (one line) for a value of its own flags that cannot work."""

    def default_base(self, explicit: dict, preset: str | None, cuda: bool) -> str | None:
        """The model folder a new run starts from when neither --base nor
        --from-scratch is given; None = from scratch."""
        return None

    def inherit(self, base_config: dict) -> dict:
        """The recipe a fine-tune takes from its base's config, beyond
        width, resolution and the base's name (flags that differ are refused)."""
        return {}

    def defaults_from_base(self, base_config: dict) -> dict:
        """Recipe values a fine-tune takes from its base unless given (flags win)."""
        return {}

    def fit_base(self, states: dict, base_config: dict, config: dict) -> dict:
        """The base's network states (finetune.load_base's) made to fit this
        run's recipe where it may differ from the base's (a flag that won over
        defaults_from_base); as they are by default."""
        return states

    def fit_to_folder(self, config: dict, explicit: dict, folder: str) -> dict:
        """A new run's recipe with what only its picture folder can settle,
        for the keys `explicit` (the flags given) leaves open; as it is by default."""
        return config

    def reads_alpha(self, config: dict) -> bool:
        """Whether its folder is read with the alpha channel (4 channels per
        picture) rather than composited on the background."""
        return False

    def new_config(self, settled: dict, preset: str | None, cuda: bool) -> dict:
        """A new run's whole recipe from what is settled (the base's and the
        given values); DataError for a combination that cannot train."""
        raise NotImplementedError

    def session_class(self) -> type:
        """The session.Session subclass that trains it (imports torch)."""
        raise NotImplementedError

    def exporter(self):
        """The module that exports its networks (imports torch): see
        tasks/__init__.py for what it holds."""
        raise NotImplementedError

    def metrics_facts(self, metrics: dict) -> dict:
        """The manifest's record of a run's last metrics event."""
        return {}
