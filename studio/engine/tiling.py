"""Full-resolution inference in tiles that share one set of normalisation statistics.

Why: the style networks instance-normalise: every normalisation layer subtracts
a per-channel mean and divides by a per-channel deviation taken over the whole
feature map (ReduceMean / GlobalAveragePool nodes). Run tile by tile, each tile
normalises with its own statistics and the look drifts from tile to tile (2 x 2
tiles of 1024 px: 0.06-0.19 mean absolute difference from the whole-image run,
even with feathered overlap). Here the graph is rewritten so those statistics
are inputs, measured once over the whole image, and every tile is normalised as
the whole image would be.

Ways to get the statistics (`transform(..., stats=)`):

- "exact" (default): layer by layer over tiles. The graph is cut into segments,
  one per dependency level of the statistics (one per normalisation layer where
  the variance is the mean of (x - mean)^2: sum and sum of squares come from the
  same pass). Each segment runs tile by tile over the whole image, with a margin
  as wide as its own receptive field (a few px), keeps the feature maps later
  segments read and sums what the statistics average over the tiles' cores
  (float64). The next segment normalises with those statistics. Equal to the
  whole-image run up to float rounding, one pass of compute, and the memory is
  the kept maps (float16 past KEPT_MEMORY) instead of onnxruntime's workspace
  for the whole image. A map only the next segment reads, on the same tile
  grid, stays in its tile's buffer and that segment runs on the same window
  (see _chain): no copy out of the tile and back in.
- "whole": statistics from one run of a statistics graph on the whole image,
  then a tile graph (statistics as inputs) with overlap and feathering. Costs a
  whole-image run on top; kept as the check that the tile graph is right.
- "per-tile": every tile its own statistics (naive tiling), for comparison.

Statistics from a downscaled copy were measured and dropped: at half size they
are 0.04-0.11 off (the first layers see another texture scale), no better
than naive tiling.

A graph this module cannot tile (a spatial operation it does not know, a
reduction over the image that is not a mean over both sides) raises
TilingError at analysis, never a wrong picture.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import onnx
from onnx import helper, numpy_helper

from studio.engine.norm_fusion import fold_given_statistics
from studio.engine.runtime import ModelSession, probe_run

STATS_MODES = ("exact", "whole", "per-tile")

# Bytes of feature maps "exact" keeps in float32 before it keeps them in float16.
KEPT_MEMORY = 8 * 2**30
# Widest window (px of a segment's own maps each side) that chaining segments
# may give them: past it the extra compute costs more than the copies saved.
CHAIN_WINDOW = 16
# Freed buffers kept for the next call: at most this many bytes, this long.
KEEP_BYTES = 4 * 2**30
KEEP_SECONDS = 60.0

# Operations that map each pixel to the same pixel (channel mixing allowed).
_POINTWISE = {
    "Abs", "Add", "BatchNormalization", "Cast", "Clip", "DequantizeLinear", "Div", "Elu", "Erf", "Exp",
    "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "Log", "Max", "Min", "Mul", "Neg", "Pow", "PRelu",
    "QuantizeLinear", "Reciprocal", "Relu", "Selu", "Sigmoid", "Softplus", "Sqrt", "Sub", "Tanh", "Transpose",
    "Where", "Concat", "Split", "Sum", "Mean", "Not", "Equal", "Greater", "Less", "Sign", "Round", "Floor", "Ceil",
}
_WINDOWED = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"}
_RESAMPLE = {"Resize", "Upsample"}

# Probe sizes: one base, then each side grown alone, so every tensor axis that
# follows the image's height or width (and at which scale) can be read off.
_PROBE_BASE, _PROBE_STEP = 128, 64


class TilingError(ValueError):
    """A network or request tiling cannot serve; str() is one line."""


class Cancelled(Exception):
    """The caller's cancelled() said stop; nothing was returned."""


Progress = Callable[[int, int], None]


@dataclass
class _Watch:
    """Reports tile runs done out of all planned, and stops when asked."""

    total: int
    progress: Progress | None
    cancelled: Callable[[], bool] | None
    done: int = 0

    def check(self) -> None:
        """Before a run: stop here when the caller asks."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled("cancelled")

    def tick(self) -> None:
        """After a run."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


@dataclass(frozen=True)
class _Spatial:
    """How a tensor's axes follow the input image: size = scale * side + offset."""

    h_axis: int
    w_axis: int
    scale: Fraction
    offset: int  # non-zero only for padded maps (inside a segment, never cut)


@dataclass
class _Segment:
    level: int
    nodes: list[int]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)  # outputs later segments read
    reduce: set[str] = field(default_factory=set)  # outputs a statistic averages
    margin: int = 0  # input px of context each side of a tile's core
    window: int = 0  # the margin it runs with: more than `margin` when chained (see _chain)
    scale: Fraction = Fraction(1)  # largest map scale inside (maps are scale x the input's sides)


@dataclass
class _Plan:
    """What tiling knows about one network (cached per sha256 of its ONNX)."""

    sha: str
    model: onnx.ModelProto  # the network with free image sides
    content_name: str
    content_axes: tuple[int, int]
    output_name: str
    align: int  # tile edges fall on multiples of this (the network's total stride)
    radius: int  # receptive field radius of the tile graph, input px
    stats: list[str]  # statistic tensors, in graph order
    stat_input: dict[str, str]
    sources: dict[str, str]  # statistic -> tensor exact mode sums for it
    squared: set[str]  # sources whose sum of squares is needed too
    spatial: dict[str, _Spatial]
    dtypes: dict[str, np.dtype]
    segments: list[_Segment]
    last_use: dict[str, int]  # kept tensor -> last segment index that reads it
    chained: set[str]  # kept maps handed from segment to segment per tile (see _chain)
    fixed_sides: bool  # the network declares a fixed image size
    shapes: dict[str, tuple[int, ...]]  # every tensor's shape at the probe's base size
    kept_per_px: float  # most kept-map elements alive at once, per input pixel
    _built: dict[str, bytes] = field(default_factory=dict)

    def graph(self, kind: str) -> bytes:
        """ONNX bytes of a rewritten graph: "free", "stats", "tile" or "segment:<i>"."""
        if kind not in self._built:
            self._built[kind] = _build_graph(self, kind)
        return self._built[kind]


