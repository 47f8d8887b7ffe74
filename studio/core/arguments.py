"""Command-line parsing with one-line errors, for the `studio` command and the
trainer process alike (argparse's own error is usage text plus a message)."""

from __future__ import annotations

import argparse


class ArgumentError(Exception):
    """A bad command line; str() is the one line to print after `error: `."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ArgumentError(f"{message} (see: {self.prog} --help)")


def path_name(text: str) -> str:
    """An argparse type: the name of a file or folder. An empty one (what an
    unset shell variable gives) would otherwise mean the working folder, and
    a command would write its files there."""
    if not text:
        raise argparse.ArgumentTypeError("an empty name is no file or folder")
    return text


def whole(low: int, high: int):
    """An argparse type: a whole number from `low` to `high`."""
    return _ranged(int, "a whole number", low, high)


def number(low: float, high: float):
    """An argparse type: a finite number from `low` to `high`."""
    return _ranged(float, "a number", low, high)


def _ranged(cast, kind: str, low, high):
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {kind}") from None
        if not low <= value <= high:  # also refuses nan; inf is past any high
            raise argparse.ArgumentTypeError(f"{value} is not from {low:g} to {high:,}")
        return value
    return parse
