"""Checking the generator's arguments: a bad option raises `ValueError` naming what was expected."""

from __future__ import annotations


def check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)
