"""Damaged files for the fuzz tests, made from good ones with a seeded
random.Random: pictures in every format the app reads, .studio projects,
OpenRaster files and model manifests.

Two kinds of maker. `broken_*` damage no reader may accept (a file cut
short, a signature followed by noise, a header that lies about the size,
a field no schema allows): the commands' fuzz cases use them and expect a
refusal. `damaged_*` add damage that may still read (a few bytes changed
anywhere, a cut past the pixels): the readers' fuzz cases use them and
expect either a good result or one clean error. Each returns (label, bytes),
the label saying what was done, so a failing case can be read and rebuilt.
"""

from __future__ import annotations

import functools
import io
import json
import random
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from hostile_factory import lying_jpeg, lying_png
from layered_factory import layered_document
from studio.core.openraster import write_openraster
from studio.core.project import capture_project, write_project

# suffix -> Pillow format, and what each format's files start with
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP"}
SIGNATURES = {".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff\xe0", ".tif": b"II*\x00", ".gif": b"GIF89a",
              ".webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ", ".bmp": b"BM", ".avif": b"\x00\x00\x00\x1cftypavif"}
# Values no field of a manifest or project takes where another is expected,
# with the JSON text each is written as.
ODD_JSON_VALUES = (None, True, False, -1, 0, 2 ** 70, -0.5, 1e308, "", "x", "a" * 300, [], {}, [1, "two"])


@functools.cache
def picture_bytes(suffix: str, width: int = 40, height: int = 32) -> bytes:
    """A good noise picture in the format `suffix` names (TIFF with LZW, so
    libtiff decodes it)."""
    pixels = np.random.default_rng(len(suffix) + width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    options = {"compression": "tiff_lzw"} if suffix == ".tif" else {}
    Image.fromarray(pixels).save(buf, PICTURE_FORMATS[suffix], **options)
    return buf.getvalue()


def broken_picture(rng: random.Random, suffix: str) -> tuple[str, bytes]:
    """A file named like a picture that no reader can accept."""
    kinds = ["empty", "text", "signature", "truncated"]
    if suffix in (".png", ".jpg"):
        kinds.append("lying")
    kind = rng.choice(kinds)
    if kind == "empty":
        return "empty file", b""
    if kind == "text":
        return "text", "shopping list: eggs, milk\n".encode() * rng.randint(1, 50)
    if kind == "signature" or suffix not in PICTURE_FORMATS:
        noise = rng.randbytes(rng.randint(0, 300))
        return f"{suffix} signature + {len(noise)} random bytes", SIGNATURES[suffix] + noise
    if kind == "lying":
        width, height = rng.choice([(60000, 60000), (12000, 12000), (4000, 3000), (1, 65535)])
        maker = lying_png if suffix == ".png" else lying_jpeg
        return f"header claims {width} x {height}", maker(width, height)
    good = picture_bytes(suffix)
    cut = rng.randint(1, len(good) // 2)  # the first half: inside the pixels, whatever the format
    return f"cut to {cut} of {len(good)} bytes", good[:cut]


def damaged_picture(rng: random.Random, suffix: str) -> tuple[str, bytes]:
    """A broken picture, or a good one with a few bytes changed or cut
    anywhere, which a lenient decoder may still read."""
    good = picture_bytes(suffix)
    kind = rng.choice(["broken", "bytes", "cut"])
    if kind == "broken":
        return broken_picture(rng, suffix)
    if kind == "cut":
        cut = rng.randint(1, len(good) - 1)
        return f"cut to {cut} of {len(good)} bytes", good[:cut]
    data = bytearray(good)
    where = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 8)))
    for at in where:
        data[at] = rng.randrange(256)
    return f"bytes changed at {where}", bytes(data)


# --- layered files -----------------------------------------------------------


@functools.cache
def layered_bytes(suffix: str) -> bytes:
    """The factory's four-layer document as a good .studio or .ora file."""
    writer = write_openraster if suffix == ".ora" else write_project
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"good{suffix}"
        writer(capture_project(layered_document()), path)
        return path.read_bytes()


