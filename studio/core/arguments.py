"""Command-line parsing with one-line errors, for the `studio` command and the
trainer process alike (argparse's own error is usage text plus a message)."""

from __future__ import annotations

import argparse


class ArgumentError(Exception):
    """A bad command line; str() is the one line to print after `error: `."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ArgumentError(f"{message} (see: {self.prog} --help)")
