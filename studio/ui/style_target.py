"""What the style panel restyles, with which style, and how the result lands.

No Qt here: the panel captures a `StyleTarget` from the document on the GUI
thread (copies of the pixels, so painting on meanwhile cannot tear them:
`capture` copies at once, the panel copies what `locate` finds a band at
a time between events),
describes the style as a `StyleChoice`, and hands both to jobs that run on the
style worker: `preview` and `render_full` (both paint at the choice's stroke
scale; the full render, tiled, is enlarged to the target's size) and
`animation_frames` (on a PROXY_PX proxy). `landing_command` turns a full
result into ONE undoable command.

Apply modes:
- "image": the visible composite, landing as a new layer "Styled (...)" on top.
- "layer": the active layer's pixels (within their opaque bounds), replaced.
- "selection": the active layer inside the selection, whose edge is feathered
  by a few px; pixels beyond the feather's reach stay bit for bit the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from studio.core import mask as masks
from studio.core.document import Document, alpha_bounds
from studio.core.export import flatten, resample
from studio.core.placement import fit_within
from studio.core.recipe import encode_latent
from studio.core.rect import Rect, clip, is_empty, slices
from studio.engine.generator import model_recipe
from studio.engine.style import MIN_SIDE, StyleError, Stylizer, interpolate, style_frames
from studio.ui.landing import in_place_command, is_stale, new_layer_command

MODES = {"image": "Whole image (new layer)", "layer": "Active layer", "selection": "Selection"}
PROXY_PX = 512  # longest side of the picture animations and the target's own style vector use
# Stroke scale: the longest side the style network paints at (None: the
# target's own size), enlarged back with Lanczos. The network's strokes have
# a fixed size in its own pixels, so a smaller working size gives bigger
# strokes; the preview paints at the same size, so it shows what Apply makes.
STROKE_SCALES = {"large": (512, "Large strokes (512 px)"), "medium": (1024, "Medium strokes (1024 px)"),
                 "fine": (2048, "Fine strokes (2048 px)"), "finest": (None, "Finest (full size; slow preview)")}
DEFAULT_STROKE_SCALE = "medium"
FULL_TILE = 1024  # px tiles for full resolution (shared normalisation statistics: no seams)
DEFAULT_FEATHER = 4  # px of soft edge around a selection
CONTEXT_PX = 32  # px around a selection the network also sees
THUMB_SOURCE_PX = 128  # the reference picture the built-in thumbnails are rendered from

_thumbnails: dict[str, list[np.ndarray]] = {}  # style network sha256 -> its thumbnails, for the process


@dataclass
class StyleTarget:
    """The pixels a style goes onto, captured from the document.

    pixels: uint8 hxwx4 copy of `rect` of the source (composite or layer)
    (None between locate() and the copy);
    mask: uint8 hxw feathered selection over `rect` ("selection" mode only).
    document/revision: where and when it was captured (a result landing on a
    changed document is refused)."""

    mode: str
    rect: Rect
    pixels: np.ndarray
    mask: np.ndarray | None
    layer_id: int | None
    layer_name: str
    feather: float
    document: Document = field(repr=False)
    revision: int
    _scaled: dict[int | None, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict, repr=False)
    _own_vector: np.ndarray | None = field(default=None, repr=False)

    def proxy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """scaled(PROXY_PX)."""
        return self.scaled(PROXY_PX)

    def scaled(self, longest: int | None) -> tuple[np.ndarray, np.ndarray | None]:
        """(pixels, mask) scaled so the longest side is at most `longest`
        (None: as captured): uint8 hxwx4 and hxw (or None). Made once per
        size, on the worker."""
        if longest not in self._scaled:
            pixels = self.pixels if longest is None else fit_within(self.pixels, longest, longest)
            mask = self.mask
            if mask is not None and mask.shape != pixels.shape[:2]:
                size = (pixels.shape[1], pixels.shape[0])
                mask = np.asarray(Image.fromarray(mask, "L").resize(size, Image.Resampling.BILINEAR))
            self._scaled[longest] = (np.ascontiguousarray(pixels), mask)
        return self._scaled[longest]

    def own_vector(self, stylizer: Stylizer) -> np.ndarray:
        """The style vector of the target itself (from its proxy; the predictor
        sees a 256 px square either way), the zero point of an image style's
        strength. Computed once, on the worker."""
        if self._own_vector is None:
            self._own_vector = stylizer.style_vector(self.proxy()[0])
        return self._own_vector


def capture(doc: Document, mode: str, feather: float = DEFAULT_FEATHER) -> StyleTarget:
    """The target of `mode` ("image", "layer", "selection") in `doc` now,
    its pixels copied. StyleError (one line) when there is nothing to
    restyle there."""
    target, rows = locate(doc, mode, feather)
    target.pixels = rows(0, target.rect[3] - target.rect[1]).copy()
    return target


def locate(doc: Document, mode: str, feather: float = DEFAULT_FEATHER
           ) -> tuple[StyleTarget, Callable[[int, int], np.ndarray]]:
    """(target, rows): the target of `mode` in `doc` now with its pixels
    still None, and rows(y0, y1), rows y0..y1 of those pixels as the
    document holds them: views, valid until it changes, to be copied (a
    band at a time between GUI events: ui/banded_copy.py) into
    target.pixels before a worker sees the target. StyleError as capture."""
    if mode not in MODES:
        raise StyleError(f"unknown apply mode {mode!r}; use one of {', '.join(MODES)}")
    layer = doc.active
    if mode == "image":
        rect, fmask = doc.rect, None
        layer_id, layer_name = None, ""
    else:
        if layer is None:
            raise StyleError("there is no active layer to restyle; pick one in the Layers panel")
        if layer.locked:
            raise StyleError(f"layer '{layer.name}' is locked; unlock it to restyle it")
        layer_id, layer_name = layer.id, layer.name
        if mode == "layer":
            rect, fmask = alpha_bounds(layer.pixels), None
            if is_empty(rect):
                raise StyleError(f"layer '{layer.name}' is empty; paint on it or pick another layer")
        else:
            if not doc.mask.any():
                raise StyleError("nothing is selected; select a region first or apply to the whole image")
            feathered = masks.feather(doc.mask, feather)
            x0, y0, x1, y1 = masks.bbox(feathered)
            # The network sees some surroundings, so the selection's border is
            # not the picture's border (where the networks paint edge bands);
            # the mask is 0 there, so those pixels stay as they are.
            rect = clip((x0 - CONTEXT_PX, y0 - CONTEXT_PX, x1 + CONTEXT_PX, y1 + CONTEXT_PX), doc.width, doc.height)
            fmask = np.ascontiguousarray(feathered[slices(rect)])
    w, h = rect[2] - rect[0], rect[3] - rect[1]
    if min(w, h) < MIN_SIDE:
        raise StyleError(f"the region to restyle is {w} x {h} px; it needs at least {MIN_SIDE} px each way")
    x0, top, x1 = rect[0], rect[1], rect[2]
    if mode == "image":  # composited tile row by tile row as it is read, not all at once
        def rows(y0: int, y1: int) -> np.ndarray:
            return doc.composite((x0, top + y0, x1, top + y1), copy=False)
    else:
        def rows(y0: int, y1: int) -> np.ndarray:
            return layer.pixels[top + y0:top + y1, x0:x1]
    target = StyleTarget(mode, tuple(rect), None, fmask, layer_id, layer_name, float(feather), doc, doc.revision)
    return target, rows


@dataclass(frozen=True)
class StyleChoice:
    """A style and how strongly to use it.

    Built-in: `weights`, (index, weight) pairs (any positive scale), `names`
    the styles' names in the same order. Image: `vector`, float32 [100],
    already interpolated A -> B; `names` the picture(s) and `t` the
    interpolation. strength 0..1; preserve_colour keeps the target's chroma."""

    weights: tuple[tuple[int, float], ...] = ()
    vector: np.ndarray | None = field(default=None, compare=False)
    names: tuple[str, ...] = ()
    t: float = 0.0
    strength: float = 1.0
    preserve_colour: bool = False
    stroke_scale: str = DEFAULT_STROKE_SCALE  # a STROKE_SCALES key

    @property
    def working_px(self) -> int | None:
        """The longest side the network paints at (None: full size)."""
        return STROKE_SCALES[self.stroke_scale][0]

    @property
    def is_builtin(self) -> bool:
        return self.vector is None

    @property
    def label(self) -> str:
        """Short name for a layer: "Blue Nocturne", "Ink on Yellow + Red Blocks",
        "starry.jpg", "a.jpg → b.png" (a built-in style without a name: "Style 7")."""
        if self.is_builtin:
            names = self.names or tuple(f"Style {i}" for i, _ in self.weights)
            return " + ".join(names)
        return " → ".join(self.names)

    def spec(self) -> str:
        """The blend as the CLI writes it ("3:0.5,12:0.5"), weights summing to 1."""
        total = sum(w for _, w in self.weights)
        return ",".join(f"{i}:{w / total:.4g}" for i, w in self.weights)

    def with_vector(self, vector: np.ndarray) -> "StyleChoice":
        return replace(self, vector=np.asarray(vector, np.float32))


