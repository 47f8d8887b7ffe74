"""Flip and rotate the whole image: every layer and the mask, one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.commands import AddLayer, TransformImage
from studio.core.document import Document, DocumentError


def _doc() -> Document:
    """3 x 5 px (not square, so a quarter turn shows), two layers and a selected pixel."""
    rng = np.random.default_rng(0)
    doc = Document.from_image(rng.integers(0, 256, (3, 5, 4), dtype=np.uint8), "a")
    doc.apply(AddLayer(doc.new_layer("b", rng.integers(0, 256, (3, 5, 4), dtype=np.uint8))))
    doc.mask[0, 1] = 255
    return doc


@pytest.mark.parametrize("kind, expected", [
    ("flip-horizontal", lambda a: a[:, ::-1]),
    ("flip-vertical", lambda a: a[::-1]),
    ("rotate-90", lambda a: np.rot90(a, -1)),
    ("rotate-180", lambda a: np.rot90(a, 2)),
    ("rotate-270", lambda a: np.rot90(a, 1)),
])
def test_every_layer_and_the_mask_turn_together_and_undo_exactly(kind, expected):
    doc = _doc()
    before = [layer.pixels.copy() for layer in doc.layers], doc.mask.copy(), (doc.width, doc.height)
    doc.apply(TransformImage(kind))
    for layer, pixels in zip(doc.layers, before[0]):
        np.testing.assert_array_equal(layer.pixels, expected(pixels))
    np.testing.assert_array_equal(doc.mask, expected(before[1]))
    assert (doc.width, doc.height) == (doc.layers[0].pixels.shape[1], doc.layers[0].pixels.shape[0])
    np.testing.assert_array_equal(doc.composite()[..., :3].shape[:2], (doc.height, doc.width))
    assert doc.undo()
    assert (doc.width, doc.height) == before[2]
    for layer, pixels in zip(doc.layers, before[0]):
        np.testing.assert_array_equal(layer.pixels, pixels)
    np.testing.assert_array_equal(doc.mask, before[1])
    assert doc.redo()
    np.testing.assert_array_equal(doc.mask, expected(before[1]))


def test_an_unknown_transform_is_refused():
    with pytest.raises(DocumentError, match="unknown transform"):
        TransformImage("skew")
