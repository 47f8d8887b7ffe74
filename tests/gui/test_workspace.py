"""The canvas as a workspace, driven with real mouse and key events: strokes
change pixels and undo/redo restore them exactly, mask tools and selection
operations, placing a generated frame as a layer with its recipe, Tab to
compare, projects saved and reopened with identical pixels, and the question
before unsaved work is closed."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QAbstractSlider, QLineEdit

from studio.core.commands import SetLayerProps, SetMask
from studio.core.document import Document
from studio.core.project import load_project
from studio.ui.latent_panel import SLIDER_STEPS
from studio.ui.style_picker import ImageStyle
from main_window_factory import open_window
from test_exports import walk_with_keys


def to_view(win, x: float, y: float) -> QPoint:
    """Viewport position of document point (x, y)."""
    return win.canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, win, points, modifier=Qt.NoModifier) -> None:
    viewport = win.canvas.viewport()
    first, *rest = [to_view(win, x, y) for x, y in points]
    qtbot.mousePress(viewport, Qt.LeftButton, modifier, first)
    for point in rest:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.LeftButton, modifier, rest[-1] if rest else first)


@pytest.fixture
def painting(window):
    """The window with a 200 x 150 white document, fitted."""
    image = np.full((150, 200, 4), 255, np.uint8)
    window.files.adopt(Document.from_image(image, "white"), None, "white.png")
    window.canvas.setFocus()
    return window


def key(qtbot, win, sequence: str) -> None:
    from PySide6.QtGui import QKeySequence

    combo = QKeySequence(sequence)[0]
    qtbot.keyClick(win.canvas, combo.key(), combo.keyboardModifiers())


def test_a_stroke_paints_and_undo_redo_restore_it_exactly(qtbot, painting):
    win, doc = painting, painting.files.document
    before = doc.layers[0].pixels.copy()
    win.tools.settings.set(colour=(200, 20, 30), size=12, hardness=1.0, opacity=1.0)
    key(qtbot, win, "B")
    drag(qtbot, win, [(40, 40), (80, 60), (120, 80)])
    after = doc.layers[0].pixels.copy()
    changed = np.any(after != before, axis=2)
    assert changed.sum() > 300
    assert tuple(after[60, 80]) == (200, 20, 30, 255)  # on the path, full colour
    assert doc.modified and "*" in win.windowTitle()
    key(qtbot, win, "Ctrl+Z")
    np.testing.assert_array_equal(doc.layers[0].pixels, before)
    assert not doc.modified
    key(qtbot, win, "Ctrl+Shift+Z")
    np.testing.assert_array_equal(doc.layers[0].pixels, after)
    # What the canvas shows follows the document.
    np.testing.assert_array_equal(win.canvas.image(), doc.composite())


def test_eraser_toggle_and_brush_size_keys(qtbot, painting):
    win, doc = painting, painting.files.document
    win.tools.settings.set(size=20)
    key(qtbot, win, "E")
    assert win.tools.current == "eraser"
    key(qtbot, win, "]")
    assert win.tools.settings.size == 25
    key(qtbot, win, "[")
    assert win.tools.settings.size == 20
    drag(qtbot, win, [(100, 75), (110, 75)])
    assert doc.layers[0].pixels[75, 105, 3] == 0  # erased to transparent
    key(qtbot, win, "E")
    assert win.tools.current == "brush"


def test_mask_brush_rectangle_and_selection_operations(qtbot, painting):
    win, doc = painting, painting.files.document
    win.tools.settings.set(size=10, hardness=1.0, opacity=1.0)
    key(qtbot, win, "M")
    drag(qtbot, win, [(20, 20), (60, 20)])
    assert doc.mask[20, 40] == 255 and doc.mask[100, 100] == 0
    key(qtbot, win, "Ctrl+Z")
    assert not doc.mask.any()

    key(qtbot, win, "Ctrl+R")
    drag(qtbot, win, [(50, 40), (90, 70), (150, 110)])
    assert doc.mask[40:110, 50:150].all() and doc.mask.sum() == 100 * 70 * 255
    key(qtbot, win, "Ctrl+I")
    assert doc.mask[0, 0] == 255 and doc.mask[60, 60] == 0
    key(qtbot, win, "Ctrl+I")
    key(qtbot, win, "Ctrl+Shift+A")
    assert not doc.mask.any()
    key(qtbot, win, "Ctrl+Z")
    assert doc.mask[60, 60] == 255

    win.actions_.crop_action.trigger()
    assert (doc.width, doc.height) == (100, 70)
    assert win.canvas.image().shape[:2] == (70, 100)
    key(qtbot, win, "Ctrl+Z")
    assert (doc.width, doc.height) == (200, 150)


def test_a_locked_layer_refuses_the_brush_with_a_message(qtbot, painting):
    win, doc = painting, painting.files.document
    win.layers_panel.lock_button.click()
    assert doc.layers[0].locked
    before = doc.layers[0].pixels.copy()
    key(qtbot, win, "B")
    drag(qtbot, win, [(40, 40), (80, 40)])
    np.testing.assert_array_equal(doc.layers[0].pixels, before)
    assert "locked" in win.statusBar().currentMessage()


def test_layers_panel_adds_hides_and_reorders_undoably(qtbot, painting):
    win, doc = painting, painting.files.document
    win.layers_panel.add_button.click()
    assert len(doc.layers) == 2 and doc.active_id == doc.layers[1].id
    assert win.layers_panel.list.count() == 2
    win.tools.settings.set(colour=(0, 0, 255), size=8)
    key(qtbot, win, "B")
    drag(qtbot, win, [(30, 30), (60, 30)])
    assert doc.layers[0].pixels[30, 45, 2] == 255 and doc.layers[1].pixels[30, 45, 3] == 255
    win.layers_panel.visible_button.click()  # hide the new layer
    assert tuple(win.canvas.image()[30, 45]) == (255, 255, 255, 255)
    key(qtbot, win, "Ctrl+Z")
    assert tuple(win.canvas.image()[30, 45]) == (0, 0, 255, 255)
    win.layers_panel.down_button.click()
    assert doc.layers[0].name == "Layer 2"
    win.layers_panel.blend_combo.setCurrentIndex(1)
    win.layers_panel.blend_combo.activated.emit(1)
    assert doc.layers[0].blend == "multiply"


def test_a_generated_frame_lands_as_a_layer_with_its_recipe(qtbot, painting, wait_frame):
    win, doc = painting, painting.files.document
    seeds = walk_with_keys(qtbot, win, 3)
    wait_frame(win)
    assert win.canvas.has_preview()
    # The frame floats over the document only while the Latent panel is in front:
    # a mask painted for the Inpaint panel must not show a generated picture.
    win.inpaint_dock.raise_()
    qtbot.waitUntil(lambda: not win.canvas.has_preview(), timeout=5_000)
    win.dock.raise_()
    qtbot.waitUntil(win.canvas.has_preview, timeout=5_000)
    key(qtbot, win, "Ctrl+R")
    drag(qtbot, win, [(20, 30), (100, 90)])
    win.actions_.place_action.trigger()
    assert len(doc.layers) == 2 and not win.canvas.has_preview()
    layer = doc.layers[1]
    assert layer.recipe["model"]["name"] == "tiny" and layer.recipe["seeds"] == seeds
    # The square frame fits inside the 80 x 60 box, centred, its aspect kept: 60 x 60 at x 30..90.
    alpha = layer.pixels[..., 3]
    assert alpha[30:90, 30:90].all() and not alpha[:30].any() and not alpha[:, 90:].any() and not alpha[:, :30].any()
    # Hold Tab: the image without the generated layer.
    qtbot.keyPress(win.canvas, Qt.Key_Tab)
    np.testing.assert_array_equal(win.canvas.image(), doc.composite_without(layer.id))
    qtbot.keyRelease(win.canvas, Qt.Key_Tab)
    np.testing.assert_array_equal(win.canvas.image(), doc.composite())
    key(qtbot, win, "Ctrl+Z")
    assert len(doc.layers) == 1


def test_project_round_trip_keeps_every_pixel(qtbot, painting, tmp_path, monkeypatch):
    win, doc = painting, painting.files.document
    win.tools.settings.set(colour=(10, 200, 90), size=9, opacity=0.5, hardness=0.3)
    key(qtbot, win, "B")
    drag(qtbot, win, [(10, 10), (150, 100)])
    win.layers_panel.add_button.click()
    key(qtbot, win, "M")
    drag(qtbot, win, [(60, 60), (90, 60)])
    target = tmp_path / "work.studio"
    monkeypatch.setattr("studio.ui.document_files.QFileDialog.getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    key(qtbot, win, "Ctrl+S")
    qtbot.waitUntil(lambda: not doc.modified, timeout=10_000)
    assert win.files.path == target and "*" not in win.windowTitle()
    again = load_project(target)
    assert [l.name for l in again.layers] == [l.name for l in doc.layers]
    for a, b in zip(again.layers, doc.layers):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    np.testing.assert_array_equal(again.mask, doc.mask)

    # Opened in the window (as `studio FILE.studio` does), it shows the same image.
    win.files.adopt(None)
    win.open_file(target)
    qtbot.waitUntil(lambda: win.files.document is not None, timeout=10_000)
    np.testing.assert_array_equal(win.canvas.image(), doc.composite())


def test_closing_with_unsaved_changes_asks(qtbot, painting, questions):
    win = painting
    key(qtbot, win, "B")
    drag(qtbot, win, [(40, 40), (50, 40)])
    from PySide6.QtWidgets import QMessageBox

    questions["answer"] = QMessageBox.Cancel
    win.close()
    assert win.isVisible() and questions["asked"][0][0] == "Unsaved Changes"
    questions["answer"] = QMessageBox.Discard
    win.close()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=5_000)


def test_export_dialog_writes_the_selection_scaled(qtbot, painting, tmp_path, monkeypatch):
    from studio.core.imageio import load_image
    from studio.ui.export_dialog import ExportDialog

    win = painting
    key(qtbot, win, "Ctrl+R")
    drag(qtbot, win, [(10, 20), (110, 70)])
    target = tmp_path / "crop.png"

    def accept(dialog):
        dialog.path_edit.setText(str(target))
        dialog.mask_radio.setChecked(True)
        dialog.scale_spin.setValue(50)
        return 1

    monkeypatch.setattr(ExportDialog, "exec", accept)
    key(qtbot, win, "Ctrl+Shift+E")
    qtbot.waitUntil(target.exists, timeout=10_000)
    assert load_image(target).shape == (25, 50, 4)


def test_pen_pressure_sets_the_brush_width(qtbot, painting):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    win, doc = painting, painting.files.document
    win.tools.settings.set(colour=(0, 0, 0), size=20, hardness=1.0)
    key(qtbot, win, "B")
    pen = QPointingDevice.primaryPointingDevice()

    def pen_stroke(y: float, pressure: float) -> int:
        viewport = win.canvas.viewport()
        for kind, x in ((QEvent.TabletPress, 40), (QEvent.TabletMove, 100), (QEvent.TabletRelease, 160)):
            pos = QPointF(to_view(win, x, y))
            buttons = Qt.NoButton if kind == QEvent.TabletRelease else Qt.LeftButton
            event = QTabletEvent(kind, pen, pos, viewport.mapToGlobal(pos), pressure, 0, 0, 0, 0, 0,
                                 Qt.NoModifier, Qt.LeftButton, buttons)
            QApplication.sendEvent(viewport, event)
        return int((doc.layers[0].pixels[:, 100, 0] < 128).sum())  # painted rows across the stroke

    light = pen_stroke(40, 0.25)
    heavy = pen_stroke(110, 1.0) - light
    assert 3 <= light <= 7 and 18 <= heavy <= 22  # 5 px and 20 px wide
    key(qtbot, win, "Ctrl+Z")
    key(qtbot, win, "Ctrl+Z")
    assert (doc.layers[0].pixels == 255).all()


def test_an_image_dropped_on_the_window_becomes_a_layer(qtbot, painting, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    from studio.core.imageio import save_image

    win, doc = painting, painting.files.document
    picture = tmp_path / "red.png"
    save_image(picture, np.full((400, 100, 4), (255, 0, 0, 255), np.uint8))
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(picture))])
    event = QDropEvent(QPointF(300, 300), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    win.dropEvent(event)  # sendEvent drops only during a real drag (Qt's drag manager checks)
    qtbot.waitUntil(lambda: len(doc.layers) == 2, timeout=10_000)
    layer = doc.layers[1]
    assert layer.name == "red"
    ys, xs = np.nonzero(layer.pixels[..., 3])
    assert ys.max() - ys.min() + 1 == 150  # scaled down to fit the 150 px canvas, aspect kept
    assert abs((xs.max() - xs.min() + 1) - 38) <= 1


def test_paste_puts_the_clipboard_image_on_a_layer(qtbot, painting):
    from PySide6.QtGui import QGuiApplication

    from studio.ui.qimage import qimage_from_array

    win, doc = painting, painting.files.document
    QGuiApplication.clipboard().setImage(qimage_from_array(np.full((20, 30, 4), (0, 0, 255, 255), np.uint8)))
    key(qtbot, win, "Ctrl+V")
    assert len(doc.layers) == 2 and doc.layers[1].name == "Pasted"
    assert tuple(doc.composite()[75, 100]) == (0, 0, 255, 255)


def test_the_window_autosaves_and_a_crashed_session_comes_back(qtbot, painting, monkeypatch, tmp_path):
    import subprocess
    import sys

    from studio.core import recovery
    from studio.ui.autosave import RecoveryDialog

    win, doc = painting, painting.files.document
    win.autosaver.set_interval(0.05)
    key(qtbot, win, "B")
    drag(qtbot, win, [(40, 40), (90, 40)])
    slot = recovery.autosave_path(win.autosaver.session_id)
    qtbot.waitUntil(lambda: slot.exists() and win.autosaver.written_revision == doc.revision, timeout=10_000)

    # A session whose process is gone (as after kill -9) left this document behind.
    from studio.core.project import save_project

    save_project(doc, tmp_path / "state.studio")
    child = subprocess.run([sys.executable, "-c", "import sys\n"
                            "from studio.core import project, recovery\n"
                            "doc = project.load_project(sys.argv[1])\n"
                            "recovery.write_autosave(doc, recovery.new_session_id(), None, 'white.png')",
                            str(tmp_path / "state.studio")], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    painted = doc.layers[0].pixels.copy()
    win.files.adopt(None)
    monkeypatch.setattr(RecoveryDialog, "exec", lambda self: RecoveryDialog.RECOVER)
    win.recover_autosaves()
    back = win.files.document
    np.testing.assert_array_equal(back.layers[0].pixels, painted)
    assert back.modified and win.windowTitle().startswith("white.png*")
    assert not recovery.find_orphans()  # not offered twice


def test_move_tool_and_selection_menu_operations(qtbot, painting, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    win, doc = painting, painting.files.document
    win.layers_panel.add_button.click()
    win.tools.settings.set(colour=(0, 0, 0), size=10, hardness=1.0)
    key(qtbot, win, "B")
    drag(qtbot, win, [(50, 50), (50, 50)])
    key(qtbot, win, "V")
    drag(qtbot, win, [(50, 50), (70, 60), (90, 80)])
    ink = doc.layers[1].pixels[..., 3]
    assert ink[80, 90] == 255 and ink[50, 50] == 0  # moved by (40, 30)
    key(qtbot, win, "Ctrl+Z")
    assert doc.layers[1].pixels[50, 50, 3] == 255

    key(qtbot, win, "Ctrl+R")
    drag(qtbot, win, [(60, 60), (80, 80)])
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (5, True)))
    win.actions_.grow_action.trigger()
    assert doc.mask[56, 70] == 255 and doc.mask[54, 70] == 0  # 20 px square grown by 5 px
    win.actions_.shrink_action.trigger()
    win.actions_.feather_action.trigger()
    assert 0 < doc.mask[60, 70] < 255  # a soft edge where the hard one was
    assert doc.undo_text == "Feather Selection"


def test_a_hostile_project_is_refused_with_one_line(qtbot, painting, tmp_path, message_boxes):
    import zipfile

    win, doc = painting, painting.files.document
    bomb = tmp_path / "evil.studio"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("manifest.json", '{"format": "latent-studio/project@1", "width": 4, "height": 4, '
                                     '"layers": [{"name": "x", "file": "../../etc/passwd"}]}')
    before = bomb.read_bytes()
    win.open_file(bomb)
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert title == "Open" and "evil.studio" in text and "\n" not in text
    assert win.files.document is doc and bomb.read_bytes() == before  # nothing replaced, nothing written


def test_lasso_selects_and_a_frame_replaces_pixels_inside_it(qtbot, painting, wait_frame):
    win, doc = painting, painting.files.document
    key(qtbot, win, "L")
    drag(qtbot, win, [(20, 20), (120, 20), (120, 100), (20, 100), (20, 21)])
    assert doc.mask[60, 70] == 255 and doc.mask[10, 10] == 0 and doc.mask[110, 130] == 0
    walk_with_keys(qtbot, win, 5)
    wait_frame(win)
    before = doc.layers[0].pixels.copy()
    win.actions_.replace_action.trigger()
    after = doc.layers[0].pixels
    changed = np.any(after != before, axis=2)
    assert changed[25:95, 25:115].mean() > 0.5 and not changed[:15].any() and not changed[:, 125:].any()
    assert doc.layers[0].recipe["model"]["name"] == "tiny" and len(doc.layers) == 1
    key(qtbot, win, "Ctrl+Z")
    np.testing.assert_array_equal(doc.layers[0].pixels, before)
    assert doc.layers[0].recipe is None  # one step: pixels and recipe together


def test_the_frame_floats_over_a_picture_only_after_the_artist_walks(qtbot, window, wait_frame):
    """Opening a picture, or a model arriving (a training run's export), puts
    no generated frame over it; picking a sample or moving the walk does."""
    qtbot.mouseClick(window.panel.grid.buttons[1], Qt.LeftButton)
    wait_frame(window)
    background = np.zeros((30, 50, 4), np.uint8)
    background[..., 3] = 255
    window.files.adopt(Document.from_image(background, "photo"), None, "photo.png")
    window.panel.refresh()  # a frame rendered again, as after a rescan or a device change
    wait_frame(window)
    assert not window.canvas.has_preview()
    window.panel.position_slider.triggerAction(QAbstractSlider.SliderToMinimum)
    qtbot.waitUntil(window.canvas.has_preview, timeout=5_000)
    window.files.document.mark_saved()


def test_image_flip_and_rotate_from_the_menu_with_exact_undo(qtbot, painting):
    win, doc = painting, painting.files.document
    before = doc.composite().copy()
    actions = {a.text(): a for a in win.actions_.transform_actions}
    actions["Rotate 90° Clockwise"].trigger()
    np.testing.assert_array_equal(doc.composite(), np.rot90(before, -1))
    actions["Flip Horizontally"].trigger()
    np.testing.assert_array_equal(doc.composite(), np.rot90(before, -1)[:, ::-1])
    assert "Flip Horizontally" in win.actions_.undo_action.text()
    win.actions_.undo_action.trigger()
    win.actions_.undo_action.trigger()
    np.testing.assert_array_equal(doc.composite(), before)


def test_layer_duplicate_merge_down_flatten_and_rename_with_exact_undo(qtbot, painting, message_boxes):
    win, doc = painting, painting.files.document
    panel = win.layers_panel
    menu = {a.text().replace("&", ""): a for a in win.findChildren(type(win.actions_.place_action))}
    shown = doc.composite().copy()
    bottom = doc.layers[0]
    menu["Duplicate Layer"].trigger()
    assert [l.name for l in doc.layers][-1] == f"{bottom.name} copy" and doc.active_id == doc.layers[-1].id
    np.testing.assert_array_equal(doc.layers[-1].pixels, bottom.pixels)
    doc.apply(SetLayerProps(doc.active_id, opacity=0.5))
    menu["Merge Down"].trigger()
    assert len(doc.layers) == 1 and doc.undo_text == "Merge Down"
    np.testing.assert_array_equal(doc.composite(), shown)  # an opaque copy over itself looks the same
    win.actions_.undo_action.trigger()
    assert len(doc.layers) == 2
    menu["Flatten Image"].trigger()
    assert [l.name for l in doc.layers] == ["Flattened"]
    np.testing.assert_array_equal(doc.composite(), shown)
    win.actions_.undo_action.trigger()
    assert len(doc.layers) == 2
    doc.active_id = doc.layers[0].id
    panel.sync()
    menu["Merge Down"].trigger()  # the bottom layer: nothing below
    assert message_boxes.pop() == ("Merge Down", f"'{bottom.name}' is the bottom layer: there is nothing below to "
                                                 "merge it into")
    menu["Rename Layer"].trigger()
    editor = panel.list.findChild(QLineEdit)
    assert editor is not None
    editor.setText("Sky")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: doc.layers[0].name == "Sky", timeout=5_000)  # the delegate commits on the next loop
    assert doc.undo_text == "Rename Layer"


def test_cut_copy_and_paste_with_the_system_clipboard(qtbot, painting, message_boxes):
    from PySide6.QtGui import QGuiApplication

    from studio.core import mask as masks
    from studio.ui.qimage import array_from_qimage

    win, doc = painting, painting.files.document
    layer = doc.active
    original = layer.pixels.copy()
    doc.apply(SetMask(masks.rectangle(doc.width, doc.height, (10, 20, 40, 50)), "Select"))
    win.actions_.copy_action.trigger()
    copied = array_from_qimage(QGuiApplication.clipboard().image())
    np.testing.assert_array_equal(copied, original[20:50, 10:40])
    win.actions_.cut_action.trigger()
    assert not layer.pixels[20:50, 10:40, 3].any() and layer.pixels[:20, :, 3].all()
    win.actions_.paste_action.trigger()  # our own copy lands where it came from
    pasted = doc.layers[-1]
    np.testing.assert_array_equal(pasted.pixels[20:50, 10:40], original[20:50, 10:40])
    np.testing.assert_array_equal(doc.composite(), Document.from_image(original).composite())
    for _ in range(2):
        win.actions_.undo_action.trigger()
    np.testing.assert_array_equal(layer.pixels, original)
    # Nothing selected on an empty layer: one message, nothing copied.
    win.layers_panel.add_layer()
    doc.apply(SetMask(np.zeros_like(doc.mask), "Deselect"))
    win.actions_.copy_action.trigger()
    title, text = message_boxes.pop()
    assert title == "Copy" and "has nothing on it to copy" in text


def test_a_project_keeps_the_latent_walk_and_the_style_settings(qtbot, painting, tmp_path, monkeypatch, wait_frame,
                                                                 tiny_generator_dir, message_boxes):
    win = painting
    seeds = walk_with_keys(qtbot, win, 2, 6)
    win.panel.mode_combo.setCurrentText("lerp")
    win.panel.truncation_slider.setValue(60)
    win.panel.position_slider.setValue(SLIDER_STEPS // 4)
    shown = wait_frame(win)
    win.style_panel.picker.set_blend({3: 40, 12: 100})
    win.style_panel.strength_slider.setValue(70)
    rng = np.random.default_rng(5)
    pictures = [ImageStyle(name, rng.integers(0, 256, (60, 96, 4), dtype=np.uint8),
                           rng.standard_normal(100).astype(np.float32)) for name in ("waves.jpg", "Layer 2")]
    win.style_panel.slot_a.set_style(pictures[0])
    win.style_panel.slot_b.set_style(pictures[1])
    win.style_panel.mix_slider.setValue(30)
    win.style_panel.tabs.setCurrentIndex(1)
    target = tmp_path / "walked.studio"
    monkeypatch.setattr("studio.ui.document_files.QFileDialog.getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    key(qtbot, win, "Ctrl+S")
    qtbot.waitUntil(lambda: win.files.path == target, timeout=10_000)
    assert load_project(target).workspace["latent"]["seeds"] == seeds
    # This window previewed the styles as they were set, and it has no style network to do it with
    # (tests/gui/test_style_panel.py has them): its messages. The reopened window must ask for no preview.
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    assert {box[0] for box in message_boxes} == {"Style Preview"}
    message_boxes.clear()

    again = open_window(qtbot, tiny_generator_dir)
    again.open_file(target)
    qtbot.waitUntil(lambda: again.panel.walk.keyframes == seeds, timeout=10_000)
    walk = again.panel.walk
    assert (walk.mode, walk.truncation, walk.position) == ("lerp", 0.6, 0.25)
    qtbot.waitUntil(lambda: again.panel.last_frame is not None and again.worker.is_idle(), timeout=10_000)
    np.testing.assert_array_equal(again.panel.last_frame.images[0], shown)
    assert not again.canvas.has_preview()  # the walk is back; it floats over the picture when asked
    assert again.style_panel.picker.blend() == ((3, 40.0), (12, 100.0))
    assert again.style_panel.strength_slider.value() == 70 and again.style_panel.strength_label.text() == "70%"
    for slot, picture in zip((again.style_panel.slot_a, again.style_panel.slot_b), pictures):
        assert slot.style_.name == picture.name and np.array_equal(slot.style_.vector, picture.vector)
        assert np.array_equal(slot.style_.thumbnail, picture.thumbnail)
    assert again.style_panel.mix_slider.value() == 30 and again.style_panel.mix_label.text() == "30% B"
    assert again.style_panel.tabs.currentIndex() == 1
    again.files.document.mark_saved()
    again.close()


@pytest.mark.parametrize("kept", [None, [], {"name": 3}, {"name": "x", "vector": "f32:!!", "thumbnail": ""},
                                  {"name": "x", "vector": "f32:AADAfw==", "thumbnail": ""},  # nan
                                  {"name": "x", "vector": "f32:AACAPw==", "thumbnail": "bm90IGEgcG5n"}])
def test_a_kept_picture_style_that_is_not_one_is_dropped(kept):
    assert ImageStyle.from_json(kept) is None


def test_a_frame_from_a_generator_that_draws_alpha_lands_with_its_transparency(qtbot, tmp_path, wait_frame):
    from model_factory import generator_manifest, tiny_generator_onnx, write_model

    onnx_bytes = tiny_generator_onnx(channels=4)
    write_model(tmp_path / "alpha-models", "cutout", onnx_bytes, generator_manifest("cutout", onnx_bytes, channels=4))
    win = open_window(qtbot, tmp_path / "alpha-models")
    win.files.adopt(Document.from_image(np.full((150, 200, 4), 255, np.uint8), "white"), None, "white.png")
    win.canvas.setFocus()
    walk_with_keys(qtbot, win, 2)
    wait_frame(win)
    win.actions_.place_action.trigger()
    layer = win.files.document.layers[1]
    # The tiny model's alpha is tanh of a random map: part of the figure is see-through, not a box.
    alpha = layer.pixels[..., 3][layer.pixels[..., 3] > 0]
    assert alpha.size and alpha.min() < 200 and (alpha < 255).mean() > 0.2
