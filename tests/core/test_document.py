"""Document: layers, the tile-cached composite, listeners, locks, saved state."""

import time

import numpy as np
import pytest
from document_factory import noise, patch_layer_pixels, three_layer_doc

from studio.core.commands import AddLayer, PixelEdit, RemoveLayer, SetLayerProps
from studio.core.document import Document, DocumentError, Layer, alpha_bounds


def paint(doc: Document, layer_id: int, rect, value: int | None = None) -> PixelEdit:
    """A PixelEdit that inverts (or fills with `value`) rect of a layer."""
    x0, y0, x1, y1 = rect
    before = doc.layer(layer_id).pixels[y0:y1, x0:x1].copy()
    after = 255 - before if value is None else np.full_like(before, value)
    return PixelEdit(layer_id, rect, before, after, "Brush")


def test_new_document_is_empty_and_transparent():
    doc = Document(30, 20)
    assert doc.layers == [] and doc.active is None and doc.mask.shape == (20, 30)
    out = doc.composite()
    assert out.shape == (20, 30, 4) and out.dtype == np.uint8 and not out.any()
    assert not doc.modified and not doc.can_undo


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (2.5, 3), (100_000, 100_000)])
def test_bad_canvas_sizes_raise_one_line(size):
    with pytest.raises(DocumentError) as err:
        Document(*size)
    assert "\n" not in str(err.value)


def test_from_image_composites_back_to_the_image():
    image = noise(70, 90, 11, alpha=(1, 256))
    doc = Document.from_image(image, "Photo")
    assert [layer.name for layer in doc.layers] == ["Photo"] and doc.active.name == "Photo"
    assert np.array_equal(doc.composite(), image)
    image[0, 0] = 0  # the document holds a copy
    assert doc.layers[0].pixels[0, 0, 3] != 0 or doc.layers[0].pixels[0, 0, :3].any()
    rgb = Document.from_image(noise(5, 6, 2)[..., :3].copy())
    assert (rgb.layers[0].pixels[..., 3] == 255).all()


def test_stack_matches_hand_values_and_skips_hidden_layers():
    doc = Document(4, 4)
    base = np.zeros((4, 4, 4), np.uint8)
    base[:] = (100, 150, 200, 255)
    top = np.zeros((4, 4, 4), np.uint8)
    top[:] = (200, 100, 50, 255)
    doc.apply(AddLayer(doc.new_layer("base", base)))
    doc.apply(AddLayer(doc.new_layer("top", top, blend="multiply")))
    assert tuple(doc.composite()[1, 1]) == (78, 59, 39, 255)  # 200*100/255, 100*150/255, 50*200/255
    doc.apply(SetLayerProps(doc.layers[1].id, blend="screen"))
    assert tuple(doc.composite()[1, 1]) == (222, 191, 211, 255)
    doc.apply(SetLayerProps(doc.layers[1].id, blend="normal", opacity=0.3))
    assert tuple(doc.composite()[1, 1]) == (130, 135, 155, 255)
    doc.apply(SetLayerProps(doc.layers[1].id, visible=False))
    assert tuple(doc.composite()[1, 1]) == (100, 150, 200, 255)
    doc.apply(SetLayerProps(doc.layers[1].id, visible=True, opacity=0.0))
    assert tuple(doc.composite()[1, 1]) == (100, 150, 200, 255)


def test_alpha_bounds_are_the_visible_pixels_whatever_the_colours_or_the_view():
    pixels = np.zeros((40, 50, 4), np.uint8)
    assert alpha_bounds(pixels) == (0, 0, 0, 0)
    pixels[..., :3] = 255  # colour without alpha adds nothing
    assert alpha_bounds(pixels) == (0, 0, 0, 0)
    pixels[7, 30, 3] = 1
    pixels[21, 4, 3] = 200
    assert alpha_bounds(pixels) == (4, 7, 31, 22)
    assert alpha_bounds(pixels[5:30, 2:40]) == (2, 2, 29, 17)  # a crop, rows and columns strided
    spread = np.zeros((40, 50, 8), np.uint8)
    spread[..., ::2] = pixels
    assert alpha_bounds(spread[..., ::2]) == (4, 7, 31, 22)  # channels not side by side


