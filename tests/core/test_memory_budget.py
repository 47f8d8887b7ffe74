"""The memory budget: where it comes from, the one line that refuses a job,
the budget the trainer's decoding threads share, and the readers (pictures,
.studio, .ora) that refuse a file from its header before decoding anything."""

from __future__ import annotations

import sys
import threading
import zipfile

import numpy as np
import pytest

from hostile_factory import lying_jpeg, lying_png, write_lying_openraster, write_lying_project
from layered_factory import layered_document
from studio.core.imageio import ImageError, image_size, load_image, save_image
from studio.core.layered_files import read_layered, write_layered
from studio.core.memory_budget import (
    BUDGET_ENV,
    Budget,
    MemoryBudgetError,
    SharedBudget,
    available_memory,
    current_budget,
    format_bytes,
    picture_subject,
)
from studio.core.project import ProjectError, capture_project


@pytest.fixture(autouse=True)
def no_budget_set(monkeypatch):
    """The machine's own budget unless a test sets one."""
    monkeypatch.delenv(BUDGET_ENV, raising=False)


def test_the_budget_is_the_free_memory_unless_the_environment_sets_it(monkeypatch):
    free = current_budget()
    assert not free.from_env and free.bytes == pytest.approx(available_memory(), rel=0.2)
    if sys.platform.startswith("linux"):
        total = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
        assert 0 < free.bytes <= total
    for text, expected in [("4G", 4 * 10**9), ("512M", 512 * 10**6), ("1.5GB", 1_500_000_000),
                           ("2GiB", 2 * 2**30), ("1000", 1000)]:
        monkeypatch.setenv(BUDGET_ENV, text)
        assert current_budget() == Budget(expected, from_env=True)
    monkeypatch.setenv(BUDGET_ENV, "lots")
    with pytest.raises(MemoryBudgetError, match=f"^{BUDGET_ENV} must be a size such as 4G"):
        current_budget()


def test_a_refusal_is_one_line_with_both_numbers_and_the_hint():
    subject = picture_subject("IMG", 60000, 2000)
    line = Budget(5_100_000_000).refusal(subject, "styling it", 9_600_000_000, "try --max-size 4096")
    assert line == "IMG is 60000 x 2000; styling it needs about 9.6 GB, 5.1 GB are free; try --max-size 4096"
    forced = Budget(10**9, from_env=True)
    assert forced.refusal(subject, "decoding it", 2_880_000_000) == \
        f"IMG is 60000 x 2000; decoding it needs about 2.9 GB, the budget is 1.0 GB ({BUDGET_ENV})"
    forced.check(subject, "decoding it", 10**9)  # exactly the budget fits
    with pytest.raises(MemoryBudgetError) as caught:
        forced.check(subject, "decoding it", 10**9 + 1)
    assert "\n" not in str(caught.value)


def test_bytes_read_in_decimal_units():
    assert [format_bytes(n) for n in (980, 1000, 51_200, 734_003_200, 9_600_000_000, 123_400_000_000)] == \
        ["980 bytes", "1.0 kB", "51.2 kB", "734 MB", "9.6 GB", "123 GB"]


def test_largest_side_is_the_biggest_step_that_fits():
    budget = Budget(10_000)
    assert budget.largest_side(1000, 500, lambda side: side * side) == 64  # 100 px fit; steps of 64
    assert Budget(1_000_000).largest_side(1000, 500, lambda side: side * side) == 960  # below the picture's
    assert Budget(100).largest_side(1000, 500, lambda side: side * side) is None


def test_threads_sharing_a_budget_wait_for_room_and_a_lone_job_always_runs():
    shared = SharedBudget(Budget(100))
    events = []

    def second() -> None:
        with shared.hold(60):
            events.append("second runs")

    with shared.hold(60):
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and events == []  # 60 + 60 > 100: it waits
        events.append("first done")
    waiting.join(10)
    assert events == ["first done", "second runs"]
    with shared.hold(40), shared.hold(40):  # both fit at once: no wait
        pass
    with shared.hold(500):  # alone it runs; refusing it is the caller's (budget.allows)
        assert not shared.budget.allows(500)


