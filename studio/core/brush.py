"""Brush strokes painted straight into a layer (or the selection mask), and the eyedropper.

A `Stroke` is one press..release of a brush-like tool. It follows Krita's
"wash" accumulation: every dab raises a per-pixel coverage to the max of what
it already had, and the target is recomputed from the pixels as they were
before the stroke. So a stroke that crosses itself, or whose dabs overlap
(they always do), never gets darker than its opacity, and the result does not
depend on the dab spacing.

Coordinates are continuous canvas pixels: x right, y down, pixel (i, j) covers
[i, i+1) x [j, j+1), so its centre is at (i + 0.5, j + 0.5).

Memory: the stroke keeps the original pixels and a float coverage only for the
TILE x TILE squares it has touched, so a dab on a 4096 x 4096 layer costs a few
tiles, not a copy of the layer.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from studio.core.rect import Rect, bounds, clip, intersect, offset, slices, tile_rect, tiles, union

MODES = ("paint", "erase", "mask", "unmask")

# 64 px tiles: a size-40 dab touches at most 4 of them and a stroke keeps
# 64*64*(4 bytes original + 4 bytes coverage) = 32 KiB per tile for a layer.
# Bigger tiles waste memory on thin strokes, smaller ones cost Python overhead
# per dab.
TILE = 64

# Dabs are never closer than this (px): below it more dabs change nothing
# visible (coverage is a max) and only cost time, e.g. for a 0.3 px brush whose
# spacing would otherwise be 0.03 px.
MIN_STEP = 0.5


class BrushError(ValueError):
    """Bad brush settings or target; str() is one readable line."""


class _Tile:
    """What a stroke remembers of one tile: the untouched pixels and the stroke's coverage."""

    __slots__ = ("rect", "original", "coverage", "dirty")

    def __init__(self, rect: Rect, original: np.ndarray) -> None:
        self.rect = rect                    # canvas px, half-open
        self.original = original            # copy of target[rect] before the stroke
        h, w = original.shape[:2]
        self.coverage = np.zeros((h, w), np.float32)  # 0..1, max of the dabs so far
        self.dirty: Rect | None = None      # canvas rect to recompute at the end of add()


def _dab(cx: float, cy: float, diameter: float, hardness: float, width: int, height: int
         ) -> tuple[Rect, np.ndarray] | None:
    """One round dab centred at (cx, cy) px: (rect on the canvas, float32 hxw in 0..1).

    hardness 1 is a disc with a one-pixel antialiased edge: a pixel's value is
    clip(r + 0.5 - d, 0, 1) with d the distance of its centre, which is close
    to the fraction of the pixel inside the circle. Lower hardness multiplies
    a smooth (smoothstep) falloff that starts at hardness * (r + 0.5) and reaches
    0 at r + 0.5, where the antialiased edge ends; at hardness 0 the dab falls
    off from its centre. The falloff ends where the hard edge does so that
    hardness 0.99 and 1 look the same."""
    r = diameter / 2
    reach = r + 0.5
    rect = clip((math.floor(cx - reach), math.floor(cy - reach), math.ceil(cx + reach), math.ceil(cy + reach)),
                width, height)
    x0, y0, x1, y1 = rect
    if x1 <= x0 or y1 <= y0:
        return None
    dx = np.arange(x0, x1, dtype=np.float32) + np.float32(0.5 - cx)
    dy = np.arange(y0, y1, dtype=np.float32) + np.float32(0.5 - cy)
    d = np.sqrt(dy[:, None] * dy[:, None] + dx[None, :] * dx[None, :])
    value = np.float32(reach) - d
    np.clip(value, 0.0, 1.0, out=value)
    if hardness < 1.0:
        inner = hardness * reach
        u = (d - np.float32(inner)) * np.float32(1.0 / (reach - inner))
        np.clip(u, 0.0, 1.0, out=u)
        value *= 1.0 - u * u * (3.0 - 2.0 * u)
    return rect, value


