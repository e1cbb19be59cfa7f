"""Errors of the history database that the person at the keyboard can act on.

`db/` depends on nothing of `coach/`; the command line and the API treat a `DatabaseError` like any other
user-facing error (one sentence, no traceback).
"""

from __future__ import annotations


class DatabaseError(Exception):
    """A problem with the history the user can fix (unreadable file, bad value, unknown record)."""


class NotFound(DatabaseError):
    """A session, patient or other record that is not in the database."""


class DatabaseUnwritable(DatabaseError):
    """The history cannot take a change: its file, folder or server is read-only, or its disk is full."""
