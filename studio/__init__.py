"""Latent Studio: a canvas for generators you train yourself."""

__version__ = "0.1.0"
