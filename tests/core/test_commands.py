"""What each command does to the pixels (undo exactness is in test_history.py)."""

import numpy as np
import pytest
from document_factory import noise, three_layer_doc

from studio.core.commands import (AddLayer, MoveLayerIndex, OffsetLayer, PixelEdit, RemoveLayer, ReplaceCanvas,
                                  ResizeCanvas, ScaleImage, SetLayerProps, SetMask)
from studio.core.document import Document, DocumentError, Layer


def one_line(err) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_pixel_edit_writes_after_and_counts_its_bytes():
    doc = three_layer_doc()
    before = doc.layer(1).pixels[5:15, 20:40].copy()
    after = np.full_like(before, 7)
    edit = PixelEdit(1, (20, 5, 40, 15), before, after)
    doc.apply(edit)
    assert (doc.layer(1).pixels[5:15, 20:40] == 7).all()
    assert not np.array_equal(doc.layer(1).pixels[4:5, 20:40], np.full((1, 20, 4), 7))
    assert edit.nbytes >= 2 * 10 * 20 * 4


def test_pixel_edit_checks_shapes_and_bounds():
    doc = three_layer_doc()
    crop = np.zeros((10, 20, 4), np.uint8)
    with pytest.raises(DocumentError) as err:
        PixelEdit(1, (0, 0, 20, 10), crop, np.zeros((10, 21, 4), np.uint8))
    assert "10x20x4" in one_line(err)
    with pytest.raises(DocumentError):
        PixelEdit("mask", (0, 0, 20, 10), crop, crop)  # the mask takes hxw crops
    with pytest.raises(DocumentError) as err:
        doc.apply(PixelEdit(1, (290, 0, 310, 10), crop, crop))
    assert "outside" in one_line(err)
    with pytest.raises(DocumentError) as err:
        doc.apply(PixelEdit(42, (0, 0, 20, 10), crop, crop))
    assert "42" in one_line(err)


def test_pixel_edit_does_not_alias_a_view():
    doc = three_layer_doc()
    view = doc.layer(1).pixels[0:4, 0:4]
    edit = PixelEdit(1, (0, 0, 4, 4), view, np.zeros((4, 4, 4), np.uint8))
    original = view.copy()
    doc.apply(edit)  # would overwrite `before` if it were the view
    doc.undo()
    assert np.array_equal(doc.layer(1).pixels[0:4, 0:4], original)


def test_offset_moves_and_clips():
    doc = Document(10, 8)
    pixels = np.zeros((8, 10, 4), np.uint8)
    pixels[1:3, 2:5] = (9, 8, 7, 255)
    doc.apply(AddLayer(doc.new_layer("s", pixels.copy())))
    lid = doc.layers[0].id
    heard = []
    doc.listeners.append(heard.append)
    doc.apply(OffsetLayer(lid, 6, 5))
    moved = doc.layer(lid).pixels
    expected = np.zeros_like(pixels)
    expected[6:8, 8:10] = (9, 8, 7, 255)  # the rest fell off the right and bottom edges
    assert np.array_equal(moved, expected)
    assert heard == [(2, 1, 10, 8)]  # old place united with the new one, clipped
    command = OffsetLayer(lid, -1, 0)
    doc.apply(command)
    assert command.nbytes < pixels.nbytes  # only the non-empty part was kept
    doc.layer(lid).locked = True
    with pytest.raises(DocumentError, match="locked"):
        doc.apply(OffsetLayer(lid, 1, 1))


def test_resize_canvas_anchors():
    doc = Document.from_image(noise(4, 6, 3, alpha=(1, 256)))
    image = doc.layers[0].pixels.copy()
    doc.mask[:] = 200
    doc.apply(ResizeCanvas(10, 8, 0.5, 1.0))  # centred horizontally, bottom edge kept
    assert (doc.width, doc.height) == (10, 8) and doc.layers[0].pixels.shape == (8, 10, 4)
    assert np.array_equal(doc.layers[0].pixels[4:8, 2:8], image)
    assert doc.layers[0].pixels[:4].sum() == 0 and doc.layers[0].pixels[:, :2].sum() == 0
    assert (doc.mask[4:8, 2:8] == 200).all() and doc.mask.sum() == 200 * 24
    assert doc.composite().shape == (8, 10, 4)
    doc.undo()
    doc.apply(ResizeCanvas(3, 2, 0.0, 0.0))  # crop keeping the top-left corner
    assert np.array_equal(doc.layers[0].pixels, image[0:2, 0:3]) and doc.mask.shape == (2, 3)
    doc.undo()
    doc.apply(ResizeCanvas(3, 2, 1.0, 1.0))  # crop keeping the bottom-right corner
    assert np.array_equal(doc.layers[0].pixels, image[2:4, 3:6])
    with pytest.raises(DocumentError) as err:
        ResizeCanvas(10, 10, 1.5, 0)
    one_line(err)