class Stroke:
    """One press..release of a brush on one target array, edited in place.

    target: uint8 HxWx4 layer pixels (straight alpha) for mode "paint" or
        "erase", or the uint8 HxW selection mask (255 = selected) for "mask" or
        "unmask". The stroke writes into this array as it goes so the canvas can
        show it live; tell the document (doc.invalidate(rect)) about each rect
        add() returns, and hand finish()'s result to a PixelEdit for undo.
    size: dab diameter in px (> 0) at pressure 1.
    hardness: 0..1; 1 = hard, antialiased edge; 0 = smooth falloff from the centre.
    opacity: 0..1, the most the stroke can change a pixel, however often it
        passes over it.
    colour: (r, g, b) 0..255, for "paint".
    spacing: distance between dabs as a fraction of the current dab diameter (> 0).
    pressure_size / pressure_opacity: pen pressure (0..1) scales the diameter /
        the dab strength.

    Modes, with a = coverage * opacity (0..1) per pixel:
      paint  - source-over of colour at alpha a on the original, in straight
               alpha: over a transparent pixel the result is exactly the colour
               with alpha a (no dark fringe).
      erase  - alpha * (1 - a), colour channels kept.
      mask   - max(original, a * 255).
      unmask - original * (1 - a).
    Diameters below 1 px are drawn as 1 px dabs whose strength is scaled by the
    diameter, the way an antialiased hairline of that width looks.
    """

    def __init__(self, target: np.ndarray, mode: str = "paint", size: float = 10.0, hardness: float = 1.0,
                 opacity: float = 1.0, colour: Sequence[int] = (0, 0, 0), spacing: float = 0.1,
                 pressure_size: bool = True, pressure_opacity: bool = False) -> None:
        if mode not in MODES:
            raise BrushError(f"unknown brush mode {mode!r}; expected one of {', '.join(MODES)}")
        if not isinstance(target, np.ndarray) or target.dtype != np.uint8:
            raise BrushError(f"brush target must be a uint8 numpy array, got {_describe(target)}")
        wants_layer = mode in ("paint", "erase")
        if wants_layer and (target.ndim != 3 or target.shape[2] != 4):
            raise BrushError(f"mode {mode!r} paints on uint8 HxWx4 layer pixels, got shape {target.shape}")
        if not wants_layer and target.ndim != 2:
            raise BrushError(f"mode {mode!r} paints on the uint8 HxW mask, got shape {target.shape}")
        _check_range("size", size, 0.0, math.inf, low_open=True)
        _check_range("hardness", hardness, 0.0, 1.0)
        _check_range("opacity", opacity, 0.0, 1.0)
        _check_range("spacing", spacing, 0.0, math.inf, low_open=True)
        try:
            rgb = tuple(int(c) for c in colour)
        except (TypeError, ValueError):
            rgb = ()
        if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
            raise BrushError(f"colour must be three integers 0..255 (r, g, b), got {colour!r}")
        self.target = target
        self.mode, self.size, self.hardness = mode, float(size), float(hardness)
        self.opacity, self.spacing = float(opacity), float(spacing)
        self.colour = rgb
        self.pressure_size, self.pressure_opacity = bool(pressure_size), bool(pressure_opacity)
        self._height, self._width = target.shape[:2]
        self._colour = np.array(rgb, np.float32)
        self._tiles: dict[tuple[int, int], _Tile] = {}
        self._last: tuple[float, float, float] | None = None  # (x, y, pressure) of the previous add()
        self._travelled = 0.0      # px along the path since the last dab
        self._step_pressure = 1.0  # pressure of the last dab, which sets the distance to the next
        self._done = False

    # --- public ---------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        """Bytes the stroke holds besides the target: originals and coverage of touched tiles."""
        return sum(t.original.nbytes + t.coverage.nbytes for t in self._tiles.values())

    def add(self, x: float, y: float, pressure: float = 1.0) -> Rect | None:
        """Move the brush to (x, y) px with pen pressure 0..1 (clamped), stamping
        dabs every `spacing * diameter` px along the segment from the previous
        point (the first call stamps one dab). Pressure is interpolated along
        the segment. Edits `target` in place and returns the canvas rect that
        changed, or None when no pixel was touched (e.g. off the canvas)."""
        if self._done:
            raise BrushError("this stroke is finished; start a new Stroke")
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(pressure)):
            raise BrushError(f"brush position and pressure must be finite numbers, got ({x}, {y}, {pressure})")
        pressure = min(max(float(pressure), 0.0), 1.0)
        x, y = float(x), float(y)
        touched: list[_Tile] = []
        if self._last is None:
            self._stamp(x, y, pressure, touched)
            self._step_pressure = pressure
        else:
            self._walk(self._last, (x, y, pressure), touched)
        self._last = (x, y, pressure)
        return self._render(touched)

    def finish(self) -> tuple[Rect, np.ndarray, np.ndarray] | None:
        """End the stroke: (rect, before, after) where rect is the tight canvas
        rect of the pixels that changed and before/after are exact uint8 crops
        of the target there (HxWx4 or HxW) before and after the stroke, ready
        for commands.PixelEdit. None when the stroke changed no pixel. The
        target keeps the painted pixels."""
        self._done = True
        changed: Rect | None = None
        for tile in self._tiles.values():
            diff = tile.original != self.target[slices(tile.rect)]
            if diff.ndim == 3:
                diff = diff.any(axis=2)
            local = bounds(diff)
            if local is not None:
                changed = offset(local, tile.rect[0], tile.rect[1]) if changed is None else union(
                    changed, offset(local, tile.rect[0], tile.rect[1]))
        if changed is None:
            self._tiles.clear()
            return None
        after = self.target[slices(changed)].copy()
        before = after.copy()
        # Untouched tiles inside `changed` are unchanged, so only touched ones need their originals.
        for tile in self._tiles.values():
            part = intersect(tile.rect, changed)
            if part is not None:
                before[slices(offset(part, -changed[0], -changed[1]))] = \
                    tile.original[slices(offset(part, -tile.rect[0], -tile.rect[1]))]
        self._tiles.clear()
        return changed, before, after

    def cancel(self) -> Rect | None:
        """Abandon the stroke (e.g. Escape while drawing): put the original
        pixels back and return the rect to redraw, None if nothing was touched."""
        self._done = True
        dirty: Rect | None = None
        for tile in self._tiles.values():
            self.target[slices(tile.rect)] = tile.original
            dirty = tile.rect if dirty is None else union(dirty, tile.rect)
        self._tiles.clear()
        return dirty

    # --- dabs -----------------------------------------------------------------

    def _walk(self, start: tuple[float, float, float], end: tuple[float, float, float],
              touched: list[_Tile]) -> None:
        """Stamp dabs along start -> end, carrying the distance since the last
        dab over from earlier segments so spacing does not depend on how often
        the mouse reports."""
        (x0, y0, p0), (x1, y1, p1) = start, end
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0.0:
            return
        t = 0.0  # px along this segment
        while True:
            step = max(self.spacing * self._diameter(self._step_pressure), MIN_STEP)
            need = step - self._travelled
            if t + need > length:
                self._travelled += length - t
                return
            t += need
            self._travelled = 0.0
            f = t / length
            p = p0 + (p1 - p0) * f
            self._stamp(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, p, touched)
            self._step_pressure = p

    def _diameter(self, pressure: float) -> float:
        return self.size * pressure if self.pressure_size else self.size

    def _stamp(self, cx: float, cy: float, pressure: float, touched: list[_Tile]) -> None:
        """Raise the coverage under one dab (no pixels are written here)."""
        diameter = self._diameter(pressure)
        strength = pressure if self.pressure_opacity else 1.0
        if diameter < 1.0:
            strength *= diameter
            diameter = 1.0
        if strength <= 0.0:
            return
        dab = _dab(cx, cy, diameter, self.hardness, self._width, self._height)
        if dab is None:
            return
        rect, value = dab
        if strength < 1.0:
            value *= np.float32(strength)
        for key in tiles(rect, TILE):
            tile = self._tiles.get(key)
            if tile is None:
                trect = tile_rect(key[0], key[1], self._width, self._height, TILE)
                tile = self._tiles[key] = _Tile(trect, self.target[slices(trect)].copy())
            part = intersect(rect, tile.rect)
            if part is None:
                continue
            cov = tile.coverage[slices(offset(part, -tile.rect[0], -tile.rect[1]))]
            np.maximum(cov, value[slices(offset(part, -rect[0], -rect[1]))], out=cov)
            if tile.dirty is None:
                tile.dirty = part
                touched.append(tile)
            else:
                tile.dirty = union(tile.dirty, part)

    def _render(self, touched: list[_Tile]) -> Rect | None:
        """Recompute the target from originals and coverage where this add() stamped."""
        dirty: Rect | None = None
        for tile in touched:
            part = tile.dirty
            tile.dirty = None
            local = slices(offset(part, -tile.rect[0], -tile.rect[1]))
            self._blend(tile.original[local], tile.coverage[local], self.target[slices(part)])
            dirty = part if dirty is None else union(dirty, part)
        return dirty

    def _blend(self, original: np.ndarray, coverage: np.ndarray, out: np.ndarray) -> None:
        """out = original with the brush applied at a = coverage * opacity.
        Written so that a = 0 gives back the original bytes exactly."""
        a = coverage * np.float32(self.opacity)
        if self.mode == "mask":
            np.maximum(original, _to_u8(a * np.float32(255.0)), out=out)
        elif self.mode == "unmask":
            out[...] = _to_u8(original * (np.float32(1.0) - a))
        elif self.mode == "erase":
            out[..., 3] = _to_u8(original[..., 3] * (np.float32(1.0) - a))
        else:
            alpha = original[..., 3].astype(np.float32)
            new_alpha = alpha + (np.float32(255.0) - alpha) * a
            # Straight-alpha source-over: colour = orig + (brush - orig) * a / new_alpha.
            # Over a transparent pixel that weight is 1, so no black creeps in.
            weight = np.divide(a * np.float32(255.0), new_alpha, out=np.zeros_like(a), where=new_alpha > 0)
            rgb = original[..., :3].astype(np.float32)
            rgb += (self._colour - rgb) * weight[..., None]
            out[..., :3] = _to_u8(rgb)
            out[..., 3] = _to_u8(new_alpha)


