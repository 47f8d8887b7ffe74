"""Upscaling in the app, through the real main window: Image > Upscale…,
the Export dialog's upscaler and the Latent panel's Place at ×4, each on a
real upscale model (tests/upscale_factory.py) run by the engine."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QProgressDialog, QPushButton

from studio.core.commands import AddLayer, SetMask
from studio.core.document import Document
from studio.core.imageio import load_image
from studio.core.mask import THRESHOLD
from studio.core.recipe import read_recipe
from studio.engine.runtime import Runtime
from studio.engine.upscale import upscale
from studio.ui.export_dialog import ExportDialog
from studio.ui.main_window import MainWindow
from studio.ui.upscale_dialog import UpscaleDialog
from test_exports import walk_with_keys
from test_workspace import key
from upscale_factory import write_upscale_model

W, H = 40, 28


def painting() -> Document:
    """Two layers: an opaque noisy background and a half-transparent patch on top."""
    rng = np.random.default_rng(7)
    background = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    background[..., 3] = 255
    doc = Document.from_image(background, "background")
    patch = np.zeros((H, W, 4), np.uint8)
    patch[2:14, 20:34] = rng.integers(0, 256, (12, 14, 4), dtype=np.uint8)
    patch[2:14, 20:34, 3] = 160
    doc.apply(AddLayer(doc.new_layer("patch", patch)))
    doc.apply(SetMask(np.pad(np.full((10, 10), 255, np.uint8), ((4, H - 14), (4, W - 14)))))
    doc.mark_saved()
    return doc


def pixels(doc: Document) -> tuple:
    """Everything undo must bring back: size, every layer's bytes and recipe, the mask."""
    return ((doc.width, doc.height), [(layer.id, layer.pixels.copy(), layer.recipe) for layer in doc.layers],
            doc.mask.copy())


def assert_same(a: tuple, b: tuple) -> None:
    assert a[0] == b[0] and len(a[1]) == len(b[1])
    for (id_a, pixels_a, recipe_a), (id_b, pixels_b, recipe_b) in zip(a[1], b[1]):
        assert id_a == id_b and recipe_a == recipe_b
        np.testing.assert_array_equal(pixels_a, pixels_b)
    np.testing.assert_array_equal(a[2], b[2])


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("cpu", threads=1)


@pytest.fixture
def window(qtbot, tiny_generator_dir, runtime):
    """The main window with the tiny generator and the ×4 upscaler 'x4' installed."""
    write_upscale_model(tiny_generator_dir, "x4")
    win = MainWindow(runtime, [tiny_generator_dir])
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(lambda: bool(win.upscales.models) and win.panel.grid.ready(), timeout=20_000)
    yield win
    if win.files.document is not None:
        win.files.document.mark_saved()  # closing must not stop at "Save the changes?"
    win.close()


@pytest.fixture
def model(window):
    return window.upscales.models[0]


def choose(monkeypatch, mode: str, factor: int, method: str) -> None:
    """Make the Upscale dialog answer with these choices, clicked as a person would."""
    def answer(dialog: UpscaleDialog) -> int:
        radio = dialog.layer_radio if mode == "layer" else dialog.document_radio
        radio.click()
        dialog.factor_radios[factor].click()
        dialog.method_combo.setCurrentIndex(dialog.method_combo.findText(method, Qt.MatchStartsWith))
        dialog.upscale_button.click()
        return dialog.result()

    monkeypatch.setattr(UpscaleDialog, "exec", answer)


def settle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.upscales.busy(), timeout=30_000)


def open_painting(win):
    """The test painting, open in the window."""
    doc = painting()
    win.files.adopt(doc, None, "painting.png")
    return doc


def upscale_from_menu(qtbot, win, monkeypatch, mode: str, factor: int, method: str) -> None:
    """Image > Upscale… answered with these choices, run to the end."""
    choose(monkeypatch, mode, factor, method)
    win.upscales.upscale_action.trigger()
    settle(qtbot, win)


