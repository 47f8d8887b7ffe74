"""Latent Studio: a canvas for generators you train yourself."""

__version__ = "0.1.0"
# The AppStream component id: the desktop entry, icons, metainfo and MIME type
# are named after it (cli_desktop.py), and the window tells the desktop so.
APP_ID = "io.github.latentstudio.latentstudio"