def broken_project(rng: random.Random) -> tuple[str, bytes]:
    """A .studio file no reader can accept."""
    entries = _entries(layered_bytes(".studio"))
    kind = rng.choice(["archive", "archive", "field", "manifest", "layer"])
    if kind == "archive":
        return _broken_archive(rng, layered_bytes(".studio"), entries)
    written = entries["manifest.json"]
    if kind == "manifest":
        label, text = rng.choice([
            ("is not JSON", b"{'width': 40,"), ("is a list", b"[]"),
            ("has a NaN opacity", written.replace(b'"opacity": 0.5', b'"opacity": NaN')),
            ("is nested 100000 deep", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
            ("has a newer format", written.replace(b"project@1", b"project@9"))])
        return f"manifest.json {label}", _zip({**entries, "manifest.json": text})
    if kind == "field":
        manifest = json.loads(written)
        label = _break_project_field(rng, manifest)
        return label, _zip({**entries, "manifest.json": json.dumps(manifest).encode()})
    label, png = _broken_layer_png(rng, exact=True)
    return f"layers/0002.png {label}", _zip({**entries, "layers/0002.png": png})


def broken_ora(rng: random.Random) -> tuple[str, bytes]:
    """An .ora file no reader can accept."""
    entries = _entries(layered_bytes(".ora"))
    stack = entries["stack.xml"].decode()
    kind = rng.choice(["archive", "archive", "stack", "layer"])
    if kind == "archive":
        return _broken_archive(rng, layered_bytes(".ora"), entries)
    if kind == "layer":
        label, png = _broken_layer_png(rng, exact=False)
        return f"data/0002.png {label}", _zip({**entries, "data/0002.png": png})
    swaps = {  # attribute as written -> values no reader takes there
        'w="40"': ['w="-40"', 'w="0"', 'w="forty"', 'w="4e1"', 'w=""', 'w="99999999999"'],
        'h="30" ': [""],
        'opacity="0.5"': ['opacity="2"', 'opacity="-0.1"', 'opacity="nan"', 'opacity="half"'],
        'src="data/0002.png"': ['src="../evil.png"', 'src="/etc/passwd"', 'src="data/none.png"', 'src=""',
                                'src="C:x.png"'],
        'x="0"': ['x="1.5"', 'x="left"', 'x="99999999999"'],
    }
    kind = rng.choice(["not XML", "entity", "top", "no stack", "deep", "swap", "swap", "swap"])
    if kind == "not XML":
        label, text = "cut short", stack[: len(stack) // 2]
    elif kind == "entity":
        label = "declares an entity"
        text = '<?xml version="1.0"?><!DOCTYPE image [<!ENTITY a "aaaa">]>' + stack.split("?>", 1)[1]
    elif kind == "top":
        label, text = "has <picture> at the top", stack.replace("<image ", "<picture ").replace("</image>",
                                                                                              "</picture>")
    elif kind == "no stack":
        label, text = "has no <stack>", stack.replace("<stack>", "<heap>").replace("</stack>", "</heap>")
    elif kind == "deep":
        label = "nests groups 40 deep"
        text = stack.replace("<stack>", "<stack>" * 41, 1).replace("</stack>", "</stack>" * 41, 1)
    else:
        written = rng.choice(sorted(swaps))
        swapped = rng.choice(swaps[written])
        label, text = f"{written.strip()} -> {swapped or 'left out'}", stack.replace(written, swapped, 1)
    return f"stack.xml {label}", _zip({**entries, "stack.xml": text.encode()})


def damaged_layered(rng: random.Random, suffix: str) -> tuple[str, bytes]:
    """A broken .studio or .ora, or a good one with a few bytes changed."""
    if rng.random() < 0.5:
        return broken_ora(rng) if suffix == ".ora" else broken_project(rng)
    data = bytearray(layered_bytes(suffix))
    where = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 4)))
    for at in where:
        data[at] = rng.randrange(256)
    return f"bytes changed at {where}", bytes(data)


