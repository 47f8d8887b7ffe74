"""The Style panel on a real canvas and the shipped style networks, driven by qtbot.

Each test docks a real StylePanel next to a CanvasView showing a small
Document (160 x 120 px, smaller than the preview proxy, so the preview is
the image itself and can be checked pixel for pixel against the engine)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow

from studio.core import mask as masks
from studio.core.commands import PixelEdit, SetMask
from studio.core.document import Document
from studio.core.imageio import load_image
from studio.core.paths import shipped_models_dir
from studio.core.recipe import decode_latent, read_recipe
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.style import StyleError, Stylizer, interpolate
from studio.ui import banded_copy
from studio.ui.canvas_view import CanvasView
from studio.ui.qimage import qimage_from_array
from studio.ui.style_panel import StylePanel
from studio.ui.style_target import capture, landing_command, reference_picture

W, H = 160, 120


def photo(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """Something photo-like: smooth colour gradients, a block, some grain (uint8 hxwx3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + seed), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy], -1)
    img[h // 4: h // 2, w // 5: w // 2] = rng.random(3)
    img += rng.normal(0, 0.03, img.shape)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def painting(seed: int) -> np.ndarray:
    """A loud, stripy 'painting' to use as a picture style."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:200, 0:200] / 200
    colours = rng.integers(0, 256, (6, 3))
    bands = ((np.sin(xx * (9 + seed) + yy * 14) + 1) * 3).astype(int) % 6
    return colours[bands].astype(np.uint8)


def assert_close(a: np.ndarray, b: np.ndarray) -> None:
    # The same network on the same input; float rounding may move a channel by one level.
    assert a.shape == b.shape
    assert int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    """One Stylizer for the module (sessions open once); panels use it in turn."""
    return Stylizer(Registry([shipped_models_dir()]), Runtime("cpu", threads=2))


@pytest.fixture
def studio(qtbot, stylizer):
    """A small window: canvas in the middle, the Style panel docked on the right,
    a 160 x 120 one-layer document, thumbnails rendered."""
    win = QMainWindow()
    canvas = CanvasView(win)
    win.setCentralWidget(canvas)
    doc = Document.from_image(photo())
    canvas.set_document(doc)
    panel = StylePanel(lambda: doc, canvas, lambda: stylizer)
    dock = QDockWidget("Style", win)
    dock.setWidget(panel)
    win.addDockWidget(Qt.RightDockWidgetArea, dock)
    qtbot.addWidget(win)
    win.resize(900, 760)
    win.show()
    qtbot.waitUntil(panel.picker.ready, timeout=30_000)
    yield SimpleNamespace(win=win, canvas=canvas, doc=doc, panel=panel)
    panel.shutdown()
    win.close()


def settle(qtbot, panel: StylePanel) -> None:
    """Wait until every result asked for has come back and been handled."""
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)


def click_style(qtbot, panel: StylePanel, index: int, ctrl: bool = False) -> None:
    grid = panel.picker.grid
    item = grid.item(index)
    grid.scrollToItem(item)
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, Qt.ControlModifier if ctrl else Qt.NoModifier,
                     grid.visualItemRect(item).center())


def test_thumbnails_are_every_builtin_style_on_our_picture(studio, stylizer):
    picker = studio.panel.picker
    assert picker.grid.count() == stylizer.style_count == 26
    picture = reference_picture()
    for index in (0, 13, 25):
        np.testing.assert_array_equal(picker.thumbnails[index], stylizer.builtin(picture, index))
    assert len({t.tobytes() for t in picker.thumbnails}) == 26  # every style looks different
    assert all(not picker.grid.item(i).icon().isNull() for i in range(26))
    # Sensible defaults: style 0, full strength, whole image (nothing selected), no preview yet.
    assert picker.blend() == ((0, 50.0),)
    assert studio.panel.strength_slider.value() == 100
    assert studio.panel.mode() == "image"
    assert not studio.canvas.has_preview()


def test_click_picks_a_style_and_ctrl_click_blends(qtbot, studio, stylizer):
    panel, doc = studio.panel, studio.doc
    click_style(qtbot, panel, 7)
    settle(qtbot, panel)
    assert panel.picker.blend() == ((7, 50.0),)
    assert studio.canvas.has_preview()
    assert_close(panel.last_preview, stylizer.builtin(doc.composite(), 7))
    np.testing.assert_array_equal(studio.canvas.image(), panel.last_preview)  # what floats over the canvas

    click_style(qtbot, panel, 12, ctrl=True)
    settle(qtbot, panel)
    assert [i for i, _ in panel.picker.blend()] == [7, 12]
    assert panel.picker.rows.count() == 2
    assert_close(panel.last_preview, stylizer.builtin(doc.composite(), {7: 0.5, 12: 0.5}))

    panel.picker.set_weight(12, 100)  # 1 : 2
    settle(qtbot, panel)
    assert_close(panel.last_preview, stylizer.builtin(doc.composite(), {7: 1, 12: 2}))

    click_style(qtbot, panel, 7, ctrl=True)  # out of the blend again
    settle(qtbot, panel)
    assert panel.picker.blend() == ((12, 100.0),)
    click_style(qtbot, panel, 12, ctrl=True)  # the last style stays
    assert panel.picker.blend() == ((12, 100.0),)


def test_strength_zero_preview_is_the_input_and_the_newest_request_wins(qtbot, studio):
    panel = studio.panel
    for value in (30, 60, 90, 0):  # faster than the worker: older requests are dropped
        panel.strength_slider.setValue(value)
    settle(qtbot, panel)
    assert panel.strength_label.text() == "0%"
    np.testing.assert_array_equal(panel.last_preview, studio.doc.composite())


def test_apply_to_the_active_layer_is_one_undo_step(qtbot, studio, stylizer):
    panel, doc = studio.panel, studio.doc
    layer = doc.active
    before = layer.pixels.copy()
    panel.set_mode("layer")
    panel.strength_slider.setValue(70)
    panel.apply()
    assert panel.apply_button.text() == "Cancel" and panel.progress.isVisibleTo(panel)  # busy while rendering
    settle(qtbot, panel)
    assert panel.apply_button.isEnabled() and not panel.progress.isVisibleTo(panel)
    assert_close(layer.pixels, stylizer.builtin(before, 0, strength=0.7))
    assert np.abs(layer.pixels.astype(int) - before).mean() > 5
    recipe = layer.recipe
    assert recipe["action"] == "stylize" and recipe["model"]["name"] == "style26"
    assert (recipe["style"], recipe["strength"], recipe["apply_to"]) == ("0:1", 0.7, "layer")
    assert not studio.canvas.has_preview()  # the result is on the canvas now

    assert doc.undo()
    np.testing.assert_array_equal(layer.pixels, before)
    assert layer.recipe is None
    assert not doc.can_undo  # it was one step


def test_cancel_stops_a_tiled_apply_and_nothing_lands(qtbot, studio):
    panel, doc = studio.panel, studio.doc
    before = doc.active.pixels.copy()
    # Tiles of 136 px: the 160 x 120 picture takes a few dozen tile runs; the
    # first progress report says the render is under way, then Cancel is pressed
    # (that it stops between tiles is tested in tests/engine/test_tiling.py).
    panel.full_tile = 136
    panel.set_mode("layer")
    panel.apply()
    qtbot.waitUntil(lambda: panel.progress.maximum() > 0, timeout=30_000)
    assert panel.progress.value() < panel.progress.maximum()
    qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    assert panel.hint.text() == "Apply cancelled" and panel.apply_button.text() == "Apply"
    qtbot.waitUntil(panel.worker.is_idle, timeout=30_000)
    qtbot.wait(50)
    np.testing.assert_array_equal(doc.active.pixels, before)
    assert not doc.can_undo and panel.hint.text() == "Apply cancelled"
    panel.apply()  # and the next Apply runs to the end
    settle(qtbot, panel)
    assert doc.can_undo and np.abs(doc.active.pixels.astype(int) - before).mean() > 5


def test_whole_image_lands_as_a_new_layer_with_its_recipe(qtbot, studio, stylizer):
    panel, doc = studio.panel, studio.doc
    base = doc.layers[0].pixels.copy()
    panel.preserve_check.setChecked(True)
    panel.apply()
    settle(qtbot, panel)
    assert len(doc.layers) == 2
    styled = doc.layers[1]
    assert styled.name == "Styled (Ochre Dusk)" and doc.active_id == styled.id  # the name in style26's manifest
    assert_close(styled.pixels, stylizer.builtin(base, 0, preserve_colour=True))
    assert styled.recipe["preserve_colour"] is True and styled.recipe["apply_to"] == "image"
    np.testing.assert_array_equal(doc.layers[0].pixels, base)
    doc.undo()
    assert len(doc.layers) == 1


def test_an_edit_while_apply_copies_the_picture_is_in_what_lands(qtbot, studio, stylizer, monkeypatch):
    monkeypatch.setattr(banded_copy, "BAND_BUDGET_S", 0.0)  # the picture is copied a row per turn of the
    monkeypatch.setattr(banded_copy, "BAND_BYTES", 1)  # event loop, as a 4096 px one is in bands
    panel, doc = studio.panel, studio.doc
    panel.apply()
    assert panel.busy() and panel.apply_button.text() == "Cancel"
    layer = doc.layers[0]
    doc.apply(PixelEdit(layer.id, (0, 0, 40, 30), layer.pixels[:30, :40].copy(), np.full((30, 40, 4), 255, np.uint8)))
    settle(qtbot, panel)  # copied again once edits paused, then rendered: not refused as changed
    assert len(doc.layers) == 2
    assert_close(doc.layers[1].pixels, stylizer.builtin(layer.pixels, 0))


def test_selection_leaves_pixels_beyond_the_feather_untouched(qtbot, studio):
    panel, doc = studio.panel, studio.doc
    doc.apply(SetMask(masks.rectangle(W, H, (40, 30, 110, 90))))
    qtbot.waitUntil(lambda: panel.mode() == "selection", timeout=5_000)  # follows the selection
    assert panel.feather_spin.value() == 4
    before = doc.active.pixels.copy()
    panel.apply()
    settle(qtbot, panel)
    after = doc.active.pixels
    reach = masks.feather(doc.mask, panel.feather_spin.value()) > 0
    np.testing.assert_array_equal(after[~reach], before[~reach])
    core = doc.mask == 255
    assert np.abs(after[core].astype(int) - before[core]).mean() > 5
    assert doc.active.recipe["apply_to"] == "selection" and doc.active.recipe["feather"] == 4
    doc.undo()
    np.testing.assert_array_equal(doc.active.pixels, before)

    doc.apply(SetMask(np.zeros((H, W), np.uint8)))  # deselect: back to the whole image
    qtbot.waitUntil(lambda: panel.mode() == "image", timeout=5_000)


def test_picture_style_from_a_file(qtbot, studio, stylizer, tmp_path):
    panel, doc = studio.panel, studio.doc
    path = tmp_path / "painting.png"
    Image.fromarray(painting(1)).save(path)
    panel.load_style_file(path, "a")
    settle(qtbot, panel)
    style = panel.slot_a.style_
    assert style is not None and style.name == "painting.png"
    vector = stylizer.style_vector(load_image(path))
    np.testing.assert_allclose(style.vector, vector, atol=1e-5)
    assert panel.tabs.currentIndex() == 1  # the Picture tab is in front
    assert_close(panel.last_preview, stylizer.with_vector(doc.composite(), vector))

    panel.apply()
    settle(qtbot, panel)
    recipe = doc.layers[-1].recipe
    assert recipe["model"]["name"] == "style-transform" and recipe["style_image"] == "painting.png"
    np.testing.assert_allclose(decode_latent(recipe["style_vector"]), style.vector)


def test_a_to_b_slider_and_animation_export(qtbot, studio, stylizer, tmp_path):
    panel, doc = studio.panel, studio.doc
    for key, seed in (("a", 1), ("b", 2)):
        Image.fromarray(painting(seed)).save(tmp_path / f"{key}.png")
        panel.load_style_file(tmp_path / f"{key}.png", key)
    settle(qtbot, panel)
    assert panel.mix_slider.isEnabled() and panel.animation_button.isEnabled()
    va, vb = panel.slot_a.style_.vector, panel.slot_b.style_.vector
    panel.mix_slider.setValue(50)
    settle(qtbot, panel)
    assert_close(panel.last_preview, stylizer.with_vector(doc.composite(), interpolate(va, vb, 0.5)))

    out = tmp_path / "morph.gif"
    task = panel.export_animation(out, frames=4)
    assert task is not None
    settle(qtbot, panel)
    with Image.open(out) as gif:
        assert gif.n_frames == 4 and gif.size == (W, H)
    recipe = read_recipe(out)
    assert recipe["style_image"] == "a.png" and recipe["style_image_b"] == "b.png"
    assert recipe["animation"]["frames"] == 4

    panel.slot_b.cleared.emit()
    assert panel.slot_b.style_ is None and not panel.mix_slider.isEnabled()


def test_picture_style_from_the_active_layer_and_the_clipboard(qtbot, studio, stylizer, message_boxes):
    panel, doc = studio.panel, studio.doc
    panel.style_from_layer("a")
    settle(qtbot, panel)
    assert panel.slot_a.style_.name == "layer 'Background'"
    np.testing.assert_allclose(panel.slot_a.style_.vector, stylizer.style_vector(doc.active.pixels), atol=1e-5)

    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    assert panel.style_from_clipboard("b") is None
    assert message_boxes.pop()[0] == "Picture Style"  # nothing to paste: said once, nothing asked of the worker
    picture = painting(3)
    clipboard.setImage(qimage_from_array(picture))
    panel.style_from_clipboard("b")
    settle(qtbot, panel)
    assert panel.slot_b.style_.name == "clipboard picture"
    np.testing.assert_allclose(panel.slot_b.style_.vector, stylizer.style_vector(picture), atol=1e-5)


def test_a_bad_style_file_raises_one_message_box(qtbot, studio, tmp_path, message_boxes):
    panel = studio.panel
    path = tmp_path / "broken.png"
    path.write_bytes(b"this is not a picture")
    panel.load_style_file(path, "a")
    settle(qtbot, panel)
    assert len(message_boxes) == 1
    title, text = message_boxes.pop()
    assert title == "Picture Style" and "broken.png" in text and "\n" not in text
    assert panel.slot_a.style_ is None and panel.slot_a.name.text() == "A: no picture yet"


def test_a_result_is_refused_when_the_image_changed_meanwhile():
    doc = Document.from_image(photo())
    target = capture(doc, "layer")
    layer = doc.active
    doc.apply(PixelEdit(layer.id, (0, 0, 8, 8), layer.pixels[:8, :8].copy(),
                        np.zeros((8, 8, 4), np.uint8)))  # a stroke while the style was rendering
    with pytest.raises(StyleError, match="changed while"):
        landing_command(doc, target, target.pixels, {}, "Style 0")


def test_a_missing_network_is_one_message_box_not_one_per_slider_step(qtbot, studio, message_boxes, tmp_path):
    panel = studio.panel
    panel.set_stylizer_factory(lambda: Stylizer(Registry([tmp_path / "no-models"]), Runtime("cpu")))
    for value in (90, 80, 70):
        panel.strength_slider.setValue(value)
        settle(qtbot, panel)
    assert len(message_boxes) == 1
    title, text = message_boxes.pop()
    assert title == "Style Preview" and "style26" in text
    assert not studio.canvas.has_preview() and "Preview failed" in panel.hint.text()
