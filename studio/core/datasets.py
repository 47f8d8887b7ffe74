"""Training datasets the app can build from files already on the machine.

The first one is the colour emoji of Noto Color Emoji (SIL OFL 1.1, Google),
whose CBDT table stores every glyph as a ready-made PNG bitmap; we copy those
bytes out unchanged, so no rasteriser or network is needed.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

from studio.core.atomic import atomic_write_bytes, atomic_write_text

NOTO_EMOJI_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Glyph names are PostScript names (letters, digits, '_', '.'); anything else is
# replaced so a name can never escape the destination folder.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class DatasetError(Exception):
    """A dataset cannot be built; str() is one readable line."""


def extract_emoji(
    dest_dir: str | os.PathLike,
    font_path: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write every colour bitmap of Noto Color Emoji to `dest_dir` as PNG files.

    Files are named `<glyph name>.png` (e.g. `u1F600.png`) and written
    atomically, with a `dataset.json` beside them (name, licence, attribution)
    that the trainer carries into exported manifests. progress(done, total) is
    called after each file. Returns the
    number of images written (3926 for the Debian fonts-noto-color-emoji font).
    Raises DatasetError if the font is missing or has no colour bitmaps.
    """
    font = Path(font_path) if font_path is not None else NOTO_EMOJI_PATH
    if not font.is_file():
        raise DatasetError(
            f"Noto Color Emoji not found at {font}; install it with: apt-get install fonts-noto-color-emoji"
        )
    # Imported here so that importing core does not pay for fontTools.
    from fontTools.ttLib import TTFont, TTLibError

    try:
        tt = TTFont(str(font), lazy=True)
    except (TTLibError, OSError) as exc:
        raise DatasetError(f"cannot read font {font}: {exc}") from None
    if "CBDT" not in tt:
        raise DatasetError(f"{font} has no CBDT colour bitmaps (is it the colour emoji font?)")

    # A font may hold several strikes (sizes); keep the largest bitmap per glyph.
    best: dict[str, bytes] = {}
    for strike in tt["CBDT"].strikeData:
        for name, bitmap in strike.items():
            data = bytes(getattr(bitmap, "imageData", b"") or b"")
            if data.startswith(_PNG_SIGNATURE) and len(data) > len(best.get(name, b"")):
                best[name] = data
    if not best:
        raise DatasetError(f"{font} contains no PNG colour bitmaps")

    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    total = len(best)
    for done, (name, data) in enumerate(sorted(best.items()), start=1):
        atomic_write_bytes(dest / f"{_UNSAFE.sub('_', name)}.png", data)
        if progress is not None:
            progress(done, total)
    info = {
        "name": "noto-color-emoji",
        "description": f"{total} colour emoji bitmaps from the CBDT table of Noto Color Emoji ({font.name})",
        "source": str(font),
        "images": total,
        "licence": "SIL Open Font License 1.1",
        "attribution": f"Noto Color Emoji {_name_record(tt, 5) or ''}, {_name_record(tt, 0) or 'Google Inc.'}".replace(" ,", ","),
    }
    atomic_write_text(dest / "dataset.json", json.dumps(info, indent=2) + "\n")
    return total


def _name_record(tt, name_id: int) -> str | None:
    """A string from the font's name table (0 = copyright, 5 = version)."""
    try:
        record = tt["name"].getName(name_id, 3, 1, 0x409) or tt["name"].getName(name_id, 1, 0, 0)
    except KeyError:
        return None
    return record.toUnicode().split(";")[0].strip() if record is not None else None
