"""Export a training run as a model folder the app can load:

    python -m studio.train export RUNDIR --name NAME --dest DIR

writes DIR/NAME/{model.onnx, manifest.json, checkpoint.safetensors, samples.png}.
The EMA generator is exported by the run's task (tasks/: a generator's
generator_export.py, an inpainting run's inpaint_export.py); onnxruntime
must reproduce torch's output on the task's parity inputs to within 1e-3 or
nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from studio.core.arguments import ArgumentError, Parser
from studio.core.atomic import new_file_mode, new_folder_mode
from studio.core.errors import os_error_line
from studio.core.paths import user_models_dir
from studio.train import checkpoint as ckpt_io
from studio.train.tasks import DEFAULT_TASK, task_of

PARITY_LIMIT = 1e-3
OPSET = 17
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ExportError(Exception):
    """The export cannot be done or failed its check; str() is one readable line."""


def build_parser() -> Parser:
    p = Parser(prog="studio export", description="Export a training run as an app model folder.")
    p.add_argument("run", help="run folder (holding checkpoint.safetensors) or a checkpoint file")
    p.add_argument("--name", required=True, help="model name, also the folder name (letters, digits, - _ .)")
    p.add_argument("--dest", default=None,
                   help="folder to create NAME/ in (default: the user models folder, where the app finds it)")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--description", help="one line for the model list (default: made from the run)")
    p.add_argument("--licence", help="licence of the weights (default: taken from the data's dataset.json)")
    p.add_argument("--attribution", help="credit line (default: taken from the data's dataset.json)")
    p.add_argument("--base-model", action="store_true",
                   help="mark it as a base model: new generator runs at its resolution and width start from it "
                        "unless told --from-scratch or another --base")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m studio.train export` and `studio export`.
    0 = exported, 1 = parity check failed, 2 = bad input."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        result = export_run(args.run, args.name, args.dest or user_models_dir(), version=args.version,
                            description=args.description, licence=args.licence, attribution=args.attribution,
                            base_model=args.base_model)
    except (ArgumentError, ckpt_io.CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses: one line
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if "parity" in str(exc) else 2
    print(f"parity: max abs diff {result['parity_max_abs_diff']:.3g} over {result['parity_inputs']} "
          f"(limit {PARITY_LIMIT:g}), onnxruntime CPU vs torch")
    if "encoder" in result["manifest"]:
        print(f"encoder parity: max abs diff {result['manifest']['encoder']['parity_max_abs_diff']:.3g} "
              f"(limit {PARITY_LIMIT:g})")
    print(f"exported {args.name} to {result['folder']} (model.onnx {result['onnx_bytes'] / 1e6:.2f} MB, "
          f"sha256 {result['sha256'][:16]}...)")
    return 0


def export_run(run: str | os.PathLike, name: str, dest: str | os.PathLike, version: str = "1.0.0",
               description: str | None = None, licence: str | None = None, attribution: str | None = None,
               base_model: bool = False) -> dict:
    """Export the EMA generator of `run` to dest/name/. Returns facts about it:
    folder, sha256, onnx_bytes, parity_max_abs_diff, manifest. base_model: a
    generator new runs start from by default (presets.is_default_base)."""
    if not _NAME.match(name):
        raise ExportError(f"model name {name!r} must be letters, digits, '-', '_' or '.' (at most 64)")
    ckpt = ckpt_io.load(run)
    info, config = ckpt.info, ckpt.info.get("config", {})
    task = task_of(config)
    if base_model and not task.default_bases:
        raise ExportError(f"a {task.model_kind} model cannot be a default base (--base-model); name it with --base "
                          "to fine-tune from it")
    exporter = task.exporter()
    try:
        network = exporter.build_network(config, ckpt.module_state("G_ema"))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a recipe key or weights missing or wrong
        raise ExportError(f"{run} is not a run this trainer can export ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:120]})") from None

    dest = Path(dest)
    # Everything is built in a hidden staging folder and moved into place only
    # once it has passed the parity check, so a failed export leaves no half model.
    try:
        dest.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest))
    except OSError as exc:
        raise ExportError(f"cannot write in {dest} ({(exc.strerror or 'not writable').lower()})") from None
    try:
        onnx_path = staging / "model.onnx"
        exporter.export_onnx(network, onnx_path, OPSET)
        diff = exporter.parity(network, onnx_path)
        if not diff <= PARITY_LIMIT:
            raise ExportError(f"parity check failed: onnxruntime differs from torch by {diff:.3g} "
                              f"(limit {PARITY_LIMIT:g}); nothing was exported")
        try:
            companions = (exporter.export_companions(config, ckpt.tensors, staging, OPSET, PARITY_LIMIT)
                          if hasattr(exporter, "export_companions") else {})
        except ValueError as exc:
            raise ExportError(f"{exc}; nothing was exported") from None
        has_samples = exporter.write_samples(Path(run), info, onnx_path, staging / "samples.png")
        # The model folder keeps what fine-tuning needs (the EMA networks and
        # the discriminator), not the optimiser moments or the RNG states.
        kept = {k: v for k, v in ckpt.tensors.items() if k.startswith(("G_ema.", "D.", "E_ema."))}
        kept_info = {k: v for k, v in info.items() if k not in ("optimisers", "rng", "tensor_count")}
        save_file(kept, str(staging / "checkpoint.safetensors"),
                  metadata={"info": json.dumps({**kept_info, "tensor_count": len(kept)})})
        data = onnx_path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        manifest = {**build_manifest(name, version, info, digest, description, licence, attribution), **companions}
        if base_model:
            manifest["base_model"] = True
        if not has_samples:
            del manifest["files"]["samples"]
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in staging.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        final = dest / name
        _swap_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"folder": str(final), "sha256": digest, "onnx_bytes": len(data), "parity_max_abs_diff": diff,
            "parity_inputs": exporter.PARITY_INPUTS, "manifest": manifest}


def build_manifest(name: str, version: str, info: dict, digest: str, description: str | None,
                   licence: str | None, attribution: str | None) -> dict:
    """The manifest.json the engine's registry reads (format 1): a generator,
    or an inpaint model for a --task inpaint run."""
    config = info.get("config", {})
    dataset = config.get("dataset") or {}
    data_name = dataset.get("name") or Path(config.get("data", "images")).name
    if licence is None:
        licence = (f"{dataset['licence']} (weights derived from the training images)"
                   if dataset.get("licence") else "unspecified: check the licence of the training images")
    task = task_of(config)
    signature = task.exporter().signature(config, data_name)
    return {
        "format": 1,
        "kind": signature.pop("kind"),
        "name": name,
        "version": version,
        "description": description or signature.pop("description"),
        **{k: v for k, v in signature.items() if k != "description"},
        "training": {
            "data": dataset.get("description") or config.get("data", ""),
            "images": int(config.get("images", 0)),
            "steps": int(info.get("step", 0)),
            "images_seen": int(info.get("images_seen", 0)),
            "wall_time_s": float(info.get("wall_time_s", 0.0)),
            "machine": config.get("machine", ""),
            "recipe": "models/README.md",
            "arch": config.get("arch", "classic"),
            **({"width": config["width"]} if "width" in config else {}),
            **({"task": task.name} if task.name != DEFAULT_TASK else {}),
            **({"base": config["base"]["name"]} if config.get("base") else {}),
            **({"metrics": task.metrics_facts(info["metrics"])} if info.get("metrics") else {}),
        },
        "licence": licence,
        "attribution": attribution if attribution is not None else dataset.get("attribution", ""),
        "sha256": digest,
        "files": {"onnx": "model.onnx", "checkpoint": "checkpoint.safetensors", "samples": "samples.png"},
    }


def _swap_into_place(staging: Path, final: Path) -> None:
    # Two renames: the old model (if any) steps aside, the new one steps in;
    # the registry never sees a folder that is half one model, half another.
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staging, final)
    # mkdtemp/mkstemp make private files; a model folder gets the modes the
    # user's umask gives new ones, as everything else we write.
    final.chmod(new_folder_mode())
    for path in final.iterdir():
        path.chmod(new_file_mode())
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
