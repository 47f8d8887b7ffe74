"""The Latent panel: pick a generator, browse seeds, bring in pictures (for a
model with an encoder), walk between keyframes.

Everything here asks the render worker and returns at once; results come back
as signals, and a result that is no longer the newest request is dropped.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMenu,
                               QPushButton, QSizePolicy, QSlider, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from studio.core.walk import MODES, Keyframe, LatentKey, LatentWalk, keyframe_latents
from studio.engine.registry import ModelEntry
from studio.ui.direction_sliders import DirectionSliders
from studio.ui.keyframe_strip import KeyframeStrip
from studio.ui.render_worker import RenderResult, RenderWorker
from studio.ui.thumbnail_grid import ThumbnailGrid

SLIDER_STEPS = 10_000  # position slider resolution over the whole path
FPS = 24
SECONDS_PER_SEGMENT = 2.0  # play speed: one keyframe to the next
MAX_SEED = 2**31 - 1  # QSpinBox holds a C int
REROLL_RANGE = 1_000_000  # rerolled seeds stay short enough to read and type
FRAME = "frame"
THUMBNAILS = "thumbnails"
REFINE_STEPS = 200  # Add Picture's optional refinement (engine/projection.py)
MOVED = "moved "  # the name of a frame kept from the direction sliders, before its number
# Where "Add picture" takes a picture from (the window supplies the pixels).
PICTURE_SOURCES = {"file": "From File…", "layer": "From Active Layer", "selection": "From Selection",
                   "clipboard": "From Clipboard"}


def _unfinished(entry: ModelEntry) -> bool:
    """Whether a generator is a starting point rather than one to draw with:
    a base model (`studio export --base-model`) or a version 0.x (SemVer's
    initial development; base128 between its training legs). The picker
    lists those last, so that the window opens on a finished model."""
    return entry.manifest.get("base_model") is True or str(entry.manifest.get("version", "")).startswith("0.")


class LatentPanel(QWidget):
    frameReady = Signal(object, float, str)  # image uint8 HxWx3 or None, render seconds, device
    renderFailed = Signal(str)  # one line
    rescanRequested = Signal()
    modelChanged = Signal(object)  # ModelEntry or None
    # The artist did something with the walk (picked, dragged, played, moved it):
    # over a document the frame floats only after that.
    walkTouched = Signal()
    pictureRequested = Signal(str)  # a PICTURE_SOURCES key: the window encodes that picture
    picturesDropped = Signal(list)  # image file paths dropped on the keyframes

    def __init__(self, worker: RenderWorker, parent=None):
        super().__init__(parent)
        self.worker = worker
        self.walk = LatentWalk()
        self.entry: ModelEntry | None = None
        self.entries: list[ModelEntry] = []
        self.base_seed = 0
        self._images: dict[Keyframe, np.ndarray] = {}  # keyframe or grid seed -> thumbnail of the current model
        self._images_truncation = self.walk.truncation  # the truncation those images were made at
        self._play_direction = 1.0
        self._play_position = 0.0
        self.last_frame: RenderResult | None = None

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(round(1000 / FPS))
        self.play_timer.timeout.connect(self._advance)

        self._make_actions()
        self._build()
        worker.rendered.connect(self._on_rendered)
        worker.failed.connect(self._on_failed)
        self._set_seed_block(0)
        self._keyframes_changed()

    # -- layout ------------------------------------------------------------------------------

    def _make_actions(self) -> None:
        style = self.style()
        self.play_action = QAction(style.standardIcon(QStyle.SP_MediaPlay), "Play", self)
        self.play_action.setCheckable(True)
        self.play_action.setShortcut(QKeySequence("P"))
        self.play_action.setToolTip("Play / pause the walk (P)")
        self.play_action.toggled.connect(self.set_playing)
        self.play_action.triggered.connect(self.walkTouched)
        self.reroll_action = QAction(style.standardIcon(QStyle.SP_BrowserReload), "Reroll", self)
        self.reroll_action.setShortcut(QKeySequence("R"))
        self.reroll_action.setToolTip("New random block of seeds (R)")
        self.reroll_action.triggered.connect(self.reroll)
        self.clear_keys_action = QAction("Clear", self)
        self.clear_keys_action.setToolTip("Remove every keyframe")
        self.clear_keys_action.triggered.connect(self.clear_keyframes)
        self.picture_menu = QMenu(self)
        self.picture_actions = {}
        for source, label in PICTURE_SOURCES.items():
            action = self.picture_menu.addAction(label)
            action.triggered.connect(lambda _=False, source=source: self.pictureRequested.emit(source))
            self.picture_actions[source] = action
        self.picture_menu.addSeparator()
        self.refine_action = self.picture_menu.addAction(f"Refine ({REFINE_STEPS} Steps, Slower)")
        self.refine_action.setCheckable(True)
        self.refine_action.setToolTip("After the encoder, optimise each picture's latent so the model draws it "
                                      "closer (seconds per picture; Cancel stops it)")

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 4, 10, 8)
        root.setSpacing(4)

        # Model
        model_box = QGroupBox("Generator")
        model_layout = QVBoxLayout(model_box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.model_combo.setToolTip("Generator model to explore")
        self.model_combo.currentIndexChanged.connect(self._on_model_picked)
        self.rescan_button = QToolButton()
        self.rescan_button.setIcon(self.style().standardIcon(QStyle.SP_BrowserReload))
        self.rescan_button.setToolTip("Look for new models (F5)")
        self.rescan_button.clicked.connect(self.rescanRequested)
        row.addWidget(self.model_combo)
        row.addWidget(self.rescan_button)
        model_layout.addLayout(row)
        self.model_info = QLabel("Looking for models…")
        self.model_info.setObjectName("hint")
        self.model_info.setWordWrap(True)
        model_layout.addWidget(self.model_info)
        root.addWidget(model_box)

        # Samples
        samples_box = QGroupBox("Samples")
        samples_layout = QVBoxLayout(samples_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, MAX_SEED)
        self.seed_spin.setKeyboardTracking(False)  # jump on Enter or focus-out, not per digit
        self.seed_spin.setToolTip("First seed of the block; type a seed and press Enter to jump to it")
        self.seed_spin.valueChanged.connect(self._set_seed_block)
        self.seed_spin.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        row.addWidget(self.seed_spin)
        reroll = QToolButton()
        reroll.setDefaultAction(self.reroll_action)
        reroll.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        row.addWidget(reroll)
        samples_layout.addLayout(row)
        self.grid = ThumbnailGrid(12, 4)
        self.grid.seedClicked.connect(self.add_keyframe)
        samples_layout.addWidget(self.grid)
        root.addWidget(samples_box)

        # Keyframes
        keys_box = QGroupBox("Keyframes")
        keys_layout = QVBoxLayout(keys_box)
        self.strip = KeyframeStrip()
        self.strip.jumpRequested.connect(self.jump_to_keyframe)
        self.strip.removeRequested.connect(self.remove_keyframe)
        self.strip.filesDropped.connect(self._on_files_dropped)
        keys_layout.addWidget(self.strip)
        self.keys_hint = QLabel()
        self.keys_hint.setObjectName("hint")
        self.keys_hint.setWordWrap(True)
        keys_layout.addWidget(self.keys_hint)
        row = QHBoxLayout()
        self.picture_button = QToolButton()
        self.picture_button.setText("Add Picture")
        self.picture_button.setMenu(self.picture_menu)
        self.picture_button.setPopupMode(QToolButton.InstantPopup)
        row.addWidget(self.picture_button)
        row.addStretch(1)
        clear = QToolButton()
        clear.setDefaultAction(self.clear_keys_action)
        row.addWidget(clear)
        keys_layout.addLayout(row)
        root.addWidget(keys_box)

        # Walk
        walk_box = QGroupBox("Walk")
        form = QFormLayout(walk_box)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        row = QHBoxLayout()
        self.play_button = QToolButton()
        self.play_button.setDefaultAction(self.play_action)
        row.addWidget(self.play_button)
        self.position_slider = QSlider(Qt.Horizontal)
        self.position_slider.setRange(0, SLIDER_STEPS)
        self.position_slider.setToolTip("Position along the path through the keyframes")
        self.position_slider.valueChanged.connect(self._on_position)
        self.position_slider.actionTriggered.connect(self.walkTouched)  # the artist's moves, not the code's
        row.addWidget(self.position_slider, 1)
        self.position_label = QLabel("0.000")
        self.position_label.setMinimumWidth(44)
        self.position_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row.addWidget(self.position_label)
        form.addRow("Position", row)

        self.mode_combo = QComboBox()
        self.mode_combo.addItems(list(MODES))
        self.mode_combo.setToolTip("slerp keeps latents at a typical length (sharper mid-points); "
                                   "lerp is a straight line")
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.mode_combo.activated.connect(self.walkTouched)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setToolTip("Return from the last keyframe to the first")
        self.loop_check.toggled.connect(self._on_loop)
        self.loop_check.clicked.connect(self.walkTouched)
        row = QHBoxLayout()
        row.addWidget(self.mode_combo, 1)
        row.addWidget(self.loop_check)
        form.addRow("Interpolation", row)

        row = QHBoxLayout()
        self.truncation_slider = QSlider(Qt.Horizontal)
        self.truncation_slider.setRange(0, 200)
        self.truncation_slider.setValue(100)
        self.truncation_slider.setToolTip("Lower: more typical, cleaner images; higher: more variety")
        self.truncation_slider.valueChanged.connect(self._on_truncation)
        self.truncation_slider.actionTriggered.connect(self.walkTouched)
        self.truncation_label = QLabel("1.00")
        self.truncation_label.setMinimumWidth(44)
        self.truncation_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row.addWidget(self.truncation_slider, 1)
        row.addWidget(self.truncation_label)
        form.addRow("Truncation", row)
        root.addWidget(walk_box)

        self.directions = DirectionSliders(self.worker)
        self.directions.offsetChanged.connect(self._on_offset)
        self.directions.keepRequested.connect(self.keep_moved_frame)
        root.addWidget(self.directions)

        # Export (buttons are added by the window, which owns the export actions)
        self.export_box = QGroupBox("Export")
        self.export_layout = QVBoxLayout(self.export_box)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, 2400)
        self.frames_spin.setValue(48)
        self.frames_spin.setSuffix(" frames")
        self.frames_spin.setToolTip(f"Frames in an exported animation ({FPS} fps)")
        root.addWidget(self.export_box)
        root.addStretch(1)

    def add_export_actions(self, frame: QAction, animation: QAction) -> None:
        """One row of buttons for the window's export actions (they share enabled
        state and shortcuts): [Frame…]  [48 frames][Animation…]."""
        row = QHBoxLayout()
        row.setSpacing(6)
        for action, label in ((frame, "Frame…"), (animation, "Animation…")):
            button = QPushButton(label)
            button.setObjectName("primary")
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            button.setEnabled(action.isEnabled())
            action.enabledChanged.connect(button.setEnabled)
            if action is animation:
                row.addSpacing(6)
                row.addWidget(self.frames_spin)
            row.addWidget(button, 1)
        self.export_layout.addLayout(row)

    def add_place_actions(self, place: QAction, place_enlarged: QAction) -> None:
        """One row of buttons for putting the frame on the canvas as a layer:
        [Place on Canvas] (Ctrl+Enter) [Place at ×4] (enlarged first)."""
        row = QHBoxLayout()
        row.setSpacing(6)
        button = QPushButton("Place on Canvas")
        button.setObjectName("primary")
        button.setToolTip("Put this frame on the canvas as a new layer, over the selection if there is one "
                          "(Ctrl+Enter)")
        button.clicked.connect(place.trigger)
        row.addWidget(button, 1)
        self.place_enlarged_button = QPushButton(place_enlarged.text())
        self.place_enlarged_button.setToolTip(place_enlarged.toolTip())
        place_enlarged.changed.connect(lambda: self.place_enlarged_button.setToolTip(place_enlarged.toolTip()))
        self.place_enlarged_button.clicked.connect(place_enlarged.trigger)
        row.addWidget(self.place_enlarged_button)
        self.export_layout.insertLayout(0, row)

    # -- models ------------------------------------------------------------------------------

    def set_models(self, entries: list[ModelEntry]) -> None:
        """Fill the picker: usable generators to choose from, skipped ones shown
        disabled with their reason. Keeps the current model when still there."""
        generators = [e for e in entries if e.kind in ("generator", "?")]
        usable = sorted((e for e in generators if e.usable and e.kind == "generator"), key=_unfinished)
        skipped = [e for e in generators if not e.usable]
        self.entries = usable
        keep = self.entry.name if self.entry else None
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for entry in usable:
            self.model_combo.addItem(entry.name, entry)
            self.model_combo.setItemData(self.model_combo.count() - 1,
                                         entry.manifest.get("description", ""), Qt.ToolTipRole)
        model = self.model_combo.model()
        for entry in skipped:
            self.model_combo.addItem(f"{entry.name} (skipped)", None)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, entry.reason, Qt.ToolTipRole)
            if isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)
        names = [e.name for e in usable]
        self.model_combo.setCurrentIndex(names.index(keep) if keep in names else (0 if usable else -1))
        self.model_combo.blockSignals(False)
        tip = "\n".join(f"{e.name}: {e.reason}" for e in skipped)
        self.model_combo.setToolTip("Generator model to explore" + (f"\n\nSkipped:\n{tip}" if tip else ""))
        self._on_model_picked(self.model_combo.currentIndex(), force=False)
        if not usable:
            self.model_info.setText("No usable generator found. Put a model folder in models/ "
                                    "or train one with `studio train`, then press F5."
                                    + (f" ({len(skipped)} skipped: hover the list)" if skipped else ""))

    def _on_model_picked(self, index: int, force: bool = True) -> None:
        entry = self.model_combo.itemData(index) if index >= 0 else None
        same = entry is not None and self.entry is not None and \
            (entry.name, entry.sha256) == (self.entry.name, self.entry.sha256)
        if same and not force:
            self.entry = entry  # a rescan made a new but identical entry: keep everything
            return
        self.entry = entry
        self._images = {}
        self.worker.cancel(THUMBNAILS)
        self.worker.cancel(FRAME)
        self._drop_foreign_latents()
        self.directions.set_model(entry)
        if entry is not None:
            m = entry.manifest
            self.model_info.setText(f"{m.get('resolution', '?')} px · latent {m.get('latent_size', '?')} · "
                                    f"v{m.get('version', '?')}")
            self.model_info.setToolTip(m.get("description", ""))
        self._show_cells()
        self._update_enabled()
        self.modelChanged.emit(entry)
        self.request_thumbnails()
        self.request_frame()

    # -- seeds and keyframes -----------------------------------------------------------------

    @property
    def grid_seeds(self) -> list[int]:
        return [self.base_seed + i for i in range(self.grid.count)]

    def _set_seed_block(self, seed: int) -> None:
        self.base_seed = int(seed)
        self._show_cells()
        self.request_thumbnails()

    def jump_to_seed(self, seed: int) -> None:
        """Show the block of samples starting at `seed` (0..2^31-1)."""
        self.seed_spin.setValue(seed)  # valueChanged does the rest

    def reroll(self) -> None:
        """A new random block of seeds."""
        self.jump_to_seed(random.randrange(REROLL_RANGE))

    def add_keyframe(self, seed: int) -> None:
        """Append `seed` to the walk and move to it."""
        self.walkTouched.emit()
        self.walk.keyframes.append(int(seed))
        self._keyframes_changed()
        self.jump_to_keyframe(len(self.walk.keyframes) - 1)

    @property
    def can_encode(self) -> bool:
        """Whether the current model has an encoder to bring pictures in with."""
        return self.entry is not None and isinstance(self.entry.companions.get("encoder"), Path)

    def add_latent_keyframe(self, key: LatentKey) -> None:
        """Append a keyframe of its own latent (a picture the current model's
        encoder found one for, or a kept frame), and move to it."""
        if self.entry is None or key.model != self.entry.name:
            return  # encoded for a model the artist has since left
        self.walkTouched.emit()
        self.walk.keyframes.append(key)
        self._keyframes_changed()
        self.request_thumbnails()
        self.jump_to_keyframe(len(self.walk.keyframes) - 1)

    def _drop_foreign_latents(self) -> None:
        """Pictures and kept frames are points in one model's space: another model's go."""
        name = self.entry.name if self.entry is not None else None
        kept = [k for k in self.walk.keyframes if not isinstance(k, LatentKey) or k.model == name]
        dropped = len(self.walk.keyframes) - len(kept)
        if dropped:
            self.walk.keyframes = kept
            self._keyframes_changed()
            self.keys_hint.setText(f"{dropped} keyframe{'s' * (dropped > 1)} of another model removed: pictures "
                                   "and kept frames belong to the model they were made with")

    def _on_files_dropped(self, paths: list) -> None:
        if self.can_encode:
            self.picturesDropped.emit(paths)

    def remove_keyframe(self, index: int) -> None:
        if 0 <= index < len(self.walk.keyframes):
            del self.walk.keyframes[index]
            self._keyframes_changed()
            self.request_frame()

    def clear_keyframes(self) -> None:
        self.walk.keyframes.clear()
        self._keyframes_changed()
        self.request_frame()

    def jump_to_keyframe(self, index: int) -> None:
        if 0 <= index < len(self.walk.keyframes):
            self.walkTouched.emit()
            self.set_position(self.walk.keyframe_position(index))

    def _keyframes_changed(self) -> None:
        self.strip.set_keyframes(self.walk.keyframes, self._images)
        n = len(self.walk.keyframes)
        self.keys_hint.setText(("Click a sample or add a picture" if self.can_encode else
                                "Click a sample to add a keyframe") if n == 0 else
                               "Add another sample to walk between them" if n == 1 else
                               f"{n} keyframes · right-click one to remove it")
        if n < 2:
            self.play_action.setChecked(False)
        self._update_enabled()

    def _update_enabled(self) -> None:
        has_model = self.entry is not None
        n = len(self.walk.keyframes)
        self.play_action.setEnabled(has_model and n >= 2)
        self.position_slider.setEnabled(n >= 2)
        self.clear_keys_action.setEnabled(n > 0)
        self.reroll_action.setEnabled(has_model)
        self.picture_button.setEnabled(self.can_encode)
        self.strip.setAcceptDrops(self.can_encode)
        self.picture_button.setToolTip(
            "Bring in one of your pictures as a keyframe: the model's encoder finds the latent that draws it "
            "(or drop image files on the keyframes)" if self.can_encode else
            "This model has no encoder to bring pictures in with; train one with `studio train --encoder`, or "
            "for this model as it is: `--base MODEL --encoder --freeze-g`")

    # -- walk controls -----------------------------------------------------------------------

    def set_position(self, position: float) -> None:
        """Move the walk to `position` (0..1) and the slider with it."""
        value = round(min(max(position, 0.0), 1.0) * SLIDER_STEPS)
        if value == self.position_slider.value():
            self._on_position(value)  # e.g. the first keyframe at 0: still show it
        else:
            self.position_slider.setValue(value)

    def _on_position(self, value: int) -> None:
        self.walk.position = value / SLIDER_STEPS
        self._play_position = self.walk.position
        self.position_label.setText(f"{self.walk.position:.3f}")
        self.request_frame()

    def _on_mode(self, mode: str) -> None:
        self.walk.mode = mode
        self.request_frame()

    def _on_loop(self, loop: bool) -> None:
        self.walk.loop = loop
        self.request_frame()

    def keep_moved_frame(self) -> None:
        """The frame as the direction sliders moved it becomes a keyframe of its
        own, and the sliders go back to 0 (the new keyframe holds the move)."""
        if self.entry is None or not self.walk.keyframes or self.walk.offset is None:
            return
        latent = self.walk.latent(int(self.entry.manifest["latent_size"]))[0]
        kept = sum(isinstance(k, LatentKey) and k.name.startswith(MOVED) for k in self.walk.keyframes)
        key = LatentKey(latent, f"{MOVED}{kept + 1}", self.entry.name)
        self.directions.reset()
        self.add_latent_keyframe(key)

    def _on_offset(self, offset) -> None:
        if offset is not None:
            self.walkTouched.emit()
        self.walk.offset = offset
        self.request_frame()

    def _on_truncation(self, value: int) -> None:
        self.walk.truncation = value / 100
        self.truncation_label.setText(f"{self.walk.truncation:.2f}")
        # The old thumbnails stay up until the new batch lands: no blank flicker while dragging.
        self.request_thumbnails()
        self.request_frame()

    def set_playing(self, playing: bool) -> None:
        """Start or stop the looping walk (about 24 fps)."""
        if playing and len(self.walk.keyframes) >= 2:
            self._play_position = self.walk.position
            self.play_timer.start()
            self.play_action.setIcon(self.style().standardIcon(QStyle.SP_MediaPause))
            self.play_action.setText("Pause")
        else:
            self.play_timer.stop()
            self.play_action.setIcon(self.style().standardIcon(QStyle.SP_MediaPlay))
            self.play_action.setText("Play")
            if self.play_action.isChecked():
                self.play_action.setChecked(False)

    def _advance(self) -> None:
        # A loop wraps around; an open path goes back and forth, so neither jumps.
        step = 1.0 / (FPS * SECONDS_PER_SEGMENT * max(self.walk.segments, 1))
        position = self._play_position + step * self._play_direction
        if self.walk.loop:
            position %= 1.0
        elif position > 1.0 or position < 0.0:
            self._play_direction = -self._play_direction
            position = min(max(position, 0.0), 1.0)
        self.set_position(position)
        self._play_position = position  # keep sub-slider-step precision

    # -- rendering ---------------------------------------------------------------------------

    def request_thumbnails(self) -> None:
        """Render, in one batch, the grid and keyframe images not yet rendered at
        the current truncation (all of them after the truncation changed)."""
        if self.entry is None:
            return
        keys = list(dict.fromkeys(self.grid_seeds + self.walk.keyframes))
        fresh = self._images_truncation == self.walk.truncation
        missing = [k for k in keys if not fresh or k not in self._images]
        if not missing:
            self._show_cells()
            return
        truncation = self.walk.truncation
        self.worker.submit(THUMBNAILS, self.entry, lambda size: keyframe_latents(missing, size, truncation),
                           tag=(self.entry.name, truncation, missing))

    def request_frame(self) -> None:
        """Render the walk at its current position (the newest request wins)."""
        if self.entry is None or not self.walk.keyframes:
            self.worker.cancel(FRAME)
            self.last_frame = None
            self.frameReady.emit(None, 0.0, "")
            return
        snapshot = copy.deepcopy(self.walk)  # the worker must see this moment's walk, not a later one
        self.worker.submit(FRAME, self.entry, snapshot.latent, tag=snapshot)

    def _on_rendered(self, result: RenderResult) -> None:
        if not self.worker.is_current(result.channel, result.serial):
            return  # a newer request superseded it
        if result.channel == THUMBNAILS:
            name, truncation, seeds = result.tag
            if self.entry is None or name != self.entry.name or truncation != self.walk.truncation:
                return
            if truncation != self._images_truncation:
                self._images, self._images_truncation = {}, truncation
            for seed, image in zip(seeds, result.images):
                self._images[seed] = image
            keep = set(self.grid_seeds) | set(self.walk.keyframes)
            self._images = {s: im for s, im in self._images.items() if s in keep}
            self._show_cells()
            if not keep <= self._images.keys():
                self.request_thumbnails()  # seeds asked for after this batch was sent
        elif result.channel == FRAME:
            self.last_frame = result
            self.directions.show_frame(result.latents[0])
            self.frameReady.emit(result.images[0], result.seconds, result.device)

    def _on_failed(self, channel: str, serial: int, message: str) -> None:
        if channel in (FRAME, THUMBNAILS) and self.worker.is_current(channel, serial):
            self.set_playing(False)
            self.renderFailed.emit(message)

    def _show_cells(self) -> None:
        self.grid.set_cells(self.grid_seeds, self._images)
        self.strip.set_keyframes(self.walk.keyframes, self._images)

    def refresh(self) -> None:
        """Render thumbnails and frame again (e.g. on another device)."""
        self._images = {}
        self.request_thumbnails()
        self.request_frame()

    def restore(self, entry: ModelEntry, walk: LatentWalk) -> None:
        """Show `entry` with `walk` (a reopened recipe): model, keyframes, mode,
        loop, truncation and position, as they were when it was exported."""
        names = [e.name for e in self.entries]
        if entry.name in names:
            self.model_combo.setCurrentIndex(names.index(entry.name))
        self.set_playing(False)
        self.walk.keyframes = list(walk.keyframes)
        self.mode_combo.setCurrentText(walk.mode)
        self.loop_check.setChecked(walk.loop)
        self.truncation_slider.setValue(round(walk.truncation * 100))
        self.walk.offset = walk.offset
        self.directions.show_offset(walk.offset)
        seeds = [key for key in walk.keyframes if not isinstance(key, LatentKey)]
        if seeds:
            self.jump_to_seed(seeds[0])
        self._keyframes_changed()
        self.request_thumbnails()
        self.set_position(walk.position)

    # -- for exports -------------------------------------------------------------------------

    def walk_snapshot(self) -> LatentWalk:
        return copy.deepcopy(self.walk)
