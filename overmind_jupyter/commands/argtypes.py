"""Argument types of the shared grammar: numbers that must be above zero (argparse then
answers a usage error naming the option)."""

from __future__ import annotations

import argparse


def positive_float(text: str) -> float:
    """A number above 0 (seconds, USD …).

    Raises:
        ValueError / argparse.ArgumentTypeError: not a number, or not above 0.
    """
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number above 0 (tokens …).

    Raises:
        ValueError / argparse.ArgumentTypeError: not a whole number, or not above 0.
    """
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value
