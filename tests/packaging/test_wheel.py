"""The wheel is complete (issue 16): built from this checkout, installed into a
fresh virtual environment and run from a folder outside the checkout, it finds
its shipped models and its icons as the checkout does.

The venv holds only the wheel; its dependencies come from the test
environment through one plain path line in a .pth file (not processed as a
site dir, so the checkout's editable install stays invisible), which keeps
the test from reinstalling torch and Qt.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHECKOUT = Path(__file__).resolve().parents[2]
# What the wheel is built from: copied, so a build/ folder left in the checkout
# by an earlier build cannot smuggle files into this one.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "studio", "models", "assets")

WINDOW_SCRIPT = """
import json, studio
from studio.ui.app import create_application, create_window
app = create_application()
window = create_window("cpu")
window.show()
app.processEvents()
window.grab()  # paints every widget, so a stylesheet icon that cannot be read is reported now
print(json.dumps({"package": studio.__file__, "window_icon": not app.windowIcon().isNull()}))
window.shutdown()
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """(the venv's bin folder, an environment for running it outside the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    (root / "source").mkdir()
    for name in SOURCES:
        source = CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, root / "source" / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / "source" / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    str(root / "source"), "-w", str(root / "dist")], check=True, cwd=root, timeout=300)
    wheel = next((root / "dist").glob("latent_studio-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    bin_dir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    venv_site = Path(subprocess.run([bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    venv_site.mkdir(parents=True, exist_ok=True)
    dependencies = dict.fromkeys(site.getsitepackages() + [sysconfig.get_paths()["purelib"]])
    (venv_site / "test-dependencies.pth").write_text("\n".join(dependencies) + "\n")
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(STUDIO_USER_DIR=str(root / "user"), STUDIO_DEVICE="cpu", QT_QPA_PLATFORM="offscreen",
               XDG_DATA_HOME=str(root / "share"))
    (root / "outside").mkdir()
    return bin_dir, env


def run(installed, *argv) -> subprocess.CompletedProcess:
    bin_dir, env = installed
    return subprocess.run([bin_dir / argv[0], *argv[1:]], capture_output=True, text=True, env=env,
                          cwd=Path(env["STUDIO_USER_DIR"]).parent / "outside", timeout=300)


def test_the_installed_wheel_lists_and_runs_its_shipped_models(installed, tmp_path):
    listed = run(installed, "studio", "models", "--json")
    assert listed.returncode == 0, listed.stderr
    usable = {m["name"] for m in json.loads(listed.stdout) if m["status"] == "ok"}
    assert {"emoji64", "style26", "inpaint-broad", "inpaint-emoji", "upscale-x4"} <= usable

    picture = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(picture).save(tmp_path / "picture.png")
    mask = np.zeros((96, 96), np.uint8)
    mask[30:60, 30:60] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    for argv, out in ((("generate", "--model", "emoji64", "--seed", "3"), "face.png"),
                      (("stylize", str(tmp_path / "picture.png"), "--style", "0"), "styled.png"),
                      (("inpaint", str(tmp_path / "picture.png"), "--mask", str(tmp_path / "mask.png"),
                        "--method", "learned", "--json"), "filled.png")):
        done = run(installed, "studio", *argv, "-o", str(tmp_path / out))
        assert done.returncode == 0, done.stderr
        assert Image.open(tmp_path / out).size[0] > 0
        if "--json" in argv:  # learned, not a quiet fall back to Telea
            assert json.loads(done.stdout)["method"] == "learned"

    desktop = run(installed, "studio", "install-desktop")  # its files are package data too
    assert desktop.returncode == 0 and desktop.stdout.startswith("installed 6 files"), desktop.stderr

    doctor = run(installed, "studio", "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout
    assert Path(json.loads(doctor.stdout)["folders"]["shipped_models"]).is_relative_to(installed[0].parent)


def test_the_installed_wheel_opens_its_window_with_its_icons(installed):
    started = run(installed, "python", "-c", WINDOW_SCRIPT)
    assert started.returncode == 0, started.stderr
    facts = json.loads(started.stdout.strip().splitlines()[-1])
    assert Path(facts["package"]).is_relative_to(installed[0].parent)
    assert facts["window_icon"]
    assert "qt.svg" not in started.stderr and "Cannot open file" not in started.stderr, started.stderr
