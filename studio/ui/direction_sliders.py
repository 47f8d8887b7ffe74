"""The Latent panel's Directions: a few sliders that move the walk along the
generator's main latent directions (engine/directions.py), each with a
strip showing the frame a little further either way.

The directions are found (or read from the cache) on a BackgroundTask when
a model is picked; the strips are one batch on the render worker's
"directions" channel, asked for when the frame settles. The sliders' sum,
amounts x directions, is the walk's offset, which the panel applies to
every frame and the recipe records; Keep as Keyframe turns the moved frame
into a keyframe of its own.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout,
                               QWidget)

from studio.engine.directions import latent_directions
from studio.engine.registry import ModelEntry
from studio.ui.background_task import BackgroundTask, TaskSet
from studio.ui.qimage import pixmap_from_array
from studio.ui.render_worker import RenderResult, RenderWorker

CHANNEL = "directions"
RANGE = 3.0  # slider ends, in prior standard deviations
SLIDER_STEPS = 60  # per side: 0.05 a step
STRIP_STEPS = (-2.0, -1.0, 0.0, 1.0, 2.0)  # a strip's pictures: the frame moved this far along its direction
STRIP_PX = 30
SETTLE_MS = 250  # the strips wait for the frame to stop moving this long


class DirectionSliders(QGroupBox):
    offsetChanged = Signal(object)  # float32 [latent_size] or None (all sliders at 0)
    keepRequested = Signal()  # keep the moved frame as a keyframe of its own

    def __init__(self, worker: RenderWorker, parent=None):
        super().__init__("Directions", parent)
        self.worker = worker
        self.entry: ModelEntry | None = None
        self.directions: np.ndarray | None = None  # [COUNT, latent_size]
        self.frame_latent: np.ndarray | None = None  # the walk's latent at its position, offset included
        self._shown_offset: np.ndarray | None = None  # a reopened walk's offset, for the sliders once found
        self.tasks = TaskSet()
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._request_strips)
        layout = QVBoxLayout(self)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.rows = QGridLayout()
        self.rows.setHorizontalSpacing(6)
        self.rows.setVerticalSpacing(2)
        layout.addLayout(self.rows)
        row = QHBoxLayout()
        self.keep_button = QToolButton()
        self.keep_button.setText("Keep as Keyframe")
        self.keep_button.setToolTip("Add the frame as the sliders moved it as a keyframe of its own, and put the "
                                    "sliders back to 0")
        self.keep_button.clicked.connect(self.keepRequested)
        row.addWidget(self.keep_button)
        row.addStretch(1)
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Every direction back to 0")
        self.reset_button.clicked.connect(self.reset)
        row.addWidget(self.reset_button)
        layout.addLayout(row)
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self.strips: list[list[QLabel]] = []
        worker.rendered.connect(self._on_rendered)
        self._shut = False
        self.set_model(None)

    # -- model -------------------------------------------------------------------------------

    def set_model(self, entry: ModelEntry | None) -> BackgroundTask | None:
        """Find `entry`'s directions on a worker (None: no model, no sliders)."""
        self.entry, self.directions = entry, None
        self._build_rows(0)
        self.offsetChanged.emit(None)
        if entry is None:
            self.hint.setText("Pick a generator to move its pictures along their main directions")
            return None
        self.hint.setText(f"Finding {entry.name}'s main directions…")
        generators = self.worker.generators
        task = BackgroundTask(lambda task: latent_directions(generators.get(entry), task.is_cancelled))
        task.succeeded.connect(lambda directions: self._found(entry, directions))
        task.failed.connect(lambda text: self._shut or self.hint.setText(f"No directions: {text}"))
        self.tasks.start(task)
        return task

    def _found(self, entry: ModelEntry, directions: np.ndarray | None) -> None:
        if self._shut or entry is not self.entry or directions is None:
            return  # the window closed, or another model was picked meanwhile
        self.directions = directions
        self._build_rows(len(directions))
        if self._shown_offset is not None:
            self.show_offset(self._shown_offset)
        self.hint.setText("Move the walk along the ways this model's pictures vary most (GANSpace)")
        self._settle.start()

    def busy(self) -> bool:
        """True while directions are being found (tests wait on this)."""
        return bool(self.tasks)

    def _build_rows(self, count: int) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.sliders, self.values, self.strips = [], [], []
        for index in range(count):
            label = QLabel(str(index + 1))
            label.setToolTip(f"Direction {index + 1}: the {self._ordinal(index)}way the pictures vary most")
            slider = QSlider(Qt.Horizontal)
            slider.setRange(-SLIDER_STEPS, SLIDER_STEPS)
            slider.setToolTip(f"Direction {index + 1}, from -{RANGE:g} to +{RANGE:g} standard deviations")
            slider.valueChanged.connect(self._changed)
            value = QLabel("0.00")
            value.setMinimumWidth(40)
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            strip = [QLabel() for _ in STRIP_STEPS]
            for step, cell in zip(STRIP_STEPS, strip):
                cell.setFixedSize(STRIP_PX, STRIP_PX)
                cell.setToolTip(f"The frame {step:+g} along direction {index + 1}")
            self.rows.addWidget(label, 2 * index, 0)
            self.rows.addWidget(slider, 2 * index, 1)
            self.rows.addWidget(value, 2 * index, 2)
            cells = QHBoxLayout()
            cells.setContentsMargins(0, 0, 0, 0)
            cells.setSpacing(2)
            cells.addStretch(1)
            for cell in strip:
                cells.addWidget(cell)
            cells.addStretch(1)
            holder = QWidget()
            holder.setLayout(cells)
            holder.setFixedHeight(STRIP_PX + 2)
            self.rows.addWidget(holder, 2 * index + 1, 1)
            self.sliders.append(slider)
            self.values.append(value)
            self.strips.append(strip)
        self.reset_button.setEnabled(count > 0)
        self.keep_button.setEnabled(False)

    @staticmethod
    def _ordinal(index: int) -> str:
        """"" for the first, "2nd ", "3rd ", "4th "... for the others."""
        return ("", "2nd ", "3rd ")[index] if index < 3 else f"{index + 1}th "

    # -- amounts -----------------------------------------------------------------------------

    def amounts(self) -> np.ndarray:
        return np.array([s.value() * RANGE / SLIDER_STEPS for s in self.sliders], np.float32)

    def set_amounts(self, amounts) -> None:
        """Put the sliders at `amounts` (one per direction, clipped to the range) and move the walk there."""
        self._place(amounts)
        self._changed()

    def _place(self, amounts) -> None:
        for slider, amount in zip(self.sliders, amounts):
            slider.blockSignals(True)
            slider.setValue(round(max(-RANGE, min(RANGE, float(amount))) / RANGE * SLIDER_STEPS))
            slider.blockSignals(False)

    def show_offset(self, offset: np.ndarray | None) -> None:
        """Put the sliders where a reopened walk's `offset` was made (now, or
        once the directions are found) without changing the walk: the
        recipe's offset stays exactly as it was."""
        self._shown_offset = offset
        if self.directions is None:
            return
        self._place(np.zeros(len(self.sliders)) if offset is None else
                    np.linalg.lstsq(self.directions.T.astype(np.float64), offset.astype(np.float64), rcond=None)[0])
        self._show_values()
        self._shown_offset = None

    def reset(self) -> None:
        self.set_amounts([0.0] * len(self.sliders))

    def offset(self) -> np.ndarray | None:
        if self.directions is None or not self.amounts().any():
            return None
        return (self.amounts() @ self.directions).astype(np.float32)

    def _changed(self) -> None:
        self._show_values()
        self.keep_button.setEnabled(self.offset() is not None)
        self.offsetChanged.emit(self.offset())

    def _show_values(self) -> None:
        for label, amount in zip(self.values, self.amounts()):
            label.setText(f"{amount:+.2f}" if amount else "0.00")

    # -- strips ------------------------------------------------------------------------------

    def show_frame(self, latent: np.ndarray | None) -> None:
        """The walk's current latent (offset included): the strips follow it once it settles."""
        self.frame_latent = None if latent is None else np.asarray(latent, np.float32).reshape(-1)
        self._settle.start()

    def _request_strips(self) -> None:
        if self.entry is None or self.directions is None or self.frame_latent is None:
            return
        if self.frame_latent.shape[0] != self.directions.shape[1]:
            return  # a frame of the previous model still on its way
        base, directions = self.frame_latent.copy(), self.directions.copy()
        steps = np.array(STRIP_STEPS, np.float32)
        self.worker.submit(CHANNEL, self.entry, lambda size: (base + steps[None, :, None] * directions[:, None, :])
                           .reshape(-1, size).astype(np.float32), tag=self.entry.name)

    def _on_rendered(self, result: RenderResult) -> None:
        if result.channel != CHANNEL or not self.worker.is_current(CHANNEL, result.serial):
            return
        if self.entry is None or result.tag != self.entry.name:
            return
        for row, strip in enumerate(self.strips):
            for column, cell in enumerate(strip):
                cell.setPixmap(pixmap_from_array(result.images[row * len(STRIP_STEPS) + column], STRIP_PX))

    def shutdown(self) -> None:
        # A result already queued for the GUI thread may arrive after the widgets are gone: it is dropped.
        self._shut = True
        self.tasks.finish_all(cancel=True)
