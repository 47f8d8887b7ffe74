"""Export a canvas document as one flat image file, with its recipe.

The document's visible composite is cropped (whole image or the selection's
bounding box), optionally scaled, and written through imageio.save_image, so
the write is atomic and the recipe lands where `studio recipe FILE` finds it.

The embedded recipe of a document export is

    {"format": recipe.FORMAT, "kind": "document",
     "size": [width, height],                 # the exported file, px
     "source": {"size": [w, h], "region": [x0, y0, x1, y1], "scale": s},
     "layers": [{"layer": NAME, <that layer's recipe without "format">}, ...],
     "upscale": {<the upscaler's recipe without "format">}}   # only when enlarged

With an Enlargement (a learned upscaler the app hands in: core runs no
networks) the region is enlarged by its factor first and `scale` applies to
the enlarged picture, so 100 % is exactly the upscaler's own output.

One entry per visible layer that carries a recipe (AI results), bottom to
top. The layer's own keys stay at the entry's top level (model, seeds, ...),
so format_recipe prints each entry as a readable block; the layer's "format"
is dropped because the top level already names it (nested recipes are the
same format family), and the name sits under "layer" so it cannot collide
with a recipe key such as model.name.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from PIL import Image

from studio.core import recipe as recipes
from studio.core.document import Document
from studio.core.imageio import DEFAULT_MAX_PIXELS, SAVE_FORMATS, ImageError, save_image
from studio.core.rect import Rect, bounds, slices

Region = Literal["image", "mask"]
REGIONS = ("image", "mask")
# Flattening colour where the file has no alpha (JPEG, or keep_alpha off); the
# same white save_image uses for JPEG, so both paths give the same pixels.
BACKGROUND = (255, 255, 255)
BAND_ROWS = 256  # rows per copy between numpy and Pillow in resample


class ExportError(ImageError):
    """An export that cannot be done (bad option, empty selection, failed
    write); str() is one readable line."""


@dataclass(frozen=True)
class Enlargement:
    """An enlargement run before the export's scale. factor: whole number
    >= 2; run(image uint8 hxwx4) -> uint8 (h*factor)x(w*factor)x4, on the
    export's thread (it may raise to cancel); recipe: the upscaler's recipe,
    kept under "upscale" in the file's."""

    factor: int
    run: Callable[[np.ndarray], np.ndarray]
    recipe: dict[str, Any]


def export_document(doc: Document, path: str | os.PathLike, *, scale: float = 1.0, keep_alpha: bool = True,
                    embed_recipe: bool = True, region: Region = "image", quality: int = 92,
                    enlarge: Enlargement | None = None) -> Path:
    """Write the visible image of `doc` to `path` and return the path.

    Format from the suffix: .png, .jpg/.jpeg, .webp, .tif/.tiff.
    scale: > 0, output size = round(region size * scale) px (at least 1 px),
    resampled with Lanczos on premultiplied alpha. keep_alpha: False (and
    always for JPEG) flattens onto white. region: "image" = the whole canvas,
    "mask" = the selection's bounding box with unselected pixels transparent
    (partly selected ones partly so). quality: 1..100 for JPEG/WebP (WebP 100 =
    lossless). enlarge: a learned enlargement before `scale` (module
    docstring). Raises ExportError with a one-line message.
    """
    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        kind = f"'{p.suffix}'" if p.suffix else "(no suffix)"
        raise ExportError(f"cannot export {p.name}: unknown image type {kind}; use .png, .jpg, .webp or .tif")
    if not (isinstance(scale, numbers.Real) and not isinstance(scale, bool) and math.isfinite(scale) and scale > 0):
        raise ExportError(f"export scale must be a number above 0, got {scale!r}")
    if not (isinstance(quality, (int, np.integer)) and 1 <= quality <= 100):
        raise ExportError(f"export quality must be a whole number from 1 to 100, got {quality!r}")
    if region not in REGIONS:
        raise ExportError(f"unknown export region {region!r} (choose image or mask)")

    factor = enlarge.factor if enlarge is not None else 1
    rect = export_rect(doc, region)
    size = scaled_size(rect, scale * factor)
    if size[0] * size[1] > DEFAULT_MAX_PIXELS:
        raise ExportError(f"an export of {size[0]} x {size[1]} px is too big "
                          f"(at most {DEFAULT_MAX_PIXELS // 1_000_000} million pixels); lower the scale")

    image = doc.composite(rect)
    if region == "mask":
        # Partial selection (feathered edges) gives partial transparency, as a
        # copy-paste of the selection would in Krita or Photoshop.
        covered = doc.mask[slices(rect)].astype(np.uint16)
        image[..., 3] = (image[..., 3] * covered + 127) // 255
    if enlarge is not None:
        image = enlarge.run(image)
    if size != (image.shape[1], image.shape[0]):
        image = resample(image, size)
    if fmt == "JPEG" or not keep_alpha:
        image = flatten(image, BACKGROUND)

    upscaler = enlarge.recipe if enlarge is not None else None
    recipe = document_recipe(doc, rect, scale, size, upscaler) if embed_recipe else None
    try:
        save_image(p, image, recipe, quality=int(quality))
    except ImageError as exc:
        raise ExportError(str(exc)) from exc
    return p


