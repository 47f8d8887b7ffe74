"""Animations: written whole or not at all, readable by other tools, recipe inside."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from studio.core.animation import MP4_MIN_SIDE, frame_delays, mp4_frame, save_animation
from studio.core.imageio import ImageError
from studio.core.recipe import FORMAT, encode_latent, read_recipe
from studio.core.latent import latent_from_seed

RECIPE = {"model": {"name": "emoji64", "sha256": "ab" * 32}, "fps": 24,
          "keyframes": [encode_latent(latent_from_seed(s, 128)) for s in (1, 2, 3)], "loop": True}


def _frames(n: int = 12, h: int = 64, w: int = 64) -> np.ndarray:
    """Distinct frames (a bar moving across a gradient), so no encoder merges any."""
    y, x = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        frames[i, ..., 0] = (x * 255 // max(w - 1, 1)).astype(np.uint8)
        frames[i, ..., 1] = (y * 255 // max(h - 1, 1)).astype(np.uint8)
        frames[i, ..., 2] = 60
        frames[i, :, (i * w // n): (i * w // n) + 3] = (255, 255, 255)
    return frames


def _only(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".mp4"])
def test_animation_files_hold_every_frame_and_the_recipe(tmp_path, suffix):
    frames = _frames(12)
    path = tmp_path / f"walk{suffix}"
    seen = []

    assert save_animation(path, frames, fps=12, recipe=RECIPE, progress=lambda d, t: seen.append((d, t))) is True

    back = iio.imread(path, index=...)
    side = MP4_MIN_SIDE if suffix == ".mp4" else 64
    assert back.shape[:3] == (12, side, side)
    assert read_recipe(path) == {"format": FORMAT, **RECIPE}
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert _only(tmp_path) == [f"walk{suffix}"]  # no temporaries left


def test_gif_and_webp_loop_forever_and_keep_time(tmp_path):
    frames = _frames(24)
    save_animation(tmp_path / "a.gif", frames, fps=24)
    save_animation(tmp_path / "a.webp", frames, fps=24)
    for name in ("a.gif", "a.webp"):
        with Image.open(tmp_path / name) as im:
            assert im.info.get("loop") == 0
            durations = []
            for i in range(im.n_frames):
                im.seek(i)
                im.load()  # WebP fills in the duration only once the frame is decoded
                durations.append(im.info["duration"])
        assert abs(sum(durations) - 1000) <= 10, (name, durations)  # 24 frames at 24 fps = 1 s


def test_gif_pixels_survive(tmp_path):
    frames = _frames(4)
    save_animation(tmp_path / "a.gif", frames, fps=10)
    back = iio.imread(tmp_path / "a.gif", index=...)
    assert np.abs(back.astype(int) - frames).mean() < 3


def test_mp4_small_frames_are_enlarged_crisply_and_odd_sizes_padded():
    small = _frames(1, 64, 64)[0]
    big = mp4_frame(small)
    assert big.shape == (256, 256, 3)
    assert (big[::4, ::4] == small).all() and (big[1::4, 2::4] == small).all()  # exact 4x4 blocks

    odd = _frames(1, 301, 257)[0]
    padded = mp4_frame(odd)
    assert padded.shape == (302, 258, 3) and (padded[:301, :257] == odd).all()

    tiny = _frames(1, 17, 33)[0]
    assert mp4_frame(tiny).shape == (17 * 16, 33 * 16, 3)  # short side 17 -> x16 = 272 >= 256


def test_mp4_of_odd_size_is_playable(tmp_path):
    path = tmp_path / "odd.mp4"
    save_animation(path, _frames(5, 270, 301), fps=30)
    back = iio.imread(path, index=...)
    assert back.shape == (5, 270, 302, 3)


def test_frame_folder(tmp_path):
    frames = _frames(6)
    target = tmp_path / "frames"

    assert save_animation(target, frames, fps=8, recipe=RECIPE)

    names = sorted(p.name for p in target.iterdir())
    assert names == [f"frame_{i:04d}.png" for i in range(6)] + ["recipe.json"]
    assert (np.asarray(Image.open(target / "frame_0003.png")) == frames[3]).all()
    assert json.loads((target / "recipe.json").read_text())["format"] == FORMAT
    assert read_recipe(target) == {"format": FORMAT, **RECIPE}
    assert _only(tmp_path) == ["frames"]


def test_frame_folder_replaces_an_old_export_but_not_other_files(tmp_path):
    target = tmp_path / "frames"
    save_animation(target, _frames(8), fps=8, recipe=RECIPE)
    save_animation(target, _frames(3), fps=8)  # fewer frames, no recipe: nothing stale may remain
    assert sorted(p.name for p in target.iterdir()) == [f"frame_{i:04d}.png" for i in range(3)]
    assert _only(tmp_path) == ["frames"]

    (target / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(ImageError, match="other files") as caught:
        save_animation(target, _frames(2), fps=8)
    assert "\n" not in str(caught.value)
    assert (target / "holiday.jpg").read_bytes() == b"precious"
    assert _only(tmp_path) == ["frames"]


@pytest.mark.parametrize("name", ["c.gif", "c.webp", "c.mp4", "c_frames"])
def test_cancel_leaves_the_old_file_and_no_temporaries(tmp_path, name):
    path = tmp_path / name
    save_animation(path, _frames(4), fps=8)
    before = sorted(p.read_bytes() for p in path.iterdir()) if path.is_dir() else path.read_bytes()
    polls = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 3

    assert save_animation(path, _frames(10), fps=8, cancelled=cancelled) is False

    after = sorted(p.read_bytes() for p in path.iterdir()) if path.is_dir() else path.read_bytes()
    assert after == before
    assert _only(tmp_path) == [name]


def test_bad_arguments(tmp_path):
    with pytest.raises(ImageError, match="unknown animation type"):
        save_animation(tmp_path / "a.avi", _frames(2))
    with pytest.raises(ValueError):
        save_animation(tmp_path / "a.gif", _frames(2)[..., :2])
    with pytest.raises(ValueError):
        save_animation(tmp_path / "a.gif", _frames(2).astype(np.float32))
    with pytest.raises(ValueError):
        save_animation(tmp_path / "a.gif", _frames(2), fps=0)
    assert not list(tmp_path.iterdir())


def test_frame_delays_keep_the_average_rate():
    delays = frame_delays(24, 24, tick_ms=10)
    assert set(delays) <= {40, 50} and sum(delays) == 1000
    assert sum(frame_delays(100, 30, tick_ms=1)) == 3333
    assert frame_delays(3, 1000, tick_ms=10) == [10, 10, 10]  # never 0


def test_mp4_colours_survive_yuv_and_back(tmp_path):
    # Guards the BT.709 conversion and tagging: a mismatched matrix shifts these by 10+ levels.
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    frames[:, :, :32] = (200, 30, 30)
    frames[:, :, 32:] = (30, 160, 220)
    save_animation(tmp_path / "colour.mp4", frames, fps=10)
    back = iio.imread(tmp_path / "colour.mp4", index=...).astype(int)
    assert np.abs(back[1, 128, 64] - (200, 30, 30)).max() <= 6, back[1, 128, 64]
    assert np.abs(back[1, 128, 192] - (30, 160, 220)).max() <= 6, back[1, 128, 192]
