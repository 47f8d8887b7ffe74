"""Small files that lie about their size: a few hundred bytes whose headers
claim pictures and projects of gigabytes, as a malicious or broken file would."""

from __future__ import annotations

import io
import json
import struct
import zlib
import zipfile
from pathlib import Path

from PIL import Image


def lying_png(width: int, height: int, colour_type: int = 2) -> bytes:
    """A PNG whose IHDR claims width x height pixels (8-bit; colour type 2 RGB,
    6 RGBA) and that holds none."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def lying_jpeg(width: int, height: int) -> bytes:
    """A real 16 x 16 JPEG whose frame header (SOF0) is patched to claim width x height."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def write_lying_project(path: Path, side: int, layers: int) -> Path:
    """A .studio whose manifest lists one PNG, claiming side x side RGBA, as
    each of `layers` layers."""
    layer = {"name": "layer", "file": "layers/0001.png", "opacity": 1.0, "visible": True, "locked": False,
             "blend": "normal", "recipe": None}
    manifest = {"format": "latent-studio/project@1", "app_version": "0.1.0", "width": side, "height": side,
                "active_layer": 0, "layers": [layer] * layers}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("layers/0001.png", lying_png(side, side, colour_type=6))
    return path


def write_lying_openraster(path: Path, side: int, layers: int) -> Path:
    """An .ora whose stack.xml places one PNG, claiming side x side RGBA,
    `layers` times on a side x side canvas."""
    stack = f'<image w="{side}" h="{side}"><stack>' + '<layer src="data/0001.png"/>' * layers + "</stack></image>"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", stack)
        zf.writestr("data/0001.png", lying_png(side, side, colour_type=6))
    return path
