"""core/clipboard_edits.py: what a copy takes, what a cut leaves, where a paste lands."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.clipboard_edits import copied_region, cut_command, paste_origin
from studio.core.document import Document, DocumentError


def _doc() -> Document:
    pixels = np.full((20, 30, 4), 200, np.uint8)
    return Document.from_image(pixels, "paper")


def test_a_soft_selection_is_copied_and_cut_as_far_as_it_selects():
    doc = _doc()
    doc.mask[5:10, 8:12] = 128  # half selected
    pixels, rect = copied_region(doc)
    assert rect == (8, 5, 12, 10) and pixels.shape == (5, 4, 4) and (pixels[..., 3] == 100).all()
    doc.apply(cut_command(doc, rect))
    assert (doc.layers[0].pixels[5:10, 8:12, 3] == 99).all() and (doc.layers[0].pixels[:5, :, 3] == 200).all()
    assert doc.undo() and (doc.layers[0].pixels[..., 3] == 200).all()


def test_without_a_selection_the_whole_layer_and_nothing_to_copy_is_an_error():
    doc = _doc()
    doc.layers[0].pixels[..., 3] = 0
    doc.layers[0].pixels[2:4, 3:6, 3] = 255
    pixels, rect = copied_region(doc)
    assert rect == (3, 2, 6, 4)
    doc.apply(cut_command(doc, rect))
    assert not doc.layers[0].pixels[..., 3].any()
    with pytest.raises(DocumentError, match="nothing on it"):
        copied_region(doc)


def test_paste_lands_where_it_came_from_at_the_selection_or_centred_on_the_canvas():
    doc = _doc()
    assert paste_origin(doc, 10, 6, (4, 3)) == (4, 3)
    assert paste_origin(doc, 10, 6, (25, 18)) == (20, 14)  # kept on the canvas
    assert paste_origin(doc, 10, 6, None) == (10, 7)
    doc.mask[12:, 2:] = 255
    assert paste_origin(doc, 10, 6, None) == (2, 12)
    assert paste_origin(doc, 40, 6, None) == (0, 12)  # wider than the canvas: from its left edge
