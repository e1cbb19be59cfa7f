"""User-facing errors.

A `CoachError` carries one clear sentence for the person at the keyboard; the CLI prints it and exits
non-zero without a traceback. Programming errors are not `CoachError`s and keep their traceback.
"""

from __future__ import annotations

from db.errors import DatabaseError


class CoachError(Exception):
    """A problem the user can fix (bad file, bad argument, missing model)."""


class SourceError(CoachError):
    """A video, camera, image or recording that cannot be opened or read."""


class ModelError(CoachError):
    """No usable pose model could be found or built."""


class DefinitionError(CoachError):
    """An exercise definition that does not load or validate."""


#: Errors that reach the user as one sentence: coach's own and the history database's.
USER_ERRORS: tuple[type[Exception], ...] = (CoachError, DatabaseError)
