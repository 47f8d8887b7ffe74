"""Style transfer: 26 built-in styles blended by weight, or any image as a style.

Two families of network, both shipped in models/ and opened through the
registry (see models/README.md, "Style networks"):
- style26 (kind "style"): image NCHW [1,3,h,w] + style_weights [26] -> image.
  One network, conditional instance norm: a weight vector blends styles.
- style-predict + style-transform (Magenta's arbitrary stylization): a style
  image (256 x 256) -> a 100-number style vector; content image + vector ->
  image, NHWC [1,h,w,3], at any size (our copy has dynamic h, w).
All images are sRGB values / 255 in [0, 1]; sides must be multiples of 4, so
inputs are reflect-padded and the result cropped back.

Strength, one definition per family:
- built-in styles: the stylized pixels mixed with the input's,
  (1 - s) * input + s * stylized. The 26 styles contain no "no style" entry
  to blend weights toward, so a pixel mix is the honest zero point.
- image styles: the style vector interpolated from the content's own style
  vector (the predictor run on the content image) toward the style image's,
  as the Magenta authors do. Strength 0 is then the photo re-rendered by the
  network in its own style, which is not the photo (on a test photo the
  round trip differs from it by 0.056 mean, 0..1 scale), so strength 0
  returns the input itself, the first part of the slider fades that
  redraw in and the rest interpolates vectors; the slider is evened out on
  each picture (Stylizer.even_strength) so equal steps change it equally.
Preserve colour keeps the result's luma and the input's chroma (core.colour).
Alpha is carried through unchanged; the networks see the RGB as it is.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from studio.core.colour import keep_colour, mix
from studio.core.export import flatten
from studio.core.latent import lerp, path_frames
from studio.core.mask import apply_within
from studio.core.placement import cover
from studio.engine.registry import ModelEntry, Registry
from studio.engine.runtime import ModelSession, Runtime, default_runtime

BUILTIN = "style26"
PREDICT = "style-predict"
TRANSFORM = "style-transform"
MIN_SIDE = 8  # px; smaller inputs cannot be reflect-padded to a multiple of 4
DEFAULT_OVERLAP = 64  # px of overlap between tiles when tiling
# Peak memory of a stylize, bytes (core.memory_budget says how it was measured;
# `studio stylize` of an RGB PNG with built-in style 3, decoding and saving
# included; a picture style measured less at every size):
# - whole image (tile 0): 593, 680 and 410 bytes per px at 1024, 2048 and
#   3072 px (onnxruntime's arena grows in steps);
WHOLE_BYTES = 700
# - tiled: 2.05, 2.99 and 4.79 GB at 2048, 3072 and 4096 px with 1024 px tiles:
#   218 bytes per px (the feature maps "exact" tiling keeps, engine/tiling.py)
#   plus 1.14 GB, the tile's own working set, 1085 bytes per px of one tile.
KEPT_BYTES = 220
TILE_BYTES = 1100
# Share of a picture style's strength slider that fades in the network's
# redraw of the picture in its own style, before the style vector moves:
# that redraw's change over the whole walk's, 0.12-0.19 on six pairs of
# GNOME backgrounds (tuning data; benchmarks/style_preview.py measures photos).
OWN_SHARE = 0.15
# A picture style's slider is then evened out on each picture (the redraw's
# share of the change is 0.12-0.3 from picture to picture, so no one
# OWN_SHARE evens them all): the walk is drawn at EVEN_POINTS + 1 strengths
# on a copy of at most EVEN_PX px, the strengths are moved to where the
# change along the walk is shared out equally, and that is done EVEN_PASSES
# times (the change is not additive along the walk, so one pass leaves up to
# 2x between steps; three, about 1.5x: tests/engine/test_style.py and
# benchmarks/style_preview.py measure it).
EVEN_PX = 192
EVEN_POINTS = 10
EVEN_PASSES = 3
EVEN_KEPT = 8  # the last pictures' mappings kept, so a slider drag measures once


class StyleError(ValueError):
    """Bad style input (index, weights, strength, image); str() is one line."""


class StyleCancelled(Exception):
    """The caller's cancelled() stopped a tiled run."""


WeightSpec = int | str | Mapping[int, float] | Sequence[float] | np.ndarray


