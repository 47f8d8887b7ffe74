"""What image decoders say besides raising, kept off the user's screen.

Pillow warns about damaged files ("Possibly corrupt EXIF data", "Tag data
larger than file") and about pictures over its decompression-bomb threshold;
libtiff, inside Pillow, prints its own warnings and errors straight onto the
process's stderr from C ("LZWDecode: Using code not yet in table."), before
the one `error:` line the CLI owes the user. Neither adds anything to the
error our readers raise (imageio.ImageError, layered_archive.ProjectError):
it says in one line that the file is damaged, and our pixel limit
(imageio.DEFAULT_MAX_PIXELS, checked from the header before decoding) is the
one that decides about big pictures.

Both are silenced once per process, when imageio is imported, not around each
read: warnings.catch_warnings swaps the process-wide filter list on entry and
back on exit, so two threads reading at once (the trainer's scan) restore each
other's list, and a warning slips out or a filter stays behind for good.
"""

from __future__ import annotations

import ctypes
import warnings

from PIL import Image


def silence_decoder_warnings() -> None:
    """Install the filters and libtiff's silent handlers (idempotent: an equal
    filter replaces itself)."""
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    # Pillow reports damaged input as plain UserWarnings from its own modules;
    # its deprecations (DeprecationWarning) stay visible to developers.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
    _silence_libtiff()


def _silence_libtiff() -> None:
    # Pillow's _imaging links libtiff, so its symbols resolve through that
    # library's handle. Where libtiff is linked in without exporting them
    # (Windows wheels) there is nothing to reach, and nothing to do.
    from PIL import _imaging

    try:
        library = ctypes.CDLL(_imaging.__file__)
        setters = (library.TIFFSetErrorHandler, library.TIFFSetWarningHandler)
    except (OSError, AttributeError):
        return
    # Pillow mutes the warning handler itself, but only once it decodes, and
    # leaves the error handler printing; without a handler libtiff prints
    # nothing, and Pillow still sees the failure and raises.
    for set_handler in setters:
        set_handler.restype = ctypes.c_void_p
        set_handler.argtypes = [ctypes.c_void_p]
        set_handler(None)
