"""The canvas document: a stack of same-size RGBA layers, a selection mask,
undo history and a tile-cached composite.

Pixels are uint8, straight (non-premultiplied) alpha, sRGB; coordinates are
integer px, x right, y down; rects are studio.core.rect tuples. Every change
goes through a command (studio.core.commands) via `Document.apply`, so it can
be undone and listeners hear about it. Not thread-safe: use it from one thread.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

import numpy as np

from studio.core.blending import BLEND_MODES, Scratch, composite_over, premultiply, unpremultiply
from studio.core.history import Command, History
from studio.core.imageio import DEFAULT_MAX_PIXELS
from studio.core.rect import EMPTY, Rect, bounds, clip, intersect, offset, slices, tile_rect, tiles
from studio.core.tilecache import TILE, TileCache

Listener = Callable[[Rect | None], None]


class DocumentError(ValueError):
    """An edit the document refuses (locked layer, wrong size, unknown layer);
    str() is one readable line."""


@dataclass(eq=False)  # eq=False: comparing ndarrays field by field is ambiguous
class Layer:
    """One layer. pixels: uint8 HxWx4 straight alpha, the canvas size.
    opacity: 0..1. blend: one of BLEND_MODES. recipe: how an AI result was made
    (studio.core.recipe dict), None for painted layers."""

    id: int
    name: str
    pixels: np.ndarray
    opacity: float = 1.0
    visible: bool = True
    locked: bool = False
    blend: str = "normal"
    recipe: dict | None = None


def check_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) as ints if they make a usable canvas, else DocumentError."""
    if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))):
        raise DocumentError(f"canvas size must be whole pixels, got {width!r} x {height!r}")
    width, height = int(width), int(height)
    if width < 1 or height < 1:
        raise DocumentError(f"canvas size must be at least 1 x 1 px, got {width} x {height}")
    if width * height > DEFAULT_MAX_PIXELS:
        raise DocumentError(
            f"canvas {width} x {height} px is too big (at most {DEFAULT_MAX_PIXELS // 1_000_000} million pixels)")
    return width, height


def check_layer(layer: Layer, width: int, height: int) -> None:
    """Raise DocumentError unless `layer` fits a width x height document."""
    p = layer.pixels
    if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.shape != (height, width, 4):
        got = f"{p.dtype} {p.shape}" if isinstance(p, np.ndarray) else type(p).__name__
        raise DocumentError(f"layer '{layer.name}' must be uint8 {height}x{width}x4 pixels, got {got}")
    if not (isinstance(layer.opacity, numbers.Real) and math.isfinite(layer.opacity) and 0 <= layer.opacity <= 1):
        raise DocumentError(f"layer '{layer.name}' opacity must be between 0 and 1, got {layer.opacity!r}")
    if layer.blend not in BLEND_MODES:
        raise DocumentError(f"layer '{layer.name}' has unknown blend mode {layer.blend!r} "
                            f"(choose from {', '.join(BLEND_MODES)})")


def alpha_bounds(pixels: np.ndarray) -> Rect:
    """Rect of the pixels with alpha > 0 (EMPTY if none): outside it a layer
    adds nothing to the composite whatever its opacity, blend mode or place in
    the stack, so changes to those only need these tiles recomposited."""
    if pixels.strides[-1] != 1:  # channels not side by side (a reordered view): read the alpha plane itself
        return bounds(pixels[..., 3]) or EMPTY
    # As little-endian 32-bit words, a pixel's alpha is its top byte: one pass over adjacent words instead
    # of two over the strided alpha plane (4096 px: 5 ms, not 45, on the GUI thread whenever a layer is
    # added or removed).
    return bounds(pixels.view("<u4")[..., 0], least=1 << 24) or EMPTY


