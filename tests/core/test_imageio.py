"""load_image / save_image against the files users really have."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.imageio import DEFAULT_MAX_PIXELS, ImageError, load_image, save_image
from studio.core.memory_budget import BUDGET_ENV

REPO = Path(__file__).resolve().parents[2]


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _check_one_line(exc: ImageError, *words: str) -> None:
    text = str(exc)
    assert "\n" not in text and text.startswith("cannot ")
    for word in words:
        assert word in text, text


# --- what loads ---------------------------------------------------------------


def test_exif_orientation_6_turns_the_pixels_upright(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high as stored
    stored[:, :20] = (255, 0, 0)  # left half red
    stored[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=100)

    image = load_image(path)

    assert image.shape == (40, 20, 4)  # width and height swapped
    # Turned clockwise, the stored left edge (red) becomes the top.
    top, bottom = image[5, 10, :3].astype(int), image[35, 10, :3].astype(int)
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_linear_icc_profile_is_converted_to_srgb(tmp_path, linear_srgb_icc):
    path = tmp_path / "linear.png"
    Image.new("RGB", (8, 8), (128, 128, 128)).save(path, icc_profile=linear_srgb_icc)
    expected = 255 * _srgb_encode(np.array(128 / 255))  # 187.9

    got = load_image(path)[0, 0]

    assert abs(int(got[0]) - expected) <= 2 and got[0] == got[1] == got[2], got
    assert got[3] == 255


def test_adobe_rgb_profile_moves_colours_to_their_srgb_values(tmp_path, adobe_rgb_icc, icc_colorants):
    source = np.array([60, 180, 60])
    path = tmp_path / "adobe.png"
    Image.new("RGB", (8, 8), tuple(int(v) for v in source)).save(path, icc_profile=adobe_rgb_icc)
    # Expected: decode Adobe's gamma, go through XYZ (D50) into sRGB's primaries, encode.
    adobe = np.array(icc_colorants["adobe_rgb"]).T
    srgb = np.array(icc_colorants["srgb"]).T
    linear = np.linalg.solve(srgb, adobe @ (source / 255) ** icc_colorants["adobe_gamma"])
    expected = np.round(255 * _srgb_encode(linear))

    got = load_image(path)[0, 0, :3].astype(int)

    assert np.abs(got - expected).max() <= 3, (got, expected)
    assert np.abs(got - source).max() > 20  # it really changed: Adobe green is more saturated


def test_rgba_with_icc_profile_keeps_alpha(tmp_path, linear_srgb_icc):
    path = tmp_path / "linear_rgba.png"
    Image.new("RGBA", (4, 4), (128, 128, 128, 77)).save(path, icc_profile=linear_srgb_icc)

    got = load_image(path)[0, 0]

    assert got[3] == 77 and abs(int(got[0]) - 188) <= 2


def test_grey_image_with_grey_profile_is_converted(tmp_path, linear_gray_icc):
    path = tmp_path / "grey.png"
    Image.new("L", (4, 4), 128).save(path, icc_profile=linear_gray_icc)

    got = load_image(path)[0, 0]

    assert abs(int(got[0]) - 188) <= 2 and got[0] == got[1] == got[2]


def test_broken_icc_profile_is_ignored(tmp_path):
    path = tmp_path / "badicc.png"
    Image.new("RGB", (4, 4), (10, 20, 30)).save(path, icc_profile=b"not a profile at all" * 10)

    assert load_image(path)[0, 0].tolist() == [10, 20, 30, 255]


def test_cmyk_jpeg_without_profile(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)  # magenta + yellow inks = red

    got = load_image(path)[0, 0].astype(int)

    assert got[0] > 240 and got[1] < 15 and got[2] < 15 and got[3] == 255


def test_cmyk_jpeg_with_profile_goes_through_the_profile(tmp_path, cmyk_icc):
    path = tmp_path / "cmyk_icc.jpg"
    pixels = np.zeros((8, 8, 4), np.uint8)
    pixels[:4] = (0, 255, 255, 0)  # red inks, but the profile only looks at K: white
    pixels[4:] = (0, 0, 0, 255)  # full K: black
    Image.fromarray(pixels, "CMYK").save(path, quality=100, icc_profile=cmyk_icc)

    got = load_image(path).astype(int)

    assert (got[1, 1, :3] > 245).all(), got[1, 1]
    assert (got[6, 6, :3] < 10).all(), got[6, 6]


def test_16_bit_rgb_png_is_scaled_not_clipped(tmp_path, make_png16):
    values = np.array([0, 16384, 40000, 65535], np.uint16)
    samples = np.stack([values, values, values], axis=-1)[None]  # 1 x 4 x 3
    path = tmp_path / "deep.png"
    path.write_bytes(make_png16(samples))

    got = load_image(path)[0, :, 0].astype(int)

    assert np.abs(got - np.round(values / 257)).max() <= 1, got  # [0, 64, 156, 255]


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_16_bit_grey_grey_alpha_and_rgba_pngs(tmp_path, make_png16, channels):
    values = np.array([0, 16384, 40000, 65535], np.uint16)
    samples = np.stack([values] * channels, axis=-1)[None]
    if channels in (2, 4):
        samples[..., -1] = 32768  # half transparent
    path = tmp_path / f"deep{channels}.png"
    path.write_bytes(make_png16(samples))

    got = load_image(path)[0].astype(int)

    assert np.abs(got[:, 0] - np.round(values / 257)).max() <= 1, got
    assert (got[:, 0] == got[:, 1]).all() and (got[:, 1] == got[:, 2]).all()
    assert (got[:, 3] == (128 if channels in (2, 4) else 255)).all()


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_tiff_rgb_and_rgba(tmp_path, make_tiff16, channels):
    values = np.array([0, 16384, 40000, 65535], np.uint16)
    samples = np.stack([values, values[::-1], values] + [values] * (channels - 3), axis=-1)[None]
    path = tmp_path / f"deep{channels}.tif"
    path.write_bytes(make_tiff16(samples))

    got = load_image(path)[0].astype(int)

    assert np.abs(got[:, 0] - np.round(values / 257)).max() <= 1, got
    assert np.abs(got[:, 1] - np.round(values[::-1] / 257)).max() <= 1, got
    if channels == 4:
        assert np.abs(got[:, 3] - np.round(values / 257)).max() <= 1


@pytest.mark.parametrize("dtype", ["<u2", ">u2"])  # Pillow modes I;16 and I;16B
def test_16_bit_grey_tiff_both_byte_orders(tmp_path, dtype):
    values = np.array([[0, 16384, 40000, 65535]], dtype=dtype)
    path = tmp_path / "grey16.tif"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")

    got = load_image(path)[0, :, 0].astype(int)

    assert np.abs(got - np.round(values[0].astype(int) / 257)).max() <= 1, got


def test_palette_png_with_transparency(tmp_path):
    indices = np.array([[0, 1], [1, 2]], np.uint8)
    im = Image.fromarray(indices, "L").convert("P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    path = tmp_path / "palette.png"
    im.save(path, transparency=0)

    got = load_image(path)

    assert got[0, 0, 3] == 0  # index 0 is transparent
    assert got[0, 1].tolist() == [255, 0, 0, 255]
    assert got[1, 1].tolist() == [0, 255, 0, 255]


def test_la_png_keeps_grey_and_alpha(tmp_path):
    path = tmp_path / "la.png"
    Image.new("LA", (3, 3), (90, 200)).save(path)

    assert load_image(path)[1, 1].tolist() == [90, 90, 90, 200]


def test_one_bit_image(tmp_path):
    path = tmp_path / "bits.png"
    im = Image.new("1", (4, 4), 0)
    im.putpixel((1, 1), 1)
    im.save(path)

    got = load_image(path)

    assert got[1, 1].tolist() == [255, 255, 255, 255] and got[0, 0].tolist() == [0, 0, 0, 255]


def test_animated_gif_gives_the_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    red, blue = Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))
    red.save(path, save_all=True, append_images=[blue], duration=100, loop=0)

    got = load_image(path)

    assert got.shape == (8, 8, 4) and got[4, 4].tolist() == [255, 0, 0, 255]


def test_bmp(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "old.bmp"
    Image.fromarray(pixels).save(path)

    got = load_image(path)

    assert (got[..., :3] == pixels).all() and (got[..., 3] == 255).all()


def test_webp_with_alpha(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 256, (6, 6, 4), dtype=np.uint8)
    path = tmp_path / "alpha.webp"
    Image.fromarray(pixels).save(path, lossless=True, exact=True)

    assert (load_image(path) == pixels).all()


def test_result_is_owned_writable_rgba(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (3, 2), (1, 2, 3)).save(path)

    got = load_image(str(path))

    assert got.dtype == np.uint8 and got.shape == (2, 3, 4) and got.flags.writeable
    got[0, 0] = 0  # must not fail


# --- what must fail, with one readable line ----------------------------------


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "photo.jpg"
    noise = np.random.default_rng(3).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "photo.jpg", "truncated")


@pytest.mark.parametrize("suffix", ["png", "webp"])
def test_truncated_png_and_webp(tmp_path, suffix):
    path = tmp_path / f"cut.{suffix}"
    noise = np.random.default_rng(4).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, f"cut.{suffix}", "truncated")


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("shopping list: eggs, milk\n")

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "notes.png", "not an image")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "empty.jpg", "empty")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError) as caught:
        load_image(tmp_path / "nowhere.png")
    _check_one_line(caught.value, "nowhere.png", "no such file")
    with pytest.raises(ImageError) as caught:
        load_image(tmp_path)
    _check_one_line(caught.value, "folder")


def test_postscript_is_refused_without_ghostscript(tmp_path):
    path = tmp_path / "evil.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "not an image")


def test_bomb_header_far_over_pillows_limit(tmp_path, make_png):
    path = tmp_path / "bomb.png"
    path.write_bytes(make_png(100_000, 100_000, 8, 2, b"\x00"))  # claims 10^10 pixels

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "bomb.png", "10,000,000,000 pixels", "over the limit")


def test_bomb_header_over_our_limit_fails_before_decoding(tmp_path, make_png):
    path = tmp_path / "big.png"
    # 144 MP: over our default limit but under Pillow's hard stop, so our check is what fires.
    path.write_bytes(make_png(12_000, 12_000, 8, 2, b"\x00"))
    assert 12_000 * 12_000 > DEFAULT_MAX_PIXELS

    with pytest.raises(ImageError) as caught:
        load_image(path)
    _check_one_line(caught.value, "144,000,000 pixels", "12000 x 12000", f"{DEFAULT_MAX_PIXELS:,}")


READ_FROM_THREADS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from studio.core.imageio import ImageError, load_image

def read(path):
    try:
        load_image(path)
    except ImageError:
        pass

with ThreadPoolExecutor(8) as pool:
    list(pool.map(read, sys.argv[1:] * 20))
"""