def parse_weights(spec: WeightSpec, count: int) -> np.ndarray:
    """A blend of built-in styles -> float32 [count], non-negative, summing to 1.

    spec: an index (7), text ("7" or "3:0.5,12:0.5"; a bare index weighs 1),
    a mapping {index: weight}, or `count` weights. Repeated indices add up."""
    weights = np.zeros(count, np.float32)
    if isinstance(spec, str):
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            index, _, weight = part.partition(":")
            try:
                weights[_index(int(index), count)] += float(weight) if weight.strip() else 1.0
            except ValueError as exc:
                if isinstance(exc, StyleError):
                    raise
                raise StyleError(f"bad style {spec!r}; use an index such as 7 or a blend such as 3:0.5,12:0.5") \
                    from None
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        weights[_index(int(spec), count)] = 1.0
    elif isinstance(spec, Mapping):
        for index, weight in spec.items():
            weights[_index(int(index), count)] += float(weight)
    else:
        values = np.asarray(spec, np.float32)
        if values.shape != (count,):
            raise StyleError(f"a weight list needs {count} values, got shape {list(values.shape)}")
        weights = values.copy()
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise StyleError("style weights must be finite, non-negative and not all zero")
    return weights / weights.sum()


def memory_needed(width: int, height: int, tile: int) -> int:
    """About the most bytes styling a width x height picture takes, tiled
    with `tile` px (0: whole) as Stylizer.builtin and .with_vector run it."""
    pixels = width * height
    if tile and max(width, height) > tile:
        return pixels * KEPT_BYTES + tile * tile * TILE_BYTES
    return pixels * WHOLE_BYTES


def _index(index: int, count: int) -> int:
    if not 0 <= index < count:
        raise StyleError(f"style index must be 0 to {count - 1}, got {index}")
    return index


