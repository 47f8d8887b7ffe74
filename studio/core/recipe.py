"""Recipes: everything needed to make an image again, stored inside the image.

A recipe is a JSON-serialisable dict the caller builds (model name and sha256,
seeds or latents, every parameter). This module adds the format key, stores it
in the file and reads it back:

- PNG:  a compressed iTXt chunk with key "latent-studio".
- JPEG, WebP, TIFF: an XMP packet (TIFF tag 700) with the property
  lstudio:recipe in namespace XMP_NAMESPACE, plus xmp:CreatorTool. XMP survives
  Pillow round trips and is what exiftool, Photoshop, Lightroom, darktable and
  GIMP show; EXIF UserComment needs a charset prefix, is shown by fewer tools
  and is dropped by more editors.
- GIF:  the comment extension.
- MP4:  the container's "comment" tag (written by animation.py through ffmpeg).
- a frame folder: recipe.json beside the PNG frames.

Latents are stored as "f32:" + base64 of little-endian float32: exact, and
about a third the size of decimal text.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from PIL import PngImagePlugin

from studio.core.imageio import ImageError, open_image

FORMAT = "latent-studio/recipe@1"
FORMAT_FAMILY = "latent-studio/recipe@"
PNG_KEY = "latent-studio"
XMP_NAMESPACE = "urn:latent-studio:recipe:1.0"
FOLDER_FILE = "recipe.json"
LATENT_PREFIX = "f32:"

# One JPEG APP1 segment holds 65,533 bytes; the XMP header takes 29 of them.
# (Extended XMP could span segments, but few readers support it.)
JPEG_XMP_LIMIT = 65533 - 29

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")


def encode_latent(latent: np.ndarray) -> str:
    """A 1-D latent as "f32:<base64>"; exact for float32 input (float64 is rounded to float32)."""
    a = np.asarray(latent)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"a latent must be a 1-D float array, got {a.dtype} {tuple(a.shape)}")
    return LATENT_PREFIX + base64.b64encode(a.astype("<f4").tobytes()).decode("ascii")


def decode_latent(text: str) -> np.ndarray:
    """The float32 [n] latent stored by encode_latent; ValueError if `text` is not one."""
    if not isinstance(text, str) or not text.startswith(LATENT_PREFIX):
        raise ValueError("not an encoded latent (expected 'f32:' followed by base64)")
    try:
        raw = base64.b64decode(text[len(LATENT_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"encoded latent is damaged ({exc})") from exc
    if len(raw) % 4:
        raise ValueError(f"encoded latent is damaged ({len(raw)} bytes is not a whole number of float32)")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def dump_recipe(recipe: dict[str, Any], indent: int | None = None) -> str:
    """The recipe as JSON text with "format" first; compact unless `indent` is given.

    numpy scalars are accepted; arrays are not (encode latents with encode_latent).
    Raises ValueError for NaN/infinity or a foreign format key, TypeError for
    values JSON cannot hold.
    """
    if not isinstance(recipe, dict):
        raise TypeError(f"a recipe is a dict, got {type(recipe).__name__}")
    found = recipe.get("format", FORMAT)
    if found != FORMAT:
        raise ValueError(f"recipe has format {found!r}, expected {FORMAT!r}")
    body = {"format": FORMAT, **{k: v for k, v in recipe.items() if k != "format"}}
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(body, indent=indent, separators=separators, ensure_ascii=True, allow_nan=False, default=_plain)


def parse_recipe(text: str | bytes, source: str = "recipe") -> dict[str, Any] | None:
    """The recipe in JSON `text`; None when the JSON is not one of ours.

    Raises ImageError when it is not JSON at all, or is a newer recipe format.
    """
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageError(f"the recipe in {source} is damaged (not valid JSON)") from exc
    except RecursionError as exc:  # nested deeper than Python's stack: no recipe of ours is
        raise ImageError(f"the recipe in {source} is damaged (nested too deeply)") from exc
    if not isinstance(value, dict):
        return None
    found = value.get("format")
    if not isinstance(found, str) or not found.startswith(FORMAT_FAMILY):
        return None
    if found != FORMAT:
        raise ImageError(f"the recipe in {source} has format {found}, newer than this app reads ({FORMAT})")
    return value


def embed(fmt: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """Pillow save() keyword arguments that store `recipe` in a file of format
    `fmt` (Pillow's name: PNG, JPEG, WEBP, TIFF, GIF).

    Raises ValueError when the format has no place for it or it is too big.
    """
    text = dump_recipe(recipe)
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(PNG_KEY, text, zip=True)
        return {"pnginfo": info}
    if fmt == "GIF":
        return {"comment": text.encode("ascii")}
    if fmt in ("JPEG", "WEBP", "TIFF"):
        xmp = xmp_packet(text)
        if fmt == "JPEG" and len(xmp) > JPEG_XMP_LIMIT:
            raise ValueError(
                f"the recipe is {len(xmp):,} bytes, more than a JPEG holds ({JPEG_XMP_LIMIT:,}); save as PNG"
            )
        return {"tiffinfo": {700: xmp}} if fmt == "TIFF" else {"xmp": xmp}
    raise ValueError(f"cannot store a recipe in {fmt} files")


def xmp_packet(recipe_json: str) -> bytes:
    """An XMP packet holding the recipe JSON as lstudio:recipe (UTF-8 bytes)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{_RDF}">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f'    xmlns:lstudio="{XMP_NAMESPACE}">\n'
        "   <xmp:CreatorTool>Latent Studio</xmp:CreatorTool>\n"
        f"   <lstudio:recipe>{escape(recipe_json)}</lstudio:recipe>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode("utf-8")


def to_ffmetadata(recipe: dict[str, Any]) -> str:
    """An ffmpeg FFMETADATA1 file setting the container's comment to the recipe."""
    return ";FFMETADATA1\ncomment=" + _ff_escape(dump_recipe(recipe)) + "\n"


def read_recipe(path: str | os.PathLike) -> dict[str, Any] | None:
    """The recipe stored in an image, animation, frame folder or recipe .json.

    Returns None when the file has no recipe of ours. Raises ImageError when the
    file cannot be read or its recipe is damaged.
    """
    p = Path(path)
    name = p.name or str(p)
    if p.is_dir():
        p, name = p / FOLDER_FILE, f"{name}/{FOLDER_FILE}"
        if not p.is_file():
            return None
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            text: str | bytes | None = p.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    elif suffix in _VIDEO_SUFFIXES:
        text = _video_comment(p)
    else:
        with open_image(p) as im:
            text = _image_recipe_text(im, name)
    return parse_recipe(text, name) if text else None


def format_recipe(recipe: dict[str, Any]) -> str:
    """The recipe as indented 'key: value' lines for people; latents abbreviated."""
    lines = [f"Latent Studio recipe ({recipe.get('format', FORMAT)})"]
    for key, value in recipe.items():
        if key != "format":
            _format_item(lines, key, value, 1)
    return "\n".join(lines)


def _image_recipe_text(im: Any, name: str) -> str | bytes | None:
    if im.format == "PNG":
        text = im.info.get(PNG_KEY)
        if text is None:
            # Chunks after the image data only appear once it is decoded.
            text = im.text.get(PNG_KEY)
        if text is not None:
            return text
    xmp = im.info.get("xmp")
    if xmp:
        found = _xmp_recipe(xmp)
        if found is not None:
            return found
    comment = im.info.get("comment")
    if isinstance(comment, bytes) and comment.lstrip().startswith(b"{"):
        try:
            recipe = parse_recipe(comment, name)
        except ImageError:
            return None  # somebody else's comment that happens to start with "{"
        return comment if recipe is not None else None
    return None


def _xmp_recipe(xmp: bytes | str) -> str | None:
    data = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None  # XMP never has a DTD; refusing one avoids entity expansion attacks
    try:
        root = ET.fromstring(data.strip(b"\x00 \r\n\t"))
    except ET.ParseError:
        return None
    tag = f"{{{XMP_NAMESPACE}}}recipe"
    for element in root.iter():
        if element.tag == tag and element.text:
            return element.text
        # Tools such as exiftool may rewrite simple properties as attributes.
        if tag in element.attrib:
            return element.attrib[tag]
    return None


def _video_comment(path: Path) -> str | None:
    import imageio_ffmpeg

    name = path.name
    if not path.is_file():
        raise ImageError(f"cannot read {name}: no such file")
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"ffmpeg exit status {result.returncode}"
        raise ImageError(f"cannot read {name}: {' '.join(reason.split())}")
    return _ff_values(result.stdout.decode("utf-8", "replace")).get("comment")


def _ff_escape(text: str) -> str:
    # FFMETADATA escapes '=', ';', '#', '\' and newlines with a backslash.
    out = []
    for ch in text:
        if ch in "=;#\\\n":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def _ff_values(text: str) -> dict[str, str]:
    """Global key=value pairs of an FFMETADATA1 text (stops at the first [section])."""
    values: dict[str, str] = {}
    key: list[str] = []
    value: list[str] = []
    in_value = False
    at_line_start = True
    skip_line = False
    i = 0
    while i < len(text):
        ch = text[i]
        if at_line_start and not in_value:
            at_line_start = False
            if ch in ";#":
                skip_line = True
            elif ch == "[":
                break
        if skip_line:
            if ch == "\n":
                skip_line, at_line_start = False, True
            i += 1
            continue
        if ch == "\\" and i + 1 < len(text):
            (value if in_value else key).append(text[i + 1])
            i += 2
            continue
        if ch == "\n":
            if in_value:
                values["".join(key)] = "".join(value)
            key, value, in_value, at_line_start = [], [], False, True
        elif ch == "=" and not in_value:
            in_value = True
        else:
            (value if in_value else key).append(ch)
        i += 1
    if in_value:
        values["".join(key)] = "".join(value)
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        raise TypeError("numpy arrays do not go into recipes as-is; store latents with encode_latent()")
    raise TypeError(f"{type(value).__name__} values cannot go into a recipe (JSON only)")


_INLINE_ITEMS = 8


def _format_item(lines: list[str], key: str, value: Any, depth: int) -> None:
    pad = "  " * depth
    label = f"{pad}{key}:" if key else f"{pad}-"
    if isinstance(value, dict):
        lines.append(f"{label} {{}}" if not value else label)
        for k, v in value.items():
            _format_item(lines, str(k), v, depth + 1)
    elif isinstance(value, list) and value and not all(_is_scalar(v) for v in value):
        lines.append(f"{label} ({len(value)} items)")
        for v in value:
            _format_item(lines, "", v, depth + 1)
    else:
        lines.append(f"{label} {_format_scalar(value)}")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list)) and not _is_latent(value)


def _is_latent(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(LATENT_PREFIX)


def _format_scalar(value: Any) -> str:
    if isinstance(value, list):
        shown = ", ".join(_format_scalar(v) for v in value[:_INLINE_ITEMS])
        more = f", … ({len(value)} items)" if len(value) > _INLINE_ITEMS else ""
        return f"[{shown}{more}]"
    if _is_latent(value):
        try:
            latent = decode_latent(value)
        except ValueError:
            return "latent (damaged)"
        head = ", ".join(f"{x:+.3f}" for x in latent[:4])
        tail = f", …, {latent[-1]:+.3f}" if len(latent) > 4 else ""
        return f"latent, {len(latent)} floats, norm {float(np.linalg.norm(latent)):.3f}: [{head}{tail}]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value if len(value) <= 100 else f"{value[:60]}… ({len(value)} characters)"
    return str(value)
