"""Copies of the document made a band at a time between GUI events: all at
once when small, band by band when big, and never a mix of two states."""

from __future__ import annotations

import numpy as np

from studio.core.commands import PixelEdit
from studio.core.document import Document
from studio.ui import banded_copy
from studio.ui.banded_copy import BandedCopy


def _document() -> Document:
    doc = Document.from_image(np.random.default_rng(0).integers(0, 256, (48, 64, 4), dtype=np.uint8))
    doc.mask[10:20, 5:30] = 255
    return doc


def _sources(doc: Document) -> list:
    return [(doc.height, lambda y0, y1: doc.layers[0].pixels[y0:y1]), (doc.height, lambda y0, y1: doc.mask[y0:y1])]


def _record(copy: BandedCopy) -> dict:
    seen = {"done": [], "abandoned": 0}
    copy.done.connect(seen["done"].append)
    copy.abandoned.connect(lambda: seen.__setitem__("abandoned", seen["abandoned"] + 1))
    return seen


def test_a_small_copy_is_made_at_once(qtbot):
    doc = _document()
    copy = BandedCopy(doc, _sources(doc))
    seen = _record(copy)
    copy.start()
    assert not copy.is_running() and len(seen["done"]) == 1
    pixels, mask = seen["done"][0]
    np.testing.assert_array_equal(pixels, doc.layers[0].pixels)
    np.testing.assert_array_equal(mask, doc.mask)
    assert not np.shares_memory(pixels, doc.layers[0].pixels) and not np.shares_memory(mask, doc.mask)
    assert doc.listeners == []


def test_a_big_copy_goes_band_by_band_and_an_edit_abandons_it(qtbot, monkeypatch):
    monkeypatch.setattr(banded_copy, "BAND_BUDGET_S", 0.0)  # one band per turn of the event loop...
    monkeypatch.setattr(banded_copy, "BAND_BYTES", 1)  # ...of one row
    doc = _document()
    copy = BandedCopy(doc, _sources(doc))
    seen = _record(copy)
    copy.start()
    assert copy.is_running() and seen["done"] == []
    qtbot.waitUntil(lambda: bool(seen["done"]), timeout=10_000)
    np.testing.assert_array_equal(seen["done"][0][0], doc.layers[0].pixels)
    np.testing.assert_array_equal(seen["done"][0][1], doc.mask)

    copy = BandedCopy(doc, _sources(doc))
    seen = _record(copy)
    copy.start()
    layer = doc.layers[0]
    doc.apply(PixelEdit(layer.id, (0, 40, 8, 48), layer.pixels[40:, :8].copy(), np.zeros((8, 8, 4), np.uint8)))
    assert seen["abandoned"] == 1 and not copy.is_running()
    qtbot.wait(50)
    assert seen["done"] == [] and doc.listeners == []


class _Clock:
    """perf_counter for banded_copy: time passes only as the reader says."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def _bands_read(qtbot, monkeypatch, seconds_per_row: float) -> list[int]:
    clock = _Clock()
    monkeypatch.setattr(banded_copy, "time", clock)
    monkeypatch.setattr(banded_copy, "BAND_BYTES", 16 * 64 * 4)  # at most 16 rows of the layer
    doc = _document()
    bands = []

    def read(y0, y1):
        bands.append(y1 - y0)
        clock.now += (y1 - y0) * seconds_per_row
        return doc.layers[0].pixels[y0:y1]

    copy = BandedCopy(doc, [(doc.height, read)])
    seen = _record(copy)
    copy.start()
    qtbot.waitUntil(lambda: bool(seen["done"]), timeout=10_000)
    np.testing.assert_array_equal(seen["done"][0][0], doc.layers[0].pixels)
    return bands[1:]  # the first read is the one-row probe


def test_bands_are_sized_by_what_reading_them_costs(qtbot, monkeypatch):
    # A reader that composites slowly (1 ms a row) gets bands of BAND_TARGET_S: 2 rows.
    assert set(_bands_read(qtbot, monkeypatch, 0.001)) == {2}
    # A fast one grows them twofold a band up to BAND_BYTES (16 rows), then the rest.
    assert _bands_read(qtbot, monkeypatch, 1e-6) == [2, 4, 8, 16, 16, 2]
