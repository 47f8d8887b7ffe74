"""Undo/redo: exact restoration for every command, redo clearing, the memory cap."""

import numpy as np
import pytest
from document_factory import noise, same, snapshot, three_layer_doc

from studio.core.commands import (AddLayer, Macro, MoveLayerIndex, OffsetLayer, PixelEdit, RemoveLayer,
                                  ResizeCanvas, ScaleImage, SetLayerProps, SetMask)
from studio.core.document import Document, DocumentError
from studio.core.history import History


def invert(doc, target, rect):
    x0, y0, x1, y1 = rect
    plane = doc.mask if target == "mask" else doc.layer(target).pixels
    before = plane[y0:y1, x0:x1].copy()
    return PixelEdit(target, rect, before, 255 - before, "Brush")


def new_mask(doc):
    mask = np.zeros_like(doc.mask)
    mask[10:60, 5:25] = 128
    return SetMask(mask, "Rectangle Select")


COMMANDS = {
    "paint layer": lambda d: invert(d, 2, (10, 20, 90, 70)),
    "paint mask": lambda d: invert(d, "mask", (0, 0, 300, 200)),
    "add layer": lambda d: AddLayer(d.new_layer("new", noise(d.height, d.width, 8), blend="screen"), index=0),
    "remove active layer": lambda d: RemoveLayer(2),
    "remove top layer": lambda d: RemoveLayer(3),
    "move layer": lambda d: MoveLayerIndex(1, 2),
    "layer props": lambda d: SetLayerProps(3, name="x", opacity=0.25, visible=False, locked=True, blend="normal",
                                           recipe={"seed": 4}),
    "offset right down": lambda d: OffsetLayer(2, 37, 11),
    "offset off canvas": lambda d: OffsetLayer(3, -150, -120),
    "offset background": lambda d: OffsetLayer(1, 5, -3),  # full layer: nothing is zero outside
    "resize smaller": lambda d: ResizeCanvas(120, 90, 0.5, 0.5),
    "resize bigger": lambda d: ResizeCanvas(400, 260, 1.0, 0.0),
    "resize mixed": lambda d: ResizeCanvas(350, 150, 0.25, 1.0),
    "scale down": lambda d: ScaleImage(150, 77),
    "scale up": lambda d: ScaleImage(333, 401),
    "set mask": new_mask,
    "macro": lambda d: Macro([AddLayer(d.new_layer("ai", noise(d.height, d.width, 5))),
                              invert(d, "mask", (5, 5, 50, 50)), SetLayerProps(1, visible=False)], "Generate"),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_undo_redo_restore_exactly(name):
    doc = three_layer_doc()
    doc.composite()
    start = snapshot(doc)
    doc.apply(COMMANDS[name](doc))
    done = snapshot(doc)
    assert not same(start, done), "the command must change something"
    assert np.array_equal(doc.composite(), doc.render()), "stale composite tiles after do"
    for _ in range(2):
        assert doc.undo()
        assert same(snapshot(doc), start)
        assert np.array_equal(doc.composite(), doc.render()), "stale composite tiles after undo"
        assert doc.redo()
        assert same(snapshot(doc), done)
        assert np.array_equal(doc.composite(), doc.render()), "stale composite tiles after redo"


def test_long_mixed_session_undoes_to_the_start():
    doc = three_layer_doc()
    start = snapshot(doc)
    states = [start]
    for name in COMMANDS:
        if name.startswith("remove") and len(doc.layers) < 3:
            continue
        try:
            command = COMMANDS[name](doc)
            doc.apply(command)
        except DocumentError:
            continue  # e.g. a layer removed or locked by an earlier command
        states.append(snapshot(doc))
    assert len(states) > 10
    for state in reversed(states[:-1]):
        doc.undo()
        assert same(snapshot(doc), state)
    assert not doc.undo() and not doc.modified
    assert np.array_equal(doc.composite(), doc.render())


def test_new_command_clears_redo():
    doc = three_layer_doc()
    doc.apply(invert(doc, 1, (0, 0, 10, 10)))
    doc.apply(invert(doc, 1, (10, 0, 20, 10)))
    doc.undo()
    assert doc.can_redo and doc.redo_text == "Brush"
    doc.apply(SetLayerProps(1, name="Paper"))
    assert not doc.can_redo and doc.redo_text is None and not doc.redo()
    assert doc.undo_text == "Rename Layer"


def test_memory_cap_drops_the_oldest():
    doc = three_layer_doc()
    doc.history = History(limit_bytes=3 * 2 * 100 * 4 + 3 * 256)  # three 10x10 RGBA before+after pairs
    edits = [(i * 10, 0, i * 10 + 10, 10) for i in range(5)]
    after_two = None
    for i, rect in enumerate(edits):
        doc.apply(invert(doc, 1, rect))
        if i == 1:
            after_two = snapshot(doc)
    assert len(doc.history) == 3 and doc.history.dropped == 2
    assert doc.history.nbytes <= doc.history.limit_bytes
    while doc.undo():
        pass
    assert same(snapshot(doc), after_two)  # the two oldest edits can no longer be undone
    assert doc.modified  # and the document is not back at its saved state

    big = History(limit_bytes=10)
    big.push(invert(doc, 1, (0, 0, 50, 50)))
    assert len(big) == 1  # the newest command is kept however big it is


def test_failed_macro_leaves_everything_as_it_was():
    doc = three_layer_doc()
    doc.layer(3).locked = True
    start = snapshot(doc)
    macro = Macro([invert(doc, 1, (0, 0, 30, 30)), AddLayer(doc.new_layer("ai")), invert(doc, 3, (0, 0, 5, 5))],
                  "Generate")
    with pytest.raises(DocumentError, match="locked"):
        doc.apply(macro)
    assert same(snapshot(doc), start) and not doc.can_undo and doc.revision == 0
    assert np.array_equal(doc.composite(), doc.render())


def test_undo_and_redo_on_empty_history():
    doc = Document(4, 4)
    assert (doc.undo(), doc.redo(), doc.undo_text, doc.redo_text) == (False, False, None, None)
    with pytest.raises(IndexError):
        doc.history.undo(doc)