class Document:
    """Document(width, height) starts with zero layers and an empty mask.

    Attributes: width, height (px); layers (bottom..top); active_id (id of the
    layer tools act on, or None); mask (uint8 HxW, 0 = not selected, 255 =
    selected); history; revision (bumped by every apply/undo/redo);
    saved_revision (the revision at the last mark_saved); listeners (called
    after every change with the dirty rect, None = everything);
    tile_renders (count of 256 px composite tiles rendered, for tests/profiling);
    workspace (JSON-able dict: what the app's panels showed for this picture,
    such as the Latent panel's walk; saved in projects, not in the history).
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = check_size(width, height)
        self.layers: list[Layer] = []
        self.active_id: int | None = None
        self.mask = np.zeros((self.height, self.width), np.uint8)
        self.history = History()
        self.revision = 0
        self.saved_revision = 0
        self._saved_state = self.history.state
        self.listeners: list[Listener] = []
        self.tile_renders = 0
        self.workspace: dict[str, Any] = {}
        self._next_id = 1
        self._cache: TileCache | None = None
        self._without: tuple[int, TileCache] | None = None  # (skipped layer id, its cache)
        self._scratch = Scratch()  # blend work buffers, reused tile after tile

    # --- construction ----------------------------------------------------------

    @classmethod
    def from_image(cls, image: np.ndarray, name: str = "Background") -> "Document":
        """A document the size of `image` (uint8 HxWx4, or HxWx3 = opaque) with
        one layer holding a copy of it."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[2] not in (3, 4):
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise DocumentError(f"an image must be uint8 HxWx4 (or HxWx3), got {got}")
        h, w = image.shape[:2]
        pixels = np.empty((h, w, 4), np.uint8)
        pixels[..., :image.shape[2]] = image
        if image.shape[2] == 3:
            pixels[..., 3] = 255
        doc = cls(w, h)
        doc.layers.append(Layer(doc.new_layer_id(), name, pixels))
        doc.active_id = doc.layers[0].id
        return doc

    @classmethod
    def from_layers(cls, width: int, height: int, layers: Iterable[Layer], mask: np.ndarray | None = None,
                    active_id: int | None = None) -> "Document":
        """A document holding `layers` (bottom..top, used as they are, not copied),
        e.g. when a project file is opened. active_id defaults to the top layer."""
        doc = cls(width, height)
        layers = list(layers)
        ids = [layer.id for layer in layers]
        if len(set(ids)) != len(ids):
            raise DocumentError("layer ids must be unique")
        for layer in layers:
            check_layer(layer, doc.width, doc.height)
        if mask is not None:
            if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.shape != (doc.height, doc.width):
                raise DocumentError(f"the mask must be uint8 {doc.height}x{doc.width}")
            doc.mask = mask
        doc.layers = layers
        doc._next_id = max(ids, default=0) + 1
        if active_id is not None and active_id not in ids:
            raise DocumentError(f"no layer with id {active_id}")
        doc.active_id = active_id if active_id is not None else (ids[-1] if ids else None)
        return doc

    def detached_copy(self) -> "Document":
        """The layers and mask copied into a Document with no history and no
        listeners, for slow work on another thread (exports) while this one
        goes on changing."""
        layers = [replace(layer, pixels=layer.pixels.copy(), recipe=copy.deepcopy(layer.recipe))
                  for layer in self.layers]
        doc = Document.from_layers(self.width, self.height, layers, self.mask.copy(), self.active_id)
        doc.workspace = copy.deepcopy(self.workspace)
        return doc

    def new_layer_id(self) -> int:
        """A layer id never used in this document (ids are not reused, so an id
        the UI holds on to can never name a different layer later)."""
        self._next_id += 1
        return self._next_id - 1

    def new_layer(self, name: str, pixels: np.ndarray | None = None, **props: Any) -> Layer:
        """A Layer with a fresh id, transparent unless `pixels` is given; it is
        NOT added (apply AddLayer for that). props: opacity, visible, blend, ..."""
        if pixels is None:
            pixels = np.zeros((self.height, self.width, 4), np.uint8)
        layer = Layer(self.new_layer_id(), name, pixels, **props)
        check_layer(layer, self.width, self.height)
        return layer

    def note_layer_id(self, layer_id: int) -> None:
        """Keep new_layer_id() above an id that came from elsewhere (AddLayer)."""
        self._next_id = max(self._next_id, int(layer_id) + 1)

    # --- lookup ----------------------------------------------------------------

    def index_of(self, layer_id: int) -> int:
        """Position of the layer in `layers` (0 = bottom); DocumentError if absent."""
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise DocumentError(f"no layer with id {layer_id}")

    def layer(self, layer_id: int) -> Layer:
        return self.layers[self.index_of(layer_id)]

    @property
    def active(self) -> Layer | None:
        """The layer tools act on, or None (no layers, or none chosen)."""
        for layer in self.layers:
            if layer.id == self.active_id:
                return layer
        return None

    @property
    def rect(self) -> Rect:
        """(0, 0, width, height)."""
        return (0, 0, self.width, self.height)

    # --- saved state -----------------------------------------------------------

    @property
    def modified(self) -> bool:
        """True when the contents differ from the last mark_saved (undoing back
        to the saved state makes this False again)."""
        return self.history.state != self._saved_state

    def mark_saved(self, state: int | None = None) -> None:
        """Call after the document was written to disk. state: the history.state
        the written copy was taken at (default: now); a save that ran on a worker
        passes it, so edits made meanwhile still count as unsaved."""
        self._saved_state = self.history.state if state is None else state
        self.saved_revision = self.revision

    # --- compositing -----------------------------------------------------------

    def composite(self, rect: Rect | None = None, copy: bool = True) -> np.ndarray:
        """The visible image of `rect` (clipped; None = whole canvas) as a new
        uint8 hxwx4 straight-alpha array. Served from 256 px tiles that are
        rendered again only after an edit touched them. copy=False returns a
        read-only view of the cache instead, valid until the next change."""
        if self._cache is None:
            self._cache = TileCache(self.width, self.height, lambda r: self._render_tile(r, None))
        return self._cache.get(rect, copy)

    def composite_without(self, layer_id: int, rect: Rect | None = None, copy: bool = True) -> np.ndarray:
        """Like composite() but leaving out one layer (hold-Tab "before" view of
        an AI result). Cached too, for the most recent layer_id asked for."""
        self.index_of(layer_id)  # unknown id -> DocumentError
        if self._without is None or self._without[0] != layer_id:
            cache = TileCache(self.width, self.height, lambda r: self._render_tile(r, layer_id))
            self._without = (layer_id, cache)
        return self._without[1].get(rect, copy)

    def render(self, rect: Rect | None = None, skip: int | None = None) -> np.ndarray:
        """The composite of `rect` (clipped; None = whole canvas) computed now,
        bypassing the cache, with layer `skip` left out. uint8 hxwx4 straight
        alpha. Works tile by tile so that work buffers stay tile-sized."""
        rect = self.rect if rect is None else clip(rect, self.width, self.height)
        out = np.empty((rect[3] - rect[1], rect[2] - rect[0], 4), np.uint8)
        for tx, ty in tiles(rect, TILE):
            block = intersect(tile_rect(tx, ty, self.width, self.height, TILE), rect)
            if block is not None:
                out[slices(offset(block, -rect[0], -rect[1]))] = self._render_block(block, skip)
        return out

    def _render_block(self, rect: Rect, skip: int | None) -> np.ndarray:
        index = slices(rect)
        stack = [(layer, layer.pixels[index]) for layer in self.layers
                 if layer.visible and layer.opacity > 0 and layer.id != skip]
        # Start at the topmost layer that hides everything under it here (an
        # opaque background, a full AI result): what lies below cannot show.
        for start in range(len(stack) - 1, -1, -1):
            layer, src = stack[start]
            if layer.blend == "normal" and layer.opacity >= 1 and src[..., 3].min() == 255:
                stack = stack[start:]
                break
        # Fully transparent here: adds nothing in any blend mode.
        stack = [(layer, src) for layer, src in stack if src[..., 3].any()]
        if not stack:
            return np.zeros((rect[3] - rect[1], rect[2] - rect[0], 4), np.uint8)
        first, src = stack[0]
        if len(stack) == 1 and first.opacity >= 1 and src[..., 3].min() == 255:
            return src.copy()  # the same bytes the blend maths would give, without it
        # Any mode onto nothing is the source itself, hence premultiply.
        acc = premultiply(src, first.opacity, out=self._scratch.get("acc", (4, *src.shape[:2])))
        for layer, src in stack[1:]:
            composite_over(acc, src, layer.opacity, layer.blend, self._scratch)
        return unpremultiply(acc, self._scratch)

    def _render_tile(self, rect: Rect, skip: int | None) -> np.ndarray:
        self.tile_renders += 1
        return self.render(rect, skip)

    def invalidate(self, rect: Rect | None = None) -> None:
        """Forget cached composite pixels of `rect` (None = all, also after a
        canvas size change). Commands call this; so must code that edits layer
        pixels in place outside a command (see touch)."""
        caches = [self._cache] + ([self._without[1]] if self._without else [])
        for cache in caches:
            if cache is None:
                continue
            if (cache.width, cache.height) != (self.width, self.height):
                self._cache, self._without = None, None  # size changed: new buffers on next read
                return
            cache.invalidate(rect)

    def touch(self, rect: Rect | None) -> None:
        """Pixels of `rect` were changed in place outside a command (a brush
        stroke in progress): drop their cached tiles and tell the listeners.
        The finished stroke then arrives as a PixelEdit through apply()."""
        self.invalidate(rect)
        self._notify(rect)

    # --- commands --------------------------------------------------------------

    def apply(self, command: Command) -> None:
        """Do `command`, record it for undo (clearing redo) and notify listeners.
        A command that raises (e.g. DocumentError for a locked layer) leaves the
        document and history as they were."""
        dirty = command.do(self)
        self.history.push(command)
        self._changed(dirty)

    def undo(self) -> bool:
        """Undo the last command; False if there was none."""
        if not self.history.can_undo:
            return False
        self._changed(self.history.undo(self))
        return True

    def redo(self) -> bool:
        """Redo the last undone command; False if there was none."""
        if not self.history.can_redo:
            return False
        self._changed(self.history.redo(self))
        return True

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    @property
    def undo_text(self) -> str | None:
        """e.g. "Brush" for an "Undo Brush" menu label; None when nothing to undo."""
        return self.history.undo_text

    @property
    def redo_text(self) -> str | None:
        return self.history.redo_text

    def _changed(self, dirty: Rect | None) -> None:
        self.revision += 1
        self._notify(dirty)

    def _notify(self, dirty: Rect | None) -> None:
        for listener in list(self.listeners):  # a listener may unsubscribe itself
            listener(dirty)
