"""Undoable document edits. Apply them with `Document.apply(command)`.

Every command has do(doc) and undo(doc), each returning the dirty rect for
listeners (None: everything, e.g. the layer list or canvas size changed;
rect.EMPTY: no pixels changed), `text` for "Undo <text>" menu labels, and
`nbytes`, the pixel memory it keeps alive on the undo stack. Commands drop
the document's cached composite tiles themselves because only they know
which pixels a change can affect.

Undo restores pixels exactly (the same bytes), so commands keep the original
arrays or exact crops, never re-derive them. Commands keep references, not
copies, of arrays handed to them: do not modify them afterwards.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np
from PIL import Image

from studio.core.blending import BLEND_MODES
from studio.core.mask import resize as resize_mask
from studio.core.document import Document, DocumentError, Layer, alpha_bounds, check_layer, check_size
from studio.core.history import Command
from studio.core.rect import EMPTY, Rect, bounds, clip, intersect, offset, size, slices, union

# What a command costs on the undo stack beyond its pixel data (lists, dicts).
_OVERHEAD = 256


def _merge(a: Rect | None, b: Rect | None) -> Rect | None:
    """Union of dirty rects where None means everything."""
    return None if a is None or b is None else union(a, b)


def _own(array: np.ndarray) -> np.ndarray:
    """`array` itself if it owns its memory, else a copy: a view into a layer
    would change under the command's feet when the layer is painted on."""
    return array if array.base is None and array.flags.c_contiguous else array.copy()


def _editable(doc: Document, layer_id: int) -> Layer:
    layer = doc.layer(layer_id)
    if layer.locked:
        raise DocumentError(f"layer '{layer.name}' is locked; unlock it to edit its pixels")
    return layer


def _content_bounds(pixels: np.ndarray) -> Rect:
    """Rect of the pixels that are not all-zero bytes (EMPTY if none): outside it
    the layer is (0, 0, 0, 0), so it can be restored exactly from a crop."""
    if pixels.flags.c_contiguous:
        flat = pixels.view(np.uint32)[..., 0]  # one compare per pixel instead of four
    else:
        flat = pixels.any(axis=2)
    return bounds(flat) or EMPTY


def _shift(src: np.ndarray, dst_shape: tuple[int, ...], dx: int, dy: int) -> np.ndarray:
    """New zero array of dst_shape with `src` placed at (dx, dy) px; what falls
    outside is cut off (HxW or HxWxC arrays)."""
    out = np.zeros(dst_shape, src.dtype)
    h, w = src.shape[:2]
    overlap = intersect((0, 0, w, h), (-dx, -dy, dst_shape[1] - dx, dst_shape[0] - dy))
    if overlap is not None:
        out[slices(offset(overlap, dx, dy))] = src[slices(overlap)]
    return out


class PixelEdit:
    """New pixels for `rect` of one layer (target = layer id) or of the mask
    (target = "mask"). before/after: exact crops of rect, uint8 hxwx4 for a
    layer, uint8 hxw for the mask. Brush strokes and AI results make these."""

    def __init__(self, target: int | str, rect: Rect, before: np.ndarray, after: np.ndarray,
                 text: str = "Paint") -> None:
        self.target, self.rect, self.text = target, tuple(int(v) for v in rect), text
        w, h = size(self.rect)
        channels = () if target == "mask" else (4,)
        for label, array in (("before", before), ("after", after)):
            if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.shape != (h, w, *channels):
                got = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
                raise DocumentError(f"{text}: '{label}' must be uint8 {'x'.join(map(str, (h, w, *channels)))} "
                                    f"for rect {self.rect}, got {got}")
        self.before, self.after = _own(before), _own(after)

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes + _OVERHEAD

    def _write(self, doc: Document, pixels: np.ndarray) -> Rect:
        if clip(self.rect, doc.width, doc.height) != self.rect:
            raise DocumentError(f"{self.text}: rect {self.rect} lies outside the {doc.width} x {doc.height} canvas")
        if self.target == "mask":
            doc.mask[slices(self.rect)] = pixels
        else:
            doc.layer(self.target).pixels[slices(self.rect)] = pixels
            doc.invalidate(self.rect)  # the mask is drawn by the UI, it is not in the composite
        return self.rect

    def do(self, doc: Document) -> Rect:
        if self.target != "mask":
            _editable(doc, self.target)
        return self._write(doc, self.after)

    def undo(self, doc: Document) -> Rect:
        return self._write(doc, self.before)


