"""The Image > Upscale dialog: what grows (the whole image or the active
layer), by how much (x2, x4) and how (an installed upscale model, or
Lanczos), with the resulting size shown as the choices change.

It only gathers choices; UpscaleActions runs them. A choice over the
engine's or the canvas's pixel limit is said under the size and, when
Upscale is pressed anyway, in a message box; the dialog then stays open.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLabel, QRadioButton, QVBoxLayout, QWidget)

from studio.core.document import Document
from studio.engine.registry import ModelEntry
from studio.engine.upscale import model_for_scale
from studio.ui.export_dialog import radio_style
from studio.ui.messages import one_line, show_error
from studio.ui.upscale_target import FACTORS, factor_of, planned_size

TITLE = "Upscale"


class UpscaleDialog(QDialog):
    """UpscaleDialog(doc, models, parent): `models` are the installed
    upscale models, the first one chosen; Lanczos comes after them. exec()
    it and, when accepted, read mode(), scale() and model()."""

    def __init__(self, doc: Document, models: list[ModelEntry], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setStyleSheet(radio_style())
        self.doc = doc
        layer = doc.active

        self.document_radio = QRadioButton(f"Whole image ({doc.width} × {doc.height} px): every layer, "
                                           "the canvas grows")
        self.layer_radio = QRadioButton(f"Active layer '{layer.name}': grows about its centre, the canvas "
                                        "keeps its size" if layer is not None else "Active layer (none)")
        self.layer_radio.setToolTip("As Krita's Scale Layer; what grows past the canvas edge is cut off")
        self.layer_radio.setEnabled(layer is not None)
        self.document_radio.setChecked(True)
        self.mode_group = QButtonGroup(self)
        for button in (self.document_radio, self.layer_radio):
            self.mode_group.addButton(button)
        mode_column = QVBoxLayout()
        mode_column.addWidget(self.document_radio)
        mode_column.addWidget(self.layer_radio)

        self.factor_group = QButtonGroup(self)
        self.factor_radios: dict[int, QRadioButton] = {}
        factor_row = QHBoxLayout()
        for factor in FACTORS:
            radio = QRadioButton(f"×{factor}")
            self.factor_group.addButton(radio, factor)
            self.factor_radios[factor] = radio
            factor_row.addWidget(radio)
        factor_row.addStretch(1)
        # The default model's own factor (an x4 model's whole gain), else the smaller one.
        default = model_for_scale(models, None)
        native = factor_of(default) if default else FACTORS[0]
        self.factor_radios[native if native in FACTORS else FACTORS[0]].setChecked(True)

        self.models = models
        self.method_combo = QComboBox()
        for entry in models:
            self.method_combo.addItem(f"{entry.name} (×{factor_of(entry)} model)", entry)
            self.method_combo.setItemData(self.method_combo.count() - 1,
                                          entry.manifest.get("description") or f"The upscale model '{entry.name}'",
                                          Qt.ToolTipRole)
        self.method_combo.addItem("Lanczos (no model)", None)
        self.method_combo.setItemData(self.method_combo.count() - 1,
                                      "Pillow's Lanczos resampling: smooth, adds no detail; needs no model",
                                      Qt.ToolTipRole)
        self.method_combo.setCurrentIndex(models.index(default) if default else 0)
        self.method_combo.setToolTip("A learned upscaler draws fine detail; Lanczos only interpolates")

        self.size_label = QLabel()
        self.size_label.setObjectName("hint")
        self.notice = QLabel()  # in the size's place when the choice is refused
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        result_column = QVBoxLayout()
        result_column.addWidget(self.size_label)
        result_column.addWidget(self.notice)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.addRow("Upscale:", mode_column)
        form.addRow("Factor:", factor_row)
        form.addRow("Method:", self.method_combo)
        form.addRow("Result:", result_column)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.upscale_button = self.buttons.button(QDialogButtonBox.Ok)
        self.upscale_button.setText("Upscale")
        self.upscale_button.setObjectName("primary")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addSpacing(6)
        layout.addWidget(self.buttons)

        self.mode_group.buttonToggled.connect(lambda *_: self._update())
        self.factor_group.buttonToggled.connect(self._factor_changed)
        self._update()

    # --- the choices --------------------------------------------------------------------

    def mode(self) -> str:
        """"document" or "layer" (see upscale_target.MODES)."""
        return "layer" if self.layer_radio.isChecked() else "document"

    def scale(self) -> int:
        return self.factor_group.checkedId()

    def model(self) -> ModelEntry | None:
        """The chosen upscale model, or None for Lanczos."""
        return self.method_combo.currentData()

    # --- reacting -----------------------------------------------------------------------

    def _factor_changed(self, _button, checked: bool) -> None:
        # A model made for the new factor replaces one made for the other (Lanczos, once chosen, stays).
        if checked and self.model() is not None:
            wanted = model_for_scale(self.models, self.scale())
            self.method_combo.setCurrentIndex(next(i for i in range(self.method_combo.count())
                                                   if self.method_combo.itemData(i) is wanted))
        self._update()

    def _update(self) -> None:
        try:
            width, height = planned_size(self.doc, self.mode(), self.scale())
        except ValueError as exc:  # UpscaleError, DocumentError: one line each
            self.notice.setText(f"Cannot upscale: {one_line(exc)}")
            self.size_label.hide()
            self.notice.show()
            return
        self.notice.hide()
        self.size_label.show()
        if self.mode() == "document":
            self.size_label.setText(f"{self.doc.width} × {self.doc.height} px → {width} × {height} px")
        else:
            self.size_label.setText(f"content {width} × {height} px; the canvas stays "
                                    f"{self.doc.width} × {self.doc.height} px")

    def accept(self) -> None:
        try:
            planned_size(self.doc, self.mode(), self.scale())
        except ValueError as exc:
            show_error(self, TITLE, one_line(exc))
            return
        super().accept()
