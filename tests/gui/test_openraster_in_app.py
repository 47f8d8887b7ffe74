"""OpenRaster in the window: File > Open (as `studio FILE.ora` and a drop
do), Save back to the .ora, and File > Export As OpenRaster (issue 16)."""

from __future__ import annotations

import numpy as np
from layered_factory import layered_document
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio.core.commands import SetLayerProps
from studio.core.openraster import load_openraster, write_openraster
from studio.core.project import capture_project


def test_open_edit_save_back_and_export_a_copy(qtbot, window, tmp_path, monkeypatch, message_boxes):
    original = layered_document()
    original.workspace = {}  # the factory's is not a walk the Latent panel could restore
    write_openraster(capture_project(original), tmp_path / "from-krita.ora")
    window.open_file(tmp_path / "from-krita.ora")
    qtbot.waitUntil(lambda: window.files.document is not None, timeout=10_000)
    doc = window.files.document
    assert [layer.name for layer in doc.layers] == [layer.name for layer in original.layers]
    np.testing.assert_array_equal(window.canvas.image(), original.composite())

    doc.apply(SetLayerProps(doc.layers[0].id, opacity=0.25))
    window.files.save()  # back into the .ora it came from, in its own format
    qtbot.waitUntil(lambda: not doc.modified, timeout=10_000)
    assert load_openraster(tmp_path / "from-krita.ora").document.layers[0].opacity == 0.25

    copy = tmp_path / "copy"  # the suffix is added
    monkeypatch.setattr("studio.ui.document_files.QFileDialog.getSaveFileName",
                        staticmethod(lambda *a, **k: (str(copy), "")))
    window.files.export_openraster()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Exported copy.ora", timeout=10_000)
    assert window.files.path == tmp_path / "from-krita.ora"  # an export does not retarget the document
    assert len(load_openraster(tmp_path / "copy.ora").document.layers) == 4
    assert message_boxes == []


def test_dropping_an_ora_opens_it_as_a_document(qtbot, window, tmp_path):
    dropped = layered_document()
    dropped.workspace = {}
    write_openraster(capture_project(dropped), tmp_path / "dropped.ora")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped.ora"))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.files.document is not None, timeout=10_000)
    assert window.files.source_name == "dropped.ora" and len(window.files.document.layers) == 4