class AddLayer:
    """Insert `layer` at `index` (0 = bottom; None = top) and make it active.
    Make the layer with doc.new_layer(...) so its id is fresh."""

    def __init__(self, layer: Layer, index: int | None = None, text: str = "Add Layer") -> None:
        self.layer, self.index, self.text = layer, index, text
        self._previous_active: int | None = None

    @property
    def nbytes(self) -> int:
        return _OVERHEAD  # while done the pixels belong to the document, not to us

    def do(self, doc: Document) -> Rect | None:
        check_layer(self.layer, doc.width, doc.height)
        if any(layer.id == self.layer.id for layer in doc.layers):
            raise DocumentError(f"a layer with id {self.layer.id} is already in the document")
        index = len(doc.layers) if self.index is None else self.index
        if not 0 <= index <= len(doc.layers):
            raise DocumentError(f"layer position {index} is outside 0..{len(doc.layers)}")
        doc.layers.insert(index, self.layer)
        doc.note_layer_id(self.layer.id)
        self._previous_active, doc.active_id = doc.active_id, self.layer.id
        doc.invalidate(alpha_bounds(self.layer.pixels))
        return None  # the layer list changed

    def undo(self, doc: Document) -> Rect | None:
        doc.layers.pop(doc.index_of(self.layer.id))
        doc.active_id = self._previous_active
        doc.invalidate(alpha_bounds(self.layer.pixels))
        return None


class RemoveLayer:
    """Take the layer out of the document (kept here for undo). If it was
    active, the layer now at its place (or the one below) becomes active."""

    def __init__(self, layer_id: int, text: str = "Remove Layer") -> None:
        self.layer_id, self.text = layer_id, text
        self._layer: Layer | None = None
        self._index = 0
        self._previous_active: int | None = None

    @property
    def nbytes(self) -> int:
        return (self._layer.pixels.nbytes if self._layer is not None else 0) + _OVERHEAD

    def do(self, doc: Document) -> Rect | None:
        self._index = doc.index_of(self.layer_id)
        self._layer = doc.layers.pop(self._index)
        self._previous_active = doc.active_id
        if doc.active_id == self.layer_id:
            doc.active_id = doc.layers[min(self._index, len(doc.layers) - 1)].id if doc.layers else None
        doc.invalidate(alpha_bounds(self._layer.pixels))
        return None

    def undo(self, doc: Document) -> Rect | None:
        assert self._layer is not None, "undo before do"
        doc.layers.insert(self._index, self._layer)
        doc.active_id = self._previous_active
        doc.invalidate(alpha_bounds(self._layer.pixels))
        self._layer = None  # the document owns it again (and nbytes says so)
        return None


class MoveLayerIndex:
    """Move a layer to position `new_index` in the stack (0 = bottom)."""

    def __init__(self, layer_id: int, new_index: int, text: str = "Move Layer") -> None:
        self.layer_id, self.new_index, self.text = layer_id, int(new_index), text
        self._old_index = 0
        self.nbytes = _OVERHEAD

    def _move(self, doc: Document, src: int, dst: int) -> None:
        layer = doc.layers.pop(src)
        doc.layers.insert(dst, layer)
        # Re-ordering only matters where this layer has content.
        doc.invalidate(alpha_bounds(layer.pixels))

    def do(self, doc: Document) -> Rect | None:
        self._old_index = doc.index_of(self.layer_id)
        if not 0 <= self.new_index < len(doc.layers):
            raise DocumentError(f"layer position {self.new_index} is outside 0..{len(doc.layers) - 1}")
        self._move(doc, self._old_index, self.new_index)
        return None

    def undo(self, doc: Document) -> Rect | None:
        self._move(doc, doc.index_of(self.layer_id), self._old_index)
        return None


_PROP_TEXT = {"name": "Rename Layer", "opacity": "Layer Opacity", "visible": "Layer Visibility",
              "locked": "Lock Layer", "blend": "Blend Mode", "recipe": "Layer Recipe"}
_LOOK_PROPS = ("opacity", "visible", "blend")  # the ones that change the composite