def test_upscale_grows_every_layer_as_one_exact_undo_step(qtbot, window, model, runtime, monkeypatch):
    win = window
    doc = open_painting(win)
    before = pixels(doc)
    background = doc.layers[0].pixels.copy()
    upscale_from_menu(qtbot, win, monkeypatch, "document", 2, "x4")

    assert (doc.width, doc.height) == (2 * W, 2 * H) and doc.undo_text == "Upscale"
    assert win.canvas.image().shape[:2] == (2 * H, 2 * W)
    # The background is the engine's own result for that layer, bit for bit.
    np.testing.assert_array_equal(doc.layers[0].pixels, upscale(background, 2, model, runtime))
    patch = doc.layers[1].pixels
    assert patch[4:28, 40:68, 3].min() > 0 and not patch[:, :30].any()  # it grew in place; nothing elsewhere
    # The selection grew with the canvas (Lanczos, as Scale Image: its ringing dips a little inside).
    assert doc.mask[10:26, 10:26].min() >= THRESHOLD and not doc.mask[34:].any()
    for layer in doc.layers:
        assert layer.recipe["action"] == "upscale" and layer.recipe["model"]["name"] == "x4"
        assert layer.recipe["scale"] == 2
    after = pixels(doc)

    win.actions_.undo_action.trigger()
    assert_same(pixels(doc), before)
    assert not doc.modified and win.canvas.image().shape[:2] == (H, W)
    win.actions_.redo_action.trigger()
    assert_same(pixels(doc), after)


def test_the_active_layer_grows_about_its_centre_and_the_canvas_keeps_its_size(qtbot, window, monkeypatch):
    win = window
    doc = open_painting(win)
    before = pixels(doc)
    patch = doc.layers[1].pixels.copy()
    upscale_from_menu(qtbot, win, monkeypatch, "layer", 2, "Lanczos")
    assert (doc.width, doc.height) == (W, H)
    np.testing.assert_array_equal(doc.layers[0].pixels, before[1][0][1])  # the other layer is untouched
    # The patch (20, 2)-(34, 14) doubles about its centre (27, 8) to (13, -4)-(41, 20): the whole layer
    # enlarged, moved by (13 - 2 * 20, -4 - 2 * 2) and cut at the canvas edges.
    whole = upscale(patch, 2)
    np.testing.assert_array_equal(doc.layers[1].pixels, whole[8:8 + H, 27:27 + W])
    assert doc.layers[1].pixels[0:20, 13:40, 3].min() > 0
    assert doc.layers[1].recipe == {"format": doc.layers[1].recipe["format"], "action": "upscale",
                                    "method": "lanczos", "scale": 2}
    win.actions_.undo_action.trigger()
    assert_same(pixels(doc), before)


def test_a_result_over_the_limits_is_refused_with_one_line(qtbot, message_boxes, model):
    dialog = UpscaleDialog(Document(5000, 5000), [model])
    qtbot.addWidget(dialog)
    dialog.show()
    # The model's own factor is the default: x4 of 5000 px is over the limit.
    assert dialog.method_combo.currentText() == "x4 (×4 model)" and dialog.factor_radios[4].isChecked()
    assert dialog.notice.isVisibleTo(dialog) and "20000 x 20000 px" in dialog.notice.text()
    dialog.upscale_button.click()
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted  # it stays open for another choice
    title, text = message_boxes.pop()
    assert title == "Upscale" and "over the limit" in text and "\n" not in text
    dialog.factor_radios[2].click()
    assert dialog.size_label.text() == "5000 × 5000 px → 10000 × 10000 px" and dialog.notice.isHidden()

    # Under the upscaler's limit but over the canvas's.
    canvas = UpscaleDialog(Document(7000, 7000), [])
    qtbot.addWidget(canvas)
    canvas.show()
    assert canvas.method_combo.currentText() == "Lanczos (no model)" and not canvas.notice.isHidden()
    canvas.upscale_button.click()
    title, text = message_boxes.pop()
    assert title == "Upscale" and "too big" in text


def test_the_factor_picks_the_model_made_for_it(qtbot, tmp_path):
    from studio.engine.registry import Registry

    for name, scale in (("up4", 4), ("up2", 2)):
        write_upscale_model(tmp_path, name, scale=scale)
    up2, up4 = (Registry([tmp_path]).get(name, kind="upscale") for name in ("up2", "up4"))
    dialog = UpscaleDialog(Document(64, 64), [up2, up4])  # the x2 listed first, as its name sorts
    qtbot.addWidget(dialog)
    assert dialog.factor_radios[4].isChecked() and dialog.model() is up4  # the whole gain first
    dialog.factor_radios[2].click()
    assert dialog.model() is up2  # made for x2, not up4 made to average its x4
    dialog.factor_radios[4].click()
    assert dialog.model() is up4  # up2 cannot make x4
    dialog.method_combo.setCurrentIndex(dialog.method_combo.count() - 1)
    dialog.factor_radios[2].click()
    assert dialog.model() is None  # Lanczos, once chosen, stays