def image_choice(vector_a: np.ndarray, name_a: str, vector_b: np.ndarray | None = None, name_b: str = "",
                 t: float = 0.0, **options) -> StyleChoice:
    """An image style: A alone, or A -> B at t (0 = A, 1 = B)."""
    if vector_b is None:
        return StyleChoice(vector=np.asarray(vector_a, np.float32), names=(name_a,), **options)
    return StyleChoice(vector=interpolate(vector_a, vector_b, t), names=(name_a, name_b), t=float(t), **options)


def stylize(stylizer: Stylizer, image: np.ndarray, choice: StyleChoice, own_vector: np.ndarray | None = None,
            tile: int = 0, **watch) -> np.ndarray:
    """`image` (uint8 HxWx3/4) in the chosen style: uint8, same shape, alpha
    kept. watch: progress / cancelled, as Stylizer.builtin takes them."""
    if choice.is_builtin:
        return stylizer.builtin(image, dict(choice.weights), strength=choice.strength,
                                preserve_colour=choice.preserve_colour, tile=tile, **watch)
    own = own_vector if 0.0 < choice.strength < 1.0 else None
    return stylizer.with_vector(image, choice.vector, strength=choice.strength, own_vector=own,
                                preserve_colour=choice.preserve_colour, tile=tile, **watch)


