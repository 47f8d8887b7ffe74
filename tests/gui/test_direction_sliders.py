"""The Latent panel's Directions on the real window and tiny generator: the
sliders move the frame along the model's directions, the strips show the
frame moved either way, and an exported frame reopens with its offset."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from main_window_factory import open_window
from studio.core.latent import latent_from_seed
from studio.core.recipe import decode_latent, read_recipe
from studio.engine.directions import latent_directions
from studio.ui.direction_sliders import STRIP_PX
from studio.ui.qimage import pixmap_from_array


def _directions_found(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.directions.busy() and panel.directions.directions is not None,
                    timeout=10_000)


def test_sliders_move_the_walk_and_the_export_reopens_with_them(qtbot, window, wait_frame, reference, tmp_path,
                                                                monkeypatch, tiny_generator_dir):
    panel = window.panel
    _directions_found(qtbot, panel)
    directions = latent_directions(reference)
    np.testing.assert_array_equal(panel.directions.directions, directions)
    assert len(panel.directions.sliders) == 6
    qtbot.mouseClick(panel.grid.buttons[2], Qt.LeftButton)
    seed = panel.grid.seeds[2]
    panel.directions.set_amounts([1.5, 0, 0, -1.0, 0, 0])
    expected = latent_from_seed(seed, 8) + 1.5 * directions[0] - 1.0 * directions[3]
    shown = wait_frame(window)
    assert int(np.abs(shown.astype(int) - reference.render(expected)[0].astype(int)).max()) <= 1
    assert [v.text() for v in panel.directions.values][:4] == ["+1.50", "0.00", "0.00", "-1.00"]

    # The strips follow the frame: the middle of each is the frame itself.
    middle = panel.directions.strips[0][2]
    qtbot.waitUntil(lambda: not middle.pixmap().isNull(), timeout=10_000)
    assert middle.pixmap().toImage() == pixmap_from_array(shown, STRIP_PX).toImage()

    target = tmp_path / "moved.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=10_000)
    offset = decode_latent(read_recipe(target)["offset"])
    np.testing.assert_allclose(offset, 1.5 * directions[0] - 1.0 * directions[3], atol=1e-6)

    again = open_window(qtbot, tiny_generator_dir)
    again.open_file(target)
    qtbot.waitUntil(lambda: again.panel.walk.offset is not None, timeout=10_000)
    _directions_found(qtbot, again.panel)
    np.testing.assert_array_equal(again.panel.walk.offset, offset)
    qtbot.waitUntil(lambda: again.panel.directions.values[0].text() == "+1.50", timeout=10_000)
    assert again.panel.directions.values[3].text() == "-1.00"
    np.testing.assert_array_equal(wait_frame(again), shown)
    again.close()

    panel.directions.reset()
    assert panel.walk.offset is None
    np.testing.assert_array_equal(wait_frame(window), reference.render(latent_from_seed(seed, 8))[0])


def test_keep_as_keyframe_holds_the_move_and_resets_the_sliders(qtbot, window, wait_frame, reference):
    panel = window.panel
    _directions_found(qtbot, panel)
    assert not panel.directions.keep_button.isEnabled()
    qtbot.mouseClick(panel.grid.buttons[4], Qt.LeftButton)
    panel.directions.set_amounts([0, 2.0, 0, 0, 0, 0])
    moved = wait_frame(window)
    assert panel.directions.keep_button.isEnabled()
    qtbot.mouseClick(panel.directions.keep_button, Qt.LeftButton)
    key = panel.walk.keyframes[-1]
    assert key.name == "moved 1" and panel.walk.offset is None and panel.directions.values[1].text() == "0.00"
    assert panel.position_slider.value() == panel.position_slider.maximum()  # at the new keyframe
    np.testing.assert_array_equal(wait_frame(window), moved)
