"""Add Picture in the Latent panel (issue 15): pictures from a file, the
selection or a drop become keyframes through the model's real encoder
(onnxruntime), the walk goes through them, the strip shows what the model
draws (the picture itself on hover), and an exported frame reopens exactly."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog

from main_window_factory import open_window
from encoder_factory import write_encoder_model
from studio.core.document import Document
from studio.core.imageio import save_image
from studio.core.latent import latent_from_seed, slerp
from studio.core.mask import rectangle
from studio.core.recipe import read_recipe
from studio.core.walk import LatentKey
from studio.engine.generator import Generator
from studio.engine.projection import Projector
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.ui.latent_panel import SLIDER_STEPS
from studio.ui.main_window import MainWindow
from studio.ui.qimage import pixmap_from_array


@pytest.fixture
def models(tiny_generator_dir):
    write_encoder_model(tiny_generator_dir, "painter")
    return tiny_generator_dir


@pytest.fixture
def painter_window(qtbot, models):
    win = open_window(qtbot, models)
    assert win.panel.entry.name == "painter"
    yield win
    win.close()


@pytest.fixture
def reference(models):
    generator = Generator(Registry([models]).get("painter"), Runtime("cpu"))
    return generator, Projector(generator)


def _picture(path, seed=0):
    rng = np.random.default_rng(seed)
    image = np.zeros((60, 40, 3), np.uint8)
    image[:] = rng.integers(0, 256, 3)
    image[10:40, 5:30] = rng.integers(0, 256, 3)
    save_image(path, image)
    return image


def _add_files(qtbot, win, *paths):
    win.pictures.add_files([str(p) for p in paths])
    qtbot.waitUntil(lambda: not win.pictures.busy(), timeout=10_000)


def test_a_picture_from_a_file_is_a_keyframe_the_walk_goes_through(qtbot, painter_window, wait_frame, reference,
                                                                   tmp_path, monkeypatch):
    generator, projector = reference
    win, panel = painter_window, painter_window.panel
    picture = _picture(tmp_path / "me.png")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(tmp_path / "me.png")], "")))
    panel.picture_actions["file"].trigger()
    qtbot.waitUntil(lambda: not win.pictures.busy() and bool(panel.walk.keyframes), timeout=10_000)
    (key,) = panel.walk.keyframes
    expected = projector.project(picture)
    assert isinstance(key, LatentKey) and key.name == "me.png" and key.model == "painter"
    np.testing.assert_allclose(key.latent, expected.latent, atol=1e-6)
    assert key.psnr == pytest.approx(expected.psnr, abs=1e-3)
    np.testing.assert_array_equal(wait_frame(win), generator.render(key.latent)[0])
    assert panel.strip.item(0).text() == "1 · me" and "dB PSNR" in panel.strip.item(0).toolTip()

    # A seed after it: halfway along is the slerp of the picture's latent and the seed's.
    qtbot.mouseClick(panel.grid.buttons[3], Qt.LeftButton)
    seed = panel.grid.seeds[3]
    panel.position_slider.setValue(SLIDER_STEPS // 2)
    halfway = slerp(key.latent, latent_from_seed(seed, 16), 0.5)
    shown = wait_frame(win)
    assert int(np.abs(shown.astype(int) - generator.render(halfway)[0].astype(int)).max()) <= 1


def test_the_strip_shows_the_drawing_and_the_picture_itself_on_hover(qtbot, painter_window, tmp_path):
    win, strip = painter_window, painter_window.panel.strip
    _add_files(qtbot, win, _write(tmp_path))
    key = win.panel.walk.keyframes[0]
    qtbot.waitUntil(lambda: key in win.panel._images, timeout=10_000)
    item = strip.item(0)
    drawn = item.icon().pixmap(40).toImage()
    center = strip.visualItemRect(item).center()
    qtbot.mouseMove(strip.viewport(), center)
    qtbot.waitUntil(lambda: strip.item(0).icon().pixmap(40).toImage() != drawn, timeout=5_000)
    assert strip.item(0).icon().pixmap(40).toImage() == pixmap_from_array(key.original, 40).toImage()
    qtbot.mouseMove(strip.viewport(), QPoint(strip.viewport().width() - 2, 2))
    qtbot.waitUntil(lambda: strip.item(0).icon().pixmap(40).toImage() == drawn, timeout=5_000)


def _write(tmp_path, name="me.png", seed=0):
    _picture(tmp_path / name, seed)
    return tmp_path / name


def test_the_selection_and_dropped_files_become_keyframes(qtbot, painter_window, reference, tmp_path):
    _, projector = reference
    win, panel = painter_window, painter_window.panel
    canvas = np.zeros((50, 80, 4), np.uint8)
    canvas[..., :3] = np.arange(80, dtype=np.uint8)[None, :, None] * 3
    canvas[..., 3] = 255
    doc = Document.from_image(canvas, "background")
    doc.mask = rectangle(80, 50, (20, 10, 60, 40))
    win.files.adopt(doc, None, "painting.png")
    panel.picture_actions["selection"].trigger()
    qtbot.waitUntil(lambda: not win.pictures.busy() and bool(panel.walk.keyframes), timeout=10_000)
    key = panel.walk.keyframes[0]
    assert key.name == "selection"
    np.testing.assert_allclose(key.latent, projector.project(canvas[10:40, 20:60]).latent, atol=1e-6)

    # Files dropped on the keyframes: one keyframe each, in order.
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(_write(tmp_path, "a.png", 1))),
                  QUrl.fromLocalFile(str(_write(tmp_path, "b.png", 2)))])
    drop = QDropEvent(QPointF(10, 10), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    panel.strip.dropEvent(drop)
    qtbot.waitUntil(lambda: not win.pictures.busy() and len(panel.walk.keyframes) == 3, timeout=10_000)
    assert [k.name for k in panel.walk.keyframes] == ["selection", "a.png", "b.png"]


def test_nothing_selected_is_one_message(qtbot, painter_window, message_boxes):
    painter_window.files.adopt(Document.from_image(np.zeros((20, 20, 4), np.uint8)), None, "empty.png")
    painter_window.panel.picture_actions["selection"].trigger()
    assert message_boxes.pop() == ("Add Picture", "Nothing is selected; select part of the image first")


def test_a_model_without_an_encoder_offers_no_pictures_and_drops_them_from_the_walk(qtbot, painter_window,
                                                                                   tmp_path):
    win, panel = painter_window, painter_window.panel
    _add_files(qtbot, win, _write(tmp_path))
    assert panel.picture_button.isEnabled() and panel.strip.acceptDrops()
    panel.model_combo.setCurrentIndex([e.name for e in panel.entries].index("tiny"))
    assert not panel.picture_button.isEnabled() and not panel.strip.acceptDrops()
    assert "--encoder" in panel.picture_button.toolTip()
    assert panel.walk.keyframes == [] and "keyframe of another model removed" in panel.keys_hint.text()


def test_an_exported_frame_reopens_with_its_picture_keyframe(qtbot, painter_window, wait_frame, models, tmp_path,
                                                             monkeypatch):
    win, panel = painter_window, painter_window.panel
    _add_files(qtbot, win, _write(tmp_path))
    qtbot.mouseClick(panel.grid.buttons[5], Qt.LeftButton)
    panel.position_slider.setValue(SLIDER_STEPS // 3)
    shown = wait_frame(win)
    target = tmp_path / "frame.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    win.exports.frame_action.trigger()
    qtbot.waitUntil(lambda: not win.exports.busy(), timeout=10_000)
    recipe = read_recipe(target)
    assert recipe["keyframes"][0]["name"] == "me.png" and recipe["keyframes"][1] == panel.grid.seeds[5]

    again = MainWindow(Runtime("cpu"), [models])
    qtbot.addWidget(again)
    again.open_file(target)
    qtbot.waitUntil(lambda: len(again.panel.walk.keyframes) == 2, timeout=10_000)
    restored = again.panel.walk.keyframes[0]
    assert isinstance(restored, LatentKey)
    np.testing.assert_array_equal(restored.latent, panel.walk.keyframes[0].latent)
    np.testing.assert_array_equal(wait_frame(again), shown)
    again.close()


def test_refine_brings_the_picture_closer_and_cancel_adds_nothing(qtbot, painter_window, tmp_path, reference):
    _, projector = reference
    win, panel = painter_window, painter_window.panel
    path = _write(tmp_path)
    panel.refine_action.setChecked(True)
    task = win.pictures.add_files([str(path)])
    task.cancel()
    qtbot.waitUntil(lambda: not win.pictures.busy(), timeout=30_000)
    assert panel.walk.keyframes == [] and "cancelled" in win.statusBar().currentMessage()

    _add_files(qtbot, win, path)
    (key,) = panel.walk.keyframes
    assert key.psnr > projector.project(_picture(tmp_path / "again.png")).psnr + 1.0


def test_the_active_layer_and_the_clipboard_become_keyframes(qtbot, painter_window, reference, message_boxes):
    from PySide6.QtGui import QGuiApplication

    from studio.ui.qimage import qimage_from_array

    _, projector = reference
    win, panel = painter_window, painter_window.panel
    layer_pixels = np.zeros((40, 60, 4), np.uint8)
    layer_pixels[5:35, 10:50] = (200, 40, 90, 255)
    win.files.adopt(Document.from_image(layer_pixels, "figure"), None, "figure.png")
    panel.picture_actions["layer"].trigger()
    qtbot.waitUntil(lambda: not win.pictures.busy() and bool(panel.walk.keyframes), timeout=10_000)
    key = panel.walk.keyframes[0]
    assert key.name == "layer figure"
    np.testing.assert_allclose(key.latent, projector.project(layer_pixels[5:35, 10:50]).latent, atol=1e-6)

    picture = np.random.default_rng(5).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    QGuiApplication.clipboard().setImage(qimage_from_array(picture))
    panel.picture_actions["clipboard"].trigger()
    qtbot.waitUntil(lambda: not win.pictures.busy() and len(panel.walk.keyframes) == 2, timeout=10_000)
    np.testing.assert_allclose(panel.walk.keyframes[1].latent, projector.project(picture).latent, atol=1e-6)
    win.files.document.mark_saved()
