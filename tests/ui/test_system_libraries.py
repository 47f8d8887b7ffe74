"""Qt's xcb plugin's system libraries, loaded for real before Qt is (issue 16)."""

import pytest

from studio.ui import system_libraries
from studio.ui.system_libraries import XCB_LIBRARIES, missing_packages, uses_xcb, xcb_problem

ABSENT = {"libxcb-cursor.so.0": "libxcb-cursor0", "libstudio-not-a-library.so.7": "libstudio-absent7"}


@pytest.mark.parametrize("environment, expected", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({"QT_QPA_PLATFORM": "xcb:nomousewarp"}, True),
    ({}, False),
])
def test_xcb_is_expected_only_on_an_x_server(monkeypatch, environment, expected):
    monkeypatch.setattr(system_libraries.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert uses_xcb() is expected


def test_a_library_that_does_not_load_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setattr(system_libraries, "uses_xcb", lambda: True)
    # A soname no machine has is really tried by the loader and really fails.
    assert "libstudio-absent7" in missing_packages(ABSENT)
    line = xcb_problem(ABSENT)
    assert "\n" not in line and "libstudio-absent7" in line and "sudo apt install" in line
    assert xcb_problem({}) is None


def test_the_xcb_libraries_load_on_a_machine_that_has_them(monkeypatch):
    have = {k: v for k, v in XCB_LIBRARIES.items() if not missing_packages({k: v})}
    if not have:
        pytest.skip("none of the xcb libraries is installed here")
    monkeypatch.setattr(system_libraries, "uses_xcb", lambda: True)
    assert xcb_problem(have) is None


def test_the_app_and_doctor_say_it_in_one_line_before_qt_starts(monkeypatch, capsys):
    from studio.cli import main
    from studio.ui.app import run

    monkeypatch.setattr(system_libraries.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setitem(XCB_LIBRARIES, "libstudio-not-a-library.so.7", "libstudio-absent7")
    assert run() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: Qt cannot open a window") and "libstudio-absent7" in err[0]
    assert main(["doctor"]) == 1
    assert "problem:   Qt cannot open a window" in capsys.readouterr().out
