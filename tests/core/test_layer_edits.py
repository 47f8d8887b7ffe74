"""core/layer_edits.py: duplicate, merge down and flatten keep what the
canvas shows and undo exactly."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.commands import AddLayer
from studio.core.document import Document, DocumentError
from studio.core.layer_edits import duplicate_layer, flatten, merge_down


def _doc() -> tuple[Document, int]:
    rng = np.random.default_rng(1)
    background = rng.integers(0, 256, (9, 11, 4), dtype=np.uint8)
    background[..., 3] = 255
    doc = Document.from_image(background, "paper")
    top = doc.new_layer("ink", rng.integers(0, 256, (9, 11, 4), dtype=np.uint8), opacity=0.6, blend="multiply")
    doc.apply(AddLayer(top))
    return doc, top.id


def test_merge_down_looks_the_same_and_undoes_exactly():
    doc, top = _doc()
    shown, below = doc.composite().copy(), doc.layers[0].pixels.copy()
    doc.apply(merge_down(doc, top))
    assert [layer.name for layer in doc.layers] == ["paper"]
    assert np.abs(doc.composite().astype(int) - shown.astype(int)).max() <= 1
    assert doc.undo()
    assert [layer.name for layer in doc.layers] == ["paper", "ink"]
    np.testing.assert_array_equal(doc.layers[0].pixels, below)
    np.testing.assert_array_equal(doc.composite(), shown)


def test_merge_down_refuses_the_bottom_and_a_hidden_layer():
    doc, top = _doc()
    with pytest.raises(DocumentError, match="bottom layer"):
        merge_down(doc, doc.layers[0].id)
    doc.layers[1].visible = False
    with pytest.raises(DocumentError, match="hidden"):
        merge_down(doc, top)


def test_flatten_and_duplicate():
    doc, top = _doc()
    shown = doc.composite().copy()
    doc.apply(flatten(doc))
    assert [layer.name for layer in doc.layers] == ["Flattened"]
    np.testing.assert_array_equal(doc.composite(), shown)
    assert doc.undo() and len(doc.layers) == 2
    doc.apply(duplicate_layer(doc, top))
    copy = doc.layers[2]
    assert copy.name == "ink copy" and (copy.opacity, copy.blend) == (0.6, "multiply") and doc.active_id == copy.id
    assert not np.shares_memory(copy.pixels, doc.layers[1].pixels)