def test_scale_image_is_premultiplied():
    # An opaque red square on a transparent canvas whose invisible pixels are
    # green: a straight-alpha filter would smear green into the red edges.
    pixels = np.zeros((16, 16, 4), np.uint8)
    pixels[..., 1] = 255
    pixels[4:12, 4:12] = (255, 0, 0, 255)
    doc = Document.from_image(pixels)
    doc.mask[4:12, 4:12] = 255
    doc.apply(ScaleImage(40, 24))
    out = doc.layers[0].pixels
    assert out.shape == (24, 40, 4) and doc.mask.shape == (24, 40)
    visible = out[..., 3] > 16
    assert visible.any() and out[visible][:, 1].max() <= 2  # no green anywhere it shows
    assert doc.mask[12, 20] == 255 and doc.mask[0, 0] == 0


def test_replace_canvas_takes_the_given_arrays_and_undo_gives_the_old_ones_back():
    doc = three_layer_doc()
    old = [layer.pixels for layer in doc.layers], doc.mask
    new = {layer.id: noise(400, 600, layer.id) for layer in doc.layers}
    mask = np.zeros((400, 600), np.uint8)
    command = ReplaceCanvas(600, 400, new, mask, "Upscale")
    before = command.nbytes
    doc.apply(command)
    assert (doc.width, doc.height) == (600, 400) and doc.mask is mask
    assert all(layer.pixels is new[layer.id] for layer in doc.layers)
    assert doc.undo()
    assert (doc.width, doc.height) == (300, 200) and doc.mask is old[1]
    assert all(layer.pixels is pixels for layer, pixels in zip(doc.layers, old[0]))
    assert command.nbytes == before  # undone, it holds the new arrays for redo again
    assert doc.redo() and doc.layers[0].pixels is new[1]


def test_replace_canvas_refuses_other_layers_or_sizes():
    doc = three_layer_doc()
    mask = np.zeros((40, 60), np.uint8)
    with pytest.raises(DocumentError) as err:
        ReplaceCanvas(60, 40, {1: noise(40, 61, 1)}, mask)
    one_line(err)
    with pytest.raises(DocumentError) as err:
        doc.apply(ReplaceCanvas(60, 40, {1: noise(40, 60, 1)}, mask))  # layers 2 and 3 are missing
    assert "not the ones given" in one_line(err) and (doc.width, doc.height) == (300, 200)


def test_set_mask_reports_what_changed_and_wants_a_new_array():
    doc = three_layer_doc()
    heard = []
    doc.listeners.append(heard.append)
    mask = doc.mask.copy()
    mask[100:110, 3:7] = 255
    doc.apply(SetMask(mask))
    assert doc.mask is mask and heard == [(3, 100, 7, 110)]
    with pytest.raises(DocumentError) as err:
        doc.apply(SetMask(doc.mask))
    one_line(err)
    with pytest.raises(DocumentError):
        doc.apply(SetMask(np.zeros((3, 3), np.uint8)))


def test_layer_props_and_moves_are_checked():
    doc = three_layer_doc()
    for bad in ({"opacity": 1.5}, {"blend": "hue"}, {"visible": "yes"}, {"name": 3}, {"colour": 1}, {}):
        with pytest.raises(DocumentError) as err:
            SetLayerProps(1, **bad)
        one_line(err)
    with pytest.raises(DocumentError):
        doc.apply(MoveLayerIndex(1, 3))
    doc.apply(MoveLayerIndex(1, 2))
    assert [layer.id for layer in doc.layers] == [2, 3, 1]
    with pytest.raises(DocumentError):
        doc.apply(AddLayer(Layer(2, "dup", np.zeros((200, 300, 4), np.uint8))))
    with pytest.raises(DocumentError):
        doc.apply(AddLayer(Layer(9, "small", np.zeros((20, 30, 4), np.uint8))))
    doc.apply(RemoveLayer(2))
    assert doc.history.undo_text == "Remove Layer" and doc.history.nbytes >= 200 * 300 * 4
