"""Recipes: stored in every format, read back exactly, shown to people."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from studio.core.imageio import ImageError, load_image, save_image
from studio.core.latent import latent_from_seed
from studio.core.recipe import (
    FORMAT,
    PNG_KEY,
    XMP_NAMESPACE,
    decode_latent,
    dump_recipe,
    encode_latent,
    format_recipe,
    read_recipe,
    xmp_packet,
)


def _recipe(keyframes: int = 1) -> dict:
    return {
        "model": {"name": "emoji64", "sha256": "0f" * 32},
        "seed": 42,
        "truncation": 0.7,
        "latents": [encode_latent(latent_from_seed(i, 128)) for i in range(keyframes)],
        "note": "naïve café ☕",  # non-ASCII must survive every container
    }


# --- latents ------------------------------------------------------------------


def test_latent_round_trip_is_bit_exact():
    latent = latent_from_seed(7, 128)
    latent[:4] = [-0.0, np.float32(1e-45), np.finfo(np.float32).max, np.float32(np.pi)]

    back = decode_latent(encode_latent(latent))

    assert back.dtype == np.float32 and back.shape == (128,)
    assert back.tobytes() == latent.tobytes()
    back[0] = 5.0  # an owned, writable array


def test_latent_encoding_is_compact():
    text = encode_latent(latent_from_seed(0, 128))
    assert text.startswith("f32:") and len(text) == 4 + 684  # 512 bytes in base64
    assert len(text) < len(json.dumps(latent_from_seed(0, 128).tolist())) / 3


@pytest.mark.parametrize("bad", ["", "f64:AAAA", "f32:!!!!", "f32:AAA=", "AAAAAAAA", 17])
def test_decode_latent_rejects_garbage(bad):
    with pytest.raises(ValueError):
        decode_latent(bad)


def test_encode_latent_wants_one_float_vector():
    with pytest.raises(ValueError):
        encode_latent(np.zeros((2, 128), np.float32))
    with pytest.raises(ValueError):
        encode_latent(np.arange(4))


# --- JSON ---------------------------------------------------------------------


def test_dump_puts_format_first_and_takes_numpy_scalars():
    text = dump_recipe({"seed": np.int64(3), "truncation": np.float32(0.5)})
    value = json.loads(text)
    assert list(value) == ["format", "seed", "truncation"]
    assert value == {"format": FORMAT, "seed": 3, "truncation": 0.5}


def test_dump_refuses_what_json_cannot_hold_exactly():
    with pytest.raises(ValueError):
        dump_recipe({"x": float("nan")})
    with pytest.raises(TypeError, match="encode_latent"):
        dump_recipe({"latent": np.zeros(3, np.float32)})
    with pytest.raises(ValueError):
        dump_recipe({"format": "someone-else@3"})


# --- embedding round trips ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_save_and_read_recipe(tmp_path, suffix):
    recipe = _recipe(keyframes=3)
    path = tmp_path / f"made{suffix}"

    save_image(path, np.full((16, 16, 4), 200, np.uint8), recipe=recipe)

    back = read_recipe(path)
    assert back == {"format": FORMAT, **recipe}
    assert [decode_latent(t).tobytes() for t in back["latents"]] == [
        latent_from_seed(i, 128).tobytes() for i in range(3)
    ]
    assert load_image(path).shape == (16, 16, 4)  # the recipe does not disturb the pixels


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_images_without_recipe_give_none(tmp_path, suffix):
    path = tmp_path / f"plain{suffix}"
    save_image(path, np.zeros((4, 4, 3), np.uint8))
    assert read_recipe(path) is None


def test_read_recipe_of_unreadable_file_is_an_image_error(tmp_path):
    path = tmp_path / "junk.png"
    path.write_text("no image here")
    with pytest.raises(ImageError, match="junk.png"):
        read_recipe(path)
    with pytest.raises(ImageError, match="no such file"):
        read_recipe(tmp_path / "missing.jpg")


def test_png_recipe_after_the_image_data_is_found(tmp_path, make_png_chunk):
    # Some tools move text chunks behind IDAT; Pillow only sees them after decoding.
    path = tmp_path / "late.png"
    Image.new("RGB", (4, 4)).save(path)
    data = path.read_bytes()
    itxt = make_png_chunk(b"iTXt", PNG_KEY.encode() + b"\0\0\0\0\0" + dump_recipe({"seed": 9}).encode())
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + itxt + data[iend:])

    assert read_recipe(path) == {"format": FORMAT, "seed": 9}


def test_xmp_rewritten_as_attribute_is_still_read(tmp_path):
    # exiftool and others may store simple XMP properties as attributes.
    text = dump_recipe({"seed": 11}).replace('"', "&quot;")
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:lstudio="{XMP_NAMESPACE}" lstudio:recipe="{text}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    path = tmp_path / "rewritten.jpg"
    Image.new("RGB", (4, 4)).save(path, xmp=packet)

    assert read_recipe(path) == {"format": FORMAT, "seed": 11}


def test_xmp_of_other_tools_and_dtd_tricks_give_none(tmp_path):
    path = tmp_path / "other.jpg"
    Image.new("RGB", (4, 4)).save(path, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    assert read_recipe(path) is None
    evil = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + xmp_packet(dump_recipe({"seed": 1}))
    Image.new("RGB", (4, 4)).save(path, xmp=evil)
    assert read_recipe(path) is None


def test_gif_comment_recipe_and_foreign_comments(tmp_path):
    path = tmp_path / "still.gif"
    Image.new("RGB", (4, 4)).save(path, comment=dump_recipe({"seed": 5}).encode())
    assert read_recipe(path) == {"format": FORMAT, "seed": 5}
    Image.new("RGB", (4, 4)).save(path, comment=b"made with love")
    assert read_recipe(path) is None
    Image.new("RGB", (4, 4)).save(path, comment=b'{"not": "ours"}')
    assert read_recipe(path) is None


def test_damaged_and_newer_recipes_are_reported(tmp_path):
    path = tmp_path / "damaged.png"
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_KEY, '{"format": "latent-studio/recipe@1", "seed": ')
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    with pytest.raises(ImageError, match="damaged"):
        read_recipe(path)

    newer = tmp_path / "newer.json"
    newer.write_text('{"format": "latent-studio/recipe@2"}')
    with pytest.raises(ImageError, match="newer"):
        read_recipe(newer)


def test_recipe_too_big_for_jpeg_says_so(tmp_path):
    with pytest.raises(ImageError) as caught:
        save_image(tmp_path / "big.jpg", np.zeros((4, 4, 3), np.uint8), recipe=_recipe(keyframes=120))
    assert "PNG" in str(caught.value) and "\n" not in str(caught.value)
    assert not list(tmp_path.iterdir())
    # PNG takes the same recipe.
    save_image(tmp_path / "big.png", np.zeros((4, 4, 3), np.uint8), recipe=_recipe(keyframes=120))
    assert len(read_recipe(tmp_path / "big.png")["latents"]) == 120


# --- for people ---------------------------------------------------------------


def test_format_recipe_is_readable_and_abbreviates_latents():
    recipe = {"format": FORMAT, **_recipe(keyframes=2), "steps": [1, 2, 3], "empty": {}}

    text = format_recipe(recipe)

    assert text.splitlines()[0] == f"Latent Studio recipe ({FORMAT})"
    assert "  model:" in text and "    name: emoji64" in text and "0f" * 32 in text
    assert "seed: 42" in text and "truncation: 0.7" in text and "steps: [1, 2, 3]" in text
    assert text.count("latent, 128 floats, norm") == 2
    assert "f32:" not in text  # no base64 walls
    assert max(len(line) for line in text.splitlines()) < 120