def test_only_touched_tiles_are_recomposited():
    doc = three_layer_doc(1000, 600)  # 4 x 3 tiles of 256 px
    assert doc.composite().shape == (600, 1000, 4)
    assert doc.tile_renders == 12
    doc.composite()
    doc.composite((10, 10, 500, 500))
    assert doc.tile_renders == 12  # all served from the cache
    doc.apply(paint(doc, 2, (10, 10, 74, 74)))
    doc.composite()
    assert doc.tile_renders == 13
    doc.apply(paint(doc, 3, (250, 250, 260, 260)))  # a corner shared by four tiles
    doc.composite()
    assert doc.tile_renders == 17
    doc.apply(paint(doc, 1, (900, 500, 910, 510)))
    doc.composite((0, 0, 10, 10))  # a read elsewhere renders nothing
    assert doc.tile_renders == 17
    assert np.array_equal(doc.composite(), doc.render())
    assert doc.tile_renders == 18


def test_mask_edits_and_names_do_not_recomposite():
    doc = three_layer_doc(600, 300)
    doc.composite()
    renders = doc.tile_renders
    before = doc.mask[0:10, 0:10].copy()
    doc.apply(PixelEdit("mask", (0, 0, 10, 10), before, 255 - before, "Select"))
    doc.apply(SetLayerProps(2, name="Shadow"))
    doc.composite()
    assert doc.tile_renders == renders


def test_layer_changes_recomposite_only_where_the_layer_has_content():
    doc = three_layer_doc(1000, 600)
    patch = doc.new_layer("sticker", patch_layer_pixels(600, 1000, (700, 300, 800, 400), 9))
    doc.composite()
    renders = doc.tile_renders
    doc.apply(AddLayer(patch))
    doc.composite()
    assert doc.tile_renders == renders + 2  # x 700..800 spans tiles 2 and 3, y 300..400 only tile 1
    doc.apply(SetLayerProps(patch.id, opacity=0.5, blend="screen"))
    doc.apply(RemoveLayer(patch.id))
    doc.undo()
    assert np.array_equal(doc.composite(), doc.render())
    assert doc.tile_renders == renders + 2 + 2


def test_4096_canvas_edit_recomposites_one_tile():
    """Requirement check on the real size; the timings are printed (run with -s), not asserted."""
    n = 4096
    bg = np.empty((n, n, 4), np.uint8)
    bg[:] = (40, 80, 120, 255)
    shade = np.zeros((n, n, 4), np.uint8)
    shade[1000:3000, 1000:3000] = (200, 100, 50, 180)
    doc = Document.from_layers(n, n, [Layer(1, "bg", bg), Layer(2, "shade", shade, blend="multiply"),
                                      Layer(3, "ai", noise(n, n, 4), opacity=0.6, blend="overlay")])
    start = time.perf_counter()
    doc.composite(copy=False)
    full = time.perf_counter() - start
    assert doc.tile_renders == 256
    start = time.perf_counter()
    doc.apply(paint(doc, 3, (2060, 2060, 2124, 2124)))
    part = doc.composite((2060, 2060, 2124, 2124))
    edit = time.perf_counter() - start
    assert doc.tile_renders == 257
    assert np.array_equal(part, doc.render((2060, 2060, 2124, 2124)))
    print(f"\n4096x4096, 3 layers: full composite {full * 1000:.0f} ms, 64x64 edit + re-composite {edit * 1000:.1f} ms")