def _to_u8(values: np.ndarray) -> np.ndarray:
    """Round float values in 0..255 to uint8 (half up; they are never negative
    beyond float noise, which +0.5 absorbs)."""
    return (values + np.float32(0.5)).astype(np.uint8)


def _check_range(name: str, value: float, low: float, high: float, low_open: bool = False) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BrushError(f"brush {name} must be a number, got {value!r}") from None
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        bound = f"> {low:g}" if high == math.inf else f"in {low:g}..{high:g}"
        raise BrushError(f"brush {name} must be {bound}, got {value!r}")


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__


def pick_colour(image: np.ndarray, x: float, y: float, radius: float = 0) -> tuple[int, int, int]:
    """Eyedropper: the colour under (x, y) px of a uint8 HxWx4 straight-alpha
    image (HxWx3 works too), averaged over the pixels whose centres lie within
    `radius` px of the picked pixel's centre (0 = that pixel alone).

    The average is weighted by alpha, so a half-transparent edge does not pull
    the colour towards whatever RGB the transparent pixels store; where every
    pixel is fully transparent the plain RGB average is returned. Positions
    outside the image pick the nearest edge pixel (drags leave the canvas)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BrushError(f"pick_colour needs a uint8 HxWx4 image, got {_describe(image)}")
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(radius)) or radius < 0:
        raise BrushError(f"pick_colour needs finite x, y and a radius >= 0, got ({x}, {y}, {radius})")
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise BrushError("pick_colour: the image is empty")
    px = min(max(math.floor(x), 0), w - 1)
    py = min(max(math.floor(y), 0), h - 1)
    reach = math.floor(radius)
    x0, y0, x1, y1 = clip((px - reach, py - reach, px + reach + 1, py + reach + 1), w, h)
    crop = image[y0:y1, x0:x1].astype(np.float64)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx - px) ** 2 + (yy - py) ** 2 <= radius * radius
    rgb = crop[..., :3][inside]
    weight = crop[..., 3][inside] if image.shape[2] == 4 else np.ones(len(rgb))
    total = weight.sum()
    mean = (rgb * weight[:, None]).sum(axis=0) / total if total > 0 else rgb.mean(axis=0)
    return tuple(int(v) for v in np.rint(mean))  # type: ignore[return-value]
