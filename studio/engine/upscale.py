"""Enlarge a picture of any size: a learned upscaler (manifest kind
"upscale", studio train --task upscale) or Pillow's Lanczos.

The learned network has no normalisation and no global operation: each
output pixel depends on a window of `margin` input pixels on every side
(the manifest says how many). So the input is cut into tiles, each run with
that margin of real neighbours (at the picture's border the network sees
its own zero padding, as a whole-image run does), and only the tile's own
part of the output is kept: the tiled result is the whole-image result, up
to onnxruntime's float rounding (at most 1 level of 255).

A factor the model divides (x2 from an x4 model) is its output
area-averaged per tile, which keeps tiles exact: 2 x 2 blocks never cross
a tile's edge. Alpha, when the picture has any transparency, is enlarged by
the same network as a grey picture (crisp cut-out edges, not Lanczos
halos); opaque pictures skip that second pass.

Memory: the result is one preallocated uint8 array (or the caller's, such
as a memory map); only a tile at a time is ever float. The output's pixel
count is checked against MAX_OUTPUT_PIXELS before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from studio.core.recipe import FORMAT as RECIPE_FORMAT
from studio.engine.generator import model_recipe
from studio.engine.registry import ModelEntry, Registry
from studio.engine.runtime import Runtime, default_runtime

KIND = "upscale"
METHODS = ("model", "lanczos")
MAX_OUTPUT_PIXELS = 16384 * 16384  # 4096 x 4096 at x4; 1 GiB as RGBA
DEFAULT_TILE = 512  # input px per tile side: the margin's extra work stays near 10 %
# Peak memory, bytes (core.memory_budget says how it was measured; `studio
# upscale` x4 of an RGB PNG, decoding and saving included). The model: 550 and
# 658 MB at 1024 and 1536 px in: 5.1 bytes per output px (the result, and the
# saved file's encoder) plus about 460 MB for a 512 px tile's working set,
# 1800 bytes per px of the tile. Lanczos: 205 and 462 MB, 12.2 bytes per
# output px (Pillow's copy in, its result, the array).
OUTPUT_BYTES = 6
TILE_BYTES = 1800
LANCZOS_BYTES = 13


class UpscaleError(ValueError):
    """The picture cannot be enlarged as asked; str() is one readable line."""


class Cancelled(Exception):
    """should_stop() said stop between two tiles; nothing was returned."""


def output_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """(width, height) x scale, or UpscaleError when that is over MAX_OUTPUT_PIXELS."""
    if scale < 1 or int(scale) != scale:
        raise UpscaleError(f"the factor must be a whole number of at least 1, got {scale}")
    w, h = width * scale, height * scale
    if w * h > MAX_OUTPUT_PIXELS:
        raise UpscaleError(f"{width} x {height} px x{scale} would be {w} x {h} px, over the limit of "
                           f"{MAX_OUTPUT_PIXELS // 1_000_000} million pixels; choose a smaller factor")
    return w, h


def memory_needed(width: int, height: int, scale: int, method: str, tile: int = DEFAULT_TILE) -> int:
    """About the most bytes enlarging a width x height picture `scale` times
    takes with `method` ("model", in tiles of `tile` px, or "lanczos"), its
    decoding not included."""
    output = width * height * scale * scale
    if method == "model":
        return output * OUTPUT_BYTES + tile * tile * TILE_BYTES
    return output * LANCZOS_BYTES


def default_model(registry: Registry | None = None, scale: int | None = None) -> ModelEntry | None:
    """The usable upscale model to use when none is named (model_for_scale), or None."""
    return model_for_scale((registry if registry is not None else Registry()).entries(KIND), scale)


def model_for_scale(entries: list[ModelEntry], scale: int | None) -> ModelEntry | None:
    """Of usable upscale models, the one for `scale`: the first that enlarges
    exactly that much, else the first that can make it (an x4 makes x2 by
    averaging, at four times the work); without a scale the first of those
    that enlarge most (an upscaler's whole gain), and when none can, the
    first (shipped before the user's). None when there are none."""
    if scale is None and entries:
        scale = max(entry.manifest["scale"] for entry in entries)
    if scale is not None:
        for fits in (lambda e: e.manifest["scale"] == scale, lambda e: e.manifest["scale"] % scale == 0):
            for entry in entries:
                if fits(entry):
                    return entry
    return entries[0] if entries else None


def upscale_recipe(method: str, scale: int, model: ModelEntry | None = None, **params) -> dict:
    """The recipe of an enlarged image: the model's (name, sha256, version) or Lanczos."""
    if method == "model" and model is not None:
        return model_recipe(model, action="upscale", method=method, scale=scale, **params)
    return {"format": RECIPE_FORMAT, "action": "upscale", "method": method, "scale": scale, **params}


def upscale(image: np.ndarray, scale: int, model: ModelEntry | None = None, runtime: Runtime | None = None, *,
            tile: int = DEFAULT_TILE, progress: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """`image` (uint8 HxWx3 or HxWx4) enlarged `scale` times -> uint8
    (H*scale)x(W*scale)x(same channels), written into `out` when given (an
    array of that shape and dtype, a memory map for instance).

    With `model` (an upscale ModelEntry, run through `runtime`, default the
    process-wide one) in tiles of `tile` input px: progress(done, total)
    after each tile, should_stop() checked before each (Cancelled). Without
    one: Pillow's Lanczos, in one go."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or 0 in image.shape[:2]:
        raise UpscaleError(f"expected a uint8 RGB or RGBA picture, got {image.dtype} of shape {image.shape}")
    height, width, channels = image.shape
    out_w, out_h = output_size(width, height, scale)
    network = _Network(model, runtime, scale) if model is not None else None
    if tile < 16:
        raise UpscaleError(f"tiles must be at least 16 px, got {tile}")
    if out is None:
        out = np.empty((out_h, out_w, channels), np.uint8)
    elif out.shape != (out_h, out_w, channels) or out.dtype != np.uint8:
        raise UpscaleError(f"the output array is {out.dtype} {out.shape}, not uint8 {(out_h, out_w, channels)}")
    if network is None:
        mode = "RGBA" if channels == 4 else "RGB"
        out[...] = np.asarray(Image.fromarray(image, mode).resize((out_w, out_h), Image.Resampling.LANCZOS))
        return out
    alpha = channels == 4 and bool((image[..., 3] != 255).any())
    cells = [(y, x) for y in range(0, height, tile) for x in range(0, width, tile)]
    total = len(cells) * (2 if alpha else 1)
    done = 0
    for plane in ("rgb", "alpha") if alpha else ("rgb",):
        for y, x in cells:
            if should_stop is not None and should_stop():
                raise Cancelled()
            core = (y, min(y + tile, height), x, min(x + tile, width))
            network.enlarge_into(image, core, plane, out)
            done += 1
            if progress is not None:
                progress(done, total)
    if channels == 4 and not alpha:
        out[..., 3] = 255
    return out


class _Network:
    """An upscale model's session and its manifest contract: image float32
    [1,3,h,w] in [-1,1] -> [1,3,h*s,w*s], exact in tiles with `margin`."""

    def __init__(self, entry: ModelEntry, runtime: Runtime | None, scale: int):
        if entry.kind != KIND:
            raise UpscaleError(f"model '{entry.name}' is a {entry.kind} model, not an upscaler")
        if not entry.usable:
            raise UpscaleError(f"model '{entry.name}' is unusable: {entry.reason}")
        manifest = entry.manifest  # checked by the registry: scale and margin stated (engine/manifest.py)
        self.model_scale, self.margin = manifest["scale"], manifest["margin"]
        if self.model_scale % scale:
            raise UpscaleError(f"model '{entry.name}' enlarges x{self.model_scale}; it cannot make x{scale} "
                               f"(use x{self.model_scale} or a factor that divides it, or Lanczos)")
        self.scale = scale
        self.shrink = self.model_scale // scale  # area-averaged per tile after the network
        self.input = manifest["inputs"][0]["name"]
        self._session = (runtime or default_runtime()).session(entry.onnx_path)

    def enlarge_into(self, image: np.ndarray, core: tuple[int, int, int, int], plane: str, out: np.ndarray) -> None:
        """Run the tile `core` = (top, bottom, left, right) of `image` with its
        margin and write its own part of the result into `out`."""
        top, bottom, left, right = core
        height, width = image.shape[:2]
        m = self.margin
        wy0, wy1, wx0, wx1 = max(top - m, 0), min(bottom + m, height), max(left - m, 0), min(right + m, width)
        window = image[wy0:wy1, wx0:wx1]
        pixels = window[..., :3] if plane == "rgb" else np.repeat(window[..., 3:4], 3, axis=2)
        feed = pixels.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0
        (result,) = self._session.run({self.input: feed})
        s = self.model_scale
        part = result[0, :, (top - wy0) * s:(bottom - wy0) * s, (left - wx0) * s:(right - wx0) * s]
        part = np.clip((part.transpose(1, 2, 0) + 1.0) * 127.5, 0.0, 255.0)
        if self.shrink > 1:  # averaged as the x{model_scale} picture's pixels would be
            h, w = part.shape[:2]
            part = cv2.resize(part, (w // self.shrink, h // self.shrink), interpolation=cv2.INTER_AREA)
        values = np.rint(part).astype(np.uint8)
        k = self.scale
        rows, cols = slice(top * k, bottom * k), slice(left * k, right * k)
        if plane == "rgb":
            out[rows, cols, :3] = values
        else:
            out[rows, cols, 3] = np.rint(values.astype(np.float32).mean(axis=2)).astype(np.uint8)

