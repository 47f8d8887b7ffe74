"""The Inpaint panel on a real canvas, driven by qtbot: OpenCV's Telea and
Navier-Stokes for real, and a tiny real ONNX inpaint model (the mean of the
known pixels fills the hole, tests/inpaint_factory.py) for the learned path.

Most tests dock the panel next to a CanvasView with a tool box on a small
photo-like document (a gradient with a red block, the "object" to remove);
the last ones run the whole main window (shortcut, Tab to compare)."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from inpaint_factory import inpaint_manifest, mean_fill_onnx
from model_factory import write_model
from studio.core import mask as masks
from studio.core.commands import SetLayerProps, SetMask
from studio.core.document import Document
from studio.engine.inpaint import FEATHER, inpaint
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.ui.canvas_view import CanvasView
from studio.ui.inpaint_panel import FILL, InpaintPanel
from studio.ui.main_window import MainWindow
from studio.ui.tool_box import ToolBox

W, H = 240, 180
OBJECT = (100, 70, 140, 110)  # x0, y0, x1, y1 of the red block


def background(h: int = H, w: int = W) -> np.ndarray:
    """A smooth colour gradient (uint8 hxwx4, opaque): what lies behind the object."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([60 + 120 * xx / w, 90 + 100 * yy / h, 200 - 80 * xx / w], -1)
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = np.rint(rgb).astype(np.uint8)
    return out


def photo() -> np.ndarray:
    """The background with a red block on it."""
    image = background()
    x0, y0, x1, y1 = OBJECT
    image[y0:y1, x0:x1, :3] = (220, 30, 30)
    return image


def object_mask(pad: int = 3) -> np.ndarray:
    x0, y0, x1, y1 = OBJECT
    return masks.rectangle(W, H, (x0 - pad, y0 - pad, x1 + pad, y1 + pad))


def reach(mask: np.ndarray, feather: int = FEATHER) -> np.ndarray:
    """bool: the holes (mask half selected or more) and every pixel within
    `feather` px of them: what a fill may change."""
    holes = mask >= masks.THRESHOLD
    distance = cv2.distanceTransform((~holes).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= feather


@pytest.fixture
def inpainters(tmp_path):
    """A models folder holding the mean-fill inpaint model 'mean'."""
    data = mean_fill_onnx()
    write_model(tmp_path / "inpainters", "mean", data, inpaint_manifest("mean", data))
    return tmp_path / "inpainters"


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("cpu", threads=1)


@pytest.fixture
def studio(qtbot, runtime):
    """Canvas in the middle, the tool box, the Inpaint panel docked on the
    right (no model given yet), a one-layer 240 x 180 document."""
    win = QMainWindow()
    canvas = CanvasView(win)
    win.setCentralWidget(canvas)
    reports: list[str] = []
    tools = ToolBox(win, canvas, reports.append)
    doc = Document.from_image(photo())
    canvas.set_document(doc)
    panel = InpaintPanel(lambda: doc, canvas, lambda: runtime)
    messages: list[str] = []
    panel.message.connect(messages.append)
    dock = QDockWidget("Inpaint", win)
    dock.setWidget(panel)
    win.addDockWidget(Qt.RightDockWidgetArea, dock)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    canvas.fit()
    yield SimpleNamespace(win=win, canvas=canvas, tools=tools, doc=doc, panel=panel, messages=messages)
    panel.shutdown()
    win.close()


def settle(qtbot, panel: InpaintPanel) -> None:
    """Wait until every fill asked for has come back and been handled."""
    qtbot.waitUntil(lambda: not panel.busy() and panel.worker.is_idle(), timeout=20_000)


def drag(qtbot, canvas: CanvasView, points) -> None:
    """A real press-move-release over the canvas, through document points."""
    viewport = canvas.viewport()
    first, *rest = [canvas.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, first)
    for point in rest:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, rest[-1] if rest else first)


# -- filling -------------------------------------------------------------------------------

