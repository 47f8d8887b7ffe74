"""The canvas: crisp pixels, zoom around the cursor, pan, fit, checkerboard."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.core import mask as masks
from studio.core.commands import PixelEdit, SetMask
from studio.core.document import Document
from studio.ui import canvas_view
from studio.ui.canvas_view import IMMEDIATE_PX, CanvasView
from studio.ui.qimage import array_from_qimage


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(420, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def show(view: CanvasView, image: np.ndarray) -> None:
    view.set_document(Document.from_image(image))


def image_on_screen(view: CanvasView) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The viewport as RGBA pixels, and the image's (left, top, width, height) on it."""
    grabbed = array_from_qimage(view.viewport().grab().toImage())
    rect = view.mapFromScene(view._item.boundingRect()).boundingRect()
    return grabbed, (rect.left(), rect.top(), rect.width(), rect.height())


def test_fit_snaps_to_a_whole_scale_with_hard_pixels(canvas):
    image = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    show(canvas, image)
    zoom = canvas.zoom
    assert zoom == int(300 / 8 * 0.92)  # 34: whole number, fits the height with a margin
    grabbed, (left, top, _, _) = image_on_screen(canvas)
    z = int(zoom)
    for y in range(8):
        for x in range(8):
            block = grabbed[top + y * z + 1: top + (y + 1) * z - 1, left + x * z + 1: left + (x + 1) * z - 1, :3]
            # Nearest-neighbour: every screen pixel of an image pixel has its exact colour.
            assert (block == image[y, x]).all(), (y, x)


def wheel(canvas: CanvasView, cursor: QPointF, modifiers=Qt.NoModifier) -> None:
    event = QWheelEvent(cursor, canvas.viewport().mapToGlobal(cursor), QPoint(), QPoint(0, 120),
                        Qt.NoButton, modifiers, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)


def test_ctrl_wheel_zooms_around_the_cursor(canvas):
    show(canvas, np.zeros((64, 64, 3), np.uint8))
    cursor = QPointF(300, 80)
    before_scene = canvas.mapToScene(cursor.toPoint())
    zoom = canvas.zoom
    wheel(canvas, cursor, Qt.ControlModifier)
    assert canvas.zoom == pytest.approx(zoom * 1.25)
    after_scene = canvas.mapToScene(cursor.toPoint())
    assert abs(after_scene.x() - before_scene.x()) <= 2 / canvas.zoom
    assert abs(after_scene.y() - before_scene.y()) <= 2 / canvas.zoom


def test_the_wheel_alone_scrolls(canvas):
    show(canvas, np.zeros((64, 64, 3), np.uint8))
    zoom, centre = canvas.zoom, canvas.viewport().rect().center()
    before = canvas.mapToScene(centre)
    wheel(canvas, QPointF(100, 100))  # one notch up: the image moves down
    after = canvas.mapToScene(centre)
    assert canvas.zoom == zoom
    assert (before.y() - after.y()) * zoom == pytest.approx(60, abs=1)


def test_actual_size_and_fit(canvas):
    show(canvas, np.zeros((64, 64, 3), np.uint8))
    canvas.actual_size()
    assert canvas.zoom == 1.0
    canvas.fit()
    assert canvas.zoom == 4.0  # floor(300 / 64 * 0.92)


@pytest.mark.parametrize("how", ["middle", "space"])
def test_drag_pans(qtbot, canvas, how):
    show(canvas, np.zeros((64, 64, 3), np.uint8))
    centre = canvas.viewport().rect().center()
    before = canvas.mapToScene(centre)
    button = Qt.MiddleButton
    if how == "space":
        qtbot.keyPress(canvas, Qt.Key_Space)
        button = Qt.LeftButton
    qtbot.mousePress(canvas.viewport(), button, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas.viewport(), QPoint(140, 120))
    qtbot.mouseRelease(canvas.viewport(), button, pos=QPoint(140, 120))
    if how == "space":
        qtbot.keyRelease(canvas, Qt.Key_Space)
    after = canvas.mapToScene(centre)
    assert (after.x() - before.x()) * canvas.zoom == pytest.approx(-40, abs=1)
    assert (after.y() - before.y()) * canvas.zoom == pytest.approx(-20, abs=1)


