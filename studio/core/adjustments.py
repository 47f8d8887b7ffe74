"""The basic colour adjustments of Image > Adjust: brightness/contrast,
hue/saturation/lightness and levels, on uint8 RGBA pixels (alpha, and the
colour under fully transparent pixels, are left as they are).

Brightness/contrast and levels are per-channel curves, applied through a
256-entry table (cheap on any size); hue/saturation/lightness goes through
Pillow's HSV conversion. The maths follows GIMP's tools of the same names:
contrast is a slope around mid-grey, tan((c + 1) pi / 4) for c in -1..1;
lightness mixes toward white (up) or black (down); levels maps
[black, white] onto [0, 255] with a gamma between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from studio.core.commands import PixelEdit
from studio.core.document import Document, DocumentError
from studio.core.mask import apply_within
from studio.core.rect import bounds, slices

# kind -> {parameter: (lowest, highest, neutral)}
PARAMETERS = {
    "brightness-contrast": {"brightness": (-100, 100, 0), "contrast": (-100, 100, 0)},
    "hue-saturation": {"hue": (-180, 180, 0), "saturation": (-100, 100, 0), "lightness": (-100, 100, 0)},
    "levels": {"black": (0, 254, 0), "white": (1, 255, 255), "gamma": (0.1, 10.0, 1.0)},
}
TITLES = {"brightness-contrast": "Brightness/Contrast", "hue-saturation": "Hue/Saturation/Lightness",
          "levels": "Levels"}


class AdjustmentError(ValueError):
    """An unknown adjustment or a parameter out of its range; str() is one line."""


@dataclass(frozen=True)
class Adjustment:
    kind: str
    params: tuple[tuple[str, float], ...]  # (name, value) in PARAMETERS order

    @classmethod
    def of(cls, kind: str, **values: float) -> "Adjustment":
        """The adjustment `kind` with `values` (the rest neutral), checked."""
        if kind not in PARAMETERS:
            raise AdjustmentError(f"unknown adjustment {kind!r} (choose {', '.join(PARAMETERS)})")
        unknown = sorted(set(values) - set(PARAMETERS[kind]))
        if unknown:
            raise AdjustmentError(f"{kind} has no parameter {unknown[0]!r}")
        params = []
        for name, (low, high, neutral) in PARAMETERS[kind].items():
            value = float(values.get(name, neutral))
            if not low <= value <= high:  # also refuses nan
                raise AdjustmentError(f"{name} must be from {low} to {high}, got {value}")
            params.append((name, value))
        if kind == "levels" and dict(params)["black"] >= dict(params)["white"]:
            raise AdjustmentError("levels: black must be below white")
        return cls(kind, tuple(params))

    def is_neutral(self) -> bool:
        return all(value == PARAMETERS[self.kind][name][2] for name, value in self.params)

    def title(self) -> str:
        return TITLES[self.kind]

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 HxWx4 -> a new uint8 HxWx4, alpha unchanged (and the colour
        of fully transparent pixels, which nobody sees and files keep)."""
        p = dict(self.params)
        out = np.array(pixels, dtype=np.uint8, copy=True)
        if self.kind == "hue-saturation":
            out[..., :3] = _hue_saturation_lightness(out[..., :3], p["hue"], p["saturation"], p["lightness"])
        else:
            table = _brightness_contrast(p["brightness"], p["contrast"]) if self.kind == "brightness-contrast" \
                else _levels(p["black"], p["white"], p["gamma"])
            out[..., :3] = table[out[..., :3]]
        hidden = pixels[..., 3] == 0
        out[hidden] = pixels[hidden]
        return out


@dataclass(frozen=True)
class AdjustTarget:
    """What an adjustment of the active layer changes, copied from the
    document (so the work can run on another thread): the layer's pixels in
    `rect` (the selection's box, or the whole layer) and the selection there
    (None when nothing is selected)."""

    layer_id: int
    rect: tuple[int, int, int, int]
    before: np.ndarray
    mask: np.ndarray | None

    @classmethod
    def capture(cls, doc: Document) -> "AdjustTarget":
        """DocumentError when there is no layer to adjust or it is locked."""
        layer = doc.active
        if layer is None:
            raise DocumentError("there is no layer to adjust")
        if layer.locked:
            raise DocumentError(f"'{layer.name}' is locked: unlock it to adjust it")
        selected = bounds(doc.mask)
        rect = selected or doc.rect
        mask = doc.mask[slices(rect)].copy() if selected is not None else None
        return cls(layer.id, rect, layer.pixels[slices(rect)].copy(), mask)

    def result(self, adjustment: Adjustment) -> np.ndarray:
        """The layer's new pixels in `rect`; the selection's soft edge blends."""
        after = adjustment.apply(self.before)
        return after if self.mask is None else apply_within(self.before, after, self.mask)

    def edit(self, adjustment: Adjustment) -> PixelEdit:
        return PixelEdit(self.layer_id, self.rect, self.before, self.result(adjustment), adjustment.title())


def adjust_layer(doc: Document, adjustment: Adjustment) -> PixelEdit:
    """The active layer adjusted (inside the selection when there is one), as one undoable step."""
    return AdjustTarget.capture(doc).edit(adjustment)


def _table(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def _brightness_contrast(brightness: float, contrast: float) -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    v = v + brightness / 200.0  # +-100 moves by half the range
    slope = math.tan((contrast / 100.0 + 1.0) * math.pi / 4.0) if contrast < 100 else 255.0
    return _table((v - 0.5) * slope + 0.5)


def _levels(black: float, white: float, gamma: float) -> np.ndarray:
    v = np.clip((np.arange(256, dtype=np.float64) - black) / (white - black), 0.0, 1.0)
    return _table(v ** (1.0 / gamma))


def _hue_saturation_lightness(rgb: np.ndarray, hue: float, saturation: float, lightness: float) -> np.ndarray:
    hsv = np.asarray(Image.fromarray(np.ascontiguousarray(rgb), "RGB").convert("HSV")).astype(np.float32)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue / 360.0 * 256.0, 256.0)
    hsv[..., 1] *= 1.0 + saturation / 100.0
    hsv = np.clip(np.rint(hsv), 0, 255).astype(np.uint8)
    out = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB")).astype(np.float32)
    if lightness > 0:
        out += (255.0 - out) * (lightness / 100.0)
    elif lightness < 0:
        out *= 1.0 + lightness / 100.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
