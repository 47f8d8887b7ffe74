"""`studio install-desktop [--uninstall]`: the app in the desktop's menus, its
icon, its AppStream entry (software centres), and .studio files opening in it
on a double click, for the user who runs it (freedesktop.org: Linux and BSD).

Everything goes under XDG_DATA_HOME (~/.local/share), named after the
AppStream component id. Exec is this very installation's interpreter, so a
venv's app opens from the menu without the venv on PATH. The caches the
desktop reads (MIME database, desktop database, icon cache) are refreshed with
their own tools when those are installed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from studio import APP_ID
from studio.core.atomic import atomic_write_bytes
from studio.core.paths import assets_dir


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def installed_files(root: Path) -> dict[Path, bytes]:
    """{destination: content} of everything install-desktop writes under `root`."""
    desktop = assets_dir() / "desktop"
    icons = assets_dir() / "icons"
    entry = (desktop / f"{APP_ID}.desktop").read_text()
    command = " ".join(shlex.quote(part) for part in (sys.executable, "-m", "studio"))
    entry = entry.replace("Exec=studio %f", f"Exec={command} %f")
    files = {
        root / "applications" / f"{APP_ID}.desktop": entry.encode(),
        root / "metainfo" / f"{APP_ID}.metainfo.xml": (desktop / f"{APP_ID}.metainfo.xml").read_bytes(),
        root / "mime" / "packages" / f"{APP_ID}.xml": (desktop / f"{APP_ID}.mime.xml").read_bytes(),
        root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": (icons / "latent-studio.svg").read_bytes(),
    }
    for size in (128, 256):
        files[root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = \
            (icons / f"latent-studio-{size}.png").read_bytes()
    return files


def refresh_caches(root: Path) -> None:
    """Tell the desktop: each tool is optional (a missing one only delays the change)."""
    for tool, target in (("update-mime-database", root / "mime"),
                         ("update-desktop-database", root / "applications"),
                         ("gtk-update-icon-cache", root / "icons" / "hicolor")):
        if shutil.which(tool) and target.is_dir():
            args = [tool, "-f", "-t", str(target)] if tool == "gtk-update-icon-cache" else [tool, str(target)]
            subprocess.run(args, capture_output=True, timeout=120)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--uninstall", action="store_true", help="remove what install-desktop installed")


def run(args, fail) -> int:
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        fail("install-desktop is for Linux and BSD desktops (freedesktop.org); on Windows the "
             "latent-studio command opens the app without a console")
    root = data_home()
    files = installed_files(root)
    try:
        for path, content in files.items():
            if args.uninstall:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, content)
    except OSError as exc:
        fail(f"cannot write under {root}: {exc.strerror or exc}")
    refresh_caches(root)
    print(f"{'removed' if args.uninstall else 'installed'} {len(files)} files under {root}")
    return 0