def _check_prop(key: str, value: Any) -> None:
    if key == "name" and not isinstance(value, str):
        raise DocumentError(f"a layer name must be text, got {value!r}")
    if key == "opacity" and not (isinstance(value, numbers.Real) and math.isfinite(value) and 0 <= value <= 1):
        raise DocumentError(f"layer opacity must be between 0 and 1, got {value!r}")
    if key in ("visible", "locked") and not isinstance(value, (bool, np.bool_)):
        raise DocumentError(f"layer '{key}' must be true or false, got {value!r}")
    if key == "blend" and value not in BLEND_MODES:
        raise DocumentError(f"unknown blend mode {value!r} (choose from {', '.join(BLEND_MODES)})")
    if key == "recipe" and value is not None and not isinstance(value, dict):
        raise DocumentError(f"a layer recipe must be a dict or None, got {type(value).__name__}")


class SetLayerProps:
    """Change layer properties: any of name, opacity (0..1), visible, locked,
    blend (BLEND_MODES), recipe. Allowed on locked layers (lock is for pixels)."""

    def __init__(self, layer_id: int, text: str | None = None, **props: Any) -> None:
        unknown = sorted(set(props) - set(_PROP_TEXT))
        if unknown:
            raise DocumentError(f"unknown layer propert{'ies' if len(unknown) > 1 else 'y'}: {', '.join(unknown)}")
        if not props:
            raise DocumentError("SetLayerProps needs at least one property")
        for key, value in props.items():
            _check_prop(key, value)
        self.layer_id, self.props = layer_id, props
        self.text = text or (_PROP_TEXT[next(iter(props))] if len(props) == 1 else "Layer Properties")
        self._old: dict[str, Any] = {}
        self.nbytes = _OVERHEAD

    def _set(self, doc: Document, values: dict[str, Any]) -> Rect | None:
        layer = doc.layer(self.layer_id)
        for key, value in values.items():
            setattr(layer, key, value)
        if any(key in values for key in _LOOK_PROPS):
            doc.invalidate(alpha_bounds(layer.pixels))
        return None  # the layer panel shows these

    def do(self, doc: Document) -> Rect | None:
        layer = doc.layer(self.layer_id)
        self._old = {key: getattr(layer, key) for key in self.props}
        return self._set(doc, self.props)

    def undo(self, doc: Document) -> Rect | None:
        return self._set(doc, self._old)


class OffsetLayer:
    """Move a layer's pixels by (dx, dy) px (move tool). What leaves the canvas
    is cut off; undo brings it back from the stored original."""

    def __init__(self, layer_id: int, dx: int, dy: int, text: str = "Move") -> None:
        self.layer_id, self.dx, self.dy, self.text = layer_id, int(dx), int(dy), text
        self._rect: Rect = EMPTY  # the non-zero part of the layer before the move
        self._crop: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return (self._crop.nbytes if self._crop is not None else 0) + _OVERHEAD

    def do(self, doc: Document) -> Rect:
        layer = _editable(doc, self.layer_id)
        pixels = layer.pixels
        # Keep only the non-zero part: everything else is known to be zero bytes,
        # so a sticker on a big canvas costs its own size, not the canvas's.
        self._rect = _content_bounds(pixels)
        self._crop = pixels[slices(self._rect)].copy()
        moved = _shift(self._crop, (doc.height, doc.width, 4), self._rect[0] + self.dx, self._rect[1] + self.dy)
        pixels[...] = moved  # in place: a view the UI holds stays the layer
        dirty = union(self._rect, clip(offset(self._rect, self.dx, self.dy), doc.width, doc.height))
        doc.invalidate(dirty)
        return dirty

    def undo(self, doc: Document) -> Rect:
        assert self._crop is not None, "undo before do"
        pixels = doc.layer(self.layer_id).pixels
        pixels[...] = 0
        pixels[slices(self._rect)] = self._crop
        self._crop = None
        dirty = union(self._rect, clip(offset(self._rect, self.dx, self.dy), doc.width, doc.height))
        doc.invalidate(dirty)
        return dirty


