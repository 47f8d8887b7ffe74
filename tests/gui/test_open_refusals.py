"""Opening a picture or a project too big for the memory there is ends in the
usual one-line message box, decided from the headers on the worker, before
anything is decoded."""

from __future__ import annotations

from hostile_factory import lying_jpeg, write_lying_project
from studio.core.memory_budget import BUDGET_ENV


def test_a_picture_or_project_too_big_for_memory_is_one_message_box_line(qtbot, window, tmp_path, message_boxes,
                                                                         monkeypatch):
    (tmp_path / "wide.jpg").write_bytes(lying_jpeg(60000, 2000))
    write_lying_project(tmp_path / "big.studio", 8192, 32)
    monkeypatch.setenv(BUDGET_ENV, "4G")
    picture_line = f"wide.jpg is 60000 x 2000; opening it needs about 4.9 GB, the budget is 4.0 GB ({BUDGET_ENV})"
    window.open_file(tmp_path / "wide.jpg")
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    assert message_boxes.pop() == ("Open Image", picture_line)
    window.files.load_image_layer(tmp_path / "wide.jpg")  # dropped on a window as a layer
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    assert message_boxes.pop() == ("Add Layer", picture_line)
    window.open_file(tmp_path / "big.studio")
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    assert message_boxes.pop() == ("Open", "cannot open big.studio: it holds 32 layers of 8192 x 8192; opening it "
                                           f"needs about 9.6 GB, the budget is 4.0 GB ({BUDGET_ENV})")
    assert window.files.document is None