def test_telea_fills_a_new_layer_leaves_the_rest_and_undo_restores_exactly(qtbot, studio):
    panel, doc = studio.panel, studio.doc
    assert panel.method() == ("telea", None)  # no model installed: the classical default
    assert panel.target() == "new" and panel.clear_check.isChecked()
    doc.apply(SetMask(object_mask()))
    qtbot.waitUntil(panel.fill_button.isEnabled, timeout=2000)
    before = doc.composite()
    qtbot.mouseClick(panel.fill_button, Qt.LeftButton)
    settle(qtbot, panel)

    assert [layer.name for layer in doc.layers] == ["Background", "Inpaint (Telea)"]
    layer = doc.layers[1]
    assert layer.recipe["action"] == "inpaint" and layer.recipe["method"] == "telea"
    assert layer.recipe["apply_to"] == "new"
    assert doc.active_id == layer.id
    assert len(doc.history) == 2 and doc.undo_text == "Inpaint"  # the mask, then ONE fill
    assert not doc.mask.any()  # cleared in the same step
    area = reach(object_mask())
    after = doc.composite()
    # Outside the holes and their feather: bit for bit what was there, and the layer is transparent.
    np.testing.assert_array_equal(after[~area], before[~area])
    assert not layer.pixels[..., 3][~area].any()
    assert (layer.pixels[..., 3][object_mask() >= 128] == 255).all()
    # The red block is gone: the hole now looks like the gradient behind it.
    x0, y0, x1, y1 = OBJECT
    hole = (slice(y0, y1), slice(x0, x1))
    truth = background()[hole][..., :3].astype(int)
    assert np.abs(before[hole][..., :3].astype(int) - truth).mean() > 60
    assert np.abs(after[hole][..., :3].astype(int) - truth).mean() < 12
    assert "Filled" in panel.hint.text()

    assert doc.undo()
    assert len(doc.layers) == 1
    np.testing.assert_array_equal(doc.composite(), before)
    np.testing.assert_array_equal(doc.mask, object_mask())
    assert doc.redo() and len(doc.layers) == 2 and not doc.mask.any()


def test_auto_in_place_is_the_engine_result_and_one_undo_step(qtbot, studio, inpainters, runtime):
    panel, doc = studio.panel, studio.doc
    panel.set_models(Registry([inpainters]).entries(usable_only=False))
    assert panel.method()[0] == "auto" and panel.method()[1].name == "mean"  # default once a model exists
    assert panel.method_combo.currentText() == "Auto — mean"
    panel.set_target("layer")
    panel.clear_check.setChecked(False)
    doc.apply(SetMask(object_mask()))
    layer = doc.layers[0]
    original = layer.pixels.copy()
    panel.fill()
    settle(qtbot, panel)

    entry = Registry([inpainters]).get("mean", kind="inpaint")
    expected = inpaint(original, object_mask() >= 128, "auto", entry, runtime)
    np.testing.assert_array_equal(layer.pixels, expected)  # the window the panel fills changes nothing
    assert not np.array_equal(expected, original)
    assert len(doc.layers) == 1 and len(doc.history) == 2
    assert layer.recipe["model"]["name"] == "mean" and layer.recipe["model"]["sha256"] == entry.sha256
    np.testing.assert_array_equal(doc.mask, object_mask())  # kept: the box was unticked

    # "Undo, try the other method": Navier-Stokes in the same place.
    assert doc.undo()
    np.testing.assert_array_equal(layer.pixels, original)
    assert layer.recipe is None
    panel.set_method("ns")
    panel.fill()
    settle(qtbot, panel)
    np.testing.assert_array_equal(layer.pixels, inpaint(original, object_mask() >= 128, "ns"))
    assert layer.recipe["method"] == "ns"
    # And the content-aware fill, in place of that one.
    assert doc.undo()
    panel.set_method("patchmatch")
    panel.fill()
    settle(qtbot, panel)
    np.testing.assert_array_equal(layer.pixels, inpaint(original, object_mask() >= 128, "patchmatch"))
    assert layer.recipe["method"] == "patchmatch"


def test_fill_on_release_after_a_mask_brush_stroke(qtbot, studio):
    panel, doc, canvas = studio.panel, studio.doc, studio.canvas
    assert panel.release_check.isChecked()  # on by default, while the panel is open
    studio.tools.settings.set(size=14, hardness=1.0, opacity=1.0)
    studio.tools.select("mask")
    before = doc.composite()
    drag(qtbot, canvas, [(60, 40), (80, 45), (100, 50)])
    assert doc.history.undo_text == "Mask Brush"
    stroke_mask = doc.mask.copy()
    assert stroke_mask[45, 80] == 255
    settle(qtbot, panel)
    assert [layer.name for layer in doc.layers] == ["Background", "Inpaint (Telea)"]
    assert doc.undo_text == "Inpaint" and not doc.mask.any()
    changed = (doc.composite() != before).any(axis=2)
    assert changed.any() and not changed[~reach(stroke_mask)].any()

    # A stroke of the brush (not the mask brush) fills nothing; nor does a mask stroke with the box unticked.
    studio.tools.select("brush")
    drag(qtbot, canvas, [(20, 150), (40, 150)])
    settle(qtbot, panel)
    panel.release_check.setChecked(False)
    studio.tools.select("mask")
    drag(qtbot, canvas, [(180, 40), (200, 40)])
    settle(qtbot, panel)
    assert len(doc.layers) == 2 and doc.mask.any() and doc.undo_text == "Mask Brush"

    # A rectangle selection fills on release too.
    panel.release_check.setChecked(True)
    studio.tools.select("rectangle")
    drag(qtbot, canvas, [(150, 120), (170, 130), (190, 140)])
    settle(qtbot, panel)
    assert len(doc.layers) == 3 and not doc.mask.any()


