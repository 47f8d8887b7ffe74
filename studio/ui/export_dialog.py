"""The Export Image dialog: file, format, region, upscaler, scale, quality,
alpha, recipe.

It only gathers choices; the caller runs
`export_document(doc, o.path, **o.keywords())` on a worker thread with the
ExportOptions from `options()` (studio.ui.document_export), enlarged first by
`o.upscaler` when one is chosen. The last choices (and folder) are
remembered in QSettings under export/.

The upscaler row shows only when an upscale model is installed. A model
enlarges by its own factor and the Scale applies to what it made, so 100 %
is the model's own output and 50 % of a ×4 model is a ×2 image drawn by the
model, sharper than Lanczos at 200 %.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.document import Document
from studio.core.export import scaled_size
from studio.core.imageio import DEFAULT_MAX_PIXELS, SAVE_FORMATS
from studio.core.rect import Rect, bounds
from studio.engine.registry import ModelEntry
from studio.ui.dialog_folder import remember, start_folder
from studio.ui.preferences import settings
from studio.ui.theme import current
from studio.ui.upscale_target import factor_of

# (label, suffix written, Pillow format name) in menu order.
FORMATS = (("PNG", ".png", "PNG"), ("JPEG", ".jpg", "JPEG"), ("WebP", ".webp", "WEBP"), ("TIFF", ".tif", "TIFF"))
ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
QUALITY_FORMATS = ("JPEG", "WEBP")
FILTERS = {"PNG": "PNG image (*.png)", "JPEG": "JPEG image (*.jpg *.jpeg)", "WEBP": "WebP image (*.webp)",
           "TIFF": "TIFF image (*.tif *.tiff)"}
SCALE_RANGE = (1, 1000)  # percent
DEFAULT_QUALITY = 92

KEY = "export/"


def radio_style() -> str:
    """Fusion's radio buttons nearly vanish on the dark palette; these match the
    check boxes of theme.py (same border, fill and accent), in the current theme."""
    t = current()
    return f"""
QRadioButton::indicator {{
    width: 12px; height: 12px; border: 1px solid {t.indicator.name()}; border-radius: 7px;
    background: {t.base.name()};
}}
QRadioButton::indicator:hover {{ border-color: {t.accent.name()}; }}
QRadioButton::indicator:checked {{
    border-color: {t.accent.name()};
    background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
                                stop: 0 {t.accent.name()}, stop: 0.5 {t.accent.name()}, stop: 0.6 {t.base.name()});
}}
QRadioButton::indicator:disabled {{ border-color: {t.indicator_disabled.name()}; }}
QRadioButton:disabled {{ color: {t.disabled_text.name()}; }}
"""


@dataclass(frozen=True)
class ExportOptions:
    """What the dialog asks export_document for. path: the file (suffix
    matches the format); scale: 0.01..10; region: "image" | "mask";
    quality: 1..100 (JPEG/WebP); upscaler: the upscale model that enlarges
    the region by its factor before `scale`, or None."""

    path: Path
    scale: float = 1.0
    keep_alpha: bool = True
    embed_recipe: bool = True
    region: str = "image"
    quality: int = DEFAULT_QUALITY
    upscaler: ModelEntry | None = None

    def keywords(self) -> dict[str, Any]:
        """The keyword arguments of export_document (everything but path and
        the upscaler, which the caller turns into an Enlargement)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("path", "upscaler")}


def _bool(value: Any, default: bool) -> bool:
    # QSettings gives back "true"/"false" strings from ini files, real bools from others.
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1")


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if low <= number <= high else default