_plans: dict[tuple[str, str], _Plan] = {}
_plans_lock = threading.Lock()


def transform(session: ModelSession, feeds: dict[str, np.ndarray], content_name: str, content: np.ndarray,
              tile: int, overlap: int = 64, stats: str = "exact", progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """Run an instance-normalising image network on `content` in tiles.

    session: the network's ModelSession (Runtime.session). feeds: its other
    inputs (style weights, style vector). content_name: its image input.
    content: float32 1x3xHxW in the network's own input range, H and W >= 8 px
    (NHWC networks are transposed here); reflect-padded to a multiple of the
    network's stride and cropped back, as a whole-image caller does.
    tile: side of a tile's core in px (about; edges fall on the stride); 0, or
    an image no larger than one tile, runs the whole image at once.
    overlap: px of context each side of a tile for "whole" and "per-tile",
    feathered across the seam ("exact" takes its margins from the receptive
    field). stats: "exact", "whole" or "per-tile" (module docstring).
    progress(done, total) is called after each network run over a tile;
    cancelled() is polled before each one and, once true, raises Cancelled.
    Returns float32 1x3xHxW in the network's output range.
    """
    if stats not in STATS_MODES:
        raise TilingError(f"unknown statistics mode '{stats}' (choose {', '.join(STATS_MODES)})")
    content = np.asarray(content, dtype=np.float32)
    if content.ndim != 4 or content.shape[0] != 1 or content.shape[1] != 3:
        raise TilingError(f"content must be a 1x3xHxW array, got shape {tuple(content.shape)}")
    height, width = content.shape[2:]
    if min(height, width) < 8:
        raise TilingError(f"image too small ({width}x{height}); both sides need at least 8 px")
    if tile < 0 or overlap < 0:
        raise TilingError(f"tile and overlap must not be negative (got {tile} and {overlap})")
    plan = _plan_for(session, feeds, content_name)
    network_input = _to_layout(_pad_to(content, plan.align), plan.content_axes)
    size = tuple(network_input.shape[ax] for ax in plan.content_axes)
    if tile == 0 or max(size) <= max(tile, plan.align):
        watch = _Watch(1, progress, cancelled)
        watch.check()
        out = _run_whole(session, plan, {**feeds, content_name: network_input}, (height, width))
        watch.tick()
    elif stats == "exact":
        total = sum(len(list(_grid(size, int(tile / s.scale), plan.align))) for s in plan.segments)
        out = _run_exact(session, plan, feeds, network_input, tile, _Watch(total, progress, cancelled))
    else:
        if stats == "per-tile":
            runner, values = _free_sides(session, plan), {}
        else:
            stats_runner = session.derived(f"tiling:{plan.sha}:stats", lambda: plan.graph("stats"))
            measured = _run_whole(stats_runner, plan, {**feeds, content_name: network_input}, (height, width),
                                  everything=True)
            values = dict(zip(plan.stats, measured[1:]))
            runner = session.derived(f"tiling:{plan.sha}:tile", lambda: plan.graph("tile"))
        watch = _Watch(len(list(_grid(size, tile, plan.align))), progress, cancelled)
        out = _run_feathered(runner, plan, {**feeds, **values}, network_input, tile, overlap, watch)
    out = _from_layout(out, plan.spatial[plan.output_name])
    return np.ascontiguousarray(out[:, :, :height, :width], dtype=np.float32)


def _run_whole(session: ModelSession, plan: _Plan, feeds: dict[str, np.ndarray], size: tuple[int, int],
               everything: bool = False):
    """One run on the whole image; onnxruntime's own refusals (the int8 network's
    fused average stops at about 8 megapixels per map) become one line."""
    runner = session if everything else _free_sides(session, plan)
    try:
        outputs = runner.run(feeds)
    except Exception as exc:  # onnxruntime raises its own exception types
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise TilingError(f"the network cannot run on the whole {size[1]}x{size[0]} image at once "
                          f"({reason[-120:]}); use tiles") from None
    return outputs if everything else outputs[0]


def _free_sides(session: ModelSession, plan: _Plan) -> ModelSession:
    """The network itself, or its rewrite with free image sides when it declares
    a fixed size (the arbitrary network says 384 x 384 but is fully convolutional)."""
    if not plan.fixed_sides:
        return session
    return session.derived(f"tiling:{plan.sha}:free", lambda: plan.graph("free"))


# -- running ---------------------------------------------------------------------------------------------


def _cells(length: int, tile: int, align: int) -> list[tuple[int, int]]:
    """Cut [0, length) into near-equal cells of about `tile` px, edges on `align`."""
    count = max(1, math.ceil(length / max(tile, align)))
    edges = sorted({min(length, round(i * length / count / align) * align) for i in range(count)} | {length})
    return list(zip(edges[:-1], edges[1:]))


def _grid(shape: tuple[int, int], tile: int, align: int):
    for y0, y1 in _cells(shape[0], tile, align):
        for x0, x1 in _cells(shape[1], tile, align):
            yield y0, y1, x0, x1


def _window(lo: int, hi: int, margin: int, length: int) -> tuple[int, int]:
    return max(0, lo - margin), min(length, hi + margin)


def _slices(sp: _Spatial, ndim: int, y: tuple[int, int], x: tuple[int, int]) -> tuple[slice, ...]:
    """Index of the input-pixel box y x x in a tensor laid out as `sp` says."""
    index = [slice(None)] * ndim
    index[sp.h_axis] = slice(int(y[0] * sp.scale), int(y[1] * sp.scale))
    index[sp.w_axis] = slice(int(x[0] * sp.scale), int(x[1] * sp.scale))
    return tuple(index)


def _run_exact(session: ModelSession, plan: _Plan, feeds: dict[str, np.ndarray], content: np.ndarray,
               tile: int, watch: _Watch) -> np.ndarray:
    """Segment by segment over tiles; see the module docstring."""
    run = _ExactRun(plan, feeds, content)
    try:
        for index, segment in enumerate(plan.segments):
            runner = session.derived(f"tiling:{plan.sha}:segment:{index}", lambda i=index: plan.graph(f"segment:{i}"))
            run.allocate(segment)
            # A tile's cost is its maps' pixels, so a segment working on quarter-size
            # maps takes tiles 4x the side: the low-resolution middle of a network
            # then runs on the whole image at once, reading and writing the kept
            # maps in place instead of copying windows in and cores out.
            for cell in _grid(run.size, int(tile / segment.scale), plan.align):
                watch.check()
                run.tile(runner, segment, cell)
                watch.tick()
            run.finish(index)
    except BaseException:  # Cancelled, or a failed run: the memory goes back for the next call
        run.release()
        raise
    finally:
        run.scratch.close()
        _memory.release_later()
    return run.kept[plan.output_name].astype(np.float32, copy=False)


class _ExactRun:
    """The state of one "exact" run: kept maps, statistics, their sums."""

    def __init__(self, plan: _Plan, feeds: dict[str, np.ndarray], content: np.ndarray):
        self.plan, self.feeds = plan, feeds
        self.size = tuple(content.shape[ax] for ax in plan.content_axes)
        # Past the budget, kept float32 maps are stored as float16 (statistics are
        # still summed from the float32 tiles): an 8192 px image then fits in 24 GB.
        # Nothing is chained then: chained maps are the tiles' own float32 output
        # buffers (8192 px chained: 64 s, 11.2 GiB peak; unchained: 76 s, 7.6 GiB).
        self.half = plan.kept_per_px * self.size[0] * self.size[1] * 4 > KEPT_MEMORY
        self.chained = set() if self.half else plan.chained
        self.kept: dict[str, np.ndarray] = {plan.content_name: content}
        self.values: dict[str, np.ndarray] = {}
        self.sums: dict[str, tuple] = {}
        self.blocks: dict[str, np.ndarray] = {}  # kept map -> the raw bytes it lives in
        # (chained map, tile) -> (its bytes, the tile's output) until the next segment reads it
        self.handed: dict[tuple[str, tuple], tuple[np.ndarray, np.ndarray]] = {}
        # Window and output buffers live in slots reused from tile to tile and
        # segment to segment (see _Memory).
        self.scratch = _Scratch()
        _finish_statistics(plan, self.kept, self.values, self.sums, self.size)

    def allocate(self, segment: _Segment) -> None:
        """Buffers for the maps a segment keeps, from the kept memory (maps
        earlier segments or calls freed) where a block fits."""
        plan = self.plan
        for name in segment.outputs:
            if name not in segment.keep or name in self.chained:
                continue
            shape = _window_shape(plan, name, (0, self.size[0]), (0, self.size[1]))
            wide = plan.dtypes[name] == np.float32 and name != plan.output_name
            dtype = np.dtype(np.float16) if self.half and wide else np.dtype(plan.dtypes[name])
            self.blocks[name], self.kept[name] = _memory.array(shape, dtype)

    def tile(self, runner: ModelSession, segment: _Segment, cell: tuple[int, int, int, int]) -> None:
        """Run one segment on one tile: its window in, its core's sums added
        and its kept maps written (chained maps stay in the tile's buffer)."""
        plan, kept, size = self.plan, self.kept, self.size
        y0, y1, x0, x1 = cell
        self.scratch.rewind()
        margin = segment.window if self.chained else segment.margin
        wy = _window(y0, y1, margin, size[0])
        wx = _window(x0, x1, margin, size[1])
        # A window that is the whole map reads and writes the kept maps themselves.
        whole = wy == (0, size[0]) and wx == (0, size[1])
        run_feeds, handed = {}, []
        for name in segment.inputs:
            if name in self.values:
                run_feeds[name] = self.values[name]
            elif name in self.chained:
                block, run_feeds[name] = self.handed.pop((name, cell))
                handed.append(block)
            elif name in kept and whole and kept[name].dtype == plan.dtypes[name]:
                run_feeds[name] = kept[name]
            elif name in kept:
                window = kept[name][_slices(plan.spatial[name], kept[name].ndim, wy, wx)]
                run_feeds[name] = self.scratch.take(window.shape, plan.dtypes[name])
                np.copyto(run_feeds[name], window)
            else:
                run_feeds[name] = self.feeds[name]
        outputs = {}
        for name in segment.outputs:
            shape = _window_shape(plan, name, wy, wx)
            if name in self.chained:
                block, outputs[name] = _memory.array(shape, plan.dtypes[name])
                self.handed[name, cell] = block, outputs[name]
            elif whole and name in segment.keep and kept[name].dtype == plan.dtypes[name]:
                outputs[name] = kept[name]
            else:
                outputs[name] = self.scratch.take(shape, plan.dtypes[name])
        runner.run_into(run_feeds, outputs)
        for block in handed:
            _memory.give(block)
        for name, array in outputs.items():
            sp = plan.spatial[name]
            core = array[_slices(sp, array.ndim, (y0 - wy[0], y1 - wy[0]), (x0 - wx[0], x1 - wx[0]))]
            if name in segment.reduce:
                part = _moments(core, sp, name in plan.squared)
                if name in self.sums:
                    total, squares = self.sums[name]
                    part = (total + part[0], None if part[1] is None else squares + part[1])
                self.sums[name] = part
            if name in segment.keep and name not in self.chained and array is not kept[name]:
                kept[name][_slices(sp, array.ndim, (y0, y1), (x0, x1))] = core

    def finish(self, index: int) -> None:
        """After segment `index` saw every tile: its statistics, and the maps no
        later segment reads freed (the next segment may take their bytes over:
        touched pages, no new page faults)."""
        plan = self.plan
        _finish_statistics(plan, self.kept, self.values, self.sums, self.size)
        for name in [n for n in self.kept if plan.last_use.get(n, -1) <= index and n != plan.output_name]:
            if name in self.blocks:
                _memory.give(self.blocks.pop(name))
            del self.kept[name]

    def release(self) -> None:
        for block in [*self.blocks.values(), *(block for block, _ in self.handed.values())]:
            _memory.give(block)
        self.blocks.clear()
        self.handed.clear()


class _Memory:
    """Byte blocks kept between calls for a while (KEEP_SECONDS, at most
    KEEP_BYTES), so the next tiled run (a second Apply, the next file of a
    folder) writes into touched pages: fresh memory costs page faults that
    took longer than the copies themselves (a fresh 2 GiB fill: 4.9 s; a
    touched one: 0.4 s), the same reason onnxruntime keeps its arena."""

    def __init__(self) -> None:
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def take(self, nbytes: int) -> np.ndarray:
        """A block of at least `nbytes`, wasting at most half of it."""
        with self._lock:
            fits = [i for i, b in enumerate(self._free) if nbytes <= b.nbytes <= 2 * nbytes]
            if fits:
                return self._free.pop(min(fits, key=lambda i: self._free[i].nbytes))
        return _fresh(nbytes)

    def array(self, shape: tuple, dtype) -> tuple[np.ndarray, np.ndarray]:
        """(block, an array of `shape` and `dtype` over it); give the block back."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        block = self.take(nbytes)
        return block, block[:nbytes].view(dtype).reshape(shape)

    def give(self, block: np.ndarray) -> None:
        with self._lock:
            self._free.append(block)
            self._free.sort(key=lambda b: b.nbytes, reverse=True)
            total = 0
            for index, kept in enumerate(self._free):
                total += kept.nbytes
                if total > KEEP_BYTES:
                    del self._free[index:]
                    break

    def release_later(self) -> None:
        """Let go of the kept blocks KEEP_SECONDS from now (each run's end
        restarts the clock)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(KEEP_SECONDS, self.release)
            self._timer.daemon = True
            self._timer.start()

    def release(self) -> None:
        with self._lock:
            self._free.clear()


_memory = _Memory()

# Fresh memory costs a page fault per page at first touch. On Linux,
# MAP_POPULATE maps a block with its pages in one call instead (1 GiB: 0.41 s
# against 0.7-0.9 s touched page by page, measured on this 2-core VM).
_POPULATE = getattr(mmap, "MAP_POPULATE", None)
_POPULATE_MIN = 1 << 20
# Elsewhere, numpy asks the kernel for transparent huge pages on large arrays.
# Where the kernel then compacts memory to find them at first touch (defrag
# "madvise", as on the machines we measured), that made a tiled 4096 px run
# 5-15 % slower (first run 12.8 s against 14.9 s, 15.2 against 17.4); our
# buffers skip it.
_set_huge_pages = getattr(np._core.multiarray, "_set_madvise_hugepage", None)


def _fresh(nbytes: int) -> np.ndarray:
    if _POPULATE is not None and nbytes >= _POPULATE_MIN:
        block = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE)
        return np.frombuffer(block, np.uint8)  # unmapped when the last view goes
    if _set_huge_pages is None:
        return np.empty(nbytes, np.uint8)
    previous = _set_huge_pages(False)
    try:
        return np.empty(nbytes, np.uint8)
    finally:
        _set_huge_pages(previous)


