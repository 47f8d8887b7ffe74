"""Image > Adjust: one dialog per adjustment (core/adjustments.py), with a live
preview on the canvas while its sliders move and one undo step on OK.

The preview is worked out on a worker from a copy of the document taken when
the dialog opens (the layer's area adjusted, then composited as the canvas
would show it), newest request first; OK computes the edit on a worker too,
so a large layer never freezes the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout

from studio.core.adjustments import PARAMETERS, TITLES, Adjustment, AdjustTarget
from studio.core.document import Document
from studio.core.rect import slices
from studio.ui.background_task import BackgroundTask

STEPS_PER_UNIT = {"gamma": 100}  # slider steps per unit: gamma moves by 0.01, the rest by 1


class AdjustDialog(QDialog):
    def __init__(self, kind: str, document: Document, canvas, start_task, parent=None):
        """start_task(task): how the window runs (and keeps alive) a BackgroundTask."""
        super().__init__(parent)
        self.setWindowTitle(TITLES[kind])
        self.kind, self.document, self.canvas, self._start = kind, document, canvas, start_task
        self.target = AdjustTarget.capture(document)  # DocumentError goes to the caller
        self.revision = document.revision
        self._copy = document.detached_copy()
        self._serial = 0
        self._running: BackgroundTask | None = None
        self._pending = False
        self.previews_shown = 0
        self.sliders: dict[str, QSlider] = {}
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, (low, high, neutral) in PARAMETERS[kind].items():
            scale = STEPS_PER_UNIT.get(name, 1)
            slider = QSlider(Qt.Horizontal)
            slider.setRange(round(low * scale), round(high * scale))
            slider.setValue(round(neutral * scale))
            slider.setMinimumWidth(260)
            slider.valueChanged.connect(self._changed)
            label = QLabel()
            label.setMinimumWidth(44)
            label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.sliders[name], self.labels[name] = slider, label
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(label)
            form.addRow(name.capitalize(), row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.Reset)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.Reset).clicked.connect(self.reset)
        layout.addWidget(buttons)
        self._show_values()

    def adjustment(self) -> Adjustment:
        values = {name: slider.value() / STEPS_PER_UNIT.get(name, 1) for name, slider in self.sliders.items()}
        if self.kind == "levels" and values["black"] >= values["white"]:
            values["black"] = values["white"] - 1  # the sliders may cross; the curve cannot
        return Adjustment.of(self.kind, **values)

    def set_values(self, **values: float) -> None:
        for name, value in values.items():
            self.sliders[name].setValue(round(value * STEPS_PER_UNIT.get(name, 1)))

    def reset(self) -> None:
        self.set_values(**{name: neutral for name, (_low, _high, neutral) in PARAMETERS[self.kind].items()})

    def _show_values(self) -> None:
        for name, slider in self.sliders.items():
            value = slider.value() / STEPS_PER_UNIT.get(name, 1)
            signed = PARAMETERS[self.kind][name][2] == 0 and self.kind != "levels"
            self.labels[name].setText(f"{value:.2f}" if name == "gamma" else f"{value:+.0f}" if signed
                                      else f"{value:.0f}")

    # -- preview ---------------------------------------------------------------------------

    def _changed(self, _value: int) -> None:
        self._show_values()
        if self._running is not None:
            self._pending = True  # the newest values go next; none in between
            return
        self._preview()

    def _preview(self) -> None:
        adjustment, target, copy = self.adjustment(), self.target, self._copy
        if adjustment.is_neutral():
            self.canvas.set_preview(None)
            return
        self._serial += 1
        serial = self._serial

        def work(_task):
            layer = copy.layer(target.layer_id)
            saved = layer.pixels[slices(target.rect)].copy()
            layer.pixels[slices(target.rect)] = target.result(adjustment)
            try:
                return copy.render(target.rect)
            finally:
                layer.pixels[slices(target.rect)] = saved

        task = BackgroundTask(work)
        task.succeeded.connect(lambda image: self._previewed(serial, image))
        task.finished.connect(self._preview_done)
        self._running = task
        self._start(task)

    def settled(self) -> bool:
        """The canvas shows the preview of the sliders as they are now."""
        return self._running is None and not self._pending

    def _previewed(self, serial: int, image) -> None:
        if serial == self._serial and self.isVisible():
            self.canvas.set_preview(image, self.target.rect)
            self.previews_shown += 1

    def _preview_done(self) -> None:
        self._running = None
        if self._pending and self.isVisible():
            self._pending = False
            self._preview()

    def done(self, result: int) -> None:
        self._serial += 1  # a preview still on its way is not shown
        self._pending = False
        self.canvas.set_preview(None)
        super().done(result)
