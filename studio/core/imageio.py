"""Image files in and out: whatever a user drops in becomes uint8 RGBA sRGB.

Every reader of user images goes through `load_image` (or `open_image` for
metadata), so orientation, colour profiles, bit depth and bad files are handled
in one place and every failure is an `ImageError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from studio.core.atomic import atomic_path
from studio.core.decoder_warnings import silence_decoder_warnings
from studio.core.errors import one_line
from studio.core.memory_budget import MemoryBudgetError, PixelJob, current_budget, picture_subject

# 2 x 8192^2 = 134,217,728 pixels (128 Mi). It admits 8192x8192 twice over and
# every current camera up to 108 MP phones (12000x9000), caps the decoded RGBA
# at 512 MiB, and sits below Pillow's own hard stop (2 x Image.MAX_IMAGE_PIXELS,
# about 179 MP) so that our check, with its readable message, is the one that
# fires. A bigger max_pixels still meets Pillow's stop unless the app raises it.
DEFAULT_MAX_PIXELS = 2 * 8192 * 8192

# What decoding takes at its peak, per pixel (core.memory_budget says how it was
# measured): a JPEG with EXIF rotation and an ICC profile 24 bytes (the file's
# pixels, the rotated copy, the converted copy, the array); a plain RGB JPEG or
# PNG 16, 16-bit grey 19, RGBA PNG 12. The worst, since the header alone
# rarely tells them apart cheaply.
DECODING = PixelJob("decoding it", 24)

# Only these decoders may touch user files. Image.open would otherwise try every
# plugin Pillow has, EPS among them, which hands the file to Ghostscript.
# (Multi-picture JPEGs from cameras, MPO, come in through the JPEG opener.)
OPEN_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "AVIF")
# File name endings of those formats, for file dialogs and quick counts (the
# reader itself goes by content, not by name).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".avif")

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

# What Pillow raises on damaged input. The list is broad on purpose: fuzzed and
# truncated files surface as any of these from deep inside the decoders.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
    struct.error,
    Image.DecompressionBombError,
)

_ICC_ERRORS: tuple[type[BaseException], ...] = (ImageCms.PyCMSError, OSError, ValueError, TypeError)

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


# Pillow's and libtiff's own complaints about a file never reach the user; an
# ImageError says it in one line. Once for the process, not around each read:
# decoder_warnings.py says why.
silence_decoder_warnings()


class ImageError(Exception):
    """A file that cannot be read or written; str() is one readable line."""


@contextlib.contextmanager
def open_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Image.Image]:
    """Open `path` with Pillow for reading, without decoding the pixels yet.

    Checks the pixel count from the header against `max_pixels` before anything
    is decoded. Pillow errors raised while the block runs (decoding, metadata)
    become ImageError, so callers never see a Pillow traceback.
    """
    p = Path(path)
    name = p.name or str(p)
    try:
        if p.stat().st_size == 0:
            raise ImageError(f"cannot read {name}: file is empty")
        im = Image.open(p, formats=OPEN_FORMATS)
    except ImageError:
        raise
    except DECODE_ERRORS as exc:
        raise ImageError(f"cannot read {name}: {_describe(exc, p, max_pixels)}") from exc
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise ImageError(
                f"cannot read {name}: it has {width * height:,} pixels ({width} x {height}), "
                f"over the limit of {max_pixels:,}"
            )
        try:
            yield im
        except DECODE_ERRORS as exc:
            raise ImageError(f"cannot read {name}: {_describe(exc, p, max_pixels)}") from exc


def image_size(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the file's header, nothing decoded (EXIF rotation
    not applied: the pixel count is what matters). ImageError as open_image."""
    with open_image(path, max_pixels) as im:
        return im.size


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS,
               job: PixelJob = DECODING) -> np.ndarray:
    """Read an image file as uint8 HxWx4 RGBA in sRGB, upright.

    Opens PNG, JPEG, WebP, TIFF, BMP, GIF and AVIF (first frame of animations).
    EXIF orientation is applied; an embedded ICC profile (RGB, grey or CMYK) is
    converted to sRGB, untagged pixels are taken as sRGB; 16-bit samples are
    scaled to 8 bits; alpha is kept (opaque 255 where the file has none).
    Raises ImageError for anything that is not a readable image of at most
    `max_pixels` pixels, and, before decoding, for one whose `job` (what the
    caller does with it: decoding alone by default) would not fit in the
    memory budget (core.memory_budget).
    """
    with open_image(path, max_pixels) as im:
        try:
            current_budget().check(picture_subject(Path(path).name, *im.size), job.doing, job.need(*im.size))
        except MemoryBudgetError as exc:
            raise ImageError(str(exc)) from None
        im.load()
        icc = im.info.get("icc_profile")
        upright = _apply_orientation(im)
        eight_bit = _to_8bit(upright, Path(path).name)
        srgb = _to_srgb(eight_bit, icc)
        rgba = srgb if srgb.mode == "RGBA" else srgb.convert("RGBA")
        return np.array(rgba, dtype=np.uint8)


