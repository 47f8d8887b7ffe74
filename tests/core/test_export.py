"""Document export: formats, regions, scaling without fringes, embedded recipes."""

from __future__ import annotations

import numpy as np
import pytest

from studio.cli import main as cli_main
from studio.core.document import Document, Layer
from studio.core.export import Enlargement, ExportError, export_document, flatten, resample
from studio.core.imageio import load_image
from studio.core.latent import latent_from_seed
from studio.core.recipe import FORMAT, encode_latent, format_recipe, read_recipe

W, H = 40, 30


def _ai_recipe(seed: int) -> dict:
    return {"format": FORMAT, "model": {"name": "tiny", "sha256": "ab" * 32, "version": "1.0.0"},
            "action": "generate", "seeds": [seed], "latent": encode_latent(latent_from_seed(seed, 8))}


def _document() -> Document:
    """Opaque blue-grey background, a half-transparent red square AI layer on
    top, and a hidden AI layer that must not reach the file or the recipe."""
    background = np.zeros((H, W, 4), np.uint8)
    background[...] = (40, 60, 200, 255)
    square = np.zeros((H, W, 4), np.uint8)
    square[5:15, 10:30] = (255, 0, 0, 128)
    hidden = np.full((H, W, 4), 255, np.uint8)
    layers = [Layer(1, "Background", background), Layer(2, "Red square", square, recipe=_ai_recipe(7)),
              Layer(3, "Hidden", hidden, visible=False, recipe=_ai_recipe(9))]
    return Document.from_layers(W, H, layers)


def test_png_is_the_composite_with_a_document_recipe(tmp_path, capsys):
    doc = _document()
    out = export_document(doc, tmp_path / "out.png")
    assert out == tmp_path / "out.png"
    assert (load_image(out) == doc.composite()).all()

    recipe = read_recipe(out)
    assert recipe["format"] == FORMAT and recipe["kind"] == "document"
    assert recipe["size"] == [W, H] and recipe["source"] == {"size": [W, H], "region": [0, 0, W, H], "scale": 1.0}
    assert len(recipe["layers"]) == 1  # the hidden layer's recipe is left out
    entry = recipe["layers"][0]
    assert entry["layer"] == "Red square" and entry["seeds"] == [7] and "format" not in entry
    assert entry["latent"] == _ai_recipe(7)["latent"]  # the exact latent survives

    text = format_recipe(recipe)
    assert "kind: document" in text and "layer: Red square" in text and "latent, 8 floats" in text
    assert cli_main(["recipe", str(out)]) == 0
    assert "layer: Red square" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["out.webp", "out.tif", "out.jpeg"])
def test_every_format_carries_the_recipe(tmp_path, name):
    out = export_document(_document(), tmp_path / name, quality=100)
    assert read_recipe(out)["layers"][0]["layer"] == "Red square"


def test_without_embed_recipe_there_is_none(tmp_path):
    assert read_recipe(export_document(_document(), tmp_path / "plain.png", embed_recipe=False)) is None


def test_unknown_suffix_is_a_one_line_error_and_writes_nothing(tmp_path):
    with pytest.raises(ExportError) as info:
        export_document(_document(), tmp_path / "out.bmp")
    assert "'.bmp'" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("options", [{"scale": 0}, {"scale": float("nan")}, {"quality": 0}, {"quality": 101},
                                     {"region": "layer"}, {"scale": 1e6}])
def test_bad_options_are_refused(tmp_path, options):
    with pytest.raises(ExportError) as info:
        export_document(_document(), tmp_path / "out.png", **options)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.png").exists()


def test_mask_region_crops_to_the_selection_and_clears_the_rest(tmp_path):
    doc = _document()
    doc.mask[8:20, 4:16] = 255
    doc.mask[8:20, 16] = 64  # a feathered edge column
    doc.mask[8, 4] = 0  # a hole inside the bounding box
    out = load_image(export_document(doc, tmp_path / "sel.png", region="mask"))
    assert out.shape == (12, 13, 4)
    full = doc.composite()
    assert (out[1:, :12] == full[9:20, 4:16]).all()
    assert out[0, 0, 3] == 0
    assert out[3, 12, 3] == round(255 * 64 / 255)  # opaque background x partial selection
    assert read_recipe(tmp_path / "sel.png")["source"]["region"] == [4, 8, 17, 20]


