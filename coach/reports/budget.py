"""A time budget for making a report: the server gives each render a deadline and a stop signal, and the
report code checks them between its steps (each exercise, each chart, the page, the PDF), so a render
never outlives the budget by more than one step and a stopping server is not held up by one.

Outside a budget (``coach report`` on the command line) the checks do nothing.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from coach.errors import CoachError


class RenderStopped(CoachError):
    """A render ran out of its time budget, or the server is stopping (the API answers 503)."""


class _Budget:
    def __init__(self, seconds: float, stop: threading.Event | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.stop = stop

    def check(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise RenderStopped("the server is shutting down; ask for the report again in a minute")
        if time.monotonic() > self.deadline:
            raise RenderStopped(f"the report took more than {self.seconds:g} s to make; ask for a shorter period")


_current: ContextVar[_Budget | None] = ContextVar("coach_render_budget", default=None)


@contextmanager
def render_budget(seconds: float, stop: threading.Event | None = None) -> Iterator[None]:
    """Within the block, :func:`checkpoint` raises :class:`RenderStopped` once ``seconds`` have passed or
    ``stop`` is set. Applies to the calling thread (a context variable)."""
    token = _current.set(_Budget(seconds, stop))
    try:
        yield
    finally:
        _current.reset(token)


def checkpoint() -> None:
    """Raise :class:`RenderStopped` if the current render's budget is spent or it must stop."""
    budget = _current.get()
    if budget is not None:
        budget.check()
