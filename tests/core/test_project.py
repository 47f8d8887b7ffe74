"""The .studio project file: exact round trips, atomic saves, and hostile files
that must each fail with one readable line and leave the disk alone."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

import studio
from studio.core.commands import SetLayerProps
from studio.core.document import Document, Layer
from studio.core.layered_archive import MAX_ENTRIES
from studio.core.project import (
    FORMAT,
    MAX_LAYERS,
    THUMBNAIL_SIZE,
    ProjectError,
    capture_project,
    load_project,
    read_thumbnail,
    save_project,
    write_project,
)

W, H = 40, 30


def _pixels(seed: int, w: int = W, h: int = H) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    p[:5, :, 3] = 0  # colour under zero alpha must survive too (straight alpha)
    p[5:9, :, 3] = 255
    return p


def _rich_document() -> Document:
    recipe = {"format": "latent-studio/recipe@1", "model": {"name": "emoji64", "sha256": "ab" * 32},
              "seed": 1234, "latent": "f32:AACAPwAAAEA=", "strength": 0.75, "nested": [1, [2, {"x": None}]]}
    layers = [
        Layer(1, "Background", _pixels(1)),
        Layer(7, "Ink ✒ «tusche»", _pixels(2), opacity=0.35, blend="multiply", locked=True),
        Layer(9, "AI result", _pixels(3), opacity=1.0, visible=False, blend="overlay", recipe=recipe),
        Layer(12, "Glow", _pixels(4), opacity=0.0, blend="screen"),
    ]
    mask = np.zeros((H, W), np.uint8)
    mask[3:20, 5:33] = 255
    mask[10, 10] = 77
    return Document.from_layers(W, H, layers, mask, active_id=9)


def _assert_same(a: Document, b: Document) -> None:
    assert (a.width, a.height) == (b.width, b.height)
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.pixels, lb.pixels)
        assert lb.pixels.dtype == np.uint8 and lb.pixels.shape == (a.height, a.width, 4)
        assert (la.name, la.opacity, la.visible, la.locked, la.blend, la.recipe) == \
               (lb.name, lb.opacity, lb.visible, lb.locked, lb.blend, lb.recipe)
    assert np.array_equal(a.mask, b.mask)
    ia = a.index_of(a.active_id) if a.active_id is not None else None
    ib = b.index_of(b.active_id) if b.active_id is not None else None
    assert ia == ib


def test_round_trip_is_exact(tmp_path):
    doc = _rich_document()
    path = tmp_path / "art.studio"
    save_project(doc, path)
    loaded = load_project(path)

    _assert_same(doc, loaded)
    assert loaded.layers[2].recipe["nested"] == [1, [2, {"x": None}]]
    assert np.array_equal(loaded.composite(), doc.composite())
    assert not loaded.modified and not loaded.can_undo and not loaded.can_redo
    assert len({layer.id for layer in loaded.layers}) == 4
    # A layer added later gets an id no loaded layer has.
    assert loaded.new_layer_id() not in {layer.id for layer in loaded.layers}
    assert [p.name for p in tmp_path.iterdir()] == ["art.studio"]


def test_archive_layout_and_compression(tmp_path):
    path = tmp_path / "art.studio"
    save_project(_rich_document(), path)
    with zipfile.ZipFile(path) as zf:
        kinds = {info.filename: info.compress_type for info in zf.infolist()}
        manifest = json.loads(zf.read("manifest.json"))
        thumb = Image.open(io.BytesIO(zf.read("thumbnail.png")))
        mask = Image.open(io.BytesIO(zf.read("mask.png")))
        layer = Image.open(io.BytesIO(zf.read("layers/0002.png")))
    assert kinds == {
        "manifest.json": zipfile.ZIP_DEFLATED,
        "layers/0001.png": zipfile.ZIP_STORED, "layers/0002.png": zipfile.ZIP_STORED,
        "layers/0003.png": zipfile.ZIP_STORED, "layers/0004.png": zipfile.ZIP_STORED,
        "mask.png": zipfile.ZIP_STORED, "thumbnail.png": zipfile.ZIP_STORED,
    }
    assert manifest["format"] == FORMAT and manifest["app_version"] == studio.__version__
    assert (manifest["width"], manifest["height"], manifest["active_layer"]) == (W, H, 2)
    assert manifest["mask"] == "mask.png"
    assert manifest["layers"][1] == {"name": "Ink ✒ «tusche»", "file": "layers/0002.png", "opacity": 0.35,
                                     "visible": True, "locked": True, "blend": "multiply", "recipe": None}
    assert (layer.mode, layer.size, mask.mode, thumb.mode) == ("RGBA", (W, H), "L", "RGBA")


def test_same_document_saves_to_same_bytes(tmp_path):
    save_project(_rich_document(), tmp_path / "a.studio")
    save_project(_rich_document(), tmp_path / "b.studio")
    assert (tmp_path / "a.studio").read_bytes() == (tmp_path / "b.studio").read_bytes()


def test_thumbnail_of_a_small_canvas_is_the_composite(tmp_path):
    doc = _rich_document()
    save_project(doc, tmp_path / "s.studio")
    assert np.array_equal(read_thumbnail(tmp_path / "s.studio"), doc.composite())


def test_thumbnail_of_a_big_canvas_fits_and_looks_like_it(tmp_path):
    pixels = np.zeros((300, 600, 4), np.uint8)
    pixels[:, :300] = (255, 0, 0, 255)  # left half red, right half transparent
    doc = Document.from_image(pixels)
    save_project(doc, tmp_path / "big.studio")
    thumb = read_thumbnail(tmp_path / "big.studio")
    assert thumb.shape == (THUMBNAIL_SIZE // 2, THUMBNAIL_SIZE, 4)
    assert tuple(thumb[64, 60]) == (255, 0, 0, 255)
    assert thumb[64, 200, 3] == 0
    # Premultiplied resampling: the edge fades in alpha without darkening the red.
    edge = thumb[64, 120:136]
    assert np.all(edge[edge[:, 3] > 8, 0] >= 250)


def test_empty_mask_is_left_out_and_loads_as_zeros(tmp_path):
    doc = Document.from_image(_pixels(5))
    save_project(doc, tmp_path / "p.studio")
    with zipfile.ZipFile(tmp_path / "p.studio") as zf:
        assert "mask" not in json.loads(zf.read("manifest.json"))
        assert "mask.png" not in zf.namelist()
    loaded = load_project(tmp_path / "p.studio")
    assert loaded.mask.shape == (H, W) and not loaded.mask.any()
    _assert_same(doc, loaded)


def test_document_without_layers_round_trips(tmp_path):
    doc = Document(17, 5)
    save_project(doc, tmp_path / "blank.studio")
    loaded = load_project(tmp_path / "blank.studio")
    assert (loaded.width, loaded.height, loaded.layers, loaded.active_id) == (17, 5, [], None)
    assert read_thumbnail(tmp_path / "blank.studio").shape == (5, 17, 4)


def test_saving_over_a_file_replaces_it_and_marks_nothing(tmp_path):
    path = tmp_path / "p.studio"
    save_project(Document.from_image(_pixels(1)), path)
    doc = _rich_document()
    doc.apply(SetLayerProps(7, opacity=0.5, name="Ink, lighter"))
    assert doc.modified
    save_project(doc, path)
    assert doc.modified and doc.can_undo  # the caller marks it saved, not save_project
    loaded = load_project(path)
    _assert_same(doc, loaded)
    assert (loaded.layers[1].name, loaded.layers[1].opacity) == ("Ink, lighter", 0.5)
    assert [p.name for p in tmp_path.iterdir()] == ["p.studio"]


def test_snapshot_is_independent_of_later_edits(tmp_path):
    # Autosave: capture on the document's thread, write later (on a worker).
    doc = _rich_document()
    before = [layer.pixels.copy() for layer in doc.layers]
    snapshot = capture_project(doc)
    doc.layers[0].pixels[:] = 0
    doc.mask[:] = 0
    doc.layers[2].recipe["seed"] = 99
    write_project(snapshot, tmp_path / "autosave.studio")
    loaded = load_project(tmp_path / "autosave.studio")
    assert all(np.array_equal(a, b.pixels) for a, b in zip(before, loaded.layers))
    assert loaded.mask[3, 5] == 255 and loaded.layers[2].recipe["seed"] == 1234


def test_failed_save_leaves_the_old_file_and_no_litter(tmp_path):
    path = tmp_path / "work.studio"
    save_project(_rich_document(), path)
    old = path.read_bytes()

    doc = _rich_document()
    # A damaged in-memory layer (float pixels, hidden so the thumbnail still
    # renders) makes PNG encoding fail after the manifest and first layer are
    # already in the temporary file.
    doc.layers.append(Layer(50, "broken", np.zeros((H, W, 4), np.float32), visible=False))
    with pytest.raises(ValueError, match="broken"):
        save_project(doc, path)

    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["work.studio"]
    _assert_same(_rich_document(), load_project(path))


def test_recipe_json_cannot_hold_fails_before_touching_the_file(tmp_path):
    path = tmp_path / "work.studio"
    save_project(_rich_document(), path)
    old = path.read_bytes()
    doc = _rich_document()
    doc.layers[2].recipe = {"strength": float("nan")}
    with pytest.raises(ValueError):
        save_project(doc, path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["work.studio"]


# --- hostile files -------------------------------------------------------------


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _manifest(layers: int = 1, **changes) -> dict:
    m = {
        "format": FORMAT, "app_version": "0.1.0", "width": 4, "height": 3, "active_layer": 0,
        "layers": [{"name": f"L{i}", "file": f"layers/{i + 1:04d}.png", "opacity": 1.0, "visible": True,
                    "locked": False, "blend": "normal", "recipe": None} for i in range(layers)],
    }
    m.update(changes)
    return m


def _layer_png(w: int = 4, h: int = 3, mode: str = "RGBA") -> bytes:
    channels = {"RGBA": 4, "RGB": 3, "L": 1}[mode]
    a = np.arange(h * w * channels, dtype=np.uint8).reshape(h, w, channels)
    return _png(a[..., 0] if channels == 1 else a)


def _write_zip(path, entries, compression=zipfile.ZIP_DEFLATED) -> None:
    """entries: (name, bytes) pairs; the manifest may be a dict (dumped as JSON)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries:
                if isinstance(data, dict):
                    data = json.dumps(data).encode()
                zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compression)