def _own(stylizer: Stylizer, target: StyleTarget, choice: StyleChoice) -> np.ndarray | None:
    return target.own_vector(stylizer) if not choice.is_builtin and 0.0 < choice.strength < 1.0 else None


def preview(stylizer: Stylizer, target: StyleTarget, choice: StyleChoice) -> np.ndarray:
    """The target in the style at the stroke scale's working size, the size
    Apply paints at, to float over `target.rect`: uint8 hxwx4. In selection
    mode its alpha carries the feathered mask, so the canvas shows through
    beyond the selection."""
    pixels, mask = target.scaled(choice.working_px)
    styled = stylize(stylizer, pixels, choice, _own(stylizer, target, choice))
    if mask is not None:
        styled = styled.copy()
        styled[..., 3] = (styled[..., 3].astype(np.uint16) * mask // 255).astype(np.uint8)
    return styled


def render_full(stylizer: Stylizer, target: StyleTarget, choice: StyleChoice,
                tile: int = FULL_TILE, **watch) -> tuple[np.ndarray, dict]:
    """(result, recipe): the target at full resolution in the style (uint8
    hxwx4 for target.rect; in selection mode already blended through the
    feathered mask) and the recipe for the layer it lands on. watch:
    progress / cancelled (StyleCancelled), as Stylizer.builtin takes them."""
    pixels = target.scaled(choice.working_px)[0]
    styled = stylize(stylizer, pixels, choice, _own(stylizer, target, choice), tile, **watch)
    if styled.shape != target.pixels.shape:  # painted at the working size: back to the target's
        h, w = target.pixels.shape[:2]
        styled = resample(styled, (w, h))
        styled[..., 3] = target.pixels[..., 3]
    if target.mask is not None:
        styled = masks.apply_within(target.pixels, styled, target.mask)
    return styled, style_recipe(stylizer, choice, target, tile)


def style_recipe(stylizer: Stylizer, choice: StyleChoice, target: StyleTarget | None, tile: int = FULL_TILE,
                 **extra) -> dict:
    """The recipe of a stylized result: the network (name, sha256, version),
    action "stylize", the style, strength, preserve_colour, where it went;
    `extra` adds keys or replaces them (None leaves a key out)."""
    if choice.is_builtin:
        entry = stylizer.entry("style")
        style = {"style": choice.spec()}
    else:
        entry = stylizer.entry("style-transform")
        predictor = stylizer.entry("style-predict")
        style = {"style_image": choice.names[0], "style_vector": encode_latent(choice.vector),
                 "predictor": {"name": predictor.name, "sha256": predictor.sha256}}
        if len(choice.names) > 1:
            style.update(style_image_b=choice.names[1], interpolation=round(choice.t, 4))
    params = {"action": "stylize", **style, "strength": round(choice.strength, 4),
              "preserve_colour": bool(choice.preserve_colour), "stroke_scale": choice.stroke_scale,
              "working_px": choice.working_px}
    if target is not None:
        params.update(apply_to=target.mode, rect=[int(v) for v in target.rect], tile=tile)
        if target.mode == "selection":
            params["feather"] = target.feather
    params.update(extra)
    return model_recipe(entry, **{key: value for key, value in params.items() if value is not None})


def landing_command(doc: Document, target: StyleTarget, result: np.ndarray, recipe: dict, label: str):
    """(command, layer id) putting a full result into `doc` as one undo step:
    a new layer "Styled (label)" on top for "image", else the active layer's
    pixels in target.rect replaced (PixelEdit) with the recipe kept on the
    layer. StyleError when the document changed since the capture."""
    if is_stale(doc, target.document, target.revision):
        raise StyleError("the image changed while the style was rendering; press Apply again")
    if target.mode == "image":
        return new_layer_command(doc, f"Styled ({label})", target.rect, result, recipe, "Stylize")
    return in_place_command(doc, target.layer_id, target.rect, result, recipe, "Stylize")


def animation_frames(stylizer_turns, target: StyleTarget, choice: StyleChoice, keys: Sequence[np.ndarray],
                     frames: int, loop: bool = False, progress=lambda done, total: None,
                     cancelled=lambda: False) -> np.ndarray | None:
    """The target's proxy in every style vector along `keys` (A -> B), as
    uint8 [frames, h, w, 3] RGB (transparency flattened on white; selection
    mode blended through its mask). stylizer_turns: a context manager
    factory giving the Stylizer for one frame at a time, so previews can run
    between frames. None when `cancelled()` turned true."""
    vectors = style_frames(list(keys), frames, loop)
    out = []
    for i, vector in enumerate(vectors):
        if cancelled():
            return None
        with stylizer_turns() as stylizer:
            pixels, mask = target.proxy()
            frame_choice = choice.with_vector(vector)
            styled = stylize(stylizer, pixels, frame_choice, _own(stylizer, target, frame_choice))
        if mask is not None:
            styled = masks.apply_within(pixels, styled, mask)
        out.append(flatten(styled, (255, 255, 255)) if (styled[..., 3] < 255).any() else styled[..., :3])
        progress(i + 1, len(vectors))
    return np.stack(out)


def reference_picture(size: int = THUMB_SOURCE_PX) -> np.ndarray:
    """A small landscape made here (sky, sun, hills, a tree, a house, water):
    flat areas, edges and colours for the thumbnails to show each built-in
    style's brushwork and palette on. uint8 size x size x 3."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.empty((size, size, 3), np.float32)
    img[:] = np.stack([0.35 + 0.45 * yy, 0.55 + 0.35 * yy, 0.95 - 0.1 * yy], -1)  # sky, lighter to the horizon
    sun = (xx - 0.74) ** 2 + (yy - 0.22) ** 2
    img[sun < 0.011] = (1.0, 0.86, 0.35)
    far = yy > 0.52 + 0.07 * np.sin(xx * 7.0 + 1.0)
    img[far] = np.stack([0.30 + 0.1 * xx, 0.45 + 0.1 * yy, 0.55 + 0 * xx], -1)[far]  # blue distant hills
    near = yy > 0.64 + 0.06 * np.sin(xx * 4.0 + 2.5)
    img[near] = np.stack([0.25 + 0.25 * xx, 0.55 - 0.2 * (yy - 0.6), 0.18 + 0 * xx], -1)[near]  # meadow
    water = (yy > 0.86) & (np.abs(xx - 0.3) < 0.35 - (yy - 0.86))
    img[water] = np.stack([0.2 + 0 * xx, 0.4 + 0.2 * xx, 0.7 + 0.1 * yy], -1)[water]
    img[(np.abs(xx - 0.2) < 0.02) & (yy > 0.5) & (yy < 0.7)] = (0.35, 0.22, 0.12)  # trunk
    img[((xx - 0.2) ** 2 + ((yy - 0.45) * 0.8) ** 2) < 0.009] = (0.12, 0.38, 0.12)  # crown
    wall = (np.abs(xx - 0.62) < 0.09) & (yy > 0.58) & (yy < 0.74)
    img[wall] = (0.92, 0.88, 0.78)
    roof = (yy > 0.47) & (yy <= 0.58) & (np.abs(xx - 0.62) < 0.11 * (yy - 0.47) / 0.11)
    img[roof] = (0.75, 0.18, 0.12)
    img[(np.abs(xx - 0.62) < 0.02) & (yy > 0.66) & (yy < 0.74)] = (0.3, 0.2, 0.15)  # door
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def builtin_styles(stylizer: Stylizer, size: int = THUMB_SOURCE_PX) -> tuple[list[np.ndarray], list[str]]:
    """Every built-in style's thumbnail (builtin_thumbnails) and name."""
    return builtin_thumbnails(stylizer, size), stylizer.style_names


def builtin_thumbnails(stylizer: Stylizer, size: int = THUMB_SOURCE_PX) -> list[np.ndarray]:
    """Every built-in style on the reference picture: style_count uint8
    size x size x 3 images, rendered once per network per process."""
    key = f"{stylizer.entry('style').sha256}:{size}"
    if key not in _thumbnails:
        picture = reference_picture(size)
        _thumbnails[key] = [stylizer.builtin(picture, i) for i in range(stylizer.style_count)]
    return _thumbnails[key]
