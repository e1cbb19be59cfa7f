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
    from coach.pose.models import resolve_model

    return resolve_model("full", allow_download=False, progress=False).path


#: ../shared/data beside the project: real footage, read only, may be absent (CI on a bare clone).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared footage folder; tests using it skip cleanly when it is absent."""
    if not (SHARED_DATA / "videos").is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
