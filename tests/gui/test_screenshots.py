"""Screenshots of the main window's states, for a person to review.

    STUDIO_SCREENSHOT_DIR=screenshots xvfb-run -a -s "-screen 0 1600x1000x24" \\
        python -m pytest tests/gui/test_screenshots.py

writes walk.png, painting.png, selection.png and placed.png there (under the
offscreen platform of the normal test run they go to a temporary folder).
Each state is reached with the same real events a person would make.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from studio.core.document import Document
from studio.ui.qimage import array_from_qimage
from test_exports import walk_with_keys
from test_workspace import drag, key


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("STUDIO_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def landscape(width: int = 960, height: int = 640) -> np.ndarray:
    """A made-up landscape: sky gradient, sun, hills; something to paint on."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([90 + 80 * y / height, 140 + 60 * y / height, 230 - 40 * y / height], -1)
    image = sky.copy()
    sun = (x - width * 0.72) ** 2 + (y - height * 0.28) ** 2 < (height * 0.09) ** 2
    image[sun] = (255, 214, 120)
    hill = y > height * (0.62 + 0.08 * np.sin(x / width * 6.0))
    image[hill] = np.stack([60 + 0 * x, 120 + 40 * np.sin(x / 37.0), 70 + 0 * x], -1)[hill]
    rgba = np.full((height, width, 4), 255, np.uint8)
    rgba[..., :3] = np.clip(image, 0, 255).astype(np.uint8)
    return rgba


def save(win, folder: Path, name: str, qtbot) -> np.ndarray:
    qtbot.wait(50)
    picture = win.grab()
    picture.save(str(folder / name))
    pixels = array_from_qimage(picture.toImage())
    assert len(np.unique(pixels.reshape(-1, 4)[::97], axis=0)) > 20  # a real picture, not a blank window
    return pixels


def test_window_states(qtbot, qapp, window, wait_frame, shots):
    from studio.ui.theme import apply_theme

    apply_theme(qapp)  # as `studio` starts: the dark look
    win = window
    win.resize(1440, 900)
    walk_with_keys(qtbot, win, 0, 3, 6)
    wait_frame(win)
    save(win, shots, "walk.png", qtbot)

    win.files.adopt(Document.from_image(landscape(), "landscape"), None, "landscape.png")
    win.canvas.setFocus()
    win.tools.settings.set(colour=(250, 250, 250), size=28, hardness=0.4, opacity=0.8)
    key(qtbot, win, "B")
    drag(qtbot, win, [(120 + 8 * i, 430 - 3 * i + (i % 5) * 4) for i in range(40)])
    win.layers_panel.add_button.click()
    win.tools.settings.set(colour=(40, 30, 60), size=14, hardness=1.0, opacity=1.0)
    drag(qtbot, win, [(500 + 6 * i, 200 + 40 * np.sin(i / 6)) for i in range(50)])
    save(win, shots, "painting.png", qtbot)

    key(qtbot, win, "M")
    win.tools.settings.set(size=90, hardness=0.6)
    drag(qtbot, win, [(600 + 10 * i, 470 + 20 * np.cos(i / 3)) for i in range(20)])
    save(win, shots, "selection.png", qtbot)

    wait_frame(win)  # the walk's frame floats over the selection
    win.actions_.place_action.trigger()
    assert win.files.document.layers[-1].recipe is not None
    key(qtbot, win, "B")
    qtbot.mouseMove(win.canvas.viewport(), win.canvas.mapFromScene(300, 300))
    save(win, shots, "placed.png", qtbot)
    key(qtbot, win, "Ctrl+Shift+A")
    win.files.document.mark_saved()  # nothing to ask about when the fixture closes the window
