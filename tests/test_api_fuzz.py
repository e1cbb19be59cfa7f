"""Property-based fuzzing of the HTTP API from its OpenAPI schema (schemathesis): every answer must fit the
schema, and none may be a 5xx.

Bounded: per operation and role, ``FUZZ_EXAMPLES`` (default 25) requests that fit the schema, as many that
do not, and as many that fit with the path naming a real patient, session or prescription (so they reach
the handlers, not only the 404); sent with a therapist's token, then with a patient's. Every schemathesis
check runs on every answer (``Case.call_and_validate``: no server error, status code documented, body and
headers as the schema says, content type, a request that does not fit refused, one that fits accepted...).
The one setting is in ``schemathesis.toml`` at the top of the project (which ``st run`` reads too): a
request that fits the schema may be refused with 422 when it breaks a rule the schema cannot state (an
unknown exercise id, ``to`` before ``from``, a date outside 2000-2099, a name that is not printable).
Set ``COACH_FUZZ_EXAMPLES=300`` for a longer run; ``-s`` prints the case counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("COACH_FUZZ_EXAMPLES", "25"))
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"
TOKENS: dict[str, str] = {}
#: Path parameters that name things that exist (filled in by the fixture).
REAL: dict[str, object] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from coach.app.prescriptions import assign
    from coach.app.session_recorder import SessionRecorder
    from coach.engine.events import RepRecord

    db_path = tmp_path_factory.mktemp("fuzz") / "coach.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        TOKENS["therapist"] = issue_token(s, add_user(s, "dr", "therapist"))
        TOKENS["patient"] = issue_token(s, add_user(s, "ana", "patient", "dr"))
        REAL["prescription_id"] = assign(s, "ana", "squat", reps=10, sets=3, per_week=3)[0].id
    with SessionRecorder(sm, "ana", "squat", "h" * 64, "1", "clip.mp4") as rec:
        rec.start_set(1)
        rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0))
        REAL["session_id"] = rec.session_id
    close_database(sm)
    REAL.update(name="ana", exercise_id="squat")
    app = create_app(db_path, max_upload_mb=1)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_path(CONFIG))
    app.state.jobs.shutdown()


def _strategies(op, role: str):
    """(label, strategy): schema-valid, schema-invalid, and schema-valid on things that exist; each with
    the role's token."""
    auth = {"Authorization": f"Bearer {TOKENS[role]}"}
    out = [("valid", op.as_strategy(headers=auth)),
           ("invalid", op.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=auth))]
    names = {p.name for p in op.path_parameters}
    if names and names <= set(REAL):
        out.append(("existing", op.as_strategy(headers=auth, path_parameters={n: REAL[n] for n in names})))
    return out


@pytest.mark.parametrize("role", ["therapist", "patient"])
def test_every_answer_fits_the_schema_and_none_is_a_server_error(fuzz_app, role):
    """Every operation of the schema, through every schemathesis check (a hypothesis test per operation
    and kind of data; the pytest plugin's fixture loader does not work with this pytest)."""
    operations = [r.ok() for r in fuzz_app.get_all_operations()]
    assert len(operations) >= 19
    failures: list[str] = []
    cases = {"valid": 0, "invalid": 0, "existing": 0}
    statuses: dict[int, int] = {}
    for op in operations:
        for label, strategy in _strategies(op, role):
            @given(case=strategy)
            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True, database=None)
            def run(case):
                cases[label] += 1
                response = case.call_and_validate()
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            try:
                run()
            except Unsatisfiable:  # no request that breaks the schema exists (the only parameter is the token)
                assert label == "invalid", (op.path, label)
            except Exception as exc:  # a failed check (schemathesis' FailureGroup) or a server exception
                failures.append(f"{op.method.upper()} {op.path} ({label}): {type(exc).__name__}: "
                                f"{str(exc).strip()[:600]}")
    print(f"\nschemathesis as {role}: {sum(cases.values())} cases ({cases}), statuses {dict(sorted(statuses.items()))}, "
          f"{len(failures)} failures")
    assert not failures, "\n\n".join(failures)
    assert not any(s >= 500 for s in statuses)
    assert sum(cases.values()) >= len(operations) * FUZZ_EXAMPLES