def test_composite_without_a_layer():
    doc = three_layer_doc()
    doc.composite()
    without = doc.composite_without(3)
    hidden = three_layer_doc()
    hidden.layers[2].visible = False
    assert np.array_equal(without, hidden.composite())
    assert not np.array_equal(without, doc.composite())
    renders = doc.tile_renders
    doc.composite_without(3, (0, 0, 50, 50))
    assert doc.tile_renders == renders  # cached
    doc.apply(paint(doc, 1, (5, 5, 40, 40)))
    assert np.array_equal(doc.composite_without(3), doc.render(skip=3))
    with pytest.raises(DocumentError):
        doc.composite_without(99)


def test_read_only_view():
    doc = three_layer_doc()
    view = doc.composite((0, 0, 10, 10), copy=False)
    assert np.array_equal(view, doc.composite((0, 0, 10, 10)))
    with pytest.raises(ValueError):
        view[0, 0, 0] = 1


def test_listeners_get_the_dirty_rect():
    doc = three_layer_doc()
    heard = []
    doc.listeners.append(heard.append)
    doc.apply(paint(doc, 2, (3, 4, 13, 24)))
    doc.undo()
    doc.redo()
    doc.apply(AddLayer(doc.new_layer("new")))
    doc.touch((1, 1, 2, 2))
    assert heard == [(3, 4, 13, 24)] * 3 + [None, (1, 1, 2, 2)]


def test_locked_layer_refuses_pixel_edits():
    doc = three_layer_doc()
    doc.apply(SetLayerProps(2, locked=True))
    revision, state = doc.revision, doc.history.state
    pixels = doc.layer(2).pixels.copy()
    with pytest.raises(DocumentError) as err:
        doc.apply(paint(doc, 2, (0, 0, 10, 10)))
    message = str(err.value)
    assert "locked" in message and "Shade" in message and "\n" not in message
    assert np.array_equal(doc.layer(2).pixels, pixels)
    assert (doc.revision, doc.history.state, doc.undo_text) == (revision, state, "Lock Layer")
    doc.apply(SetLayerProps(2, opacity=0.5))  # properties stay editable
    doc.apply(paint(doc, 1, (0, 0, 10, 10)))  # other layers too


def test_modified_follows_the_saved_state():
    doc = three_layer_doc()
    assert not doc.modified
    doc.apply(paint(doc, 1, (0, 0, 5, 5)))
    assert doc.modified and doc.revision == 1
    doc.mark_saved()
    assert not doc.modified and doc.saved_revision == 1
    doc.apply(paint(doc, 1, (5, 5, 9, 9)))
    assert doc.modified
    doc.undo()
    assert not doc.modified  # back at the saved state
    assert doc.revision == 3  # but every do/undo counts
    doc.undo()
    assert doc.modified
    doc.redo()
    assert not doc.modified
    doc.undo()
    doc.apply(paint(doc, 1, (20, 20, 30, 30)))  # a new branch: the saved state is gone
    assert doc.modified
    doc.undo()
    assert doc.modified


def test_active_layer_follows_add_and_remove():
    doc = three_layer_doc()
    layer = doc.new_layer("new")
    doc.apply(AddLayer(layer, index=1))
    assert doc.active_id == layer.id and doc.index_of(layer.id) == 1
    doc.apply(RemoveLayer(layer.id))
    assert doc.active_id == 2  # the layer that took its place
    doc.undo()
    assert doc.active_id == layer.id
    doc.undo()
    assert doc.active_id == 2
    assert doc.new_layer_id() > layer.id  # ids are never handed out twice


def test_from_layers_checks_its_input():
    good = Layer(1, "a", np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(DocumentError):
        Document.from_layers(5, 4, [good, Layer(1, "b", np.zeros((4, 5, 4), np.uint8))])
    with pytest.raises(DocumentError, match="uint8 4x5x4"):
        Document.from_layers(5, 4, [Layer(2, "c", np.zeros((5, 4, 4), np.uint8))])
    with pytest.raises(DocumentError, match="blend"):
        Document.from_layers(5, 4, [Layer(2, "c", np.zeros((4, 5, 4), np.uint8), blend="hue")])
    doc = Document.from_layers(5, 4, [good])
    assert doc.active_id == 1 and doc.new_layer_id() == 2
