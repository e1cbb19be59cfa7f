"""The HTTP API (FastAPI): patients, prescriptions, sessions, reports, the exercise library, video
analysis jobs and live coaching over a WebSocket, with a small web page. ``create_app`` builds it.

``coach.api.users`` (accounts and tokens) needs no web framework; the CLI's ``users`` command uses it.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    """See :func:`coach.api.app.create_app`."""
    from coach.api.app import create_app as _create

    return _create(*args, **kwargs)
