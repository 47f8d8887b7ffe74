"""A one-folder app for people without Python (issue 16), built with
PyInstaller from this checkout and smoke-tested in a clean environment.

    pip install pyinstaller && python packaging/build_bundle.py [--out build/bundle]

The folder OUT/latent-studio/ holds the `latent-studio` program (the `studio`
command: run without arguments it opens the window), the shipped models and
the assets, and everything they import, the trainer's PyTorch included. The
trainer runs as this same program (`latent-studio -m studio.train ...`, which
packaging/bundle_entry.py understands), since a frozen app has no Python to
start it with.

The smoke test runs the bundle with an environment emptied of Python (no
PYTHONPATH, a fresh HOME and user folder, PATH reduced to the system's, from a
folder outside the checkout): `doctor --json` must list the shipped models,
`generate` must write a picture, the trainer must run two steps as the app
starts it (`-m studio.train`), and the window must start offscreen and stay
up. Build time and size are printed. Not run in CI: it takes minutes and
about 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from studio.core.imageio import save_image

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ROOT / "packaging" / "bundle_entry.py"
NAME = "latent-studio"
WINDOW_UP_S = 15  # the window must still be running after this long


def build(out: Path) -> Path:
    """The bundle's folder, built afresh."""
    work = out / "work"
    shutil.rmtree(out / NAME, ignore_errors=True)
    data = [f"{ROOT / folder}{os.pathsep}studio/{folder}" for folder in ("models", "assets")]
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--onedir",
                    "--name", NAME, "--distpath", str(out), "--workpath", str(work), "--specpath", str(work),
                    "--paths", str(ROOT), "--collect-submodules", "studio",
                    *[arg for pair in data for arg in ("--add-data", pair)], str(ENTRY)], check=True)
    return out / NAME


def clean_environment(home: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "STUDIO_USER_DIR": str(home / "user"),
            "QT_QPA_PLATFORM": "offscreen", "STUDIO_DEVICE": "cpu", "LANG": "C.UTF-8"}


def smoke_test(bundle: Path) -> dict:
    """What the bundle did in a clean environment; raises SystemExit on a failure."""
    program = bundle / (NAME + (".exe" if os.name == "nt" else ""))
    with tempfile.TemporaryDirectory(prefix="studio-bundle-") as tmp:
        home = Path(tmp)
        env = clean_environment(home)
        doctor = subprocess.run([program, "doctor", "--json"], capture_output=True, text=True, env=env, cwd=tmp,
                                timeout=300)
        report = json.loads(doctor.stdout)
        usable = sorted(m["name"] for m in report["models"] if m["status"] == "ok")
        if "emoji64" not in usable or report["problems"]:
            sys.exit(f"error: the bundle's doctor found {usable} and problems {report['problems']}")
        picture = home / "face.png"
        t0 = time.perf_counter()
        made = subprocess.run([program, "generate", "--model", "emoji64", "--seed", "3", "-o", str(picture)],
                              capture_output=True, text=True, env=env, cwd=tmp, timeout=300)
        generate_s = time.perf_counter() - t0
        if made.returncode != 0 or not picture.is_file():
            sys.exit(f"error: the bundle's generate failed: {made.stderr.strip()[-400:]}")
        # The trainer as the app starts it: this program with -m (a few steps on a tiny folder).
        data = home / "squares"
        data.mkdir()
        for i in range(4):
            square = np.full((24, 24, 3), 255, np.uint8)
            square[4 + i:16 + i, 4:16] = (60 * i, 90, 200 - 40 * i)
            save_image(data / f"{i}.png", square)
        trained = subprocess.run([program, "-m", "studio.train", "--data", str(data), "--out", str(home / "run"),
                                  "--resolution", "16", "--steps", "2", "--width", "0.25", "--batch", "4",
                                  "--threads", "1"], capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
        if trained.returncode != 0 or not (home / "run" / "checkpoint.safetensors").is_file():
            sys.exit(f"error: the bundle's trainer failed: {trained.stderr.strip()[-400:]}")
        window = subprocess.Popen([program], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                  cwd=tmp)
        try:
            window.wait(WINDOW_UP_S)
            sys.exit(f"error: the bundle's window exited with {window.returncode}: {window.stderr.read()[-400:]}")
        except subprocess.TimeoutExpired:
            pass  # still up: it started
        finally:
            window.terminate()
            window.wait(30)
        return {"models": usable, "generate_s": round(generate_s, 1),
                "trainer": report.get("system", {}).get("trainer")}


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bundle")
    parser.add_argument("--skip-build", action="store_true", help="smoke-test the bundle already in --out")
    args = parser.parse_args()
    t0 = time.perf_counter()
    bundle = args.out / NAME if args.skip_build else build(args.out)
    built_s = time.perf_counter() - t0
    facts = smoke_test(bundle)
    facts.update(bundle=str(bundle), size_mb=round(folder_size(bundle) / 2**20), build_s=round(built_s))
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
