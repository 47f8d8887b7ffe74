"""The trainer's data folder: what it takes, what it skips and why, the
preprocessing, the held-out split and the on-disk cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from dataset_factory import make_images, make_messy_folder
from hostile_factory import lying_png
from studio.core.framing import prepare_image
from studio.core.memory_budget import BUDGET_ENV
from studio.core.paths import cache_root
from studio.train.data import ScanInterrupted, holdout_count, list_files, load_dataset, parse_background
from studio.train.errors import DataError


def test_every_unusable_file_is_reported_with_its_reason_and_the_rest_is_used(tmp_path):
    data, expected = make_messy_folder(tmp_path / "data")
    ds = load_dataset(data, 16, "crop", threads=2)
    root = data.resolve()
    got = {os.path.relpath(s.path, root): s.reason for s in ds.skipped}
    assert got == expected
    assert all(s.detail and "\n" not in s.detail for s in ds.skipped)
    assert ds.train.shape == (8, 3, 16, 16) and ds.train.dtype == torch.uint8
    assert ds.held_out.shape == (0, 3, 16, 16)  # 8 images: too few to spare any
    assert any(f.endswith("nested/deeper/img7.png") for f in ds.train_files)  # recursion
    s = ds.summary
    assert s["images"] == 8 and s["alpha"] == 8 and s["aspect"] == {"portrait": 8, "landscape": 0, "square": 0}
    assert s["sizes"] == {"min": [20, 24], "max": [20, 24], "median": [20, 24]}
    assert s["cached"] is False and len(s["skipped"]) == len(expected)
    assert "8 images" in s["summary"] and "7 skipped" in s["summary"] and "\n" not in s["summary"]


def test_second_scan_comes_from_the_cache_and_changes_are_noticed(tmp_path):
    data = make_images(tmp_path / "data", count=5)
    first = load_dataset(data, 16, "pad", threads=1)
    assert first.summary["decoded"] == 5 and not first.summary["cached"]
    assert list((cache_root() / "datasets").glob("v1-r16-pad-ffffff/*/*.rgb"))
    again = load_dataset(data, 16, "pad", threads=1)
    assert again.summary["cached"] and again.summary["decoded"] == 0
    assert torch.equal(again.train, first.train)
    # Another run folder, same content: still cached (the key is the content, not the path).
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in data.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    assert load_dataset(copy, 16, "pad", threads=1).summary["decoded"] == 0
    # A changed image, a new background, another fit: decoded again.
    Image.new("RGB", (30, 30), (1, 2, 3)).save(data / "img2.png")
    assert load_dataset(data, 16, "pad", threads=1).summary["decoded"] == 1
    assert load_dataset(data, 16, "pad", (0, 0, 0), threads=1).summary["decoded"] == 5
    assert load_dataset(data, 16, "crop", threads=1).summary["decoded"] == 5


def test_a_damaged_cache_entry_is_rebuilt(tmp_path):
    data = make_images(tmp_path / "data", count=2)
    first = load_dataset(data, 8, "crop", threads=1)
    for entry in (cache_root() / "datasets").glob("v1-r8-*/*/*.rgb"):
        entry.write_bytes(b"short")
    again = load_dataset(data, 8, "crop", threads=1)
    assert again.summary["decoded"] == 2 and torch.equal(again.train, first.train)


def test_pictures_over_the_memory_budget_are_skipped_before_decoding_and_the_rest_is_used(tmp_path, monkeypatch):
    data = make_images(tmp_path / "data", count=4)
    (data / "huge.png").write_bytes(lying_png(11000, 11000))  # under the pixel limit, 350 bytes on disk
    Image.new("RGB", (64, 64), (200, 40, 40)).save(data / "big.png")
    monkeypatch.setenv(BUDGET_ENV, "100k")  # 20 x 24 pictures fit, 64 x 64 does not
    ds = load_dataset(data, 16, "crop", threads=2)
    assert len(ds.train_files) == 4
    skipped = {os.path.basename(s.path): s for s in ds.skipped}
    assert sorted(skipped) == ["big.png", "huge.png"]
    assert {s.reason for s in skipped.values()} == {"over the memory budget"}
    assert skipped["huge.png"].detail == ("huge.png is 11000 x 11000; reading it needs about 6.8 GB, "
                                          f"the budget is 100 kB ({BUDGET_ENV})")
    assert skipped["big.png"].detail.startswith("big.png is 64 x 64; reading it needs about 229 kB")
    assert ds.summary["decoded"] == 4 and "2 over the memory budget" in ds.summary["summary"]


def test_should_stop_interrupts_the_scan(tmp_path):
    data = make_images(tmp_path / "data", count=4)
    with pytest.raises(ScanInterrupted):
        load_dataset(data, 8, should_stop=lambda: True)


def test_prepare_image_pad_composites_on_the_background_and_pads_to_square():
    rgba = np.zeros((8, 16, 4), np.uint8)
    rgba[..., 0] = 255  # red, but only the left half is opaque
    rgba[:, :8, 3] = 255
    out = prepare_image(rgba, 16, "pad")
    assert out.shape == (3, 16, 16) and out.dtype == np.uint8
    assert (out[:, 0, :] == 255).all() and (out[:, -1, :] == 255).all()  # white padding above and below
    assert tuple(out[:, 8, 2]) == (255, 0, 0)  # opaque red stays red
    assert tuple(out[:, 8, 13]) == (255, 255, 255)  # transparent becomes white
    black = prepare_image(rgba, 16, "pad", (0, 0, 0))
    assert tuple(black[:, 0, 0]) == (0, 0, 0) and tuple(black[:, 8, 13]) == (0, 0, 0)
    teal = prepare_image(rgba, 16, "pad", parse_background("#008080"))
    assert tuple(teal[:, 0, 0]) == (0, 128, 128)


def test_prepare_image_crop_keeps_the_centre_square():
    rgba = np.full((10, 30, 4), 255, np.uint8)
    rgba[:, :10, :3] = (255, 0, 0)  # left third red, centre white, right third blue
    rgba[:, 20:, :3] = (0, 0, 255)
    out = prepare_image(rgba, 8, "crop")
    assert (out == 255).all()  # only the white centre square is left, no padding


def test_prepare_image_auto_pads_cut_outs_and_crops_opaque_pictures():
    # A tall figure on transparency: padding keeps its head and feet.
    figure = np.zeros((30, 10, 4), np.uint8)
    figure[:, :, :3] = (200, 0, 0)
    figure[:, :, 3] = 255
    figure[0, 0, 3] = 0  # one transparent pixel makes it a cut-out
    out = prepare_image(figure, 12, "auto")
    assert np.array_equal(out, prepare_image(figure, 12, "pad"))
    assert tuple(out[:, 6, 0]) == (255, 255, 255)  # the side is padding
    assert out[0, 1, 6] > 150 and out[1, 1, 6] < 50  # the top row is still the red figure
    # The same picture fully opaque is a photo: its centre square, no padding.
    figure[0, 0, 3] = 255
    assert np.array_equal(prepare_image(figure, 12, "auto"), prepare_image(figure, 12, "crop"))


def test_holdout_is_five_percent_between_8_and_200_once_there_are_80_images():
    assert [holdout_count(n) for n in (1, 79, 80, 200, 1000, 3916, 10000)] == [0, 0, 8, 10, 50, 196, 200]


def test_held_out_images_are_split_off_by_content(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(80):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(data / f"{i:02d}.png")
    ds = load_dataset(data, 8, threads=1)
    assert ds.train.shape[0] == 72 and ds.held_out.shape[0] == 8
    assert not set(ds.train_files) & set(ds.held_out_files)
    (data / "00.png").rename(data / "zz.png")  # names do not decide the split
    assert sorted(os.path.basename(f) for f in load_dataset(data, 8, threads=1).held_out_files) == sorted(
        "zz.png" if os.path.basename(f) == "00.png" else os.path.basename(f) for f in ds.held_out_files)


def test_missing_empty_and_unusable_folders_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "missing", 16)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        list_files(tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    with pytest.raises(DataError) as info:
        load_dataset(empty, 16)
    assert "no usable images" in str(info.value) and "1 not an image" in str(info.value)
    with pytest.raises(DataError, match="#rrggbb"):
        parse_background("mauve")