def export_rect(doc: Document, region: Region) -> Rect:
    """The canvas rect an export of `region` covers; ExportError for "mask"
    when nothing is selected."""
    if region == "image":
        return doc.rect
    found = bounds(doc.mask)
    if found is None:
        raise ExportError("nothing is selected; select a region first or export the whole image")
    return found


def scaled_size(rect: Rect, scale: float) -> tuple[int, int]:
    """(width, height) px of `rect` scaled by `scale`, each at least 1."""
    return (max(1, round((rect[2] - rect[0]) * scale)), max(1, round((rect[3] - rect[1]) * scale)))


def resample(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 hxwx4 straight alpha resized to size=(width, height) with Lanczos.

    Filtering premultiplied colour keeps the invisible colour of transparent
    pixels out of the edges (no dark fringes). Done in float32, channel by
    channel, because Pillow's own RGBA path premultiplies in 8 bits, which
    bands the colour of faint pixels; one channel at a time caps the extra
    memory at one float plane.
    """
    alpha = image[..., 3].astype(np.float32) / 255.0
    out_alpha = _resize_plane(alpha, size)
    np.clip(out_alpha, 0.0, 1.0, out=out_alpha)
    out = np.empty((size[1], size[0], 4), np.uint8)
    safe = np.where(out_alpha > 0, out_alpha, 1.0)
    for c in range(3):
        plane = _resize_plane(image[..., c].astype(np.float32) * alpha, size)
        # Lanczos rings: premultiplied colour must stay within 0..alpha.
        np.clip(plane, 0.0, out_alpha * 255.0, out=plane)
        out[..., c] = np.rint(plane / safe)
    out[..., 3] = np.rint(out_alpha * 255.0)
    return out


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    # Pillow's copies to and from numpy hold the GIL for the whole plane (a
    # 1 ms probe thread waited up to 12 ms at 2048 -> 4096 px, a stall of the
    # GUI thread while a worker resamples), so they go a band of rows at a
    # time (then 9 ms); the resize itself lets go of the GIL.
    height, width = plane.shape
    source = Image.new("F", (width, height))
    for y in range(0, height, BAND_ROWS):
        source.paste(Image.fromarray(plane[y:y + BAND_ROWS]), (0, y))
    resized = source.resize(size, Image.Resampling.LANCZOS)
    out = np.empty((size[1], size[0]), np.float32)
    for y in range(0, size[1], BAND_ROWS):
        out[y:y + BAND_ROWS] = np.asarray(resized.crop((0, y, size[0], min(size[1], y + BAND_ROWS))))
    return out


def flatten(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """uint8 hxwx4 straight alpha composited onto an opaque colour -> uint8 hxwx3."""
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    mixed = image[..., :3] * alpha + np.asarray(colour, np.float32) * (1.0 - alpha)
    return np.rint(mixed).astype(np.uint8)


def document_recipe(doc: Document, rect: Rect, scale: float, size: tuple[int, int],
                    upscaler: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recipe of an export of `rect` of `doc` at `scale` giving `size` px,
    enlarged first by the upscaler of recipe `upscaler` when given (shape in
    the module docstring)."""
    layers = []
    for layer in doc.layers:
        if layer.visible and layer.recipe:
            body = {k: v for k, v in layer.recipe.items() if k not in ("format", "layer")}
            layers.append({"layer": layer.name, **body})
    recipe = {"format": recipes.FORMAT, "kind": "document", "size": list(size),
              "source": {"size": [doc.width, doc.height], "region": list(rect), "scale": float(scale)},
              "layers": layers}
    if upscaler is not None:
        recipe["upscale"] = {k: v for k, v in upscaler.items() if k != "format"}
    return recipe