def test_a_picture_that_lies_about_its_size_is_refused_before_decoding(tmp_path, monkeypatch):
    (tmp_path / "wide.png").write_bytes(lying_png(60000, 2000))
    (tmp_path / "wide.jpg").write_bytes(lying_jpeg(60000, 2000))
    monkeypatch.setenv(BUDGET_ENV, "1G")
    for name in ("wide.png", "wide.jpg"):
        with pytest.raises(ImageError) as caught:
            load_image(tmp_path / name)
        assert str(caught.value) == (f"{name} is 60000 x 2000; decoding it needs about 2.9 GB, "
                                     f"the budget is 1.0 GB ({BUDGET_ENV})")
        assert image_size(tmp_path / name) == (60000, 2000)  # reading the header alone is never refused


def test_an_ordinary_picture_is_refused_under_a_small_budget(tmp_path, monkeypatch):
    save_image(tmp_path / "photo.png", np.full((64, 96, 3), 120, np.uint8))
    monkeypatch.setenv(BUDGET_ENV, "100k")
    with pytest.raises(ImageError, match=r"^photo.png is 96 x 64; decoding it needs about 147 kB, "
                                         r"the budget is 100 kB"):
        load_image(tmp_path / "photo.png")
    monkeypatch.setenv(BUDGET_ENV, "200k")
    assert load_image(tmp_path / "photo.png").shape == (64, 96, 4)


@pytest.mark.parametrize("write", [write_lying_project, write_lying_openraster], ids=["studio", "ora"])
def test_a_layered_file_listing_one_big_png_as_32_layers_is_refused_from_its_headers(tmp_path, monkeypatch,
                                                                                      write):
    path = write(tmp_path / f"big.{'studio' if write is write_lying_project else 'ora'}", 8192, 32)
    monkeypatch.setenv(BUDGET_ENV, "4G")
    with pytest.raises(ProjectError) as caught:
        read_layered(path)
    assert str(caught.value) == (f"cannot open {path.name}: it holds 32 layers of 8192 x 8192; opening it needs "
                                 f"about 9.6 GB, the budget is 4.0 GB ({BUDGET_ENV})")


@pytest.mark.parametrize("suffix", [".studio", ".ora"])
def test_an_ordinary_layered_file_is_refused_under_a_small_budget_and_opens_within_it(tmp_path, monkeypatch,
                                                                                     suffix):
    doc = layered_document()
    path = tmp_path / f"work{suffix}"
    write_layered(capture_project(doc), path)
    monkeypatch.setenv(BUDGET_ENV, "20k")
    with pytest.raises(ProjectError, match=rf"^cannot open work{suffix}: it holds \d layers of 40 x 30; opening it "
                                           r"needs about \d+\.\d kB, the budget is 20.0 kB"):
        read_layered(path)
    monkeypatch.setenv(BUDGET_ENV, "1M")
    opened, _ = read_layered(path)
    assert len(opened.layers) == len(doc.layers)


def test_an_openraster_layer_stored_bigger_than_its_canvas_is_refused_from_its_header(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "odd.ora", "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", '<image w="100" h="100"><stack><layer src="data/big.png"/></stack></image>')
        zf.writestr("data/big.png", lying_png(11000, 11000, colour_type=6))
    monkeypatch.setenv(BUDGET_ENV, "1G")
    with pytest.raises(ProjectError) as caught:
        read_layered(tmp_path / "odd.ora")
    assert str(caught.value) == ("cannot open odd.ora: it holds 1 layer of 100 x 100, one stored as 11000 x 11000; "
                                 f"opening it needs about 1.8 GB, the budget is 1.0 GB ({BUDGET_ENV})")