def test_checkerboard_shows_under_transparency(canvas):
    show(canvas, np.zeros((16, 16, 4), np.uint8))  # fully transparent
    grabbed, (left, top, width, height) = image_on_screen(canvas)
    inside = grabbed[top + 2: top + height - 2, left + 2: left + width - 2, :3]
    greys = {tuple(c) for c in inside.reshape(-1, 3)}
    assert len(greys) == 2  # light and dark squares
    assert grabbed[2, 2, :3].tolist() not in [list(g) for g in greys]  # background outside differs


def test_empty_canvas_shows_a_hint_and_no_image(canvas):
    assert canvas.image() is None
    canvas.set_document(Document.from_image(np.zeros((4, 4, 3), np.uint8)))
    canvas.set_document(None)
    assert canvas.image() is None


def test_a_big_change_is_drawn_a_tile_at_a_time_between_events(canvas, qtbot, monkeypatch):
    monkeypatch.setattr(canvas_view, "DRAW_BUDGET_S", 0.0)  # one tile per turn of the event loop
    image = np.random.default_rng(3).integers(0, 256, (600, 700, 3), dtype=np.uint8)
    assert 600 * 700 > IMMEDIATE_PX
    doc = Document.from_image(image)
    canvas.set_document(doc)
    assert canvas.is_drawing_behind()  # nothing blended yet: the window answers first
    qtbot.waitUntil(lambda: not canvas.is_drawing_behind(), timeout=10_000)
    np.testing.assert_array_equal(array_from_qimage(canvas._item._image), doc.composite())

    layer = doc.layers[0]  # a dab is drawn at once
    doc.apply(PixelEdit(layer.id, (10, 20, 14, 24), layer.pixels[20:24, 10:14].copy(),
                        np.full((4, 4, 4), 7, np.uint8)))
    assert not canvas.is_drawing_behind()
    np.testing.assert_array_equal(array_from_qimage(canvas._item._image)[20:24, 10:14], np.full((4, 4, 4), 7))


def test_the_selection_film_goes_where_the_selection_goes(canvas):
    doc = Document.from_image(np.zeros((64, 64, 3), np.uint8))
    canvas.set_document(doc)
    doc.apply(SetMask(masks.rectangle(64, 64, (8, 8, 40, 40))))
    film = array_from_qimage(canvas._mask_item._image)[..., 3]
    assert film[20, 20] > 0 and film[50, 50] == 0
    doc.apply(SetMask(np.zeros((64, 64), np.uint8)))
    assert not array_from_qimage(canvas._mask_item._image)[..., 3].any()


def test_a_new_picture_of_the_same_size_is_shown_not_the_cached_old_one(canvas):
    # The picture is drawn from a cache at the view's scale; a walk frame
    # replacing one of the same size, or a dab, must reach the screen.
    red, blue = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    for frame in (red, blue):
        canvas.set_preview(frame)
        grabbed, (left, top, width, height) = image_on_screen(canvas)
        assert (grabbed[top + height // 2, left + width // 2, :3] == frame[16, 16]).all()
    canvas.set_preview(None)
    show(canvas, red)
    canvas._item.patch(np.full((8, 8, 4), 255, np.uint8), 12, 12)
    grabbed, (left, top, width, height) = image_on_screen(canvas)
    assert (grabbed[top + height // 2, left + width // 2, :3] == 255).all()


def test_a_picture_drawn_tile_by_tile_at_a_fractional_zoom_has_no_seams(canvas, qtbot):
    # Each tile redraws its part of the cached picture; at 1/3 scale a tile's
    # edge falls inside a screen pixel, which must still be fully covered.
    grey = np.full((1500, 2100, 3), 150, np.uint8)
    show(canvas, grey)
    qtbot.waitUntil(lambda: not canvas.is_drawing_behind(), timeout=10_000)
    assert canvas.zoom % 1  # the view is at a fractional zoom
    grabbed, (left, top, width, height) = image_on_screen(canvas)
    inside = grabbed[top + 2:top + height - 2, left + 2:left + width - 2, :3].astype(int)
    assert np.abs(inside - 150).max() <= 1
