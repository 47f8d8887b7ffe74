"""How a result computed off the GUI thread lands in the document."""

from __future__ import annotations

import numpy as np

from studio.core.document import Document
from studio.ui.landing import new_layer_command


def test_a_whole_canvas_result_becomes_the_layer_without_a_copy():
    doc = Document.from_image(np.zeros((32, 48, 3), np.uint8))
    result = np.full((32, 48, 4), 9, np.uint8)
    command, layer_id = new_layer_command(doc, "Styled", doc.rect, result, None, "Stylize")
    doc.apply(command)
    assert doc.layer(layer_id).pixels is result  # 64 MB not copied on the GUI thread at 4096 px


def test_a_part_lands_in_place_on_a_transparent_layer():
    doc = Document.from_image(np.zeros((32, 48, 3), np.uint8))
    part = np.full((10, 20, 4), 200, np.uint8)
    command, layer_id = new_layer_command(doc, "Inpaint", (4, 6, 24, 16), part, {"action": "inpaint"}, "Fill")
    doc.apply(command)
    layer = doc.layer(layer_id)
    np.testing.assert_array_equal(layer.pixels[6:16, 4:24], part)
    assert layer.pixels[..., 3].sum() == 200 * part.shape[0] * part.shape[1]
    assert layer.recipe == {"action": "inpaint"} and doc.active_id == layer_id
