"""Do latent-studio's dependencies resolve on every desktop platform (issue 16)?

For each target, `uv pip compile pyproject.toml --python-platform TARGET`
resolves the dependencies against the package index as that machine would
(environment markers evaluated for the target: `pip --platform` would
evaluate them for this machine instead), and the result is checked for what
the platform must get: the onnxruntime build with wheels there, PySide6, and
torch except on Intel Macs, which PyTorch no longer builds for.

    pip install uv && python packaging/check_platforms.py [--python 3.11 3.12]

Needs the package index (network); tests/packaging/test_platform_markers.py
checks the same expectations offline from the markers alone.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# name -> (uv's --python-platform, the PEP 508 environment there, what it must install)
TARGETS = {
    "macOS 14 arm64": ("aarch64-apple-darwin", {"sys_platform": "darwin", "platform_machine": "arm64"},
                       {"onnxruntime", "pyside6-essentials", "torch"}),
    "macOS 14 x86_64": ("x86_64-apple-darwin", {"sys_platform": "darwin", "platform_machine": "x86_64"},
                        {"onnxruntime", "pyside6-essentials"}),
    "Linux x86_64": ("x86_64-manylinux_2_28", {"sys_platform": "linux", "platform_machine": "x86_64"},
                     {"onnxruntime-gpu", "pyside6-essentials", "torch"}),
    "Linux aarch64": ("aarch64-manylinux_2_34", {"sys_platform": "linux", "platform_machine": "aarch64"},
                      {"onnxruntime-gpu", "pyside6-essentials", "torch"}),
    "Windows x86_64": ("x86_64-pc-windows-msvc", {"sys_platform": "win32", "platform_machine": "AMD64"},
                       {"onnxruntime-gpu", "pyside6-essentials", "torch"}),
}
CHECKED = {"onnxruntime", "onnxruntime-gpu", "pyside6-essentials", "torch"}  # both onnxruntimes: a broken install


def resolve(platform: str, python: str) -> tuple[dict[str, str] | None, str]:
    """({package: version}, "") for the target, or (None, uv's last line)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "requirements.txt"
        env = dict(os.environ, MACOSX_DEPLOYMENT_TARGET="14.0")  # uv's default macOS is 13; torch wants 14
        done = subprocess.run(["uv", "pip", "compile", str(PYPROJECT), "--python-platform", platform,
                               "--python-version", python, "-q", "-o", str(out)],
                              capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return None, lines[-1] if lines else f"uv exited {done.returncode}"
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", out.read_text(), re.M)
        return {name.lower(): version for name, version in pins}, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", nargs="+", default=["3.11", "3.12"])
    args = parser.parse_args()
    failures = 0
    print("| platform | Python | onnxruntime | PySide6 | torch | result |\n|---|---|---|---|---|---|")
    for name, (platform, _env, expected) in TARGETS.items():
        for python in args.python:
            pins, why = resolve(platform, python)
            if pins is None:
                failures += 1
                print(f"| {name} | {python} | | | | does not resolve: {why} |")
                continue
            wrong = expected ^ (set(pins) & CHECKED)
            failures += bool(wrong)
            runtime = next((f"{p} {pins[p]}" for p in ("onnxruntime-gpu", "onnxruntime") if p in pins), "none")
            print(f"| {name} | {python} | {runtime} | {pins.get('pyside6-essentials', 'none')} | "
                  f"{pins.get('torch', 'none (no trainer)')} | {'ok' if not wrong else 'unexpected: ' + ', '.join(sorted(wrong))} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
