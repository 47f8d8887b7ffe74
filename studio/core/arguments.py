"""Command-line parsing with one-line errors, for the `studio` command and the
trainer process alike (argparse's own error is usage text plus a message)."""

from __future__ import annotations

import argparse


class ArgumentError(Exception):
    """A bad command line; str() is the one line to print after `error: `."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ArgumentError(f"{message} (see: {self.prog} --help)")


def whole(low: int, high: int):
    """An argparse type: a whole number from `low` to `high`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high:,}")
        return value
    return parse


def number(low: float, high: float):
    """An argparse type: a finite number from `low` to `high`."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not low <= value <= high:  # also refuses nan; inf is past any high
            raise argparse.ArgumentTypeError(f"{value} is not from {low:g} to {high:g}")
        return value
    return parse
