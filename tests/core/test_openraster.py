"""OpenRaster (.ora): our documents round trip exactly, files as Krita, GIMP
and MyPaint write them open, and hostile files get a .studio's protections."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from layered_factory import LAYERED_SIZE, layered_document
from PIL import Image

from studio.core.openraster import EXTRAS, MAX_DEPTH, load_openraster, write_openraster
from studio.core.project import ProjectError, capture_project

W, H = LAYERED_SIZE


def test_our_documents_round_trip_exactly(tmp_path):
    doc = layered_document()
    write_openraster(capture_project(doc), tmp_path / "a.ora")
    opened = load_openraster(tmp_path / "a.ora")
    back = opened.document
    assert opened.notes == []
    assert (back.width, back.height) == (W, H)
    for mine, theirs in zip(doc.layers, back.layers, strict=True):
        assert (theirs.name, theirs.opacity, theirs.visible, theirs.locked, theirs.blend, theirs.recipe) == \
            (mine.name, mine.opacity, mine.visible, mine.locked, mine.blend, mine.recipe)
        assert np.array_equal(theirs.pixels, mine.pixels)
    assert np.array_equal(back.mask, doc.mask)
    assert back.active.name == "AI result" and back.workspace == doc.workspace
    assert np.array_equal(back.composite(), doc.composite())


def test_the_file_is_what_other_programs_read(tmp_path):
    doc = layered_document()
    write_openraster(capture_project(doc), tmp_path / "a.ora")
    with zipfile.ZipFile(tmp_path / "a.ora") as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        stack = zf.read("stack.xml").decode()
        merged = np.array(Image.open(io.BytesIO(zf.read("mergedimage.png"))))
        thumbnail = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
    # top first, the selection as a hidden layer above all, blend modes as svg: composite ops
    order = [stack.index(f'name="{n}"') for n in ("Selection", "Glow", "AI result", "Ink ✒ «tusche»", "Background")]
    assert order == sorted(order)
    assert 'composite-op="svg:multiply"' in stack and 'composite-op="svg:overlay"' in stack
    assert 'name="Selection" src="data/selection.png" x="0" y="0" opacity="1.0" visibility="hidden"' in stack
    assert np.array_equal(merged, doc.composite()) and max(thumbnail.size) <= 256


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def write_foreign(path, stack: str, files: dict[str, bytes]) -> None:
    """An .ora as another program writes it: no extras of ours."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", stack)
        for name, data in files.items():
            zf.writestr(name, data)


def test_a_file_from_another_program_opens_placed_and_flattened(tmp_path):
    red = np.zeros((10, 20, 3), np.uint8)
    red[..., 0] = 200
    grey = np.full((50, 50), 90, np.uint8)  # larger than the canvas, and greyscale
    stack = """<?xml version="1.0"?><image version="0.0.5" w="40" h="30"><stack>
      <stack name="Group" opacity="0.5" x="5" y="5">
        <layer name="Red" src="data/red.png" x="10" y="2" composite-op="svg:color-dodge"/>
        <layer name="Hidden" src="data/red.png" visibility="hidden"/>
      </stack>
      <text>a later element</text>
      <layer src="data/grey.png" x="-10" y="-10"/>
    </stack></image>"""
    write_foreign(tmp_path / "krita.ora", stack, {"data/red.png": png(red), "data/grey.png": png(grey)})
    opened = load_openraster(tmp_path / "krita.ora")
    doc = opened.document
    assert [layer.name for layer in doc.layers] == ["grey", "Hidden", "Red"]  # bottom first; unnamed: its file
    red_layer = doc.layers[2]
    assert red_layer.opacity == 0.5 and red_layer.blend == "normal"
    assert np.array_equal(red_layer.pixels[7:17, 15:35, 0], np.full((10, 20), 200))  # group x/y + layer x/y
    assert red_layer.pixels[6, 15, 3] == 0 and red_layer.pixels[7, 14, 3] == 0
    assert not doc.layers[1].visible and doc.layers[1].pixels[5, 5, 3] == 255
    assert np.array_equal(doc.layers[0].pixels[..., 0], np.full((H, W), 90))  # cropped to the canvas
    assert opened.notes == ["blend modes this app lacks opened as normal: svg:color-dodge"]
    assert not np.any(doc.mask)  # no selection layer of ours: nothing selected


LAYER = '<layer src="data/a.png"/>'


@pytest.mark.parametrize("stack, files, message", [
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><image w="4" h="4"><stack/></image>', {},
     "DTD or entities"),
    ('<image w="4" h="4"><stack><layer src="../evil.png"/></stack></image>', {}, "not a safe file name"),
    ('<image w="4" h="4"><stack><layer src="data/none.png"/></stack></image>', {}, "'data/none.png' is missing"),
    ('<image w="4" h="4"><stack><layer src="data/a.png" opacity="nan"/></stack></image>', {"a": 1}, "not between 0 and 1"),
    ('<image w="100000" h="100000"><stack/></image>', {}, "over the limit"),
    ('<image w="4"><stack/></image>', {}, "h=None is not a whole number"),
    ("<image w='4' h='4'><stack>" + "<stack>" * (MAX_DEPTH + 2) + "</stack>" * (MAX_DEPTH + 2) + "</stack></image>",
     {}, "nests groups deeper"),
    ('<image w="4" h="4"><stack>' + LAYER * 1002 + "</stack></image>", {"a": 1}, "layers, the limit"),
    ("<image w='4' h='4'><stack>", {}, "not valid XML"),
    ('<image w="4" h="4"><stack><layer src="data/a.png"/></stack></image>', {"a": b"not a png"}, "not a PNG"),
])
def test_hostile_files_are_one_line_errors(tmp_path, stack, files, message):
    entries = {f"data/{name}.png": (png(np.zeros((4, 4, 4), np.uint8)) if data == 1 else data)
               for name, data in files.items()}
    write_foreign(tmp_path / "bad.ora", stack, entries)
    with pytest.raises(ProjectError) as caught:
        load_openraster(tmp_path / "bad.ora")
    text = str(caught.value)
    assert text.startswith("cannot open bad.ora: ") and "\n" not in text and message in text, text


def test_a_png_bomb_is_refused_from_its_header_before_decoding(tmp_path):
    big = io.BytesIO()
    Image.new("L", (30000, 30000)).save(big, format="PNG")  # 30000^2 px in about 1 MB
    write_foreign(tmp_path / "bomb.ora", f'<image w="4" h="4"><stack>{LAYER}</stack></image>',
                  {"data/a.png": big.getvalue()})
    with pytest.raises(ProjectError, match="decompression bomb"):  # Pillow's own check, from the header
        load_openraster(tmp_path / "bomb.ora")


def test_not_a_zip_and_foreign_extras(tmp_path):
    (tmp_path / "text.ora").write_text("hello")
    with pytest.raises(ProjectError, match="not an OpenRaster file"):
        load_openraster(tmp_path / "text.ora")
    write_foreign(tmp_path / "x.ora", f'<image w="4" h="4"><stack>{LAYER}</stack></image>',
                  {"data/a.png": png(np.zeros((4, 4, 4), np.uint8)), EXTRAS: json.dumps({"format": "someone/else"}).encode()})
    assert load_openraster(tmp_path / "x.ora").document.layers[0].recipe is None
