"""The trainer's tasks: what `studio train --task NAME` trains, one module
each, found through TASKS. Adding a task is its module here, one line in
TASKS, and its tests; nothing else in studio/ names a task.

A task module imports nothing heavy at its top (the GUI reads the Train
panel's facts from it without loading torch); what needs torch it imports
inside the hooks the trainer alone calls. It makes one tasks.task.Task,
TASK, whose hooks are:

Facts
    name, help                 the --task choice and its help line
    label, tip                 the Train panel's menu entry and size tooltip
    resolutions, default_resolution       what --resolution accepts, and a new run's default
    panel_resolutions, panel_resolution   the panel's size menu and default
    model_kind                 the manifest kind of its models (and bases)
    metric, metric_name, metric_label   the quality key of its "metrics" events, its short name,
                               the panel's plot title
    keys                       recipe keys it uses beyond plan.SHARED_KEYS (another task's run
                               refuses their flags)
    base_needs                 config keys a base model's checkpoint must hold
    default_bases              new runs start from the installed base model unless told
                               --from-scratch (`studio export --base-model` marks one), and
                               presets pick their size
    offers_encoder             it can train an encoder beside its network (--encoder)
Command line and recipe (plan.py, cli.py)
    add_arguments(parser)      its own flags, in their own group
    check_arguments(args)      DataError for a value of them that cannot work
    default_base(explicit, preset, cuda)   the installed model a new run starts from, or None
    inherit(base_config)       what a fine-tune must keep of its base (differing flags refused)
    defaults_from_base(base_config)        what a fine-tune takes from its base unless told
    new_config(settled, preset, cuda)      a new run's whole recipe
    fit_to_folder(config, explicit, folder)  that recipe with what only its folder settles
Training (cli.py)
    session_class()            its session.Session subclass, which implements the session hooks
                               listed in session.py's docstring
Export and manifest (export.py)
    exporter()                 its export module, holding: build_network(config, state),
                               export_onnx(network, path, opset), parity(network, onnx_path) -> max
                               abs difference, PARITY_INPUTS (what parity ran, in words),
                               write_samples(run, info, onnx_path, target) -> bool,
                               signature(config, data_name) (the manifest's kind-specific part),
                               and optionally export_companions(config, tensors, staging, opset,
                               limit) -> manifest entries of networks exported beside model.onnx
                               (ValueError when their parity fails)
    metrics_facts(metrics)     the manifest's record of the run's last metrics
"""

from __future__ import annotations

from studio.train.tasks import generate, inpaint, upscale
from studio.train.tasks.task import Task

TASKS: dict[str, Task] = {task.name: task for task in (generate.TASK, inpaint.TASK, upscale.TASK)}
DEFAULT_TASK = generate.TASK.name


def task_of(config: dict) -> Task:
    """The task a run's (or a base model's) config was trained for; a config
    from before tasks existed is a generator's."""
    return TASKS[config.get("task", DEFAULT_TASK)]
