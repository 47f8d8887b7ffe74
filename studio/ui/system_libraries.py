"""The system libraries Qt's xcb platform plugin loads, checked before Qt is.

Since PySide6 6.5 the xcb plugin needs libxcb-cursor0, which many Debian and
Ubuntu desktops lack; without it (or icccm, keysyms, ...) Qt aborts with "Could
not load the Qt platform plugin xcb" and a page of advice. We load each
library ourselves first and name the packages that would provide the missing
ones. No Qt import here: this runs before Qt is loaded.
"""

from __future__ import annotations

import ctypes
import os
import sys

# soname -> the Debian/Ubuntu package that provides it (libqxcb.so's own dependencies)
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def uses_xcb() -> bool:
    """Whether Qt will start its xcb plugin here: Linux/BSD on an X server,
    unless another platform is chosen or a Wayland session is running."""
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        return False
    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0] == "xcb"
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def missing_packages(libraries: dict[str, str] = XCB_LIBRARIES) -> list[str]:
    """The packages whose libraries cannot be loaded, in the table's order."""
    missing = []
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(package)
    return missing


def xcb_problem(libraries: dict[str, str] = XCB_LIBRARIES) -> str | None:
    """One line naming what Qt's xcb plugin lacks and how to install it, or None."""
    missing = missing_packages(libraries) if uses_xcb() else []
    if not missing:
        return None
    return (f"Qt cannot open a window: its xcb platform needs {', '.join(missing)}; "
            f"install with: sudo apt install {' '.join(missing)} (Debian/Ubuntu)")
