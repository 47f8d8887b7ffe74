"""The inference device chosen in the app: applied at once, remembered, and
overridden by STUDIO_DEVICE or --device."""

from __future__ import annotations

import pytest

from studio.engine import runtime
from studio.ui.app import create_window
from studio.ui.preferences import saved_device


def test_choosing_a_device_applies_now_and_is_remembered(qtbot, window, wait_frame, monkeypatch, tiny_generator_dir):
    window.panel.add_keyframe(3)
    before = wait_frame(window)
    window.set_device("cpu")
    assert saved_device() == "cpu" and window.runtime.requested == "cpu"
    assert window.generators.runtime is window.runtime
    window.panel.request_frame()
    assert (wait_frame(window) == before).all()  # same pixels from the new session

    monkeypatch.delenv("STUDIO_DEVICE", raising=False)
    again = create_window(model_folders=[tiny_generator_dir])
    qtbot.addWidget(again)
    assert again.runtime.requested == "cpu" and again.device_actions["cpu"].isChecked()
    again.close()


@pytest.mark.skipif(runtime.accelerator_status("cuda").usable, reason="this machine has a usable GPU")
def test_asking_for_cuda_without_a_gpu_says_so_and_keeps_working(qtbot, window, wait_frame):
    window.set_device("cuda")
    assert window.runtime.device == "cpu"
    assert window.notice_label.isVisibleTo(window) and "running on CPU" in window.notice_label.text()
    window.panel.add_keyframe(5)
    assert wait_frame(window) is not None


@pytest.mark.skipif(runtime.accelerator_status("cuda").usable, reason="this machine has a usable GPU")
def test_under_auto_a_cpu_machine_shows_no_notice(qtbot, window, wait_frame):
    window.set_device("auto")
    window.panel.add_keyframe(5)
    assert wait_frame(window) is not None
    assert not window.notice_label.isVisibleTo(window) and window.device_label.text()


def test_the_environment_beats_the_saved_preference(qtbot, monkeypatch, tiny_generator_dir):
    from studio.ui.preferences import save_device

    save_device("cuda")
    monkeypatch.setenv("STUDIO_DEVICE", "cpu")
    win = create_window(model_folders=[tiny_generator_dir])
    qtbot.addWidget(win)
    assert win.runtime.requested == "cpu"
    win.close()
