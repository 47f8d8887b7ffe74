"""Bad command-line values, drawn with a seeded random.Random, and the call
that carries one of them."""

from __future__ import annotations

import random
from typing import Callable

# Refused wherever a number is wanted, whatever its range.
NOT_NUMBERS = ("", " ", "abc", "1,5", "0.5.5", "one", "--", "½", "0x10", "7 8")


def bad_whole(rng: random.Random, low: int, high: int) -> str:
    """Text that is not a whole number from `low` to `high`."""
    return rng.choice(NOT_NUMBERS + (str(low - 1), str(low - 10 ** 6), str(high + 1), str(high * 1000 + 7),
                                     str(2 ** 70), "1.5", "1e3", "nan", "inf"))


def bad_number(rng: random.Random, low: float, high: float) -> str:
    """Text that is not a finite number from `low` to `high`."""
    return rng.choice(NOT_NUMBERS + ("nan", "inf", "-inf", "1e999", str(low - 0.5), str(high + 0.5),
                                     str(high * 1e6 + 1)))


def call(command: list[str], arguments: dict[str, str | bool | None]) -> list[str]:
    """argv: `command`, then `arguments` in their order. Keys without a
    leading '-' are positional; True is a flag without a value; None leaves
    the argument out."""
    argv = list(command)
    for name, given in arguments.items():
        if given is None:
            continue
        if not name.startswith("-"):
            argv.append(given)
        else:
            argv += [name] if given is True else [name, given]
    return argv


def mutated(rng: random.Random, command: list[str], good: dict[str, str | bool],
            bad: dict[str, Callable[[], str | bool | None]]) -> tuple[str, list[str]]:
    """(label, argv): the good call with one argument drawn from `bad`
    instead: a bad value, None to leave it out, or a flag the command does
    not have."""
    key = rng.choice(sorted(bad))
    value = bad[key]()
    shown = "left out" if value is None else repr(value)[:100]
    return f"{key} {shown}", call(command, {**good, key: value})
