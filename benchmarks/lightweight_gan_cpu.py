"""Patch a throwaway venv's installed lightweight-gan (PyPI, lucidrains) to train on the CPU.

lightweight-gan asserts CUDA when it is imported and moves every tensor with
.cuda(rank); on a machine without a GPU it cannot start. This script rewrites
those few lines of the INSTALLED copy (site-packages of the venv you name; never
anything in this repo) and prints every line it changed. It keeps the original
file beside it as NAME.py.orig, and a second run changes nothing. Nothing of the
training itself (networks, losses, optimiser, augmentation, data loading) is
touched, so benchmarks/train.py times lightweight-gan's own step, only on the
CPU. Figures it reports are for this CPU-patched peer: the package is written
for CUDA, where it runs many times faster.

torchvision is patched too: the only torchvision on PyPI is a CUDA build whose
C++ ops (nms, roi_align...) cannot load beside the CPU torch wheel, and its
import then fails registering a fake kernel for the missing nms op. The two
registrations are made conditional on the ops having loaded. lightweight-gan
uses only torchvision's pure-Python transforms and save_image, which need none
of those ops.

Made for lightweight-gan 1.2.1; another version whose lines differ is refused
with the line that was not found.

    python -m venv /work/lwgan-venv
    /work/lwgan-venv/bin/pip install torch==2.13.0 lightweight-gan
    python benchmarks/lightweight_gan_cpu.py /work/lwgan-venv
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

CUDA_MESSAGE = "'You need to have an Nvidia GPU with CUDA installed.'"
# (package, file, old line text, new line text, how many times it occurs).
# Whole-line edits on exact text (or a line's exact ending), so a version that
# differs is caught instead of half-patched.
EDITS: list[tuple[str, str, str, str, int]] = [
    # The import-time guards (cli.py imports diff_augment_test, so both fire).
    *(("lightweight_gan", name, f"assert torch.cuda.is_available(), {CUDA_MESSAGE}",
       "pass  # CPU patch: CUDA assert removed", 1) for name in ("lightweight_gan.py", "diff_augment_test.py")),
    # Where the networks are placed, and the device the loss accumulators live on.
    ("lightweight_gan", "lightweight_gan.py", "self.cuda(rank)", "self.cpu()  # CPU patch", 1),
    ("lightweight_gan", "lightweight_gan.py", "device = torch.device(f'cuda:{self.rank}')",
     "device = torch.device('cpu')  # CPU patch", 1),
    # pin_memory needs an accelerator; on the CPU it only warns at every epoch.
    ("lightweight_gan", "lightweight_gan.py", "pin_memory = True)", "pin_memory = False)  # CPU patch", 1),
    ("lightweight_gan", "diff_augment_test.py", "image_batch = next(iter(dataloader)).cuda(rank)",
     "image_batch = next(iter(dataloader)).cpu()  # CPU patch", 1),
    # torchvision's unguarded fake-kernel registrations for ops its CUDA build could not load.
    *(("torchvision", "_meta_registrations.py", f'@torch.library.register_fake("torchvision::{op}")',
       f'@(torch.library.register_fake("torchvision::{op}") if torchvision.extension._has_ops() '
       f'else (lambda fn: fn))  # CPU patch', 1) for op in ("nms", "qnms")),
]
# Every .cuda(self.rank) (latents and real batches in train/evaluate/generate) -> .cpu()
CUDA_CALL, CPU_CALL = ".cuda(self.rank)", ".cpu()"
MARK = "# CPU patch"


def package_dir(python: Path, package: str) -> Path:
    """The installed folder of `package` for the interpreter `python`, found
    without importing it (importing either package fails before the patch)."""
    code = (f"import importlib.util as u; s = u.find_spec({package!r}); "
            "print(s.submodule_search_locations[0] if s else '')")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    if not out:
        raise SystemExit(f"error: {package} is not installed for {python} (pip install torch==2.13.0 lightweight-gan)")
    return Path(out)


def patch_file(path: Path, edits: list[tuple[str, str, int]], cuda_calls: bool) -> list[str]:
    """Apply whole-line edits (old, new, expected count) to one file and, when
    cuda_calls, turn every `.cuda(self.rank)` into `.cpu()`. Returns one
    report line per changed line; [] when the file was patched already."""
    text = path.read_text(encoding="utf-8")
    if MARK in text:
        return []
    lines = text.split("\n")
    report = []
    for old, new, count in edits:
        hits = [i for i, line in enumerate(lines) if line.strip() == old or line.rstrip().endswith(old)]
        if len(hits) != count:
            raise SystemExit(f"error: {path.name}: expected {count} line(s) ending in {old!r}, found {len(hits)}; "
                             "is this lightweight-gan 1.2.1?")
        for i in hits:
            before = lines[i]
            lines[i] = before[: len(before) - len(before.lstrip())] + (
                before.strip()[: -len(old)] + new if before.strip() != old else new)
            report.append(f"{path.name}:{i + 1}: {before.strip()}  ->  {lines[i].strip()}")
    if cuda_calls:
        for i, line in enumerate(lines):
            if CUDA_CALL in line:
                lines[i] = line.replace(CUDA_CALL, CPU_CALL) + f"  {MARK}"
                report.append(f"{path.name}:{i + 1}: {line.strip()}  ->  {lines[i].strip()}")
    backup = path.with_suffix(path.suffix + ".orig")
    if not backup.exists():
        shutil.copy2(path, backup)
    path.write_text("\n".join(lines), encoding="utf-8")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path, help="the throwaway venv holding lightweight-gan (e.g. /work/lwgan-venv)")
    args = parser.parse_args()
    python = args.venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"error: no python in {args.venv} (expected {python})")
    if Path(sys.prefix).resolve() == args.venv.resolve():
        raise SystemExit("error: patch a throwaway venv, not the one this project runs in")
    by_file: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for package, name, old, new, count in EDITS:
        by_file.setdefault((package, name), []).append((old, new, count))
    roots = {package: package_dir(python, package) for package, _ in by_file}
    changed = 0
    for (package, name), edits in by_file.items():
        path = roots[package] / name
        report = patch_file(path, edits, cuda_calls=name == "lightweight_gan.py")
        if not report:
            print(f"{path}: already patched (original kept as {name}.orig)")
        for line in report:
            print(f"{package}/{line}")
        changed += len(report)
    for root in roots.values():
        # A stale bytecode cache would keep running the unpatched code.
        shutil.rmtree(root / "__pycache__", ignore_errors=True)
    print(f"{changed} line(s) changed" if changed else "nothing to change: already patched")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