def test_decoders_print_nothing_even_when_threads_read_at_once(tmp_path, make_png):
    # Pillow warns above 89 MP (this one is 100 MP, under our limit) and
    # libtiff prints its errors from C; neither may reach stderr, also when
    # the trainer's scan reads from many threads (catch_warnings around each
    # read raced there). In a process of its own: pytest would record the
    # warnings and hide a leak.
    big = tmp_path / "big.png"
    big.write_bytes(make_png(10_000, 10_000, 8, 2, b"\x00"))
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
        buf, "TIFF", compression="tiff_lzw")
    damaged = bytearray(buf.getvalue())
    damaged[100:400] = b"\xff" * 300  # LZW codes past its table: "Using code not yet in table."
    (tmp_path / "damaged.tif").write_bytes(bytes(damaged))
    env = {**os.environ, BUDGET_ENV: "1G"}  # refuse before decoding: the warning comes from the header alone
    proc = subprocess.run([sys.executable, "-c", READ_FROM_THREADS, str(big), str(tmp_path / "damaged.tif")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_caller_limit(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(path)

    with pytest.raises(ImageError) as caught:
        load_image(path, max_pixels=5_000)
    _check_one_line(caught.value, "10,000 pixels", "over the limit of 5,000")
    assert load_image(path, max_pixels=10_000).shape == (100, 100, 4)


def test_default_limit_allows_8192_square():
    assert 8192 * 8192 <= DEFAULT_MAX_PIXELS


# --- save_image ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif", ".tiff"])
def test_lossless_save_round_trip_rgba(tmp_path, suffix):
    pixels = np.random.default_rng(5).integers(0, 256, (9, 11, 4), dtype=np.uint8)
    path = tmp_path / f"out{suffix}"

    save_image(path, pixels, quality=100)  # WebP at 100 is lossless

    assert (load_image(path) == pixels).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out{suffix}"]  # no temporary left


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_opaque_rgba_is_written_without_alpha_and_reads_back_the_same(tmp_path, suffix):
    pixels = np.random.default_rng(6).integers(0, 256, (9, 11, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    path = tmp_path / f"opaque{suffix}"

    save_image(path, pixels, quality=100)

    assert Image.open(path).mode == "RGB"
    assert (load_image(path) == pixels).all()


def test_one_see_through_pixel_keeps_the_alpha_channel(tmp_path):
    pixels = np.full((9, 11, 4), 255, np.uint8)
    pixels[4, 5, 3] = 254
    path = tmp_path / "almost.png"

    save_image(path, pixels)

    assert Image.open(path).mode == "RGBA"
    assert (load_image(path) == pixels).all()


def test_jpeg_composites_alpha_onto_white(tmp_path):
    pixels = np.zeros((16, 16, 4), np.uint8)
    pixels[..., 0] = 255  # red, fully transparent: must come out white
    path = tmp_path / "flat.jpeg"

    save_image(path, pixels)

    got = load_image(path)
    assert (got[8, 8, :3] > 245).all() and got[8, 8, 3] == 255


def test_lossy_webp_is_close_on_smooth_images(tmp_path):
    ramp = np.linspace(0, 255, 32).astype(np.uint8)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], np.uint8(128)), axis=-1)
    path = tmp_path / "smooth.webp"

    save_image(path, pixels, quality=90)

    got = load_image(path)
    assert got.shape == (32, 32, 4) and np.abs(got[..., :3].astype(int) - pixels).mean() < 4


def test_rgb_input_and_jpeg_quality(tmp_path):
    pixels = np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save_image(tmp_path / "hi.jpg", pixels, quality=95)
    save_image(tmp_path / "lo.jpg", pixels, quality=20)
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size
    assert load_image(tmp_path / "hi.jpg").shape == (64, 64, 4)


def test_unknown_suffix_is_an_image_error(tmp_path):
    with pytest.raises(ImageError) as caught:
        save_image(tmp_path / "out.bmpx", np.zeros((2, 2, 3), np.uint8))
    _check_one_line(caught.value, "out.bmpx", "unknown image type")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 2), np.uint8)])
def test_wrong_arrays_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="uint8 HxWx3 or HxWx4"):
        save_image(tmp_path / "x.png", bad)


def test_failed_encode_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "keep.webp"
    save_image(path, np.full((4, 4, 3), 7, np.uint8))
    before = path.read_bytes()

    with pytest.raises(ImageError) as caught:
        # WebP stops at 16383 px: the encoder fails half way through the write.
        save_image(path, np.zeros((1, 17_000, 3), np.uint8))
    _check_one_line(caught.value, "keep.webp", "16383")

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.webp"]
