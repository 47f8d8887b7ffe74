"""Image > Adjust in the window: the live preview follows the sliders, OK is
one undo step, Cancel changes nothing."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from studio.core.adjustments import Adjustment
from studio.core.document import Document


def open_photo(window) -> Document:
    photo = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    doc = Document.from_image(photo, "photo")
    window.files.adopt(doc, None, "photo.png")
    return doc


def drive(qtbot, window, kind: str, values: dict, accept: bool) -> list:
    """Open the `kind` dialog, move its sliders, wait for the canvas to show
    the preview, then OK or Cancel; returns what the canvas showed."""
    shown = []

    def in_dialog():
        dialog = window.adjustments.dialog
        dialog.set_values(**values)
        qtbot.waitUntil(lambda: dialog.settled() and window.canvas.has_preview(), timeout=10_000)
        shown.append(window.canvas.image())
        dialog.accept() if accept else dialog.reject()

    QTimer.singleShot(0, in_dialog)
    action = next(a for a in window.adjustments.actions if a.text().startswith({
        "levels": "Levels", "hue-saturation": "Hue", "brightness-contrast": "Brightness"}[kind]))
    action.trigger()
    return shown


def test_ok_lands_what_the_preview_showed_as_one_undo_step(qtbot, window, message_boxes):
    doc = open_photo(window)
    before = doc.layers[0].pixels.copy()
    shown = drive(qtbot, window, "levels", {"black": 40, "white": 210, "gamma": 1.4}, accept=True)
    expected = Adjustment.of("levels", black=40, white=210, gamma=1.4).apply(before)
    np.testing.assert_array_equal(shown[0], expected)  # the preview is the result
    qtbot.waitUntil(lambda: doc.history.state != 0, timeout=10_000)
    np.testing.assert_array_equal(doc.layers[0].pixels, expected)
    assert not window.canvas.has_preview() and doc.undo_text == "Levels"
    doc.undo()
    np.testing.assert_array_equal(doc.layers[0].pixels, before)
    assert not message_boxes


def test_cancel_changes_nothing(qtbot, window):
    doc = open_photo(window)
    before = doc.layers[0].pixels.copy()
    drive(qtbot, window, "hue-saturation", {"hue": 90, "saturation": 40}, accept=False)
    qtbot.wait(200)
    np.testing.assert_array_equal(doc.layers[0].pixels, before)
    assert doc.history.state == 0 and not window.canvas.has_preview()
