"""The Export Image dialog on a real document: widgets -> options -> a real file."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from studio.core.document import Document
from studio.core.export import export_document
from studio.core.imageio import load_image
from studio.core.recipe import read_recipe
from studio.ui.export_dialog import ExportDialog, ExportOptions
from studio.ui.preferences import settings


@pytest.fixture
def doc() -> Document:
    image = np.zeros((30, 40, 4), np.uint8)
    image[..., 1] = 200
    image[..., 3] = 255
    return Document.from_image(image)


def _dialog(qtbot, doc, name="picture") -> ExportDialog:
    dialog = ExportDialog(doc, name)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _type_path(qtbot, dialog, path) -> None:
    dialog.path_edit.clear()
    qtbot.keyClicks(dialog.path_edit, str(path))
    qtbot.keyClick(dialog.path_edit, Qt.Key_Return)  # editingFinished


def test_first_use_defaults(qtbot, doc):
    dialog = _dialog(qtbot, doc)
    o = dialog.options()
    assert o.path.name == "picture.png"
    assert o.keywords() == {"scale": 1.0, "keep_alpha": True, "embed_recipe": True, "region": "image",
                            "quality": 92}
    assert dialog.size_label.text() == "40 × 30 px"
    assert not dialog.mask_radio.isEnabled() and dialog.image_radio.isChecked()
    assert dialog.alpha_check.isEnabled() and not dialog.quality_spin.isEnabled()
    assert dialog.export_button.isEnabled()


def test_scale_shows_the_pixel_size_live(qtbot, doc):
    dialog = _dialog(qtbot, doc)
    dialog.scale_spin.selectAll()
    qtbot.keyClicks(dialog.scale_spin, "250")
    assert dialog.size_label.text() == "100 × 75 px"
    assert dialog.options().scale == 2.5
    qtbot.keyClick(dialog.scale_spin, Qt.Key_Down)  # one step of 25 %
    assert dialog.size_label.text() == "90 × 68 px"  # 40 x 30 at 225 %, rounded


def test_jpeg_disables_alpha_and_enables_quality(qtbot, doc, tmp_path):
    dialog = _dialog(qtbot, doc)
    _type_path(qtbot, dialog, tmp_path / "shot.png")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findText("JPEG"))
    assert dialog.path_edit.text() == str(tmp_path / "shot.jpg")  # suffix follows the format
    assert not dialog.alpha_check.isEnabled() and not dialog.alpha_check.isChecked()  # shown off: JPEG has none
    assert dialog.quality_spin.isEnabled()
    dialog.quality_spin.selectAll()
    qtbot.keyClicks(dialog.quality_spin, "75")
    o = dialog.options()
    assert o.keep_alpha is False and o.quality == 75 and o.path == tmp_path / "shot.jpg"

    dialog.format_combo.setCurrentIndex(dialog.format_combo.findText("TIFF"))
    assert dialog.alpha_check.isEnabled() and dialog.alpha_check.isChecked()  # the choice is back
    assert not dialog.quality_spin.isEnabled()
    assert dialog.options().keep_alpha is True and dialog.options().path.suffix == ".tif"


def test_a_typed_suffix_picks_the_format(qtbot, doc, tmp_path):
    dialog = _dialog(qtbot, doc)
    _type_path(qtbot, dialog, tmp_path / "frame.webp")
    assert dialog.format_combo.currentText() == "WebP" and dialog.quality_spin.isEnabled()
    _type_path(qtbot, dialog, tmp_path / "frame.jpeg")
    assert dialog.format_combo.currentText() == "JPEG"
    assert dialog.options().path == tmp_path / "frame.jpeg"  # .jpeg is kept, not turned into .jpg
    _type_path(qtbot, dialog, tmp_path / "frame")
    assert dialog.options().path == tmp_path / "frame.jpg"  # no suffix: the format's


def test_empty_file_field_disables_export(qtbot, doc):
    dialog = _dialog(qtbot, doc)
    dialog.path_edit.clear()
    assert not dialog.export_button.isEnabled()
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    assert dialog.isVisible()


def test_selection_region_and_its_size(qtbot, doc, tmp_path):
    doc.mask[4:14, 10:30] = 255
    dialog = _dialog(qtbot, doc)
    assert dialog.mask_radio.isEnabled() and "20 × 10 px" in dialog.mask_radio.text()
    qtbot.mouseClick(dialog.mask_radio, Qt.LeftButton)
    assert dialog.mask_radio.isChecked() and dialog.size_label.text() == "20 × 10 px"
    _type_path(qtbot, dialog, tmp_path / "sel.png")
    o = dialog.options()
    assert o.region == "mask"
    written = export_document(doc, o.path, **o.keywords())  # what the lead runs on a worker thread
    assert load_image(written).shape == (10, 20, 4) and read_recipe(written)["kind"] == "document"


def test_too_big_an_export_is_refused_before_it_starts(qtbot):
    dialog = _dialog(qtbot, Document(4000, 4000))
    dialog.scale_spin.setValue(300)  # 12000 x 12000 px
    assert not dialog.export_button.isEnabled()
    assert dialog.notice.isVisibleTo(dialog) and "12000 × 12000 px" in dialog.notice.text()
    dialog.scale_spin.setValue(200)
    assert dialog.export_button.isEnabled() and not dialog.notice.isVisibleTo(dialog)


def test_choices_are_remembered_through_qsettings(qtbot, doc, tmp_path):
    doc.mask[0:5, 0:5] = 255
    (tmp_path / "out").mkdir()  # as the export will have made it
    dialog = _dialog(qtbot, doc)
    _type_path(qtbot, dialog, tmp_path / "out" / "a.webp")
    dialog.scale_spin.setValue(50)
    dialog.quality_spin.setValue(100)
    qtbot.mouseClick(dialog.alpha_check, Qt.LeftButton)
    qtbot.mouseClick(dialog.recipe_check, Qt.LeftButton)
    qtbot.mouseClick(dialog.mask_radio, Qt.LeftButton)
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    assert dialog.result() == ExportDialog.Accepted
    chosen = dialog.options()
    assert chosen == ExportOptions(tmp_path / "out" / "a.webp", scale=0.5, keep_alpha=False, embed_recipe=False,
                                   region="mask", quality=100)
    stored = settings()
    assert stored.value("export/format") == "WEBP" and stored.value("export/folder") == str(tmp_path / "out")

    again = _dialog(qtbot, doc, name="b")
    assert again.options() == ExportOptions(tmp_path / "out" / "b.webp", scale=0.5, keep_alpha=False,
                                            embed_recipe=False, region="mask", quality=100)

    # Without a selection the remembered "mask" falls back to the whole image.
    plain = _dialog(qtbot, Document(8, 8), name="c")
    assert plain.options().region == "image" and not plain.mask_radio.isEnabled()


def test_cancel_remembers_nothing(qtbot, doc, tmp_path):
    dialog = _dialog(qtbot, doc)
    dialog.scale_spin.setValue(10)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.LeftButton)
    assert dialog.result() == ExportDialog.Rejected
    assert settings().value("export/scale_percent") is None
    assert _dialog(qtbot, doc).options().scale == 1.0