def test_cancel_leaves_the_document_as_it_was(qtbot, window, monkeypatch):
    win = window
    doc = open_painting(win)
    before, revision = pixels(doc), doc.revision
    choose(monkeypatch, "document", 4, "x4")
    win.upscales.upscale_action.trigger()
    progress = win.findChild(QProgressDialog)
    progress.findChild(QPushButton).click()  # its Cancel, before the first tile
    settle(qtbot, win)
    assert_same(pixels(doc), before)
    assert doc.revision == revision and not doc.modified
    assert "cancelled" in win.statusBar().currentMessage()


def test_export_with_the_upscaler_writes_its_result_and_names_it(qtbot, window, model, runtime, monkeypatch,
                                                                 tmp_path):
    win = window
    doc = open_painting(win)
    composite = doc.composite()
    target = tmp_path / "big.png"

    def accept(dialog: ExportDialog) -> int:
        assert not dialog.upscale_combo.isHidden() and dialog.upscale_combo.currentText() == "None"
        dialog.path_edit.setText(str(target))
        dialog.image_radio.setChecked(True)
        dialog.scale_spin.setValue(100)
        dialog.upscale_combo.setCurrentIndex(dialog.upscale_combo.findText("×4 with x4"))
        assert dialog.size_label.text() == f"{4 * W} × {4 * H} px (x4 ×4, then 100 %)"
        return 1

    monkeypatch.setattr(ExportDialog, "exec", accept)
    key(qtbot, win, "Ctrl+Shift+E")
    qtbot.waitUntil(target.exists, timeout=30_000)
    np.testing.assert_array_equal(load_image(target), upscale(composite, 4, model, runtime))
    recipe = read_recipe(target)
    assert recipe["size"] == [4 * W, 4 * H]
    assert recipe["upscale"]["model"]["name"] == "x4" and recipe["upscale"]["scale"] == 4


def test_the_export_dialog_offers_an_upscaler_only_when_one_is_installed(qtbot, model):
    plain = ExportDialog(painting(), "plain")
    qtbot.addWidget(plain)
    plain.show()
    assert plain.upscale_combo.isHidden() and plain.options().upscaler is None
    offered = ExportDialog(painting(), "offered", upscalers=[model])
    qtbot.addWidget(offered)
    offered.show()
    offered.upscale_combo.setCurrentIndex(1)
    offered.scale_spin.setValue(50)  # half the model's ×4: a ×2 image drawn by the model
    assert offered.output_size() == (2 * W, 2 * H) and offered.options().upscaler is model


def test_place_at_x4_lands_the_frame_four_times_larger(qtbot, window, wait_frame, model, runtime):
    win = window
    seeds = walk_with_keys(qtbot, win, 2)
    wait_frame(win)
    frame = win.panel.last_frame.images[0]
    assert frame.shape == (8, 8, 3)
    qtbot.mouseClick(win.panel.place_enlarged_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.files.document is not None and not win.upscales.busy(), timeout=20_000)
    doc = win.files.document
    (layer,) = doc.layers
    assert (doc.width, doc.height) == (32, 32) and layer.name == "Generated (tiny) ×4"
    np.testing.assert_array_equal(layer.pixels[..., :3], upscale(frame, 4, model, runtime))
    assert layer.recipe["model"]["name"] == "x4" and layer.recipe["source"]["seeds"] == seeds

    # On an open document it is one more layer, one undo step.
    qtbot.mouseClick(win.panel.place_enlarged_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(doc.layers) == 2 and not win.upscales.busy(), timeout=20_000)
    np.testing.assert_array_equal(doc.layers[1].pixels, layer.pixels)
    assert doc.undo_text == "Place at ×4"
    win.actions_.undo_action.trigger()
    assert len(doc.layers) == 1