class _Scratch:
    """Numbered byte slots handed out in the same order for every tile run; a
    slot grows when a run needs more, so memory is touched once per call."""

    def __init__(self) -> None:
        self._slots: list[np.ndarray] = []
        self._next = 0

    def rewind(self) -> None:
        self._next = 0

    def take(self, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if self._next == len(self._slots):
            self._slots.append(np.empty(0, np.uint8))
        if self._slots[self._next].nbytes < nbytes:
            _memory.give(self._slots[self._next])
            self._slots[self._next] = _memory.take(nbytes)
        slot = self._slots[self._next]
        self._next += 1
        return slot[:nbytes].view(dtype).reshape(shape)

    def close(self) -> None:
        for slot in self._slots:
            _memory.give(slot)
        self._slots.clear()


def _window_shape(plan: _Plan, name: str, wy: tuple[int, int], wx: tuple[int, int]) -> tuple[int, ...]:
    sp = plan.spatial[name]
    shape = list(plan.shapes[name])
    shape[sp.h_axis], shape[sp.w_axis] = int((wy[1] - wy[0]) * sp.scale), int((wx[1] - wx[0]) * sp.scale)
    return tuple(shape)


def _finish_statistics(plan: _Plan, kept, values, sums, size) -> None:
    """Turn completed sums into statistics (after a segment has seen every tile)."""
    for stat in plan.stats:
        source = plan.sources[stat]
        if stat in values:
            continue
        sp = plan.spatial[source]
        if source not in sums and source == plan.content_name:  # statistics of the input need no segment
            sums[source] = _moments(kept[source], sp, source in plan.squared)
        if source not in sums:
            continue
        total, squares = sums[source]
        count = int(size[0] * sp.scale) * int(size[1] * sp.scale)
        mean = total / count
        variance = plan.sources[stat] != plan.stat_input[stat]
        value = np.maximum(squares / count - mean * mean, 0.0) if variance else mean
        values[stat] = value.astype(plan.dtypes[stat])


def _moments(core: np.ndarray, sp: _Spatial, squares: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Sum and (when asked) sum of squares over the image axes, keepdims, in
    float64: each row in float32 (a tile's width), the rows in float64; three
    times faster than float64 throughout, about 1e-8 relative."""
    moved = np.moveaxis(core, (sp.h_axis, sp.w_axis), (-2, -1))
    shape = list(core.shape)
    shape[sp.h_axis] = shape[sp.w_axis] = 1
    total = moved.sum(axis=-1, dtype=np.float32).sum(axis=-1, dtype=np.float64).reshape(shape)
    if not squares:
        return total, None
    square = np.einsum("...hw,...hw->...h", moved, moved).sum(axis=-1, dtype=np.float64).reshape(shape)
    return total, square


def _run_feathered(runner: ModelSession, plan: _Plan, feeds: dict[str, np.ndarray], content: np.ndarray,
                   tile: int, overlap: int, watch: _Watch) -> np.ndarray:
    """Tiles with `overlap` px of context each side, blended by linear ramps
    that sum to one. The ramps sit in the middle of each overlap, at least
    `radius` px from any tile edge when the overlap allows, so the reflect
    padding at a tile's edge never reaches a weighted pixel."""
    size = tuple(content.shape[ax] for ax in plan.content_axes)
    overlap = -(-overlap // plan.align) * plan.align
    cells_y, cells_x = _cells(size[0], tile, plan.align), _cells(size[1], tile, plan.align)
    shortest = min(hi - lo for lo, hi in cells_y + cells_x)
    half = min(max(overlap - plan.radius, overlap // 2), overlap, shortest // 2)
    sp = plan.spatial[plan.output_name]
    out = None
    for y0, y1 in cells_y:
        wy = _window(y0, y1, overlap, size[0])
        ramp_y = _ramp(wy, (y0, y1), half, size[0])
        for x0, x1 in cells_x:
            wx = _window(x0, x1, overlap, size[1])
            ramp_x = _ramp(wx, (x0, x1), half, size[1])
            watch.check()
            window = np.ascontiguousarray(content[_slices(plan.spatial[plan.content_name], content.ndim, wy, wx)])
            result = runner.run({**feeds, plan.content_name: window})[0]
            if out is None:
                shape = list(result.shape)
                shape[sp.h_axis], shape[sp.w_axis] = int(size[0] * sp.scale), int(size[1] * sp.scale)
                out = np.zeros(shape, dtype=np.float32)
            weight = np.multiply.outer(_scaled(ramp_y, sp.scale), _scaled(ramp_x, sp.scale))
            shape = [1] * result.ndim
            shape[sp.h_axis], shape[sp.w_axis] = weight.shape
            out[_slices(sp, result.ndim, wy, wx)] += result * weight.reshape(shape)
            watch.tick()
    return out


def _ramp(window: tuple[int, int], cell: tuple[int, int], half: int, length: int) -> np.ndarray:
    """Blend weight along one axis of a tile window: 1 over the cell, ramps of
    2*half px centred on each cut shared with a neighbour, 0 beyond."""
    centres = np.arange(window[0], window[1], dtype=np.float64) + 0.5
    weight = np.ones_like(centres)
    if half == 0:
        return ((centres > cell[0]) & (centres < cell[1])).astype(np.float32)
    if cell[0] > 0:
        weight *= np.clip((centres - (cell[0] - half)) / (2 * half), 0.0, 1.0)
    if cell[1] < length:
        weight *= 1.0 - np.clip((centres - (cell[1] - half)) / (2 * half), 0.0, 1.0)
    return weight.astype(np.float32)


def _scaled(ramp: np.ndarray, scale: Fraction) -> np.ndarray:
    if scale == 1:
        return ramp
    size = int(len(ramp) * scale)
    return ramp[np.minimum((np.arange(size) / scale).astype(int), len(ramp) - 1)]


# -- layout --------------------------------------------------------------------------------------------


def _pad_to(content: np.ndarray, align: int) -> np.ndarray:
    """Reflect-pad NCHW to a multiple of `align`, as a whole-image caller does
    for a network that downsamples (cropped back after)."""
    pad_h, pad_w = (-content.shape[2]) % align, (-content.shape[3]) % align
    if pad_h or pad_w:
        content = np.pad(content, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="reflect")
    return content


def _to_layout(content: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    return np.ascontiguousarray(content.transpose(0, 2, 3, 1)) if axes == (1, 2) else content


def _from_layout(out: np.ndarray, sp: _Spatial) -> np.ndarray:
    if (sp.h_axis, sp.w_axis) == (1, 2):
        return out.transpose(0, 3, 1, 2)
    if (sp.h_axis, sp.w_axis) != (2, 3):
        raise TilingError("the network's output is neither NCHW nor NHWC")
    return out


# -- analysis --------------------------------------------------------------------------------------------


def _plan_for(session: ModelSession, feeds: dict[str, np.ndarray], content_name: str) -> _Plan:
    data = session.model_bytes()
    key = (hashlib.sha256(data).hexdigest(), content_name)
    with _plans_lock:
        plan = _plans.get(key)
        if plan is None:
            plan = _analyse(data, key[0], content_name, feeds)
            _plans[key] = plan
        return plan


def _analyse(data: bytes, sha: str, content_name: str, feeds: dict[str, np.ndarray]) -> _Plan:
    model = onnx.load_from_string(data)
    graph = model.graph
    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise TilingError(f"cannot tile a network with control flow ({node.op_type})")
    initializers = {t.name for t in graph.initializer}
    content_info = next((i for i in graph.input if i.name == content_name), None)
    if content_info is None:
        raise TilingError(f"the network has no input called '{content_name}'")
    dims = content_info.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise TilingError(f"input '{content_name}' is not a 4-D image tensor")
    channel_axis = 3 if dims[3].dim_value == 3 and dims[1].dim_value != 3 else 1
    content_axes = (1, 2) if channel_axis == 3 else (2, 3)

    # Free the image sides (the arbitrary network declares 384 x 384 but is fully
    # convolutional) and drop stale intermediate shapes.
    del graph.value_info[:]
    fixed_sides = any(dims[axis].dim_value > 0 for axis in content_axes)
    for axis in content_axes:
        dims[axis].Clear()
        dims[axis].dim_param = f"{content_name}_side{axis}"
    for out in graph.output:
        out.type.tensor_type.ClearField("shape")
    output_name = graph.output[0].name

    shapes, dtypes = _probe(model, content_name, content_axes, channel_axis, feeds, initializers)
    for tensor in graph.initializer:  # kernel sizes of plain (not dequantized) weights
        shapes.setdefault(tensor.name, (tuple(tensor.dims),) * 3)
    spatial: dict[str, _Spatial] = {}
    for name, (base, taller, wider) in shapes.items():
        sp = _spatial_of(name, base, taller, wider)
        if sp is not None:
            spatial[name] = sp

    # Which tensors depend on the image, which nodes are statistics.
    depends = {content_name}
    stat_input: dict[str, str] = {}
    stats: list[str] = []
    for node in graph.node:
        if not any(i in depends for i in node.input if i):
            continue
        depends.update(o for o in node.output if o)
        stat_of = _statistic_input(node, spatial, shapes, initializers, graph)
        if stat_of is not None:
            stat_input[node.output[0]] = stat_of
            stats.append(node.output[0])
            continue
        spatial_in = [i for i in node.input if i in spatial]
        spatial_out = [o for o in node.output if o in spatial]
        if spatial_in and not spatial_out:
            raise TilingError(f"cannot tile this network: its {node.op_type} node '{node.name}' reduces the "
                              "image in a way tiles cannot share")
    if not stats:
        raise TilingError("this network has no normalisation statistics to share; tile it plainly")
    if output_name not in spatial:
        raise TilingError("the network's output does not follow the image size")

    align = 1
    for sp in spatial.values():
        align = math.lcm(align, sp.scale.denominator)

    # What exact mode sums for each statistic: the tensor it averages, except a
    # variance of a mean-subtracted map, which comes from the map's sum of
    # squares in the same pass as its mean (one segment per layer, not two).
    moment2 = _variances(graph, stats, stat_input, initializers)
    sources = {stat: moment2.get(stat, stat_input[stat]) for stat in stats}

    # Levels: a statistic is known one level after the tensor it sums; every
    # other node sits at the highest level among its inputs.
    level: dict[str, int] = {}
    node_level: dict[int, int] = {}
    for index, node in enumerate(graph.node):
        top = max((level.get(i, 0) for i in node.input if i), default=0)
        if node.output[0] in stat_input:
            level[node.output[0]] = level.get(sources[node.output[0]], 0) + 1
            continue
        node_level[index] = top
        for o in node.output:
            level[o] = top

    radius = _receptive_field(graph, spatial, shapes, None)[0]
    segments = _segments(graph, spatial, stat_input, set(sources.values()), node_level, output_name)
    last_use: dict[str, int] = {}
    for index, segment in enumerate(segments):
        local_reach = _receptive_field(graph, spatial, shapes, segment.nodes)[1]
        segment.margin = -(-int(math.ceil(max((local_reach.get(o, 0.0) for o in segment.outputs), default=0.0)))
                           // align) * align
        segment.scale = max((spatial[o].scale for i in segment.nodes for o in graph.node[i].output if o in spatial),
                            default=Fraction(1))
        for name in segment.outputs:
            if spatial[name].offset:
                raise TilingError(f"cannot tile: the padded map '{name}' would be cut between tiles")
        for name in segment.inputs:
            if name in spatial:
                last_use[name] = index
    chained = _chain(segments, last_use, output_name)
    return _Plan(sha=sha, model=model, content_name=content_name, content_axes=content_axes,
                 output_name=output_name, align=align, radius=int(math.ceil(radius)), stats=stats,
                 stat_input=stat_input, sources=sources, squared=set(moment2.values()),
                 spatial=spatial, dtypes=dtypes,
                 segments=segments, last_use=last_use, chained=chained, fixed_sides=fixed_sides,
                 shapes={n: v[0] for n, v in shapes.items()},
                 kept_per_px=_kept_per_px(segments, last_use, shapes, content_name))


def _chain(segments: list[_Segment], last_use: dict[str, int], output_name: str) -> set[str]:
    """Maps that stay with their tile: made by one segment, read only by the
    next on the same tile grid. The next segment then runs on the same window
    and reads the producer's output buffer as it is, so the map is never
    copied out of one tile buffer into a whole map and back into another
    (those copies were most of a tiled run's overhead). Linked segments share
    one window, wide enough for all their margins (each one's output is exact
    on a band its own margin narrower than its input's, and the last one's
    core must stay exact); a link that would widen it past CHAIN_WINDOW px of
    the segments' own maps is not made. Returns the chained maps; sets each
    segment's window."""
    first_use: dict[str, int] = {}
    for index, segment in enumerate(segments):
        for name in segment.inputs:
            first_use.setdefault(name, index)
    chained: set[str] = set()
    group = [segments[0]]
    for index, following in enumerate(segments[1:], start=1):
        segment = segments[index - 1]
        handed = {name for name in segment.keep if name != output_name
                  and first_use.get(name) == last_use.get(name) == index}
        window = sum(m.margin for m in group) + following.margin
        if handed and following.scale == segment.scale and window * segment.scale <= CHAIN_WINDOW:
            chained |= handed
            group.append(following)
            continue
        for member in group:
            member.window = sum(m.margin for m in group)
        group = [following]
    for member in group:
        member.window = sum(m.margin for m in group)
    return chained


def _variances(graph, stats: list[str], stat_input: dict[str, str], initializers: set[str]) -> dict[str, str]:
    """Statistics of the form mean((x - mean(x))^2), by name, with their x."""
    producer = {o: n for n in graph.node for o in n.output if o}
    found = {}
    for stat in stats:
        square = producer.get(stat_input[stat])
        if square is None:
            continue
        if square.op_type == "Mul" and square.input[0] == square.input[1]:
            centred = square.input[0]
        elif square.op_type == "Pow":
            exponent = _constant(square.input[1], initializers, graph)
            if exponent is None or exponent.size != 1 or float(exponent.reshape(-1)[0]) != 2.0:
                continue
            centred = square.input[0]
        else:
            continue
        sub = producer.get(centred)
        if sub is not None and sub.op_type == "Sub" and stat_input.get(sub.input[1]) == sub.input[0]:
            found[stat] = sub.input[0]
    return found


def _kept_per_px(segments: list[_Segment], last_use: dict[str, int], shapes, content_name: str) -> float:
    """Replays _run_exact's allocations to find its peak (elements per input px)."""
    per_px = {n: math.prod(v[0]) / _PROBE_BASE**2 for n, v in shapes.items()}
    alive = {content_name}
    peak = per_px[content_name]
    for index, segment in enumerate(segments):
        alive.update(segment.keep)
        peak = max(peak, sum(per_px[n] for n in alive))
        alive = {n for n in alive if last_use.get(n, len(segments)) > index}
    return peak


def _probe(model: onnx.ModelProto, content_name: str, content_axes: tuple[int, int], channel_axis: int,
           feeds: dict[str, np.ndarray], initializers: set[str]):
    """Shapes of every tensor at three image sizes, and their dtypes."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inferred = onnx.shape_inference.infer_shapes(probe)
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    have = {o.name for o in probe.graph.output}
    names = [o.name for o in probe.graph.output]
    for node in probe.graph.node:
        for o in node.output:
            if o and o not in have and o not in initializers:
                if o not in types:
                    raise TilingError(f"cannot read the type of tensor '{o}' in this network")
                probe.graph.output.append(helper.make_tensor_value_info(o, types[o], None))
                have.add(o)
                names.append(o)
    data = probe.SerializeToString()
    inputs = {i.name for i in model.graph.input} - initializers
    missing = inputs - set(feeds) - {content_name}
    if missing:
        raise TilingError(f"missing input(s) for the network: {', '.join(sorted(missing))}")
    rng = np.random.default_rng(0)
    runs, content_shapes = [], []
    for extra_h, extra_w in ((0, 0), (_PROBE_STEP, 0), (0, _PROBE_STEP)):
        shape = [1, 1, 1, 1]
        shape[channel_axis] = 3
        shape[content_axes[0]] = _PROBE_BASE + extra_h
        shape[content_axes[1]] = _PROBE_BASE + extra_w
        image = rng.random(shape, dtype=np.float32)
        content_shapes.append(tuple(shape))
        run_feeds = {k: np.asarray(v) for k, v in feeds.items() if k in inputs}
        try:
            runs.append(probe_run(data, {**run_feeds, content_name: image}))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise TilingError(f"the network does not run at {shape} for analysis ({type(exc).__name__})") from None
    shapes = {name: tuple(r[i].shape for r in runs) for i, name in enumerate(names)}
    shapes[content_name] = tuple(content_shapes)
    dtypes = {name: runs[0][i].dtype for i, name in enumerate(names)}
    dtypes[content_name] = np.dtype(np.float32)
    return shapes, dtypes


def _spatial_of(name: str, base, taller, wider) -> _Spatial | None:
    if not (len(base) == len(taller) == len(wider)):
        raise TilingError(f"tensor '{name}' changes rank with the image size")
    h_axes = [a for a in range(len(base)) if taller[a] != base[a]]
    w_axes = [a for a in range(len(base)) if wider[a] != base[a]]
    if not h_axes and not w_axes:
        return None
    if len(h_axes) != 1 or len(w_axes) != 1 or h_axes == w_axes:
        raise TilingError(f"tensor '{name}' does not keep the image's height and width on two axes")
    h, w = h_axes[0], w_axes[0]
    scale = Fraction(taller[h] - base[h], _PROBE_STEP)
    if Fraction(wider[w] - base[w], _PROBE_STEP) != scale or scale <= 0:
        raise TilingError(f"tensor '{name}' scales height and width differently")
    offset_h = base[h] - scale * _PROBE_BASE
    offset_w = base[w] - scale * _PROBE_BASE
    if offset_h != offset_w or offset_h.denominator != 1:
        raise TilingError(f"tensor '{name}' is padded unevenly")
    return _Spatial(h, w, scale, int(offset_h))


def _constant(name: str, initializers: set[str], graph: onnx.GraphProto) -> np.ndarray | None:
    if name in initializers:
        return numpy_helper.to_array(next(t for t in graph.initializer if t.name == name))
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            return numpy_helper.to_array(helper.get_attribute_value(node.attribute[0]))
    return None


def _statistic_input(node, spatial, shapes, initializers, graph) -> str | None:
    """The tensor a normalisation statistic averages over the image, if `node` is one."""
    if not node.input or node.input[0] not in spatial:
        return None
    sp = spatial[node.input[0]]
    rank = len(shapes[node.input[0]][0])
    if node.op_type == "GlobalAveragePool":
        axes = set(range(2, rank))
        keepdims = 1
    elif node.op_type == "ReduceMean":
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        keepdims = attrs.get("keepdims", 1)
        axes_value = attrs.get("axes")
        if axes_value is None and len(node.input) > 1 and node.input[1]:
            axes_value = _constant(node.input[1], initializers, graph)
        if axes_value is None:
            return None
        axes = {int(a) % rank for a in np.atleast_1d(axes_value)}
    else:
        return None
    if axes != {sp.h_axis, sp.w_axis}:
        return None
    if keepdims != 1 or sp.offset != 0:
        raise TilingError(f"cannot share the statistic of node '{node.name}' (padded map or dropped axes)")
    return node.input[0]


def _receptive_field(graph, spatial, shapes, nodes: list[int] | None):
    """How far (input px) each spatial tensor made by `nodes` (all when None)
    reaches back from their inputs, and the largest reach at a graph output."""
    reach: dict[str, float] = {}
    indices = range(len(graph.node)) if nodes is None else nodes
    for index in indices:
        node = graph.node[index]
        outs = [o for o in node.output if o in spatial]
        if not outs:
            continue
        ins = [i for i in node.input if i in spatial]
        if not ins:
            continue
        base = max(reach.get(i, 0.0) for i in ins)
        delta = _reach_of(node, spatial[ins[0]], shapes)
        for o in outs:
            reach[o] = base + delta
    outputs = [o.name for o in graph.output]
    return max((reach.get(o, 0.0) for o in outputs), default=0.0), reach


def _reach_of(node, sp_in: _Spatial, shapes) -> float:
    """Input px a node adds to the receptive field: half its kernel's extent,
    plus one pixel of its input grid where a stride or resampling rounds."""
    op = node.op_type
    pixel = float(1 / sp_in.scale)
    if op in _POINTWISE or op == "Pad":
        if op == "Concat" or op == "Split":
            axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 0)
            if axis % len(shapes[node.input[0]][0]) in (sp_in.h_axis, sp_in.w_axis):
                raise TilingError(f"cannot tile: {op} node '{node.name}' joins along the image")
        return 0.0
    if op in _WINDOWED:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        kernel = attrs.get("kernel_shape")
        if kernel is None and len(node.input) > 1:
            kernel = shapes[node.input[1]][0][2:] if node.input[1] in shapes else None
        if kernel is None:
            raise TilingError(f"cannot read the kernel size of node '{node.name}'")
        dilation = attrs.get("dilations", [1] * len(kernel))
        extent = max((k - 1) * d for k, d in zip(kernel, dilation))
        strided = max(attrs.get("strides", [1])) > 1 or op == "ConvTranspose"
        return (extent / 2 + (1 if strided else 0)) * pixel
    if op in _RESAMPLE:
        return pixel
    raise TilingError(f"cannot tile: unknown spatial operation {op} (node '{node.name}')")


def _segments(graph, spatial, stat_input, sources: set[str], node_level, output_name) -> list[_Segment]:
    """Spatial nodes grouped by level; cheap non-spatial nodes (style weights,
    statistic reshapes) are copied into every segment that needs them."""
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output if o}
    stat_nodes = {producer[s] for s in stat_input}
    initializers = {t.name for t in graph.initializer}
    # Nodes the output or a summed source needs, statistics being inputs (a
    # variance summed as squares no longer needs its (x - mean)^2 map).
    live: set[int] = set()
    stack = [output_name, *sources]
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in live or index in stat_nodes:
            continue
        live.add(index)
        stack.extend(i for i in graph.node[index].input if i)
    spatial_nodes: dict[int, list[int]] = {}
    for index in sorted(live):
        if any(o in spatial for o in graph.node[index].output):
            spatial_nodes.setdefault(node_level[index], []).append(index)
    segments = []
    for lvl in sorted(spatial_nodes):
        members = set(spatial_nodes[lvl])
        # Pull in the non-spatial ancestors that are not statistics or earlier maps.
        stack = [i for m in members for i in graph.node[m].input if i]
        while stack:
            name = stack.pop()
            index = producer.get(name)
            if index is None or index in members or index in stat_nodes or name in spatial:
                continue
            members.add(index)
            stack.extend(i for i in graph.node[index].input if i)
        segment = _Segment(level=lvl, nodes=sorted(members))
        produced = {o for m in members for o in graph.node[m].output if o}
        for m in segment.nodes:
            for i in graph.node[m].input:
                if i and i not in produced and i not in initializers and i not in segment.inputs:
                    segment.inputs.append(i)
        segments.append(segment)
    # Outputs: maps made here that another segment reads, that a statistic sums, or the result.
    seg_of = {m: k for k, s in enumerate(segments) for m in spatial_nodes[s.level]}
    readers: dict[str, set[int]] = {}
    for m, k in seg_of.items():
        for i in graph.node[m].input:
            readers.setdefault(i, set()).add(k)
    for k, segment in enumerate(segments):
        for m in segment.nodes:
            if seg_of.get(m) != k:
                continue
            for o in graph.node[m].output:
                if o not in spatial:
                    continue
                if o == output_name or readers.get(o, set()) - {k}:
                    segment.keep.add(o)
                if o in sources:
                    segment.reduce.add(o)
                if o in segment.keep or o in segment.reduce:
                    segment.outputs.append(o)
    return segments


def _build_graph(plan: _Plan, kind: str) -> bytes:
    graph = plan.model.graph
    value = {n: plan.dtypes[n] for n in plan.dtypes}

    def info(name: str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(value[name])), None)

    stat_names = set(plan.stats)
    if kind == "free":
        return plan.model.SerializeToString()
    if kind == "stats":
        model = onnx.ModelProto()
        model.CopyFrom(plan.model)
        for name in plan.stats:
            model.graph.output.append(info(name))
        return model.SerializeToString()
    if kind == "tile":
        nodes = [i for i, n in enumerate(graph.node) if n.output[0] not in stat_names]
        outputs = [o.name for o in graph.output]
        nodes = _live(graph, nodes, outputs)
        # Every statistic is an input, used or not, so one feed dict fits.
        inputs = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}] + plan.stats
    else:
        segment = plan.segments[int(kind.split(":")[1])]
        nodes, inputs, outputs = segment.nodes, segment.inputs, segment.outputs
    used = {i for n in nodes for i in graph.node[n].input}
    declared = {i.name: i for i in graph.input}
    input_infos = [declared[n] if n in declared else info(n) for n in inputs]
    new_graph = helper.make_graph(
        [graph.node[i] for i in nodes], f"{graph.name}_{kind.replace(':', '_')}", input_infos,
        [info(o) for o in outputs], initializer=[t for t in graph.initializer if t.name in used])
    model = helper.make_model(new_graph, opset_imports=list(plan.model.opset_import))
    model.ir_version = plan.model.ir_version
    return fold_given_statistics(model.SerializeToString(), stat_names)[0]


def _live(graph, nodes: list[int], outputs: list[str]) -> list[int]:
    """The nodes among `nodes` that some output needs (drops the variance
    branches whose statistic became an input)."""
    needed = set(outputs)
    keep = []
    for index in reversed(nodes):
        node = graph.node[index]
        if any(o in needed for o in node.output):
            keep.append(index)
            needed.update(i for i in node.input if i)
    return sorted(keep)