def test_a_newer_fill_supersedes_an_older_one(qtbot, studio):
    panel, doc = studio.panel, studio.doc
    doc.apply(SetMask(object_mask()))
    first = panel.fill()
    panel.set_method("ns")
    second = panel.fill()
    assert second > first
    settle(qtbot, panel)
    assert [layer.name for layer in doc.layers] == ["Background", "Inpaint (Navier-Stokes)"]
    assert len(doc.history) == 2  # the mask, then ONE fill
    assert panel.worker.stats[FILL].submitted == 2


def test_a_fill_for_a_changed_document_is_refused(qtbot, studio):
    panel, doc = studio.panel, studio.doc
    doc.apply(SetMask(object_mask()))
    panel.fill()
    doc.apply(SetLayerProps(doc.layers[0].id, name="Photo"))  # before the result can arrive (same GUI turn)
    settle(qtbot, panel)
    assert len(doc.layers) == 1 and len(doc.history) == 2  # the mask and the rename, no fill
    assert "changed" in panel.hint.text() and any("changed" in m for m in studio.messages)


def test_a_result_arriving_mid_stroke_waits_for_the_stroke_to_end(qtbot, studio):
    panel, doc, canvas = studio.panel, studio.doc, studio.canvas
    doc.apply(SetMask(object_mask()))
    studio.tools.select("eyedropper")  # a tool that changes no pixels
    viewport = canvas.viewport()
    point = canvas.mapFromScene(QPointF(20, 20))
    panel.fill()
    # Pressed before the result can arrive (it comes through the event loop).
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, point)
    assert canvas.is_drawing()
    qtbot.waitUntil(lambda: panel.waiting is None, timeout=20_000)
    assert panel.busy() and len(doc.layers) == 1  # held, not landed under the pointer
    assert panel.fill() is None and "Finish the stroke" in studio.messages[-1]  # no capture mid-stroke
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, point)
    settle(qtbot, panel)
    assert len(doc.layers) == 2

    # A stroke abandoned with Escape: the held result lands once the canvas is quiet.
    doc.apply(SetMask(object_mask()))
    studio.tools.select("mask")
    panel.release_check.setChecked(False)
    panel.fill()
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, canvas.mapFromScene(QPointF(20, 160)))
    qtbot.waitUntil(lambda: panel.waiting is None, timeout=20_000)
    assert panel.busy() and len(doc.layers) == 2
    qtbot.keyClick(canvas, Qt.Key_Escape)
    assert not canvas.is_drawing()
    settle(qtbot, panel)
    assert len(doc.layers) == 3


# -- methods, empty masks, errors, settings ------------------------------------------------

def test_learned_is_disabled_with_a_tooltip_without_a_model(qtbot, studio, inpainters):
    combo = studio.panel.method_combo
    assert combo.itemData(0) == "learned" and not combo.model().item(0).isEnabled()
    assert "No inpaint model is installed" in combo.itemData(0, Qt.ToolTipRole)
    assert "No inpaint model is installed" in combo.toolTip()
    assert [combo.itemText(i) for i in range(1, combo.count())] == ["Telea", "Navier-Stokes", "Content-aware"]
    assert combo.currentData() == "telea"
    studio.panel.set_models(Registry([inpainters]).entries(usable_only=False))
    assert combo.model().item(0).isEnabled() and combo.currentData() == "auto:mean"
    assert [combo.itemText(i) for i in range(combo.count())][:2] == ["Auto — mean", "Learned — mean"]
    studio.panel.set_method("learned", "mean")
    assert studio.panel.method() == ("learned", studio.panel.models[0])
    studio.panel.set_models([])  # the model went away: back to Telea
    assert combo.currentData() == "telea"


