"""`studio install-desktop`: the files a freedesktop.org desktop reads, checked
by the desktop's own validators and by Qt's MIME database (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from test_cli import run_cli

from studio import APP_ID

WHICH_TYPE = """
from PySide6.QtCore import QMimeDatabase
print(QMimeDatabase().mimeTypeForFile("painting.studio", QMimeDatabase.MatchExtension).name())
"""


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share"


def test_install_and_uninstall_for_this_user(capsys, data_home):
    code, out, err = run_cli(capsys, "install-desktop")
    assert code == 0, err
    assert out.strip() == f"installed 6 files under {data_home}"
    entry = data_home / "applications" / f"{APP_ID}.desktop"
    assert f"Exec={sys.executable} -m studio %f" in entry.read_text()
    assert (data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", entry], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout == "", done.stdout
    if shutil.which("appstreamcli"):
        done = subprocess.run(["appstreamcli", "validate", "--pedantic", "--no-net",
                               data_home / "metainfo" / f"{APP_ID}.metainfo.xml"], capture_output=True, text=True)
        assert done.returncode == 0 and "Validation was successful." in done.stdout and "P:" not in done.stdout
    if shutil.which("update-mime-database"):  # the desktop now knows .studio files, and Qt reads the same database
        env = dict(os.environ, XDG_DATA_HOME=str(data_home), QT_QPA_PLATFORM="offscreen")
        kind = subprocess.run([sys.executable, "-c", WHICH_TYPE], capture_output=True, text=True, env=env, timeout=60)
        assert kind.stdout.strip() == "application/x-latent-studio-project", kind.stderr

    code, out, _ = run_cli(capsys, "install-desktop", "--uninstall")
    assert code == 0 and out.startswith("removed 6 files")
    assert not entry.exists() and not (data_home / "mime" / "packages" / f"{APP_ID}.xml").exists()


def test_an_unwritable_data_folder_is_one_error_line(capsys, data_home):
    data_home.parent.mkdir(exist_ok=True)
    data_home.write_text("a file where the folder should be")
    code, _, err = run_cli(capsys, "install-desktop")
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: cannot write under {data_home}")