class _Reshape:
    """Base of commands that give every layer and the mask new arrays of a new
    canvas size; undo puts the very same old arrays back."""

    text = ""

    def __init__(self) -> None:
        self._old: tuple[int, int, list[tuple[Layer, np.ndarray]], np.ndarray] | None = None

    @property
    def nbytes(self) -> int:
        if self._old is None:
            return _OVERHEAD
        return sum(p.nbytes for _, p in self._old[2]) + self._old[3].nbytes + _OVERHEAD

    def _reshape_layer(self, layer: Layer) -> np.ndarray:
        raise NotImplementedError

    def _reshape_mask(self, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _apply(self, doc: Document, width: int, height: int) -> None:
        self._old = (doc.width, doc.height, [(layer, layer.pixels) for layer in doc.layers], doc.mask)
        new = [self._reshape_layer(layer) for layer in doc.layers]  # all computed before any is set
        mask = self._reshape_mask(doc.mask)
        for layer, pixels in zip(doc.layers, new):
            layer.pixels = pixels
        doc.mask, doc.width, doc.height = mask, width, height
        doc.invalidate(None)

    def undo(self, doc: Document) -> Rect | None:
        assert self._old is not None, "undo before do"
        doc.width, doc.height, pairs, doc.mask = self._old
        for layer, pixels in pairs:
            layer.pixels = pixels
        self._old = None
        doc.invalidate(None)
        return None


class ResizeCanvas(_Reshape):
    """Change the canvas to width x height px without scaling: crop or extend
    with transparency (mask: unselected). anchor_x, anchor_y (0..1) say where
    the old image sits: 0 = left/top edge kept, 0.5 = centred, 1 = right/bottom."""

    def __init__(self, width: int, height: int, anchor_x: float = 0.5, anchor_y: float = 0.5,
                 text: str = "Resize Canvas") -> None:
        super().__init__()
        self.width, self.height = check_size(width, height)
        for a in (anchor_x, anchor_y):
            if not (isinstance(a, numbers.Real) and 0 <= a <= 1):
                raise DocumentError(f"canvas anchor must be between 0 and 1, got {a!r}")
        self.anchor_x, self.anchor_y, self.text = float(anchor_x), float(anchor_y), text
        self._dx = self._dy = 0

    def _reshape_layer(self, layer: Layer) -> np.ndarray:
        return _shift(layer.pixels, (self.height, self.width, 4), self._dx, self._dy)

    def _reshape_mask(self, mask: np.ndarray) -> np.ndarray:
        return _shift(mask, (self.height, self.width), self._dx, self._dy)

    def do(self, doc: Document) -> Rect | None:
        # Where the old top-left corner lands in the new canvas (negative = cropped).
        self._dx = round((self.width - doc.width) * self.anchor_x)
        self._dy = round((self.height - doc.height) * self.anchor_y)
        self._apply(doc, self.width, self.height)
        return None


class ScaleImage(_Reshape):
    """Resample every layer and the mask to width x height px with Lanczos.
    Pillow filters RGBA in premultiplied form, so transparent pixels do not
    bleed their (invisible) colour into the edges."""

    def __init__(self, width: int, height: int, text: str = "Scale Image") -> None:
        super().__init__()
        self.width, self.height = check_size(width, height)
        self.text = text

    def _reshape_layer(self, layer: Layer) -> np.ndarray:
        image = Image.fromarray(layer.pixels)  # mode RGBA from the HxWx4 uint8 shape
        return np.array(image.resize((self.width, self.height), Image.Resampling.LANCZOS))

    def _reshape_mask(self, mask: np.ndarray) -> np.ndarray:
        return resize_mask(mask, self.width, self.height)

    def do(self, doc: Document) -> Rect | None:
        self._apply(doc, self.width, self.height)
        return None


class TransformImage(_Reshape):
    """Flip or rotate the whole image, every layer and the mask alike, by one
    of TRANSFORMS; a quarter turn swaps the canvas's width and height."""

    TRANSFORMS = {
        "flip-horizontal": ("Flip Horizontally", lambda a: a[:, ::-1]),
        "flip-vertical": ("Flip Vertically", lambda a: a[::-1]),
        "rotate-90": ("Rotate 90° Clockwise", lambda a: np.rot90(a, -1)),
        "rotate-180": ("Rotate 180°", lambda a: a[::-1, ::-1]),
        "rotate-270": ("Rotate 90° Counter-clockwise", lambda a: np.rot90(a, 1)),
    }

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in self.TRANSFORMS:
            raise DocumentError(f"unknown transform {kind!r}; one of {', '.join(self.TRANSFORMS)}")
        self.kind = kind
        self.text, self._transform = self.TRANSFORMS[kind]

    def _reshape_layer(self, layer: Layer) -> np.ndarray:
        return np.ascontiguousarray(self._transform(layer.pixels))

    def _reshape_mask(self, mask: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self._transform(mask))

    def do(self, doc: Document) -> Rect | None:
        quarter = self.kind in ("rotate-90", "rotate-270")
        self._apply(doc, doc.height if quarter else doc.width, doc.width if quarter else doc.height)
        return None


class ReplaceCanvas(_Reshape):
    """Give the canvas a new size, with every layer's pixels and the mask
    computed beforehand (an upscale run on a worker): `layers` maps each
    layer id of the document to its uint8 height x width x 4 pixels, `mask`
    is uint8 height x width. The document must hold exactly those layers."""

    def __init__(self, width: int, height: int, layers: dict[int, np.ndarray], mask: np.ndarray,
                 text: str = "Replace Canvas") -> None:
        super().__init__()
        self.width, self.height = check_size(width, height)
        for layer_id, pixels in layers.items():
            if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.shape != (height, width, 4):
                got = f"{pixels.dtype} {pixels.shape}" if isinstance(pixels, np.ndarray) else type(pixels).__name__
                raise DocumentError(f"{text}: layer {layer_id} must be uint8 {height}x{width}x4, got {got}")
        if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.shape != (height, width):
            raise DocumentError(f"{text}: the mask must be uint8 {height}x{width}")
        self.layers, self.mask, self.text = layers, mask, text

    @property
    def nbytes(self) -> int:
        if self._old is not None:  # done: the document holds the new arrays, we the old ones
            return super().nbytes
        return sum(p.nbytes for p in self.layers.values()) + self.mask.nbytes + _OVERHEAD

    def _reshape_layer(self, layer: Layer) -> np.ndarray:
        return self.layers[layer.id]

    def _reshape_mask(self, mask: np.ndarray) -> np.ndarray:
        return self.mask

    def do(self, doc: Document) -> Rect | None:
        if sorted(layer.id for layer in doc.layers) != sorted(self.layers):
            raise DocumentError(f"{self.text}: the layers of the document are not the ones given")
        self._apply(doc, self.width, self.height)
        return None


class SetMask:
    """Replace the whole selection mask (uint8 HxW, 0..255) with a new array:
    grow/shrink/feather/invert/select-all/rectangle/lasso results."""

    def __init__(self, mask: np.ndarray, text: str = "Selection") -> None:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
            got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise DocumentError(f"{text}: the mask must be uint8 HxW, got {got}")
        self.after, self.text = _own(mask), text
        self._before: np.ndarray | None = None
        self._dirty: Rect = EMPTY

    @property
    def nbytes(self) -> int:
        # after is the document's own mask while done; before is ours alone
        return (self._before.nbytes if self._before is not None else 0) + _OVERHEAD

    def do(self, doc: Document) -> Rect:
        if self.after.shape != doc.mask.shape:
            raise DocumentError(f"{self.text}: the mask is {self.after.shape[1]} x {self.after.shape[0]} px, "
                                f"the canvas {doc.width} x {doc.height}")
        if np.shares_memory(self.after, doc.mask):
            raise DocumentError(f"{self.text}: pass a new mask array, not the document's own")
        self._before, doc.mask = doc.mask, self.after
        self._dirty = bounds(self._before != self.after) or EMPTY
        return self._dirty

    def undo(self, doc: Document) -> Rect:
        assert self._before is not None, "undo before do"
        doc.mask, self._before = self._before, None
        return self._dirty


class Macro:
    """Several commands as one undo step, done in order and undone in reverse.
    If one fails, those already done are undone and the error is raised."""

    def __init__(self, commands: Sequence[Command], text: str) -> None:
        self.commands, self.text = list(commands), text

    @property
    def nbytes(self) -> int:
        return sum(command.nbytes for command in self.commands) + _OVERHEAD

    def do(self, doc: Document) -> Rect | None:
        dirty: Rect | None = EMPTY
        done: list[Command] = []
        try:
            for command in self.commands:
                dirty = _merge(dirty, command.do(doc))
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(doc)
            raise
        return dirty

    def undo(self, doc: Document) -> Rect | None:
        dirty: Rect | None = EMPTY
        for command in reversed(self.commands):
            dirty = _merge(dirty, command.undo(doc))
        return dirty