def save_image(
    path: str | os.PathLike,
    image: np.ndarray,
    recipe: dict[str, Any] | None = None,
    quality: int = 95,
) -> None:
    """Write `image` (uint8 HxWx3 RGB or HxWx4 RGBA, sRGB) atomically.

    The format follows the suffix: .png, .jpg/.jpeg, .webp, .tif/.tiff. JPEG has
    no alpha, so RGBA is composited onto white first. quality (1..100) applies
    to JPEG and WebP; WebP at 100 is lossless. `recipe` is embedded so `read_recipe` can recover it.
    An RGBA picture whose alpha is opaque everywhere is written as RGB.
    Raises ImageError for an unknown suffix or a failed write, ValueError for
    an array of the wrong shape or dtype.
    """
    # recipe.py imports this module for ImageError; importing it here keeps that
    # cycle out of import time.
    from studio.core import recipe as recipes

    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        kind = f"'{p.suffix}'" if p.suffix else "(no suffix)"
        raise ImageError(f"cannot save {p.name}: unknown image type {kind}; use .png, .jpg, .webp or .tif")
    im = image_from_array(image)
    if im.mode == "RGBA" and im.getextrema()[3] == (255, 255):
        # An opaque picture is written as RGB, as every editor does: a quarter
        # less to compress (0.15 s of a 1024 px PNG) and a smaller file.
        im = im.convert("RGB")
    if fmt == "JPEG" and im.mode == "RGBA":
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im).convert("RGB")

    options: dict[str, Any] = {}
    if fmt == "JPEG":
        # 4:4:4 chroma at high quality: generated images have sharp colour edges
        # that 4:2:0 subsampling visibly smears.
        options.update(quality=int(quality), subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        # quality 100 means lossless (and exact colour under transparent pixels);
        # anything less is lossy WebP, which halves colour resolution like JPEG.
        if quality >= 100:
            options.update(lossless=True, quality=100, exact=True)
        else:
            options.update(quality=int(quality))
    elif fmt == "TIFF":
        # LZW: lossless and readable by every TIFF reader, unlike deflate or zstd.
        options.update(compression="tiff_lzw")
    if recipe is not None:
        try:
            options.update(recipes.embed(fmt, recipe))
        except ValueError as exc:
            raise ImageError(f"cannot save {p.name}: {exc}") from exc

    try:
        with atomic_path(p) as tmp:
            im.save(tmp, format=fmt, **options)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot save {p.name}: {one_line(exc)}") from exc


def image_from_array(image: np.ndarray) -> Image.Image:
    """A Pillow image from uint8 HxWx3 (RGB) or HxWx4 (RGBA); ValueError otherwise."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4) or 0 in a.shape:
        raise ValueError(f"an image must be uint8 HxWx3 or HxWx4, got {a.dtype} {tuple(a.shape)}")
    return Image.fromarray(np.ascontiguousarray(a))


def _apply_orientation(im: Image.Image) -> Image.Image:
    try:
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation not in range(2, 9):
            return im
        return ImageOps.exif_transpose(im)
    except DECODE_ERRORS:
        # Broken EXIF is common (phone apps, editors); the pixels are still fine.
        return im


def _to_8bit(im: Image.Image, name: str) -> Image.Image:
    """Bring any Pillow mode to one of L, LA, RGB, RGBA, CMYK, LAB (8 bits)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK", "LAB"):
        return im
    if mode == "I" or mode.startswith("I;16"):
        # 16-bit grey (Pillow reports "I" for some 16-bit files): rescale the
        # full 0..65535 range to 0..255. Pillow's own convert("L") would clip.
        a = np.asarray(im).astype(np.int64)
        a = np.clip(a, 0, 65535)
        return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8))
    if mode == "F":
        # Float images follow the 0.0..1.0 convention of HDR and scientific tools.
        a = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0)
        return Image.fromarray(np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8))
    if mode in ("P", "PA"):
        return im.convert("RGBA")  # honours tRNS and palette alpha
    if mode == "1":
        return im.convert("L")
    if mode == "La":
        return im.convert("LA")
    if mode == "RGBa":
        return im.convert("RGBA")
    if mode in ("RGBX", "YCbCr", "HSV"):
        return im.convert("RGB")
    raise ImageError(f"cannot read {name}: unsupported colour mode {mode}")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert through the embedded profile to sRGB; untagged means sRGB already."""
    if im.mode == "LAB":
        return ImageCms.profileToProfile(im, ImageCms.createProfile("LAB"), _srgb(), outputMode="RGB")
    if not icc:
        return im if im.mode != "CMYK" else im.convert("RGB")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = source.profile.xcolor_space.strip()
    except _ICC_ERRORS:
        # An unreadable profile: the pixels are most likely sRGB anyway.
        return im if im.mode != "CMYK" else im.convert("RGB")
    wanted = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK"}[im.mode]
    if space != wanted:
        # A profile for another colour space than the pixels: ignore it.
        return im if im.mode != "CMYK" else im.convert("RGB")
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    colour = im.convert(im.mode[0] if im.mode == "LA" else "RGB") if alpha is not None else im
    try:
        out = ImageCms.profileToProfile(colour, source, _srgb(), outputMode="RGB")
    except _ICC_ERRORS:
        return im if im.mode != "CMYK" else im.convert("RGB")
    if alpha is not None:
        out.putalpha(alpha)
    return out


_SRGB: ImageCms.ImageCmsProfile | None = None


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _describe(exc: BaseException, path: Path, max_pixels: int) -> str:
    """The reason part of 'cannot read NAME: REASON' for a Pillow/OS error."""
    if isinstance(exc, Image.DecompressionBombError):
        found = _BOMB_PIXELS.search(str(exc))
        count = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        return f"it has {count}, over the limit of {limit:,}"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode it"
    text = one_line(exc)
    lowered = text.lower()
    if isinstance(exc, EOFError) or any(s in lowered for s in _TRUNCATION_WORDS) or _is_short(path):
        return "file is truncated"
    if isinstance(exc, UnidentifiedImageError):
        kind = _sniff(path)
        if kind is None:
            return "not an image (this app opens PNG, JPEG, WebP, TIFF, BMP, GIF and AVIF)"
        # A known signature that Pillow still cannot parse: damage, not a wrong type.
        return f"file is damaged or truncated (it starts like a {kind} file)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"file is damaged or unreadable ({exc.strerror.lower()})"
    return f"file is damaged ({text or type(exc).__name__})"


_TRUNCATION_WORDS = ("truncated", "broken data stream", "end of file", "unexpected eof", "not enough data")

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


def _head(path: Path, size: int = 16) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _sniff(path: Path) -> str | None:
    head = _head(path)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp":
        return "AVIF"
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), None)


def _is_short(path: Path) -> bool:
    """True when a WebP file is shorter than its RIFF header says; WebP decoders
    report truncation only as a generic failure."""
    head = _head(path, 12)
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return False
    try:
        return path.stat().st_size < struct.unpack("<I", head[4:8])[0] + 8
    except OSError:
        return False