def _valid_entries(manifest: dict | None = None) -> list:
    manifest = _manifest() if manifest is None else manifest
    return [("manifest.json", manifest), ("layers/0001.png", _layer_png())]


def _snapshot(folder) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _refused(path, fragment: str) -> str:
    before = _snapshot(path.parent)
    with pytest.raises(ProjectError) as info:
        load_project(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"cannot open {path.name}: "), message
    assert fragment in message, message
    assert _snapshot(path.parent) == before  # nothing written, nothing extracted
    return message


def test_valid_hand_built_file_loads(tmp_path):
    # The baseline the hostile cases below break one thing of.
    path = tmp_path / "ok.studio"
    _write_zip(path, _valid_entries())
    doc = load_project(path)
    assert doc.layers[0].pixels.shape == (3, 4, 4) and doc.layers[0].name == "L0"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "nope.studio")
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "notes.studio"
    path.write_text("just some text, not a project\n")
    _refused(path, "not a Latent Studio project (not a zip file)")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.studio"
    path.write_bytes(b"")
    _refused(path, "file is empty")


def test_truncated_zip(tmp_path):
    path = tmp_path / "cut.studio"
    save_project(_rich_document(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _refused(path, "damaged or truncated")


def test_damaged_entry_fails_its_crc(tmp_path):
    path = tmp_path / "flip.studio"
    _write_zip(path, _valid_entries(), compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    png = _layer_png()
    at = bytes(data).index(png) + len(png) - 20
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    _refused(path, "'layers/0001.png' is damaged")


@pytest.mark.parametrize("name", ["../x.png", "/abs.png", "layers\\0001.png", "C:/x.png", "layers/./1.png",
                                  "layers//1.png", "", "a\nb.png"])
def test_zip_slip_names_in_the_manifest(tmp_path, name):
    m = _manifest()
    m["layers"][0]["file"] = name
    path = tmp_path / "slip.studio"
    _write_zip(path, _valid_entries(m))
    _refused(path, "layers[0].file")


def test_zip_slip_name_for_the_mask(tmp_path):
    path = tmp_path / "slip.studio"
    _write_zip(path, _valid_entries(_manifest(mask="../../etc/passwd")))
    _refused(path, "mask is an unsafe name")


@pytest.mark.parametrize("name", ["../evil.sh", "/tmp/evil.sh", "dir\\..\\evil.sh", "layers/../../evil"])
def test_zip_slip_names_in_the_archive(tmp_path, name):
    # Never listed in the manifest, never extracted: refused all the same, since
    # no honest project holds such a name.
    path = tmp_path / "slip.studio"
    _write_zip(path, [*_valid_entries(), (name, b"#!/bin/sh\n")])
    _refused(path, "unsafe name")


def test_duplicate_names(tmp_path):
    path = tmp_path / "dup.studio"
    _write_zip(path, [*_valid_entries(), ("layers/0001.png", _layer_png())])
    _refused(path, "twice")


def test_too_many_entries(tmp_path):
    path = tmp_path / "many.studio"
    _write_zip(path, [*_valid_entries(), *((f"junk/{i}", b"") for i in range(MAX_ENTRIES))])
    _refused(path, "entries, over the limit")


def test_zip_bomb_entry_is_refused_from_its_header(tmp_path):
    # 64 MiB of zeros deflates to ~64 KiB; a 4 x 3 layer PNG is never that big.
    path = tmp_path / "bomb.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", bytes(64 << 20))])
    assert path.stat().st_size < 1 << 20
    _refused(path, "'layers/0001.png' is 67,108,864 bytes, over the limit")


