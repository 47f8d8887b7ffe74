import os
import sys
from pathlib import Path

# Headless Qt, and a user data folder per test session, before anything imports them.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("STUDIO_DEVICE", "cpu")

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from model_factory import write_model  # noqa: E402

from studio.core.decoder_warnings import silence_decoder_warnings  # noqa: E402


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty user data folder."""
    folder = tmp_path / "user"
    monkeypatch.setenv("STUDIO_USER_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def decoder_warnings_silenced():
    """The warning filters the app installs once, when imageio is imported
    (core/decoder_warnings.py). pytest undoes filter changes around each test
    and its collection, so each test gets them anew."""
    silence_decoder_warnings()


@pytest.fixture
def tiny_generator_dir(tmp_path) -> Path:
    """A models folder holding one real tiny ONNX generator named 'tiny'
    (latent 8, 8x8 px)."""
    root = tmp_path / "models"
    write_model(root, "tiny")
    return root
