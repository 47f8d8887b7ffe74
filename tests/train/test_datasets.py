"""Emoji extraction from the real Noto Color Emoji font."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from studio.core.datasets import NOTO_EMOJI_PATH, DatasetError, extract_emoji


def test_missing_font_is_a_one_line_error(tmp_path):
    with pytest.raises(DatasetError) as info:
        extract_emoji(tmp_path / "out", font_path=tmp_path / "NoSuchFont.ttf")
    message = str(info.value)
    assert "\n" not in message and "apt-get install fonts-noto-color-emoji" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not NOTO_EMOJI_PATH.is_file(),
                    reason=f"{NOTO_EMOJI_PATH} not installed (apt-get install fonts-noto-color-emoji)")
def test_extracts_every_colour_emoji(tmp_path):
    calls = []
    count = extract_emoji(tmp_path, progress=lambda done, total: calls.append((done, total)))
    pngs = sorted(tmp_path.glob("*.png"))
    assert count == len(pngs) == 3926
    assert calls[-1] == (3926, 3926)
    with Image.open(tmp_path / "u1F600.png") as grinning:  # 😀 U+1F600
        assert grinning.format == "PNG" and grinning.mode in ("RGBA", "P") and min(grinning.size) >= 100
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["images"] == 3926 and "Open Font License" in info["licence"]
    assert not list(tmp_path.glob(".*"))  # no atomic-write leftovers
