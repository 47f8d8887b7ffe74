"""Generator inference off the GUI thread: newest request wins per channel
("frame", "thumbnails"; see studio/ui/channel_worker.py), so the canvas shows
the latest slider position as soon as the worker is free."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import Signal

from studio.engine.generator import Generator
from studio.engine.projection import Projector
from studio.engine.registry import ModelEntry
from studio.engine.runtime import Runtime
from studio.ui.channel_worker import ChannelWorker

LatentSource = Callable[[int], np.ndarray]  # latent_size -> float32 [N, latent_size]


class GeneratorCache:
    """One Generator (and Projector, for a model with an encoder) per model,
    shared by the render worker, export tasks and picture keyframes.

    Building a Generator opens (and warms up) an ONNX session, so it happens
    on whichever worker thread first needs it, never on the GUI thread.
    """

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._generators: dict[tuple[str, str], Generator] = {}
        self._projectors: dict[tuple[str, str], Projector] = {}
        self._lock = threading.Lock()

    def set_runtime(self, runtime: Runtime) -> None:
        """Run every model on `runtime` from now on (sessions are made anew on first use)."""
        with self._lock:
            self.runtime = runtime
            self._generators.clear()
            self._projectors.clear()

    def get(self, entry: ModelEntry) -> Generator:
        return self._cached(self._generators, entry, lambda: Generator(entry, self.runtime))

    def projector(self, entry: ModelEntry) -> Projector:
        """The model's Projector (ModelError when it has no usable encoder)."""
        generator = self.get(entry)
        return self._cached(self._projectors, entry, lambda: Projector(generator, self.runtime))

    def _cached(self, store: dict, entry: ModelEntry, make):
        """store's object for `entry` (by name and sha256), made by make() the first time."""
        key = (entry.name, entry.sha256)
        with self._lock:
            if key not in store:
                store[key] = make()
            return store[key]


@dataclass
class RenderRequest:
    entry: ModelEntry
    latents: LatentSource
    tag: object = None  # the caller's note of what was asked (e.g. seeds), returned with the result


@dataclass
class RenderResult:
    channel: str
    serial: int
    images: np.ndarray  # uint8 [N, H, W, 3]
    latents: np.ndarray  # float32 [N, latent_size], what was rendered
    seconds: float  # wall time of the render call alone
    model: str
    device: str
    tag: object = None


class RenderWorker(ChannelWorker):
    """A thread that renders the newest request of each channel."""

    rendered = Signal(object)  # RenderResult

    def __init__(self, generators: GeneratorCache, parent=None):
        super().__init__(parent)
        self.generators = generators

    def submit(self, channel: str, entry: ModelEntry, latents: LatentSource, tag: object = None) -> int:
        """Ask for a render; returns its serial (see ChannelWorker.queue)."""
        return self.queue(channel, RenderRequest(entry, latents, tag))

    def execute(self, channel: str, serial: int, request: RenderRequest) -> RenderResult:
        generator = self.generators.get(request.entry)
        latents = np.asarray(request.latents(generator.latent_size), dtype=np.float32)
        start = time.perf_counter()
        images = generator.render(latents)
        seconds = time.perf_counter() - start
        return RenderResult(channel, serial, images, latents, seconds, generator.name, generator.device, request.tag)

    def deliver(self, result: RenderResult) -> None:
        self.rendered.emit(result)
