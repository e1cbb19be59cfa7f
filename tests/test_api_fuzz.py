"""Property-based fuzzing of the HTTP API from its OpenAPI schema (schemathesis): no input may cause a 5xx.

Bounded and fast: a fixed number of generated examples per operation (``FUZZ_EXAMPLES``, default 25),
sent with a therapist's token, then half as many with a patient's, so the generated requests reach the
handlers (and the role checks), not just the 401.
Set ``COACH_FUZZ_EXAMPLES=500`` for a longer run.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("COACH_FUZZ_EXAMPLES", "25"))
TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from coach.engine.events import RepRecord
    from coach.app.session_recorder import SessionRecorder

    db_path = tmp_path_factory.mktemp("fuzz") / "coach.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        TOKENS["therapist"] = issue_token(s, add_user(s, "dr", "therapist"))
        TOKENS["patient"] = issue_token(s, add_user(s, "ana", "patient", "dr"))
    with SessionRecorder(sm, "ana", "squat", "h" * 64, "1", "clip.mp4") as rec:
        rec.start_set(1)
        rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0))
    close_database(sm)
    app = create_app(db_path, max_upload_mb=1)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.jobs.shutdown()


@pytest.mark.parametrize("role", ["therapist", "patient"])
def test_no_input_causes_a_server_error(fuzz_app, role):
    """Every operation of the schema, FUZZ_EXAMPLES generated requests each (a hypothesis test per
    operation; the pytest plugin's fixture loader does not work with this pytest)."""
    from hypothesis import given

    operations = [r.ok() for r in fuzz_app.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES if role == "therapist" else max(1, FUZZ_EXAMPLES // 2),
                  deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {TOKENS[role]}"})
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

        try:
            run()
        except Exception as exc:  # an assertion (5xx) or an exception the server raised
            failures.append(f"{op.method.upper()} {op.path}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)