def _patch_sizes(path, name: str, size: int) -> None:
    """Make every header of `name` claim `size` uncompressed bytes (a lying header)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, field in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := bytes(data).find(signature, start)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + len(encoded)]) == encoded:
                data[at + field:at + field + 4] = struct.pack("<I", size)
            start = at + 4
    path.write_bytes(bytes(data))


def test_zip_bomb_with_a_lying_header(tmp_path):
    path = tmp_path / "liar.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", bytes(64 << 20))])
    _patch_sizes(path, "layers/0001.png", 100)
    _refused(path, "'layers/0001.png'")


def test_oversized_manifest(tmp_path):
    m = _manifest()
    m["layers"][0]["recipe"] = {"padding": "x" * (17 << 20)}
    path = tmp_path / "fat.studio"
    _write_zip(path, _valid_entries(m))
    _refused(path, "'manifest.json' is")


def test_unsupported_compression(tmp_path):
    path = tmp_path / "lzma.studio"
    _write_zip(path, _valid_entries(), compression=zipfile.ZIP_LZMA)
    _refused(path, "compression")


def test_encrypted_entry(tmp_path):
    path = tmp_path / "locked.studio"
    _write_zip(path, _valid_entries(), compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = bytes(data).index(b"PK\x01\x02")  # central record of manifest.json: set "encrypted"
    data[at + 8] |= 1
    path.write_bytes(bytes(data))
    _refused(path, "encrypted")


def test_missing_manifest(tmp_path):
    path = tmp_path / "nomanifest.studio"
    _write_zip(path, [("layers/0001.png", _layer_png())])
    _refused(path, "'manifest.json' is missing")


def test_missing_layer_file(tmp_path):
    path = tmp_path / "nolayer.studio"
    _write_zip(path, [("manifest.json", _manifest())])
    _refused(path, "'layers/0001.png' is missing")


@pytest.mark.parametrize("text, fragment", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'{"format": "something/else@1"}', "not a Latent Studio project"),
    (b"{}", "not a Latent Studio project"),
])
def test_malformed_manifest_json(tmp_path, text, fragment):
    path = tmp_path / "bad.studio"
    _write_zip(path, [("manifest.json", text), ("layers/0001.png", _layer_png())])
    _refused(path, fragment)


def _drop(key):
    def change(m):
        del m[key]
    return change


def _drop_layer_key(key):
    def change(m):
        del m["layers"][0][key]
    return change


def _set_layer(key, value):
    def change(m):
        m["layers"][0][key] = value
    return change


def _set(key, value, **more):
    def change(m):
        m[key] = value
        m.update(more)
    return change


@pytest.mark.parametrize("change, fragment", [
    (_set("format", "latent-studio/project@2"), "newer than this app reads"),
    (_drop("width"), "width is missing"),
    (_drop("layers"), "layers is missing"),
    (_drop("active_layer"), "active_layer is missing"),
    (_set("width", "4"), "width must be a whole number"),
    (_set("height", 3.0), "height must be a whole number"),
    (_set("width", True), "width must be a whole number"),
    (_set("width", 0), "width must be a whole number from 1"),
    (_set("width", -4), "width must be a whole number from 1"),
    (_set("width", 20000, height=20000), "400,000,000 pixels, over the limit of 134,217,728"),
    (_set("layers", {"0": 1}), "layers must be a list"),
    (_set("layers", [5]), "layers[0] is not a JSON object"),
    (_set("active_layer", 1), "active_layer 1 is not one of the 1 layers"),
    (_set("active_layer", -1), "active_layer -1"),
    (_set("active_layer", "0"), "active_layer must be a layer index"),
    (_set("active_layer", False), "active_layer must be a layer index"),
    (_drop_layer_key("opacity"), "layers[0].opacity is missing"),
    (_drop_layer_key("name"), "layers[0].name is missing"),
    (_drop_layer_key("file"), "layers[0].file is missing"),
    (_drop_layer_key("recipe"), "layers[0].recipe is missing"),
    (_set_layer("opacity", "0.5"), "layers[0].opacity must be a number"),
    (_set_layer("opacity", 1.5), "layers[0].opacity must be a number from 0 to 1"),
    (_set_layer("opacity", -0.1), "layers[0].opacity must be a number from 0 to 1"),
    (_set_layer("opacity", None), "layers[0].opacity must be a number"),
    (_set_layer("visible", "yes"), "layers[0].visible must be true or false"),
    (_set_layer("locked", 1), "layers[0].locked must be true or false"),
    (_set_layer("blend", "dissolve"), "'dissolve' is not a blend mode"),
    (_set_layer("blend", 3), "layers[0].blend must be a blend mode"),
    (_set_layer("name", 12), "layers[0].name must be text"),
    (_set_layer("name", "n" * 5000), "layers[0].name is 5,000 characters"),
    (_set_layer("recipe", [1, 2]), "layers[0].recipe must be an object or null"),
    (_set_layer("file", 7), "layers[0].file must be a file name"),
])
def test_wrong_typed_manifest(tmp_path, change, fragment):
    m = _manifest()
    change(m)
    path = tmp_path / "typed.studio"
    _write_zip(path, _valid_entries(m))
    _refused(path, fragment)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_opacity(tmp_path, value):
    text = json.dumps(_manifest()).replace('"opacity": 1.0', f'"opacity": {value}')
    path = tmp_path / "nan.studio"
    _write_zip(path, [("manifest.json", text.encode()), ("layers/0001.png", _layer_png())])
    _refused(path, "not valid JSON")


def test_too_many_layers_in_the_manifest(tmp_path):
    path = tmp_path / "layers.studio"
    _write_zip(path, _valid_entries(_manifest(layers=MAX_LAYERS + 1)))
    _refused(path, f"{MAX_LAYERS + 1:,} layers, over the limit")


def test_layers_together_over_the_memory_limit(tmp_path):
    # Each 8192 x 8192 layer is within the per-image limit, 40 of them are 10 GiB.
    m = _manifest(layers=40, width=8192, height=8192)
    for entry in m["layers"]:
        entry["file"] = "layers/0001.png"  # one tiny PNG named 40 times
    path = tmp_path / "huge.studio"
    _write_zip(path, _valid_entries(m))
    _refused(path, "pixels in all, over the limit")


@pytest.mark.parametrize("data, fragment", [
    (b"hello, not an image", "'layers/0001.png' is not a PNG image"),
    (_png(np.zeros((3, 4, 3), np.uint8))[:40] + b"\x00" * 8, "damaged PNG"),
    (_layer_png()[:-30], "'layers/0001.png'"),
])
def test_layer_that_is_not_a_png(tmp_path, data, fragment):
    path = tmp_path / "fake.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", data)])
    _refused(path, fragment)


def test_layer_that_is_a_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buf, format="JPEG")
    path = tmp_path / "jpeg.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", buf.getvalue())])
    _refused(path, "not a PNG image")


@pytest.mark.parametrize("w, h", [(5, 3), (4, 2), (3000, 3000)])
def test_layer_png_size_must_match_the_canvas(tmp_path, w, h):
    path = tmp_path / "size.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", _layer_png(w, h))])
    _refused(path, "the canvas is 4 x 3")


def test_layer_png_mode_must_be_rgba(tmp_path):
    path = tmp_path / "rgb.studio"
    _write_zip(path, [("manifest.json", _manifest()), ("layers/0001.png", _layer_png(mode="RGB"))])
    _refused(path, "colour mode RGB, expected RGBA")


def test_mask_png_must_be_grey_and_canvas_size(tmp_path):
    path = tmp_path / "mask.studio"
    _write_zip(path, [*_valid_entries(_manifest(mask="mask.png")), ("mask.png", _layer_png())])
    _refused(path, "'mask.png' has colour mode RGBA, expected L")
    _write_zip(path, [*_valid_entries(_manifest(mask="mask.png")), ("mask.png", _layer_png(2, 2, "L"))])
    _refused(path, "'mask.png' is 2 x 2 pixels")
    _write_zip(path, [*_valid_entries(_manifest(mask="mask.png"))])
    _refused(path, "'mask.png' is missing")


def test_read_thumbnail_refuses_oversized_thumbnails(tmp_path):
    path = tmp_path / "thumb.studio"
    _write_zip(path, [*_valid_entries(), ("thumbnail.png", _layer_png(300, 20))])
    with pytest.raises(ProjectError, match="not a thumbnail"):
        read_thumbnail(path)
    _write_zip(path, _valid_entries())
    with pytest.raises(ProjectError, match="'thumbnail.png' is missing"):
        read_thumbnail(path)


def test_random_damage_gives_a_project_error_or_a_document(tmp_path):
    # Single-byte damage and truncation anywhere in a real project: loading
    # never raises anything but ProjectError.
    good = tmp_path / "good.studio"
    doc = Document.from_layers(8, 6, [Layer(1, "a", _pixels(1, 8, 6)), Layer(2, "b", _pixels(2, 8, 6))],
                               np.full((6, 8), 9, np.uint8))
    save_project(doc, good)
    original = good.read_bytes()
    rng = np.random.default_rng(2024)
    bad = tmp_path / "bad.studio"
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(300):
        data = bytearray(original)
        if rng.random() < 0.2:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        bad.write_bytes(bytes(data))
        try:
            load_project(bad)
            outcomes["loaded"] += 1
        except ProjectError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100


def test_the_workspace_travels_with_the_project_and_a_bad_one_is_dropped(tmp_path):
    import json
    import zipfile

    doc = Document.from_image(np.zeros((4, 6, 4), np.uint8), "a")
    doc.workspace = {"latent": {"seeds": [3, 4], "position": 0.5}}
    save_project(doc, tmp_path / "p.studio")
    assert load_project(tmp_path / "p.studio").workspace == doc.workspace
    with zipfile.ZipFile(tmp_path / "p.studio") as zf:
        manifest = json.loads(zf.read("manifest.json"))
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest["workspace"] = ["not", "an", "object"]
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "q.studio", "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    assert load_project(tmp_path / "q.studio").workspace == {}


def test_a_snapshot_copies_the_pixels_unless_the_document_is_already_a_private_copy():
    doc = _rich_document()
    copied, taken = capture_project(doc), capture_project(doc, copy_pixels=False)
    for layer, a, b in zip(doc.layers, copied.layers, taken.layers):
        assert not np.shares_memory(layer.pixels, a.pixels) and (a.pixels == layer.pixels).all()
        assert b.pixels is layer.pixels
    assert not np.shares_memory(doc.mask, copied.mask) and taken.mask is doc.mask
