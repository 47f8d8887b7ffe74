"""Exports through the real actions: file dialogs answer with a path, the rest is real."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

from studio.core.imageio import load_image
from studio.core.recipe import decode_latent, read_recipe
from studio.ui.latent_panel import SLIDER_STEPS


def answer_save_dialog(monkeypatch, path, selected_filter: str = "") -> list[str]:
    """Make the save dialog return `path`; returns the captions it was opened with."""
    asked: list[str] = []

    def dialog(parent, caption, directory, filters, *args, **kwargs):
        asked.append(caption)
        return str(path), selected_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    return asked


def walk_with_keys(qtbot, win, *cells: int) -> list[int]:
    for cell in cells:
        qtbot.mouseClick(win.panel.grid.buttons[cell], Qt.LeftButton)
    return [win.panel.grid.seeds[c] for c in cells]


def test_export_frame_writes_the_canvas_with_its_recipe(qtbot, window, wait_frame, monkeypatch, tmp_path):
    seeds = walk_with_keys(qtbot, window, 2, 8)
    window.panel.position_slider.setValue(SLIDER_STEPS * 3 // 10)
    window.panel.truncation_slider.setValue(80)
    shown = wait_frame(window)
    target = tmp_path / "out" / "frame.png"
    asked = answer_save_dialog(monkeypatch, target)
    window.exports.frame_action.trigger()
    assert asked == ["Export Frame"]
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=10_000)

    np.testing.assert_array_equal(load_image(target)[..., :3], shown)
    recipe = read_recipe(target)
    assert recipe["model"]["name"] == "tiny"
    assert recipe["model"]["sha256"] == window.panel.entry.sha256
    assert recipe["seeds"] == seeds
    assert recipe["position"] == 0.3 and recipe["mode"] == "slerp" and recipe["truncation"] == 0.8
    assert recipe["loop"] is False
    assert decode_latent(recipe["latent"]).shape == (8,)
    assert "Exported" in window.statusBar().currentMessage()


def test_export_frame_adds_the_suffix_of_the_chosen_type(qtbot, window, monkeypatch, tmp_path):
    walk_with_keys(qtbot, window, 1)
    answer_save_dialog(monkeypatch, tmp_path / "noext", "JPEG image (*.jpg *.jpeg)")
    window.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=10_000)
    assert (tmp_path / "noext.jpg").is_file()
    assert read_recipe(tmp_path / "noext.jpg")["seeds"] == [1]


def test_export_animation_writes_a_gif_with_the_frame_count(qtbot, window, monkeypatch, tmp_path):
    seeds = walk_with_keys(qtbot, window, 0, 4, 11)
    window.panel.frames_spin.setValue(10)
    window.panel.loop_check.setChecked(True)
    target = tmp_path / "walk.gif"
    answer_save_dialog(monkeypatch, target)
    window.exports.animation_action.trigger()
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=20_000)
    with Image.open(target) as gif:
        assert gif.n_frames == 10
    recipe = read_recipe(target)
    assert recipe["action"] == "interpolate" and recipe["seeds"] == seeds
    assert recipe["frames"] == 10 and recipe["loop"] is True


def test_cancelled_animation_writes_nothing(qtbot, window, monkeypatch, tmp_path):
    walk_with_keys(qtbot, window, 0, 4)
    window.panel.frames_spin.setValue(2400)
    target = tmp_path / "long.gif"
    answer_save_dialog(monkeypatch, target)
    window.exports.animation_action.trigger()
    window.exports.progress_dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=20_000)
    assert not target.exists()
    assert list(tmp_path.glob("*.tmp")) == list(tmp_path.glob(".long.gif*")) == []
    assert "cancelled" in window.statusBar().currentMessage()


def test_bad_export_path_gives_one_line_message(qtbot, window, monkeypatch, tmp_path, message_boxes):
    walk_with_keys(qtbot, window, 3)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    answer_save_dialog(monkeypatch, blocker / "frame.png")
    window.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert title == "Export Frame"
    assert "\n" not in text and "Traceback" not in text and text

    answer_save_dialog(monkeypatch, tmp_path / "frame.xyz")
    window.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert "unknown image type" in text and "\n" not in text
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=10_000)


def test_exports_need_keyframes(qtbot, window):
    assert not window.exports.frame_action.isEnabled()
    assert not window.exports.animation_action.isEnabled()
    walk_with_keys(qtbot, window, 0)
    assert window.exports.frame_action.isEnabled()
    assert not window.exports.animation_action.isEnabled()
    walk_with_keys(qtbot, window, 1)
    assert window.exports.animation_action.isEnabled()


def test_reopening_an_export_restores_the_walk_that_made_it(qtbot, window, wait_frame, monkeypatch, tmp_path,
                                                            tiny_generator_dir):
    seeds = walk_with_keys(qtbot, window, 1, 5, 9)
    window.panel.loop_check.setChecked(True)
    window.panel.mode_combo.setCurrentText("lerp")
    window.panel.truncation_slider.setValue(70)
    window.panel.position_slider.setValue(SLIDER_STEPS // 2)
    shown = wait_frame(window)
    target = tmp_path / "frame.webp"
    answer_save_dialog(monkeypatch, target)
    window.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: not window.exports.busy(), timeout=10_000)

    # A fresh window, opened on the file the way `studio FILE` does, before its model scan ends.
    from studio.engine.runtime import Runtime
    from studio.ui.main_window import MainWindow

    again = MainWindow(Runtime("cpu"), [tiny_generator_dir])
    qtbot.addWidget(again)
    again.open_file(target)
    qtbot.waitUntil(lambda: again.panel.walk.keyframes == seeds, timeout=10_000)
    walk = again.panel.walk
    assert (walk.mode, walk.loop, walk.truncation, walk.position) == ("lerp", True, 0.7, 0.5)
    np.testing.assert_array_equal(wait_frame(again), shown)
    assert "Reopened the recipe" in again.statusBar().currentMessage()
    again.close()


def test_an_image_without_recipe_opens_on_the_canvas(qtbot, window, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (30, 20), (200, 10, 10)).save(photo)
    window.open_file(photo)
    qtbot.waitUntil(lambda: window.canvas.image() is not None and window.canvas.image().shape[:2] == (20, 30),
                    timeout=10_000)
    assert tuple(window.canvas.image()[0, 0, :3]) == (200, 10, 10)


def test_a_recipe_of_a_missing_model_says_so_and_shows_the_image(qtbot, window, tmp_path, message_boxes):
    from studio.core.imageio import save_image

    target = tmp_path / "foreign.png"
    save_image(target, np.zeros((4, 4, 3), np.uint8), {"model": {"name": "elsewhere"}, "seeds": [1]})
    window.open_file(target)
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    assert "'elsewhere'" in message_boxes.pop()[1]
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=10_000)
