"""Fill the holes of an image: a learned network (manifest kind "inpaint"),
OpenCV's classical Telea / Navier-Stokes, a PatchMatch content-aware fill
(patchmatch.py), or "auto", each hole by the one of the network and
PatchMatch that suits its thickness, at any image size.

Geometry, IOPaint-style:
- Regions: the mask's connected hole pixels, merged when less than MERGE_GAP
  px apart (chessboard distance), so nearby strokes share one crop and one run.
- Crop: each region's bounding box plus a context margin of
  max(MARGIN px, CONTEXT x the box's longest side), clipped to the image.
  The fixed part gives small strokes enough surroundings; the proportional
  part keeps a big hole at about half the crop's side, the share of the
  crop the network was trained to fill.
- Learned: the crop is made square by taking more of the image (never by
  distorting it); where the image runs out the square is reflect-padded
  (mirrored known pixels count as known, mirrored holes as holes). The square is resized to the model's
  resolution (OpenCV's area interpolation, for the mask too), run, and the
  output resized back (area down, cubic up). Hole pixels of the image input
  are set to the middle of the input range (0 in [-1, 1]), so the network
  never sees what the user wanted gone. A model whose manifest names a
  "prefill" (studio/train/prefill.py) is given the window filled by that
  classical method instead, at the window's size then resized; its output
  minus its input (its correction) is resized back and added to that fill,
  in full from TRUSTED_DEPTH of the network's pixels inside the hole and
  less toward the hole's border (linearly, none on it): at the network's
  size a thin stroke is a pixel or two wide, too little to correct, and
  the whole correction lost 0.1 dB to the prefill alone on emoji strokes
  and 1.0-1.2 dB on the GNOME backgrounds' ones, where the faded one is
  level (and 0.24-0.29 dB better than the whole one on their blobs).
- Classical: cv2.inpaint on the crop itself, no resizing (it only looks
  `radius` px around the hole, so the crop gives the whole-image result).
- PatchMatch: on the crop itself too, its known pixels the fill's patches'
  sources, with the proportional part of the margin taken from the hole's
  thickness rather than its box (source_window): a long thin stroke gets
  the texture beside it, not a margin as long as itself.
- Auto (a model's method, the apps' default): region by region, PatchMatch
  where the hole is less than TRUSTED_DEPTH of the model's px deep in its
  square (too_thin_for: a scratch, a wire, a thin stroke), the model
  elsewhere. A prefill model's correction is faded out there, so it would
  give about Telea's fill, which smears what PatchMatch continues.
- Paste: only the region's hole pixels get the fill (weight 1); pixels outside
  it at most `feather` px away (Euclidean distance d to the nearest hole
  pixel) blend linearly toward the original (weight 1 - d / (feather + 1));
  everything farther is bit-identical. Regions run one after the other on
  the result so far, so a later crop sees earlier fills as context, and
  holes not filled yet as holes.
- Colour matching (by default for learned models without a prefill): the fill is shifted by one
  RGB offset per region so that its mean over the hole's inner ring (RING px)
  equals the mean of the known pixels in the ring outside (the feather's
  redrawn pixels get their own offset: their mean over that outer ring onto
  the real pixels' mean there). A network's fill can drift in colour
  (resampling, range clipping); Telea and NS (and a network correcting
  their fill) build the fill from the border pixels themselves, so their
  border mean already matches and shifting it would only add error.
- Alpha: kept as it is, hole pixels included. The networks see and fill RGB
  only; the transparency of a layer is the artist's, not something to guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from studio.core.recipe import FORMAT as RECIPE_FORMAT
from studio.core.rect import Rect, bounds, clip, slices
from studio.engine import patchmatch
from studio.engine.generator import model_recipe
from studio.engine.registry import ModelEntry, Registry
from studio.engine.runtime import Runtime, default_runtime

KIND = "inpaint"
CLASSICAL_METHODS = ("telea", "ns", "patchmatch")  # the ones that need no model
MODEL_METHODS = ("auto", "learned")  # the ones that need an inpaint model
METHODS = (*MODEL_METHODS, *CLASSICAL_METHODS)
CLASSICAL = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
MARGIN = 128  # px of context around a region at least (IOPaint's crop margin)
CONTEXT = 0.5  # and at least this share of the region's longest side
MERGE_GAP = 32  # px; regions closer than this are filled as one
FEATHER = 6  # px the blend reaches outside the hole
RING = 3  # px either side of the hole border that colour matching compares
RADIUS = 5  # px cv2.inpaint looks around each hole pixel
TRUSTED_DEPTH = 8.0  # network px into a hole where a prefill model's correction counts in full
# Peak memory, bytes (core.memory_budget says how it was measured; `studio
# inpaint` of an RGB PNG with a centred square hole of 0.01, 25 and 100 % of
# the picture, at 1024 and 2048 px): 31-33 bytes per px of the picture with a
# small hole, whatever the method (image and mask decoded, the result);
IMAGE_BYTES = 33
# then per px of the holes' bounding box, the paste (float fill, distances,
# weights): telea with the whole picture a hole took 91 bytes per px;
PASTE_BYTES = 58
# and per px of the window a method runs on (the crop; learned: the square
# around it, reflect-padded): learned 11 (135 bytes per px with the whole
# picture a hole, its square 4 x the picture), telea and NS under 8,
# PatchMatch 454 (501 bytes per px with a 25 % hole, its crop the picture;
# slope of the peaks at 1024 and 2048 px, since patch features are measured
# in groups of planes: patchmatch.MERGE_GROUP).
WORK_BYTES = {"learned": 12, "telea": 8, "ns": 8, "patchmatch": 460}


class InpaintError(ValueError):
    """Bad inpaint input (image, mask, method, model); str() is one line."""


@dataclass(frozen=True)
class Region:
    """One group of hole pixels and the image window filled for it.

    hole: bounding box of the group's hole pixels (image px, half-open);
    pixels: bool array of the hole box's size, True where the group's holes are;
    crop: hole box plus the context margin, clipped to the image."""
    hole: Rect
    pixels: np.ndarray
    crop: Rect


class _Holes:
    """The hole pixels of a mask, kept only inside their bounding box: a
    24-megapixel canvas with one stroke costs the stroke's box, not the canvas."""

    def __init__(self, mask: np.ndarray):
        self.height, self.width = mask.shape
        self.box = bounds(mask)  # nonzero bounds, read from the uint8 mask as it is
        self.pixels = mask[slices(self.box)] != 0 if self.box is not None else np.zeros((0, 0), bool)

    def within(self, rect: Rect) -> np.ndarray:
        """bool array of `rect`'s size: the holes inside it."""
        x0, y0, x1, y1 = rect
        out = np.zeros((y1 - y0, x1 - x0), bool)
        if self.box is not None:
            bx0, by0, bx1, by1 = self.box
            ix0, iy0, ix1, iy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
            if ix0 < ix1 and iy0 < iy1:
                out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = self.pixels[iy0 - by0:iy1 - by0, ix0 - bx0:ix1 - bx0]
        return out