def _entries(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(entries: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some cases want
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in (entries.items() if isinstance(entries, dict) else entries):
                zf.writestr(name, data)
    return buf.getvalue()


def _broken_archive(rng: random.Random, good: bytes, entries: dict[str, bytes]) -> tuple[str, bytes]:
    kind = rng.choice(["empty", "cut", "noise", "zip noise", "missing", "unsafe", "twice"])
    if kind == "empty":
        return "empty file", b""
    if kind == "cut":
        cut = rng.randint(1, len(good) - 1)  # the directory sits at the end: any cut loses it
        return f"cut to {cut} of {len(good)} bytes", good[:cut]
    if kind == "noise":
        return "random bytes", rng.randbytes(rng.randint(1, 2000))
    if kind == "zip noise":
        return "zip signature + random bytes", b"PK\x03\x04" + rng.randbytes(rng.randint(0, 2000))
    if kind == "missing":
        gone = rng.choice([name for name in entries if name.endswith((".png", ".json", ".xml"))
                           and "thumbnail" not in name.lower() and name not in ("mergedimage.png",
                                                                                "latent-studio/extras.json")])
        return f"{gone} left out", _zip({name: data for name, data in entries.items() if name != gone})
    if kind == "unsafe":
        name = rng.choice(["../evil.png", "/abs.png", "a\\b.png", "c:/x.png", "a/../../b", "x" * 300])
        return f"an entry named {name[:40]!r}", _zip({**entries, name: b"x"})
    first = next(iter(entries))
    return f"{first} twice", _zip(list(entries.items()) + [(first, entries[first])])


def _break_project_field(rng: random.Random, manifest: dict) -> str:
    """Set one field of a project manifest to a value its schema refuses (or
    take it out); returns what was done."""
    layer = rng.randrange(len(manifest["layers"]))
    field = rng.choice(["width", "height", "layers", "active_layer", "mask", "format", "name", "file", "opacity",
                        "visible", "locked", "blend", "recipe"])
    top = field in ("width", "height", "layers", "active_layer", "mask", "format")
    where = manifest if top else manifest["layers"][layer]
    bad = {
        "width": [0, -40, "40", 40.0, True, None, 2 ** 40],
        "height": [0, -30, "30", 30.5, None, 2 ** 40],
        "layers": [None, {}, "layers", [1, 2], 5],
        "active_layer": [4, -1, "0", 1.0, True, 2 ** 70],
        "mask": [5, "../mask.png", "/mask.png", "missing.png", "a\\b.png"],
        "format": [None, 1, "latent-studio/project@2", "krita", ""],
        "name": [None, 5, ["a"], "n" * 1001],
        "file": [None, 7, "../evil.png", "/etc/passwd", "layers/none.png", "", "a\\b.png", "layers/./x.png"],
        "opacity": [-0.01, 1.5, "1", None, True, 1e308],
        "visible": ["yes", 1, 0, None],
        "locked": ["no", 1, None, []],
        "blend": ["dodge", "", 3, None, "Normal"],
        "recipe": ["seed 7", 7, [1], True],
    }[field]
    if rng.random() < 0.15 and field != "mask":
        del where[field]
        return f"manifest {'' if top else f'layers[{layer}].'}{field} left out"
    value = rng.choice(bad)
    where[field] = value
    return f"manifest {'' if top else f'layers[{layer}].'}{field} = {json.dumps(value)[:40]}"


def _broken_layer_png(rng: random.Random, exact: bool) -> tuple[str, bytes]:
    """A layer entry no reader accepts; `exact`: the format wants canvas-size
    RGBA (a .studio does; an .ora places any PNG)."""
    choices = [
        ("is random bytes", rng.randbytes(rng.randint(1, 500))),
        ("is cut short", layered_png()[: rng.randint(8, len(layered_png()) // 2)]),
        ("claims 60000 x 60000", lying_png(60000, 60000, colour_type=6)),
        ("claims 40 x 30 and holds no pixels", lying_png(40, 30, colour_type=6)),
        ("is a JPEG", picture_bytes(".jpg", 40, 30)),
    ]
    if exact:
        choices += [("is 41 x 30", _png(np.zeros((30, 41, 4), np.uint8))),
                    ("is RGB", _png(np.zeros((30, 40, 3), np.uint8)))]
    return rng.choice(choices)


@functools.cache
def layered_png() -> bytes:
    return _png(np.random.default_rng(5).integers(0, 256, (30, 40, 4), dtype=np.uint8))


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


# --- model manifests ---------------------------------------------------------


def tampered_manifest(rng: random.Random, manifest: dict) -> tuple[str, bytes]:
    """manifest.json text with one field changed, taken out or added, or the
    whole file damaged; it may still be a good manifest (an added field is)."""
    kind = rng.random()
    if kind < 0.15:
        return rng.choice([("empty", b""), ("not JSON", b'{"kind": "generator",'), ("a list", b"[]"),
                           ("NaN", json.dumps(manifest).replace('"latent_size": 8', '"latent_size": NaN').encode()),
                           ("nested 100000 deep", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
                           ("not UTF-8", b'{"name": "\xff\xfe"}'),
                           ("16 MiB of spaces", b" " * (16 << 20) + json.dumps(manifest).encode())])
    tampered = json.loads(json.dumps(manifest))
    path = rng.choice(list(_leaf_paths(tampered)))
    *parents, key = path
    holder = tampered
    for part in parents:
        holder = holder[part]
    where = "/".join(map(str, path))
    if kind < 0.3 and isinstance(holder, dict):
        del holder[key]
        return f"{where} left out", json.dumps(tampered).encode()
    value = rng.choice(ODD_JSON_VALUES + ("../model.onnx", "/etc/passwd", "0" * 64, "batch", "model.onnx"))
    holder[key] = value
    return f"{where} = {json.dumps(value)[:40]}", json.dumps(tampered).encode()


def _leaf_paths(value, path: tuple = ()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, path + (key,))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaf_paths(item, path + (index,))
    if path:
        yield path
