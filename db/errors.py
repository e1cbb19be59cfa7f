"""The error the query modules raise for an unknown id or name."""

from __future__ import annotations

from coach.errors import CoachError


class NotFound(CoachError):
    """A session, patient or other record that is not in the database."""
