"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pose_model() -> Path:
    """The real full pose model, from the real user cache (built offline there at most once per machine).

    The only fixture that touches the user's cache; tests of provisioning itself (test_models.py) use a
    temporary COACH_CACHE_DIR.
    """
    from coach.models import resolve_model

    return resolve_model("full", allow_download=False, progress=False).path