def interpolate(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Straight-line mix of two style vectors (float32 [100]) or two weight
    vectors (float32 [26]): t = 0 gives a, t = 1 gives b (t may go beyond
    0..1 to extrapolate). Linear, as the style networks' normalisation
    parameters are affine in both."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        raise StyleError(f"cannot interpolate styles of shapes {list(a.shape)} and {list(b.shape)}")
    return lerp(a, b, float(t))


def style_frames(keys: Sequence[np.ndarray], frames: int, loop: bool = False) -> np.ndarray:
    """`frames` evenly spaced style vectors (or weight vectors) along the path
    through `keys`: float32 [frames, size], for an animation export. A looping
    path leaves out its end point, which repeats the first frame."""
    if not keys:
        raise StyleError("an animation needs at least one style")
    if frames < 1:
        raise StyleError(f"an animation needs at least 1 frame, got {frames}")
    return path_frames([np.asarray(k, np.float32) for k in keys], int(frames), mode="lerp", loop=loop)


def _check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] not in (3, 4):
        got = f"{image.dtype} array of shape {list(image.shape)}" if isinstance(image, np.ndarray) \
            else type(image).__name__
        raise StyleError(f"{name} must be a uint8 HxWx3 or HxWx4 image, got {got}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise StyleError(f"{name} is too small ({w} x {h} px); both sides need at least {MIN_SIDE} px")
    return image


def _check_strength(strength: float) -> float:
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise StyleError(f"strength must be a number between 0 and 1, got {strength!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise StyleError(f"strength must be between 0 and 1, got {strength}")
    return value


def _check_tile(tile: int, overlap: int) -> tuple[int, int]:
    if int(tile) != tile or tile < 0:
        raise StyleError(f"tile must be 0 (whole image) or a size in px, got {tile}")
    if int(overlap) != overlap or overlap < 0 or (tile and overlap * 2 >= tile):
        raise StyleError(f"tile overlap must be whole px, at least 0 and under half the tile, got {overlap}")
    return int(tile), int(overlap)


def _unit(rgb: np.ndarray) -> np.ndarray:
    """uint8 hxwx3 -> float32 hxwx3 in [0, 1]."""
    return rgb.astype(np.float32) * np.float32(1.0 / 255.0)


def _padded(x: np.ndarray) -> np.ndarray:
    """float32 hxwx3 reflect-padded at the bottom and right to multiples of 4
    (the networks halve the size twice)."""
    ph, pw = -x.shape[0] % 4, -x.shape[1] % 4
    return np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else x


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """float HxWx3 in [0, 1] -> uint8 HxWx3."""
    out = x * np.float32(255.0)
    np.clip(out, 0.0, 255.0, out=out)
    return np.rint(out).astype(np.uint8)


def _run(session: ModelSession, feeds: dict[str, np.ndarray], content_name: str, rgb: np.ndarray,
         nhwc: bool, tile: int, overlap: int, progress=None, cancelled=None) -> np.ndarray:
    """One network's stylized image: uint8 hxwx3 in -> float32 hxwx3 in
    [0, 1] out. nhwc: the network's image layout (style-transform) instead
    of NCHW (style26). tile > 0 and an image bigger than a tile: tiles that
    share the whole image's normalisation statistics (engine/tiling.py)."""
    h, w = rgb.shape[:2]
    x = _unit(rgb)
    if tile and max(h, w) > tile:
        from studio.engine import tiling  # onnx graph surgery: loaded only when tiling

        try:
            # tiling takes and returns NCHW whatever the network's layout, and pads and crops itself.
            out = tiling.transform(session, feeds, content_name, x.transpose(2, 0, 1)[None], tile, overlap,
                                   progress=progress, cancelled=cancelled)
        except tiling.Cancelled:
            raise StyleCancelled("cancelled") from None
        except tiling.TilingError as exc:
            raise StyleError(str(exc)) from None
        except Exception as exc:  # as below
            raise _network_error("style network", exc) from None
        return out[0].transpose(1, 2, 0)
    x = _padded(x)
    content = x[None] if nhwc else np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    try:
        out = session.run({**feeds, content_name: content})[0][0]
    except Exception as exc:  # onnxruntime's errors are long, multi-line and typed per cause
        raise _network_error("style network", exc) from None
    return (out if nhwc else out.transpose(1, 2, 0))[:h, :w]


def _network_error(what: str, exc: Exception) -> StyleError:
    detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError) or "alloc" in detail.lower():
        detail = f"out of memory ({detail}); use tiles or a smaller image"
    return StyleError(f"{what} failed: {detail}")


class Stylizer:
    """The style networks of a registry, run through a runtime.

    Sessions open lazily: built-in styles never load the arbitrary networks
    and the other way round."""

    def __init__(self, registry: Registry | None = None, runtime: Runtime | None = None,
                 builtin: str = BUILTIN, predict: str = PREDICT, transform: str = TRANSFORM):
        self.registry = registry if registry is not None else Registry()
        self.runtime = runtime or default_runtime()
        self._names = {"style": builtin, "style-predict": predict, "style-transform": transform}
        self._sessions: dict[str, tuple[ModelEntry, ModelSession]] = {}
        self._evened: dict[bytes, np.ndarray] = {}  # see even_strength

    def _open(self, kind: str) -> tuple[ModelEntry, ModelSession]:
        if kind not in self._sessions:
            entry = self.registry.get(self._names[kind], kind=kind)
            self._sessions[kind] = (entry, self.runtime.session(entry.onnx_path))
        return self._sessions[kind]

    def entry(self, kind: str) -> ModelEntry:
        """The registry entry used for `kind` ("style", "style-predict", "style-transform")."""
        return self._open(kind)[0]

    @property
    def style_count(self) -> int:
        """How many built-in styles the built-in network holds (26)."""
        entry = self.entry("style")
        return int(entry.manifest.get("style_count") or entry.manifest["inputs"][1]["shape"][0])

    @property
    def style_names(self) -> list[str]:
        """A name for each built-in style: the manifest's "style_names" when it
        has one per style, else "Style 0", "Style 1", ..."""
        names = self.entry("style").manifest.get("style_names")
        if isinstance(names, list) and len(names) == self.style_count and all(isinstance(n, str) and n
                                                                               for n in names):
            return list(names)
        return [f"Style {i}" for i in range(self.style_count)]

    def weights(self, spec: WeightSpec) -> np.ndarray:
        """parse_weights for this network's style count: float32 [26], sums to 1."""
        return parse_weights(spec, self.style_count)

    # -- style vectors -------------------------------------------------------

    def style_vector(self, image: np.ndarray) -> np.ndarray:
        """The 100-number style vector of any picture: uint8 HxWx3/4 sRGB (alpha
        composited on white) -> float32 [100]. The centre square is resized to
        the predictor's 256 x 256 (Lanczos)."""
        image = _check_image(image, "style image")
        entry, session = self._open("style-predict")
        spec = entry.manifest["inputs"][0]
        size = int(entry.manifest.get("input_size") or spec["shape"][1])
        rgb = flatten(image, (255, 255, 255)) if image.shape[2] == 4 else image
        square = cover(rgb, size, size)[..., :3]
        x = (square.astype(np.float32) * np.float32(1.0 / 255.0))[None]
        try:
            (vector,) = session.run({spec["name"]: x})[:1]
        except Exception as exc:  # as in _run
            raise _network_error("style predictor", exc) from None
        return vector.reshape(-1).astype(np.float32)

    # -- stylizing -------------------------------------------------------------

    def builtin(self, image: np.ndarray, weights: WeightSpec, *, strength: float = 1.0,
                preserve_colour: bool = False, mask: np.ndarray | None = None,
                tile: int = 0, overlap: int = DEFAULT_OVERLAP, progress=None, cancelled=None) -> np.ndarray:
        """A blend of built-in styles: uint8 HxWx3/4 sRGB -> uint8, same shape,
        alpha unchanged. weights: anything parse_weights takes; strength 0..1
        mixes the stylized pixels with the input's (0 = the input exactly);
        preserve_colour keeps the input's chroma; mask (uint8 HxW) applies the
        result only where selected, with alpha mask/255; tile > 0 runs tiles of
        that many px (with `overlap` px) when the image is bigger; then
        progress(done, total) follows the tiles and cancelled(), polled
        between tiles, stops the run with StyleCancelled once true."""
        image = _check_image(image)
        _check_mask(mask, image)
        strength = _check_strength(strength)
        tile, overlap = _check_tile(tile, overlap)
        w = self.weights(weights)
        if strength == 0.0:
            return self._finish(image, image[..., :3].copy(), 0.0, False, mask)
        entry, session = self._open("style")
        image_in, weights_in = (s["name"] for s in entry.manifest["inputs"][:2])
        out = _run(session, {weights_in: w}, image_in, image[..., :3], False, tile, overlap, progress, cancelled)
        return self._finish(image, _to_uint8(out), strength, preserve_colour, mask)

    def with_vector(self, image: np.ndarray, vector: np.ndarray, *, strength: float = 1.0,
                    own_vector: np.ndarray | None = None, preserve_colour: bool = False,
                    mask: np.ndarray | None = None, tile: int = 0,
                    overlap: int = DEFAULT_OVERLAP, progress=None, cancelled=None) -> np.ndarray:
        """Any style by its vector (float32 [100], from style_vector or
        interpolate): uint8 HxWx3/4 sRGB -> uint8, same shape, alpha unchanged,
        at full resolution. strength 0..1, evened out on the picture
        (even_strength): the input fades into the network's redraw of it in
        the content's own style vector (`own_vector`, computed when not
        given; pass it to save a predictor run while a slider moves), then
        the vector moves from the own one toward `vector` (_walk); 0 returns
        the input. preserve_colour, mask, tile, overlap, progress, cancelled:
        as in builtin()."""
        image = _check_image(image)
        _check_mask(mask, image)
        strength = _check_strength(strength)
        tile, overlap = _check_tile(tile, overlap)
        vector_shape = self.entry("style-transform").manifest["inputs"][1]["shape"]
        vector = self._vector(vector, math.prod(int(d) for d in vector_shape))
        if strength == 0.0:
            return self._finish(image, image[..., :3].copy(), 0.0, False, mask)
        mixed = 1.0
        if strength < 1.0:
            own = self.style_vector(image) if own_vector is None else self._vector(own_vector, vector.size)
            vector, mixed = _walk(own, vector, self.even_strength(image, vector, own, strength))
        out = self._transform(image[..., :3], vector, tile, overlap, progress, cancelled)
        return self._finish(image, out, mixed, preserve_colour, mask)

    def _transform(self, rgb: np.ndarray, vector: np.ndarray, tile: int = 0, overlap: int = DEFAULT_OVERLAP,
                   progress=None, cancelled=None) -> np.ndarray:
        """The arbitrary-style network on uint8 HxWx3 with a style vector: uint8 HxWx3."""
        entry, session = self._open("style-transform")
        content_in, vector_in = (s["name"] for s in entry.manifest["inputs"][:2])
        vector_shape = [int(d) for d in entry.manifest["inputs"][1]["shape"]]
        feeds = {vector_in: vector.reshape(vector_shape)}
        return _to_uint8(_run(session, feeds, content_in, rgb, True, tile, overlap, progress, cancelled))

    def even_strength(self, image: np.ndarray, vector: np.ndarray, own: np.ndarray, strength: float) -> float:
        """The walk's own strength (_walk) for slider position `strength` on
        this picture: equal steps of the slider change a small copy of it by
        equal amounts (see EVEN_PX). Measured once per picture and style
        (about 0.5 s on a CPU), then kept."""
        small = _small_copy(image[..., :3])
        key = small.tobytes() + np.asarray(vector, np.float32).tobytes() + np.asarray(own, np.float32).tobytes()
        key = hashlib.sha256(key).digest()
        table = self._evened.get(key)
        if table is None:
            slider = np.linspace(0.0, 1.0, EVEN_POINTS + 1)
            table = slider  # the walk's strength at each slider position, moved by each pass
            for _ in range(EVEN_PASSES):
                frames = [small.astype(np.float32)]
                for t in table[1:]:
                    step_vector, mixed = _walk(own, vector, float(t))
                    drawn = self._transform(small, step_vector).astype(np.float32)
                    frames.append(small + (drawn - small) * mixed)
                changes = np.cumsum([0.0] + [float(np.abs(b - a).mean()) for a, b in zip(frames, frames[1:])])
                if changes[-1] <= 0:  # a style that changes nothing: any mapping will do
                    break
                table = np.interp(slider, changes / changes[-1], table)
            if len(self._evened) >= EVEN_KEPT:
                self._evened.pop(next(iter(self._evened)))
            self._evened[key] = table
        return float(np.interp(strength, np.linspace(0.0, 1.0, EVEN_POINTS + 1), table))

    @staticmethod
    def _vector(vector: np.ndarray, size: int) -> np.ndarray:
        v = np.asarray(vector, np.float32).reshape(-1)
        if v.size != size or not np.all(np.isfinite(v)):
            raise StyleError(f"a style vector must be {size} finite numbers, got {v.size}")
        return v

    @staticmethod
    def _finish(image: np.ndarray, stylized: np.ndarray, strength: float, preserve_colour: bool,
                mask: np.ndarray | None) -> np.ndarray:
        """Colour, strength, alpha and mask, in that order: uint8 like `image`."""
        rgb = image[..., :3]
        if preserve_colour:
            stylized = keep_colour(stylized, rgb)
        if strength < 1.0:
            stylized = mix(np.ascontiguousarray(rgb), stylized, strength)
        if image.shape[2] == 4:
            stylized = np.concatenate([stylized, image[..., 3:]], axis=2)
        return stylized if mask is None else apply_within(image, stylized, mask)


def _walk(own: np.ndarray, vector: np.ndarray, strength: float) -> tuple[np.ndarray, float]:
    """(style vector, share of the drawing mixed over the picture) at the
    walk's `strength` in (0, 1]: the network redrawing the picture in its own
    style is already a step, so the first OWN_SHARE fades that redraw in and
    the rest walks the vector from the picture's own toward the style's."""
    if strength <= OWN_SHARE:
        return own, strength / OWN_SHARE
    return interpolate(own, vector, (strength - OWN_SHARE) / (1.0 - OWN_SHARE)), 1.0


def _small_copy(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 fitted within EVEN_PX (never below MIN_SIDE a side), Lanczos."""
    h, w = rgb.shape[:2]
    scale = EVEN_PX / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    return np.ascontiguousarray(np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.LANCZOS)))


def _check_mask(mask: np.ndarray | None, image: np.ndarray) -> None:
    if mask is None:
        return
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.shape != image.shape[:2]:
        got = (f"{mask.dtype} {mask.shape[1] if mask.ndim > 1 else '?'} x {mask.shape[0]} px"
               if isinstance(mask, np.ndarray) and mask.ndim else type(mask).__name__)
        raise StyleError(f"the mask must be uint8 {image.shape[1]} x {image.shape[0]} px like the image, got {got}")