def find_regions(mask: np.ndarray, margin: int = MARGIN, context: float = CONTEXT,
                 merge_gap: int = MERGE_GAP) -> list[Region]:
    """The regions to fill for `mask` (uint8 or bool HxW, nonzero = hole), in
    reading order of their boxes; [] for an empty mask."""
    return _regions(_Holes(np.asarray(mask)), margin, context, merge_gap)


def _regions(holes: _Holes, margin: int, context: float = CONTEXT, merge_gap: int = MERGE_GAP) -> list[Region]:
    box, window = holes.box, holes.pixels
    if box is None:
        return []
    # Dilating by half the gap joins groups less than merge_gap px apart; the
    # join point lies between them, so inside their common bounding box.
    half = max(0, int(merge_gap) // 2)
    joined = window.astype(np.uint8)
    if half:
        joined = cv2.dilate(joined, np.ones((2 * half + 1, 2 * half + 1), np.uint8))
    _, labels = cv2.connectedComponents(joined, connectivity=8)
    flat = np.flatnonzero(window)
    ys, xs = np.divmod(flat, window.shape[1])
    owner = labels.reshape(-1)[flat]
    order = np.argsort(owner, kind="stable")
    ys, xs, owner = ys[order], xs[order], owner[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    regions = []
    for start, end in zip(starts, np.r_[starts[1:], owner.size]):
        gy, gx = ys[start:end], xs[start:end]
        x0, y0 = int(gx.min()), int(gy.min())
        x1, y1 = int(gx.max()) + 1, int(gy.max()) + 1
        pixels = np.zeros((y1 - y0, x1 - x0), bool)
        pixels[gy - y0, gx - x0] = True
        hole_box = (x0 + box[0], y0 + box[1], x1 + box[0], y1 + box[1])
        m = _context_margin(hole_box, margin, context)
        crop = clip((hole_box[0] - m, hole_box[1] - m, hole_box[2] + m, hole_box[3] + m), holes.width, holes.height)
        regions.append(Region(hole_box, pixels, crop))
    regions.sort(key=lambda r: (r.hole[1], r.hole[0]))
    return regions


def square_window(region: Region, width: int, height: int, margin: int = MARGIN,
                  context: float = CONTEXT) -> tuple[Rect, tuple[int, int, int, int]]:
    """The square the learned path runs for `region` on a width x height image:
    (window, pads). window is the part inside the image; pads (left, top,
    right, bottom) px of reflect padding make it a square. The square's side is
    the longest side of the region's unclipped crop; it is centred on the hole
    and slid inside the image where the image is big enough, so it always
    holds the region's crop."""
    x0, y0, x1, y1 = region.hole
    side = max(x1 - x0, y1 - y0) + 2 * _context_margin(region.hole, margin, context)

    def axis(lo: int, hi: int, size: int) -> tuple[int, int, int, int]:
        if side >= size:
            before = (side - size) // 2
            return 0, size, before, side - size - before
        start = min(max((lo + hi - side) // 2, 0), size - side)
        return start, start + side, 0, 0

    wx0, wx1, left, right = axis(x0, x1, width)
    wy0, wy1, top, bottom = axis(y0, y1, height)
    return (wx0, wy0, wx1, wy1), (left, top, right, bottom)


def hole_depth(region: Region) -> float:
    """Px from the region's deepest hole pixel to the nearest known pixel:
    half its thickness, whatever its length (a 20 px stroke is 10 deep)."""
    padded = np.pad(region.pixels, 1).astype(np.uint8)  # outside the hole box is known
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE).max())


def too_thin_for(resolution: int, region: Region, window: Rect, pads: tuple[int, int, int, int]) -> bool:
    """Whether `region`, in the square (window plus pads) a model of
    `resolution` px sees it in, is less than TRUSTED_DEPTH of the model's
    px deep: there a prefill model's correction is mostly faded out, so its
    fill is about the prefill's (Telea), and PatchMatch, which continues the
    texture, does better: +0.37 dB over Telea on held-out emoji strokes,
    +1.1 to +1.3 (median) on the GNOME backgrounds'; the model stays ahead
    on blobs (issue 12)."""
    left, top, right, bottom = pads
    side = window[2] - window[0] + left + right
    return hole_depth(region) * resolution / side < TRUSTED_DEPTH


def source_window(region: Region, margin: int = MARGIN, context: float = CONTEXT) -> Rect:
    """The window PatchMatch fills `region` in, its known pixels the patches'
    sources: the hole box with the fixed margin, or `context` x the hole's
    thickness when that is more, inside the region's crop. For a round hole
    that is the crop; a long thin stroke needs texture from beside it, not a
    margin as long as itself (a 28 px stroke 900 px long on a 2560 px photo
    filled in a quarter of the crop's area)."""
    x0, y0, x1, y1 = region.hole
    m = max(int(margin), math.ceil(context * 2 * hole_depth(region)))
    cx0, cy0, cx1, cy1 = region.crop
    return max(x0 - m, cx0), max(y0 - m, cy0), min(x1 + m, cx1), min(y1 + m, cy1)


def _context_margin(hole: Rect, margin: int, context: float) -> int:
    """Px of context each side of a hole box: the fixed margin, or the share
    of the box's longest side when that is more (module docstring)."""
    x0, y0, x1, y1 = hole
    return max(int(margin), math.ceil(context * max(x1 - x0, y1 - y0)))


def memory_needed(width: int, height: int, method: str, holes: Rect | None = None) -> int:
    """About the most bytes inpainting a width x height picture with `method`
    takes, decoding included. holes: the bounding box of the mask's hole
    pixels (image px); None (the mask not read yet) counts only what every
    fill needs."""
    need = width * height * IMAGE_BYTES
    if holes is None:
        return need
    x0, y0, x1, y1 = holes
    m = _context_margin(holes, MARGIN, CONTEXT)
    if method == "auto":  # either, region by region
        return max(memory_needed(width, height, "learned", holes), memory_needed(width, height, "patchmatch", holes))
    if method == "learned":
        side = max(x1 - x0, y1 - y0) + 2 * m
        work = side * side
    else:
        cx0, cy0, cx1, cy1 = clip((x0 - m, y0 - m, x1 + m, y1 + m), width, height)
        work = (cx1 - cx0) * (cy1 - cy0)
    return need + (x1 - x0) * (y1 - y0) * PASTE_BYTES + work * WORK_BYTES[method]


def default_model(registry: Registry | None = None) -> ModelEntry | None:
    """The first usable inpaint model (shipped before the user's), or None."""
    entries = (registry if registry is not None else Registry()).entries(KIND)
    return entries[0] if entries else None


def inpaint_recipe(method: str, model: ModelEntry | None = None, **params) -> dict:
    """The recipe of an inpainted image: the model's (name, sha256, version)
    for auto and learned, the method alone for the classical ones."""
    if method in MODEL_METHODS and model is not None:
        return model_recipe(model, action="inpaint", method=method, **params)
    return {"format": RECIPE_FORMAT, "action": "inpaint", "method": method, **params}


def inpaint(image: np.ndarray, mask: np.ndarray, method: str = "telea", model: ModelEntry | None = None,
            runtime: Runtime | None = None, *, radius: float = RADIUS, feather: int = FEATHER,
            margin: int = MARGIN, match_colour: bool | None = None) -> np.ndarray:
    """Fill the holes of `image` (uint8 HxWx3 or HxWx4 sRGB, any size) where
    `mask` (uint8 or bool HxW) is nonzero -> uint8, same shape.

    method: "learned" (needs `model`, an inpaint ModelEntry, run through
    `runtime`, default the process-wide one), "telea" or "ns" (OpenCV,
    `radius` px), "patchmatch" (content-aware, patchmatch.py), or "auto"
    (needs `model`): PatchMatch for a region too thin for the model to draw
    into (too_thin_for), the model for the others. feather:
    px outside the hole that blend toward the fill (0 = hard edge); pixels
    farther away, and the alpha channel everywhere,
    are returned bit-identical. margin: least px of context around each
    region. match_colour: shift each fill to the border's mean colour
    (default: on for learned without a prefill, off otherwise)."""
    image = _check_image(image)
    mask = _check_mask(mask, image)
    if method not in METHODS:
        raise InpaintError(f"unknown inpaint method '{method}' (choose {', '.join(METHODS)})")
    if int(feather) != feather or feather < 0:
        raise InpaintError(f"feather must be whole px, at least 0, got {feather}")
    if not radius > 0:
        raise InpaintError(f"radius must be more than 0 px, got {radius}")
    if int(margin) != margin or margin < 0:
        raise InpaintError(f"margin must be whole px, at least 0, got {margin}")
    network = _Network(model, runtime) if method in MODEL_METHODS else None
    result = image.copy()
    holes = _Holes(mask)
    regions = _regions(holes, margin)
    height, width = mask.shape
    for region in regions:
        used = method
        if network is not None:
            window, pads = square_window(region, width, height, margin)
            if method == "auto":
                used = "patchmatch" if too_thin_for(network.resolution, region, window, pads) else "learned"
        if used == "learned":
            fill = network.fill(result[slices(window)][..., :3], holes.within(window), pads)
        elif used == "patchmatch":
            window = source_window(region, margin)
            fill = patchmatch.fill(result[slices(window)][..., :3], holes.within(window))
        else:
            window = region.crop
            fill = cv2.inpaint(np.ascontiguousarray(result[slices(window)][..., :3]),
                               holes.within(window).astype(np.uint8) * 255, float(radius),
                               CLASSICAL[method])
        # By default only a network without a prefill is colour-matched: the
        # others build their fill from the border's own colours.
        matched = (used == "learned" and network.prefill is None) if match_colour is None else match_colour
        _paste(result, fill, window, region, holes, int(feather), matched)
        # Filled now: later crops see this region as context, not as a hole.
        hx0, hy0, hx1, hy1 = region.hole
        bx0, by0 = holes.box[:2]
        holes.pixels[hy0 - by0:hy1 - by0, hx0 - bx0:hx1 - bx0] &= ~region.pixels
    return result


def _paste(result: np.ndarray, fill: np.ndarray, window: Rect, region: Region, holes: _Holes,
           feather: int, match_colour: bool) -> None:
    """Blend `fill` (hxwx3, float32 or uint8, the window's size) into
    `result`'s RGB over the region's holes and their feather, in place."""
    # Only the hole box grown by the feather (and the colour ring) can change.
    reach = max(feather, RING) + 1
    hx0, hy0, hx1, hy1 = region.hole
    wx0, wy0, wx1, wy1 = window  # holds the hole box; with a tiny margin, maybe not all the feather
    area = (max(hx0 - reach, wx0), max(hy0 - reach, wy0), min(hx1 + reach, wx1), min(hy1 + reach, wy1))
    ax0, ay0, ax1, ay1 = area
    fill = fill[ay0 - wy0:ay1 - wy0, ax0 - wx0:ax1 - wx0].astype(np.float32)
    np.nan_to_num(fill, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    group = np.zeros(fill.shape[:2], bool)
    group[hy0 - ay0:hy1 - ay0, hx0 - ax0:hx1 - ax0] = region.pixels
    # Distance of each non-hole pixel to the nearest hole pixel of this region
    # (all of which lie inside `area`).
    outside = cv2.distanceTransform((~group).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    weight = np.where(outside <= feather, 1.0 - outside / np.float32(feather + 1), 0.0).astype(np.float32)
    weight[group] = 1.0
    base = result[slices(area)][..., :3]
    if match_colour:
        inside = cv2.distanceTransform(group.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        inner = group & (inside <= RING)
        # Known pixels only: other regions' holes (pending ones) are excluded.
        outer = ~holes.within(area) & ~group & (outside <= RING)
        if inner.any() and outer.any():
            target = base[outer].mean(axis=0, dtype=np.float64)
            # Inside the hole the fill's border mean goes onto the surroundings'
            # mean; in the feather the network's redraw of the known pixels
            # goes onto what they really are, so its drift does not show there.
            fill[group] += (target - fill[inner].mean(axis=0, dtype=np.float64)).astype(np.float32)
            fill[~group] += (target - fill[outer].mean(axis=0, dtype=np.float64)).astype(np.float32)
    touched = weight > 0
    before = base[touched].astype(np.float32)
    mixed = before + (fill[touched] - before) * weight[touched][:, None]
    base[touched] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


class _Network:
    """An inpaint model's session and its manifest contract: image float32
    [N,3,R,R] and mask float32 [N,1,R,R] (1 = hole) in, image [N,3,R,R] out."""

    def __init__(self, entry: ModelEntry | None, runtime: Runtime | None):
        if entry is None:
            raise InpaintError("auto and learned fills need an inpaint model (none given or installed); "
                               "use telea, ns or patchmatch")
        if entry.kind != KIND:
            raise InpaintError(f"model '{entry.name}' is a {entry.kind} model, not an inpaint model")
        if not entry.usable:
            raise InpaintError(f"model '{entry.name}' is unusable: {entry.reason}")
        manifest = entry.manifest  # checked by the registry: two or more inputs, a resolution (engine/manifest.py)
        names = [s["name"] for s in manifest["inputs"]]
        self.name = entry.name
        self.image_in = "image" if "image" in names else names[0]
        self.mask_in = "mask" if "mask" in names else [n for n in names if n != self.image_in][0]
        spec = next(s for s in manifest["inputs"] if s["name"] == self.image_in)
        self.resolution = int(manifest.get("resolution") or spec["shape"][-1])
        prefill = manifest.get("prefill") or {}
        if prefill and prefill.get("method") not in CLASSICAL:
            raise InpaintError(f"model '{entry.name}' asks for an unknown prefill {prefill}")
        self.prefill = CLASSICAL[prefill["method"]] if prefill else None
        self._in_low, self._in_high = (float(v) for v in spec.get("range", [-1.0, 1.0]))
        self._out_low, self._out_high = (float(v) for v in manifest["outputs"][0].get("range", [-1.0, 1.0]))
        self._session = (runtime or default_runtime()).session(entry.onnx_path)

    def fill(self, rgb: np.ndarray, holes: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
        """The network's picture of a window: uint8 hxwx3 and bool hxw holes
        -> float32 hxwx3 in 0..255 (hole pixels filled, the rest redrawn)."""
        left, top, right, bottom = pads
        h, w = holes.shape
        if any(pads):
            rgb = np.pad(rgb, ((top, bottom), (left, right), (0, 0)), mode="reflect")
            # Mirrored holes stay holes: the padding must not show them either.
            holes = np.pad(holes, ((top, bottom), (left, right)), mode="reflect")
        side, res = rgb.shape[0], self.resolution
        base = None
        if self.prefill is not None:
            # The classical fill at the window's own size (as the classical
            # method makes it); the network's correction, made at its size, is
            # added on top: an untrained network returns exactly this fill,
            # and the resize costs the fill no detail of its own.
            base = cv2.inpaint(np.ascontiguousarray(rgb), holes.astype(np.uint8) * 255, RADIUS,
                               self.prefill).astype(np.float32)
        # Image and mask go through the same interpolation, so a model pixel
        # that any hole pixel contributes to, however slightly, is a hole: no
        # pixel the user masked leaks into the context (weights of pixels
        # without holes sum to exactly 0).
        x = _resize(rgb.astype(np.float32) if base is None else base, res, cv2.INTER_AREA)
        m = _resize(holes.astype(np.float32), res, cv2.INTER_AREA) > 0
        shown = x.copy()  # what the network is given, 0..255
        x = self._in_low + x * np.float32((self._in_high - self._in_low) / 255.0)
        if base is None:
            x[m] = (self._in_low + self._in_high) / 2
        feeds = {self.image_in: np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32),
                 self.mask_in: m.astype(np.float32)[None, None]}
        try:
            out = self._session.run(feeds)[0]
        except Exception as exc:  # onnxruntime's errors are long, multi-line and typed per cause
            detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            raise InpaintError(f"inpaint model '{self.name}' failed: {detail}") from None
        if out.shape != (1, 3, res, res):
            raise InpaintError(f"inpaint model '{self.name}' returned shape {list(out.shape)}, "
                               f"expected [1, 3, {res}, {res}]")
        y = (out[0].transpose(1, 2, 0) - self._out_low) * np.float32(255.0 / (self._out_high - self._out_low))
        if base is not None:
            depth = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3) * np.float32(res / side)
            trust = np.clip(depth / TRUSTED_DEPTH, 0.0, 1.0)[..., None]
            y = base + trust * _resize(np.ascontiguousarray(y - shown, np.float32), side)
        else:
            y = _resize(np.ascontiguousarray(y, np.float32), side)
        return y[top:top + h, left:left + w]


def _resize(x: np.ndarray, side: int, interpolation: int | None = None) -> np.ndarray:
    """float32 square hxw(x3) -> side x side: area averaging down, cubic up,
    unless `interpolation` says otherwise."""
    if x.shape[0] == side and x.shape[1] == side:
        return x
    if interpolation is None:
        interpolation = cv2.INTER_AREA if side < x.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(x, (side, side), interpolation=interpolation)


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] not in (3, 4):
        got = f"{image.dtype} array of shape {list(image.shape)}" if isinstance(image, np.ndarray) \
            else type(image).__name__
        raise InpaintError(f"the image must be a uint8 HxWx3 or HxWx4 array, got {got}")
    if min(image.shape[:2]) < 1:
        raise InpaintError("the image is empty")
    return image


def _check_mask(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The mask as given (uint8 or bool HxW, nonzero = hole), or InpaintError."""
    if not isinstance(mask, np.ndarray) or mask.dtype not in (np.uint8, np.bool_) or mask.ndim != 2:
        got = f"{mask.dtype} array of shape {list(mask.shape)}" if isinstance(mask, np.ndarray) \
            else type(mask).__name__
        raise InpaintError(f"the mask must be a uint8 HxW array, got {got}")
    if mask.shape != image.shape[:2]:
        raise InpaintError(f"the mask is {mask.shape[1]} x {mask.shape[0]} px, "
                           f"the image {image.shape[1]} x {image.shape[0]} px")
    return mask
