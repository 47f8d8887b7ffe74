"""What `studio doctor` reports: versions, devices, models, folders.

Reads package versions from metadata instead of importing them, so asking
about torch does not load torch.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from importlib import metadata

import onnxruntime as ort

from studio import __version__
from studio.core.paths import shipped_models_dir, user_data_dir, user_models_dir
from studio.engine.registry import Registry
from studio.engine.devices import ACCELERATORS
from studio.engine.runtime import Runtime, accelerator_status, requested_device

PACKAGES = ("onnxruntime-gpu", "onnxruntime", "numpy", "Pillow", "PySide6-Essentials", "PySide6",
            "torch", "safetensors", "platformdirs", "imageio", "imageio-ffmpeg", "fonttools")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def gpu_names() -> list[str]:
    """NVIDIA GPUs the driver reports (empty without a driver)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def shipped_models_problems() -> list[str]:
    """A wheel or checkout without its models: every built-in feature would
    quietly be missing (no generators, no styles, Telea instead of learned inpainting)."""
    folder = shipped_models_dir()
    if not folder.is_dir():
        return [f"the shipped models folder {folder} is missing; reinstall latent-studio"]
    if not any((child / "manifest.json").is_file() for child in folder.iterdir()):
        return [f"the shipped models folder {folder} holds no models; reinstall latent-studio"]
    return []


def diagnose(device: str | None = None, registry: Registry | None = None) -> dict:
    """Everything doctor shows, as JSON-ready data. Opens a session on the
    first usable model so 'active' is what onnxruntime really gave us."""
    registry = registry or Registry()
    runtime = Runtime(device)
    cuda = accelerator_status("cuda")
    active = None
    usable = registry.entries()
    if usable:
        active = runtime.session(usable[0].onnx_path).providers
    problems = shipped_models_problems()
    if "onnxruntime" in package_versions() and "onnxruntime-gpu" in package_versions():
        # Both wheels write the same onnxruntime/ folder; whichever installed last
        # wins, and the CPU-only one hides the CUDA provider.
        problems.append("both onnxruntime and onnxruntime-gpu are installed; "
                        "run: pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu")
    return {
        "studio": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "device": {
            "requested": requested_device(device),
            "using": runtime.device,
            "threads": runtime.threads,
            "notice": runtime.notice,
            "providers_available": ort.get_available_providers(),
            "providers_active": active,
            "cuda_usable": cuda.usable,
            "cuda_reason": cuda.reason,
            "accelerators": {name: {"usable": status.usable, "reason": status.reason}
                             for name, status in ((n, accelerator_status(n)) for n in ACCELERATORS)},
            "gpus": gpu_names(),
        },
        "models": [e.summary() for e in registry.entries(usable_only=False)],
        "folders": {"shipped_models": str(shipped_models_dir()), "user_models": str(user_models_dir()),
                    "user_data": str(user_data_dir())},
        "problems": problems,
    }