def test_an_empty_mask_disables_fill_and_says_why(qtbot, studio, message_boxes):
    panel, doc = studio.panel, studio.doc
    assert not panel.fill_button.isEnabled()
    assert panel.fill() is None
    assert studio.messages and "nothing is masked" in studio.messages[-1]
    assert len(doc.history) == 0 and not panel.busy()
    # A faint mask (under half) is not a hole either.
    doc.apply(SetMask((object_mask() // 4).astype(np.uint8)))
    qtbot.waitUntil(panel.fill_button.isEnabled, timeout=2000)
    assert panel.fill() is None and "too faint" in studio.messages[-1]
    # In place on a locked layer: said, not raised.
    doc.apply(SetMask(object_mask()))
    doc.apply(SetLayerProps(doc.layers[0].id, locked=True))
    panel.set_target("layer")
    assert panel.fill() is None and "locked" in studio.messages[-1]
    assert not message_boxes


def test_an_engine_error_is_one_line_in_one_box(qtbot, studio, inpainters, message_boxes):
    panel, doc = studio.panel, studio.doc
    panel.set_models(Registry([inpainters]).entries(usable_only=False))
    (inpainters / "mean" / "model.onnx").unlink()  # the model file went away after the scan
    doc.apply(SetMask(object_mask()))
    panel.fill()
    settle(qtbot, panel)
    assert len(message_boxes) == 1
    title, text = message_boxes.pop()
    assert title == "Inpaint" and "\n" not in text and "Traceback" not in text and "model.onnx" in text
    assert len(doc.layers) == 1 and "Fill failed" in panel.hint.text()


def test_choices_are_kept_for_the_next_session(qtbot, studio, runtime):
    panel = studio.panel
    panel.set_method("ns")
    panel.set_target("layer")
    panel.release_check.setChecked(False)
    panel.clear_check.setChecked(False)
    other = InpaintPanel(lambda: None, studio.canvas, lambda: runtime)
    qtbot.addWidget(other)
    try:
        assert other.method() == ("ns", None) and other.target() == "layer"
        assert not other.release_check.isChecked() and not other.clear_check.isChecked()
        assert not other.fill_button.isEnabled()
    finally:
        other.shutdown()


# -- in the main window ----------------------------------------------------------------------

@pytest.fixture
def window(qtbot, tiny_generator_dir):
    """The main window with the tiny generator and the 'mean' inpainter installed
    side by side, the Inpaint tab in front, the photo open."""
    data = mean_fill_onnx()
    write_model(tiny_generator_dir, "mean", data, inpaint_manifest("mean", data))
    win = MainWindow(Runtime("cpu", threads=1), [tiny_generator_dir])
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(lambda: bool(win.inpaint_panel.models), timeout=20_000)
    assert win.statusBar().currentMessage() == "1 generator and 1 inpaint model found"
    win.files.adopt(Document.from_image(photo(), "photo"), None, "photo.png")
    win.inpaint_dock.raise_()
    win.canvas.setFocus()
    yield win
    win.close()


def test_shortcut_fill_in_place_and_tab_shows_the_image_before_it(qtbot, window):
    win, panel = window, window.inpaint_panel
    doc = win.files.document
    assert panel.method()[1].name == "mean"
    panel.set_target("layer")
    doc.apply(SetMask(object_mask()))
    before = doc.composite()
    qtbot.keyClick(win.canvas, Qt.Key_F, Qt.ControlModifier | Qt.ShiftModifier)
    settle(qtbot, panel)
    after = doc.composite()
    assert doc.undo_text == "Inpaint" and not np.array_equal(after, before)
    np.testing.assert_array_equal(win.canvas.image(), after)

    qtbot.keyPress(win.canvas, Qt.Key_Tab)
    np.testing.assert_array_equal(win.canvas.image(), before)
    qtbot.keyRelease(win.canvas, Qt.Key_Tab)
    np.testing.assert_array_equal(win.canvas.image(), after)

    qtbot.keyClick(win.canvas, Qt.Key_Z, Qt.ControlModifier)
    np.testing.assert_array_equal(doc.composite(), before)
    qtbot.keyPress(win.canvas, Qt.Key_Tab)  # the fill was undone: nothing to compare
    np.testing.assert_array_equal(win.canvas.image(), before)
    qtbot.keyRelease(win.canvas, Qt.Key_Tab)


def test_a_mask_stroke_fills_a_new_layer_that_tab_hides(qtbot, window):
    win, panel = window, window.inpaint_panel
    doc = win.files.document
    panel.set_target("new")
    win.tools.settings.set(size=16, hardness=1.0, opacity=1.0)
    qtbot.keyClick(win.canvas, Qt.Key_M)
    before = doc.composite()
    # With another panel in front the mask is only a mask (the Style panel's selection, say).
    win.dock.raise_()
    qtbot.waitUntil(lambda: not panel.in_view(), timeout=2000)
    drag(qtbot, win.canvas, [(30, 30), (50, 30)])
    settle(qtbot, panel)
    assert len(doc.layers) == 1 and doc.undo_text == "Mask Brush"
    assert doc.undo()
    win.inpaint_dock.raise_()
    qtbot.waitUntil(panel.in_view, timeout=2000)
    drag(qtbot, win.canvas, [(95, 90), (120, 90), (145, 90)])
    settle(qtbot, panel)
    assert [layer.name for layer in doc.layers] == ["photo", "Inpaint (Auto: mean)"]
    qtbot.keyPress(win.canvas, Qt.Key_Tab)
    np.testing.assert_array_equal(win.canvas.image(), before)
    qtbot.keyRelease(win.canvas, Qt.Key_Tab)
    assert not np.array_equal(win.canvas.image(), before)