def test_mask_region_in_jpeg_has_white_outside_the_selection(tmp_path):
    doc = _document()
    doc.mask[10:20, 0:20] = 255
    doc.mask[10, 0] = 0
    out = load_image(export_document(doc, tmp_path / "sel.jpg", region="mask", quality=100))
    assert out.shape == (10, 20, 4) and (out[..., 3] == 255).all()
    assert (out[0, 0, :3] >= 245).all()  # the unselected corner is white, not black or blue
    assert abs(int(out[5, 5, 2]) - 200) < 8  # selected background keeps its blue


def test_mask_region_with_nothing_selected_says_so(tmp_path):
    with pytest.raises(ExportError, match="nothing is selected"):
        export_document(_document(), tmp_path / "sel.png", region="mask")


def test_jpeg_and_no_alpha_flatten_onto_white(tmp_path):
    image = np.zeros((8, 8, 4), np.uint8)
    image[..., 0] = 255
    image[..., 3] = 128  # half-transparent red on nothing
    doc = Document.from_image(image)
    expected = flatten(image, (255, 255, 255))[0, 0]
    assert tuple(expected) == (255, 127, 127)
    png = load_image(export_document(doc, tmp_path / "flat.png", keep_alpha=False))
    assert (png[..., 3] == 255).all() and (png[..., :3] == expected).all()
    jpg = load_image(export_document(doc, tmp_path / "flat.jpg", keep_alpha=True, quality=100))
    assert np.abs(jpg[..., :3].astype(int) - expected).max() <= 3


def test_downscaling_leaves_no_dark_fringe(tmp_path):
    # Bright green disc on transparent BLACK: filtering straight alpha would
    # pull the edge pixels towards black.
    yy, xx = np.mgrid[:64, :64]
    image = np.zeros((64, 64, 4), np.uint8)
    inside = (xx - 31.5) ** 2 + (yy - 31.5) ** 2 < 20 ** 2
    image[inside] = (30, 240, 60, 255)
    doc = Document.from_image(image)
    out = load_image(export_document(doc, tmp_path / "small.png", scale=0.3))
    assert out.shape == (19, 19, 4)
    edge = (out[..., 3] > 10) & (out[..., 3] < 245)
    assert edge.sum() > 10
    colours = out[edge][:, :3].astype(int)
    assert np.abs(colours - (30, 240, 60)).max() <= 3
    assert (out[0, 0] == 0).all()  # far outside stays fully transparent


def test_faint_pixels_keep_their_colour_when_scaled():
    # Alpha 3 of 255: an 8-bit premultiplied resize would quantise the colour to thirds.
    image = np.zeros((16, 16, 4), np.uint8)
    image[...] = (200, 100, 50, 3)
    out = resample(image, (32, 32))
    assert (out == (200, 100, 50, 3)).all()


def test_upscaling_gives_the_asked_size(tmp_path):
    doc = _document()
    out = export_document(doc, tmp_path / "big.tif", scale=2.5)
    image = load_image(out)
    assert image.shape == (75, 100, 4)
    assert tuple(image[40, 5]) == (40, 60, 200, 255)  # flat areas stay exact
    assert read_recipe(out)["size"] == [100, 75]


def test_an_enlargement_runs_before_the_scale_and_is_named_in_the_recipe(tmp_path):
    doc = _document()
    seen = []

    def nearest(image: np.ndarray) -> np.ndarray:  # a stand-in upscaler: core runs whatever it is handed
        seen.append(image.shape)
        return image.repeat(3, axis=0).repeat(3, axis=1)

    upscaler = {"format": FORMAT, "action": "upscale", "method": "model", "scale": 3, "model": {"name": "x3"}}
    out = export_document(doc, tmp_path / "big.png", scale=0.5, enlarge=Enlargement(3, nearest, upscaler))
    assert seen == [(H, W, 4)]
    assert load_image(out).shape == (45, 60, 4)  # x3, then 50 %
    recipe = read_recipe(out)
    assert recipe["size"] == [60, 45] and recipe["source"]["scale"] == 0.5
    assert recipe["upscale"] == {"action": "upscale", "method": "model", "scale": 3, "model": {"name": "x3"}}


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "kept.jpg"
    target.write_bytes(b"old")
    doc = _document()
    doc.layers[1].recipe = {**_ai_recipe(7), "note": "x" * 70_000}  # more than a JPEG's XMP segment holds
    with pytest.raises(ExportError, match="save as PNG"):
        export_document(doc, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.jpg"]  # no temporary file left behind