class ExportDialog(QDialog):
    """ExportDialog(doc, name, parent, upscalers): `name` is the suggested
    file stem; `upscalers` the installed upscale models.

    The document is read once, here (size and selection bounds); exec() it
    and, when accepted, take options().
    """

    def __init__(self, doc: Document, name: str = "untitled", parent: QWidget | None = None,
                 upscalers: Sequence[ModelEntry] = ()):
        super().__init__(parent)
        self.setWindowTitle("Export Image")
        self.setStyleSheet(radio_style())  # built per dialog: follows the theme in use
        self.image_rect: Rect = doc.rect
        self.mask_rect: Rect | None = bounds(doc.mask)
        stored = settings()

        self.path_edit = QLineEdit()
        self.path_edit.setMinimumWidth(360)
        self.path_edit.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the file to write")
        browse.clicked.connect(self.browse)
        self.browse_button = browse
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)

        self.format_combo = QComboBox()
        for label, _, fmt in FORMATS:
            self.format_combo.addItem(label, fmt)

        self.image_radio = QRadioButton(f"Whole image ({self._size_text(self.image_rect)})")
        self.mask_radio = QRadioButton(
            f"Selection ({self._size_text(self.mask_rect)})" if self.mask_rect else "Selection (nothing selected)")
        self.mask_radio.setToolTip("The bounding box of the selection; unselected pixels become transparent")
        self.mask_radio.setEnabled(self.mask_rect is not None)
        self.region_group = QButtonGroup(self)
        self.region_group.addButton(self.image_radio)
        self.region_group.addButton(self.mask_radio)
        region_row = QHBoxLayout()
        region_row.addWidget(self.image_radio)
        region_row.addWidget(self.mask_radio)
        region_row.addStretch(1)

        self.upscale_combo = QComboBox()
        self.upscale_combo.addItem("None", None)
        for entry in upscalers:
            self.upscale_combo.addItem(f"×{factor_of(entry)} with {entry.name}", entry)
        self.upscale_combo.setToolTip("Enlarge with a learned upscale model first (it draws fine detail); "
                                      "the scale then applies to its result")

        self.scale_spin = QSpinBox()
        self.scale_spin.setRange(*SCALE_RANGE)
        self.scale_spin.setSuffix(" %")
        self.scale_spin.setSingleStep(25)
        self.scale_spin.setAccelerated(True)
        self.size_label = QLabel()
        self.size_label.setObjectName("hint")
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale_spin)
        scale_row.addWidget(self.size_label, 1)

        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_hint = QLabel()
        self.quality_hint.setObjectName("hint")
        quality_row = QHBoxLayout()
        quality_row.addWidget(self.quality_spin)
        quality_row.addWidget(self.quality_hint, 1)

        self.alpha_check = QCheckBox("Keep transparency")
        # The user's choice, kept while JPEG shows the box off and disabled.
        self.wanted_alpha = True
        self.alpha_check.toggled.connect(self._alpha_toggled)
        self.recipe_check = QCheckBox("Embed recipe")
        self.recipe_check.setToolTip("Store how the AI layers were made in the file (`studio recipe FILE` shows it)")

        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.addRow("File:", file_row)
        form.addRow("Format:", self.format_combo)
        form.addRow("Region:", region_row)
        form.addRow("Upscale:", self.upscale_combo)
        form.setRowVisible(self.upscale_combo, bool(upscalers))
        form.addRow("Scale:", scale_row)
        form.addRow("Quality:", quality_row)
        form.addRow("", self.alpha_check)
        form.addRow("", self.recipe_check)

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.export_button = self.buttons.button(QDialogButtonBox.Ok)
        self.export_button.setText("Export")
        self.export_button.setObjectName("primary")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.notice)
        layout.addStretch(1)
        layout.addSpacing(6)
        layout.addWidget(self.buttons)

        # Last choices, or defaults on first use.
        fmt = str(stored.value(KEY + "format", "PNG"))
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(fmt)))
        region = str(stored.value(KEY + "region", "image"))
        (self.mask_radio if region == "mask" and self.mask_rect else self.image_radio).setChecked(True)
        upscaler_names = [entry.name for entry in upscalers]
        wanted = str(stored.value(KEY + "upscaler", "") or "")
        self.upscale_combo.setCurrentIndex(upscaler_names.index(wanted) + 1 if wanted in upscaler_names else 0)
        self.scale_spin.setValue(_int(stored.value(KEY + "scale_percent"), 100, *SCALE_RANGE))
        self.quality_spin.setValue(_int(stored.value(KEY + "quality"), DEFAULT_QUALITY, 1, 100))
        self.wanted_alpha = _bool(stored.value(KEY + "keep_alpha"), True)
        self.alpha_check.setChecked(self.wanted_alpha)
        self.recipe_check.setChecked(_bool(stored.value(KEY + "embed_recipe"), True))
        folder = Path(str(stored.value(KEY + "folder", "") or start_folder()))
        if not folder.is_dir():  # gone since: never propose a folder to be created
            folder = start_folder()
        self.path_edit.setText(str(folder / (name + self.suffix())))

        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.region_group.buttonToggled.connect(lambda *_: self._update())
        self.scale_spin.valueChanged.connect(lambda _: self._update())
        self.upscale_combo.currentIndexChanged.connect(lambda _: self._update())
        self.path_edit.textChanged.connect(lambda _: self._update())
        self.path_edit.editingFinished.connect(self._format_from_path)
        self._update()

    # --- reading the choices ------------------------------------------------------

    def format(self) -> str:
        """Pillow's name of the chosen format: PNG, JPEG, WEBP or TIFF."""
        return str(self.format_combo.currentData())

    def suffix(self) -> str:
        return next(suffix for _, suffix, fmt in FORMATS if fmt == self.format())

    def region(self) -> str:
        return "mask" if self.mask_radio.isChecked() and self.mask_rect is not None else "image"

    def path(self) -> Path | None:
        """The typed file with the chosen format's suffix (None when empty or
        only a folder). A typed suffix of the same format (.jpeg, .tiff) is kept."""
        text = self.path_edit.text().strip()
        if not text or text.endswith(("/", os.sep)):
            return None
        p = Path(text).expanduser()
        if not p.stem:
            return None
        if SAVE_FORMATS.get(p.suffix.lower()) == self.format():
            return p
        if p.suffix.lower() in SAVE_FORMATS:
            p = p.with_suffix("")
        return p.with_name(p.name + self.suffix())

    def upscaler(self) -> ModelEntry | None:
        """The upscale model chosen to enlarge first, or None."""
        return self.upscale_combo.currentData()

    def output_size(self) -> tuple[int, int]:
        """(width, height) px the file will have."""
        rect = self.mask_rect if self.region() == "mask" and self.mask_rect else self.image_rect
        upscaler = self.upscaler()
        return scaled_size(rect, self.scale_spin.value() / 100 * (factor_of(upscaler) if upscaler else 1))

    def options(self) -> ExportOptions:
        """The choices as export_document arguments (path may not be None: Export
        is disabled while the file field is empty)."""
        path = self.path()
        if path is None:
            raise ValueError("no file chosen")
        fmt = self.format()
        return ExportOptions(path=path, scale=self.scale_spin.value() / 100,
                             keep_alpha=fmt in ALPHA_FORMATS and self.wanted_alpha,
                             embed_recipe=self.recipe_check.isChecked(), region=self.region(),
                             quality=self.quality_spin.value(), upscaler=self.upscaler())

    # --- reacting -----------------------------------------------------------------

    def browse(self) -> None:
        start = str(self.path() or "")
        filters = [FILTERS[self.format()]] + [f for fmt, f in FILTERS.items() if fmt != self.format()]
        chosen, selected = QFileDialog.getSaveFileName(self, "Export Image", start, ";;".join(filters))
        if not chosen:
            return
        p = Path(chosen)
        if p.suffix.lower() not in SAVE_FORMATS:  # no suffix typed: the selected filter's format
            fmt = next((f for f, text in FILTERS.items() if text == selected), self.format())
            p = p.with_name(p.name + next(s for _, s, f in FORMATS if f == fmt))
        self.path_edit.setText(str(p))
        self._format_from_path()

    def _format_from_path(self) -> None:
        """A typed suffix of another known format chooses that format."""
        fmt = SAVE_FORMATS.get(Path(self.path_edit.text().strip()).suffix.lower())
        if fmt is not None and fmt != self.format():
            self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))

    def _format_changed(self) -> None:
        path = self.path()
        if path is not None and str(path) != self.path_edit.text().strip():
            with QSignalBlocker(self.path_edit):
                self.path_edit.setText(str(path))
        self._update()

    def _update(self) -> None:
        fmt = self.format()
        has_alpha = fmt in ALPHA_FORMATS
        self.alpha_check.setEnabled(has_alpha)  # before setChecked: toggles while disabled are not the user's
        self.alpha_check.setChecked(has_alpha and self.wanted_alpha)
        self.alpha_check.setToolTip("" if has_alpha else "JPEG has no transparency: it is flattened onto white")
        self.quality_spin.setEnabled(fmt in QUALITY_FORMATS)
        self.quality_hint.setText({"WEBP": "100 = lossless", "JPEG": "higher = larger file, fewer artefacts"}
                                  .get(fmt, "lossless format"))
        width, height = self.output_size()
        upscaler = self.upscaler()
        how = f" ({upscaler.name} ×{factor_of(upscaler)}, then {self.scale_spin.value()} %)" if upscaler else ""
        self.size_label.setText(f"{width} × {height} px{how}")
        too_big = width * height > DEFAULT_MAX_PIXELS
        self.notice.setText(f"{width} × {height} px is over the limit of "
                            f"{DEFAULT_MAX_PIXELS // 1_000_000} million pixels; lower the scale." if too_big else "")
        self.notice.setVisible(too_big)
        self.export_button.setEnabled(not too_big and self.path() is not None)

    def _alpha_toggled(self, checked: bool) -> None:
        if self.alpha_check.isEnabled():
            self.wanted_alpha = checked

    def accept(self) -> None:
        if self.path() is None or not self.export_button.isEnabled():
            return
        self.remember()
        super().accept()

    def remember(self) -> None:
        """Store the current choices as the next dialog's defaults."""
        o = self.options()
        stored = settings()
        stored.setValue(KEY + "format", self.format())
        stored.setValue(KEY + "region", o.region)
        stored.setValue(KEY + "scale_percent", self.scale_spin.value())
        stored.setValue(KEY + "quality", o.quality)
        stored.setValue(KEY + "keep_alpha", self.wanted_alpha)  # the user's choice, not JPEG's forced off
        stored.setValue(KEY + "embed_recipe", o.embed_recipe)
        stored.setValue(KEY + "upscaler", o.upscaler.name if o.upscaler else "")
        stored.setValue(KEY + "folder", str(o.path.parent))
        remember(o.path)

    @staticmethod
    def _size_text(rect: Rect | None) -> str:
        return "" if rect is None else f"{rect[2] - rect[0]} × {rect[3] - rect[1]} px"
