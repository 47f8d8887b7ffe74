"""A model's manifest.json as a file: where it lies, reading it bounded,
and what it claims to be; no schema (engine/manifest.py checks it, and is
imported only when a manifest is new or changed: pydantic and the schema
cost a tenth of a second at every one-shot command's start).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MANIFEST = "manifest.json"
DEFAULT_ONNX = "model.onnx"
# style: a network that stylizes by itself (style26); style-predict and
# style-transform are the two halves of arbitrary stylization (style image ->
# vector, content + vector -> image), listed apart so a style picker shows
# only what it can run alone.
KINDS = ("generator", "style", "style-predict", "style-transform", "inpaint", "upscale")
# The shipped manifests are 2-3 KB; a thousand style names would be 30 KB.
MAX_MANIFEST_BYTES = 1 << 20
# What `studio export` names a model: letters, digits, '-', '_', '.'; at most 64.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ManifestError(ValueError):
    """A manifest that cannot be used; str() is one line."""


def load_manifest(folder: Path) -> dict:
    """folder/manifest.json parsed, unchecked: a JSON object of at most MAX_MANIFEST_BYTES."""
    path = folder / MANIFEST
    if not path.is_file():  # also keeps a fifo called manifest.json from blocking the scan
        raise ManifestError(f"no {MANIFEST}")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"{MANIFEST} cannot be read ({(exc.strerror or 'error').lower()})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{MANIFEST} is over {MAX_MANIFEST_BYTES >> 20} MiB")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{MANIFEST} is not valid JSON (not UTF-8)") from None
    except RecursionError:
        raise ManifestError(f"{MANIFEST} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers of more digits than Python converts
        raise ManifestError(f"{MANIFEST} is not valid JSON ({one_line(str(exc))})") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{MANIFEST} is not a JSON object")
    return manifest


def claimed_identity(manifest: dict) -> tuple[str | None, str | None]:
    """(name, kind) a manifest claims, each None unless well-formed: a
    refused model is still listed under the name and kind its user knows."""
    name, kind = manifest.get("name"), manifest.get("kind")
    if not (isinstance(name, str) and re.fullmatch(NAME_PATTERN, name)):
        name = None
    return name, kind if isinstance(kind, str) and kind in KINDS else None


def one_line(text: str) -> str:
    """`text` on one line of at most 300 characters."""
    return " ".join(text.split())[:300]
