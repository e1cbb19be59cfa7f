"""The history database: engine settings, migrations, models and the query layer, on a temporary SQLite
file and on a fresh database of a real PostgreSQL server (``history_db``; skipped where none starts)."""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coach.api.schemas.sessions import session_detail
from db.engine import (
    MIGRATIONS_DIR,
    alembic_config,
    close_database,
    current_revision,
    default_db_path,
    head_revision,
    integrity_check,
    make_engine,
    open_database,
    upgrade_to_head,
    write_session,
)
from db.errors import NotFound
from db.models import (
    AngleSeries,
    Base,
    FormEvent,
    Hold,
    NotMeasurableInterval,
    Patient,
    Prescription,
    Rep,
    SessionNote,
    Therapist,
    WorkoutSession,
    WorkoutSet,
)
from db.patients import get_patient
from db.prescriptions import active_prescriptions
from db.report_queries import patient_summary, rep_rows, sessions_per_week
from db.sessions import count_sessions, get_session, list_sessions


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history" / "coach.sqlite"


@pytest.fixture
def sm(history_db):
    sm = open_database(history_db.location)
    yield sm
    close_database(sm)


def _raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, independent of SQLAlchemy, to check what is really in the file."""
    return sqlite3.connect(path)


# ------------------------------------------------------------------------------------------- engine


def test_default_path_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COACH_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("COACH_DB")
    path = default_db_path()
    assert path.name == "coach.sqlite" and path.parent.name == "coach"


def test_open_creates_folders_and_sets_wal_full_and_foreign_keys(db_path):
    sm = open_database(db_path)
    try:
        assert db_path.is_file()
        with sm.kw["bind"].connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with _raw(db_path) as raw:  # WAL is a property of the file, not only of our connections
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert integrity_check(sm) == "ok"
    finally:
        close_database(sm)


def test_synchronous_level_can_be_chosen(db_path):
    sm = open_database(db_path, synchronous="NORMAL")
    try:
        with sm.kw["bind"].connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        close_database(sm)
    with pytest.raises(ValueError):
        make_engine(db_path, synchronous="OFF")


def test_a_folder_as_database_path_is_a_clear_error(tmp_path):
    from db.errors import DatabaseError

    with pytest.raises(DatabaseError, match="is a folder"):
        open_database(tmp_path)


def test_foreign_keys_are_enforced(sm):
    with pytest.raises(IntegrityError):
        with write_session(sm) as s:
            s.add(Rep(set_id=999, index=1, side="left", start_s=0, end_s=1, duration_s=1, eccentric_s=0.5,
                      concentric_s=0.5, measure="knee", min_value=80, max_value=170, range_of_motion=90))


# --------------------------------------------------------------------------------------- migrations


def test_database_is_at_head_and_the_migrations_match_the_models(sm):
    with sm.kw["bind"].connect() as conn:
        assert current_revision(conn) == head_revision()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_opening_twice_keeps_data(history_db):
    sm = open_database(history_db.location)
    with write_session(sm) as s:
        s.add(Patient(name="ana"))
    close_database(sm)
    sm = open_database(history_db.location)
    try:
        with sm() as s:
            assert [p.name for p in s.scalars(select(Patient))] == ["ana"]
        with sm.kw["bind"].connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        close_database(sm)


def test_upgrade_from_0001_keeps_old_data(history_db):
    """A database made at revision 0001, with rows, opened by this program: migrated, nothing lost."""
    if history_db.is_sqlite:
        history_db.location.parent.mkdir(parents=True)
    engine = make_engine(history_db.location, foreign_keys=False)
    command.upgrade(alembic_config(engine), "0001")
    engine.dispose()
    history_db.run("INSERT INTO patients (id, name, created_at) VALUES (1, 'ana', '2026-01-05 09:00:00')")
    history_db.run(
        "INSERT INTO sessions (id, patient_id, exercise_id, definition_hash, definition_version, source,"
        " started_at) VALUES (7, 1, 'squat', 'abc', '1', 'clip.mp4', '2026-01-05 09:01:00')"
    )
    history_db.run("INSERT INTO sets (id, session_id, \"index\", target_reps) VALUES (1, 7, 1, 10)")
    history_db.run(
        "INSERT INTO reps (set_id, \"index\", side, start_s, end_s, duration_s, eccentric_s, concentric_s,"
        " measure, min_value, max_value, range_of_motion) VALUES (1, 1, 'left', 0, 2, 2, 1, 1, 'knee',"
        " 80, 170, 90)"
    )
    sm = open_database(history_db.location)
    try:
        with sm() as s:
            d = session_detail(s, 7)
        assert d["patient"] == "ana"
        assert d["started_at"] == "2026-01-05T09:01:00+00:00"
        assert [r["range_of_motion"] for r in d["sets"][0]["reps"]] == [90.0]
        with sm.kw["bind"].connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        close_database(sm)


def test_a_later_revision_upgrades_an_existing_database_without_losing_rows(history_db, tmp_path):
    """The upgrade path itself, with a second revision written the way a developer would add one."""
    sm = open_database(history_db.location)
    with write_session(sm) as s:
        s.add(Patient(name="ana"))
    close_database(sm)

    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = head_revision()  # chain after whatever the project's head is today
    (scripts / "versions" / "9999_patient_birth_year.py").write_text(textwrap.dedent(f'''
        """Add patients.birth_year.

        Revision ID: 9999
        Revises: {head}
        """
        from alembic import op
        import sqlalchemy as sa

        revision = "9999"
        down_revision = "{head}"
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
            with op.batch_alter_table("patients") as batch_op:
                batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))


        def downgrade() -> None:
            with op.batch_alter_table("patients") as batch_op:
                batch_op.drop_column("birth_year")
    '''))
    upgrade_to_head(history_db.location, script_location=scripts)
    assert history_db.rows("SELECT name, birth_year FROM patients") == [("ana", None)]
    assert history_db.rows("SELECT version_num FROM alembic_version") == [("9999",)]
    if history_db.is_sqlite:
        assert history_db.rows("PRAGMA integrity_check") == [("ok",)]


def test_programs_opening_a_new_database_at_once_take_turns(history_db):
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            close_database(open_database(history_db.location))
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert history_db.rows("SELECT version_num FROM alembic_version") == [(head_revision(),)]


# ------------------------------------------------------------------------------------------- models


def _session_graph(patient: Patient, started_at: datetime, exercise_id: str = "squat", roms=(90.0, 95.0)):
    session = WorkoutSession(patient=patient, exercise_id=exercise_id, definition_hash="h" * 64,
                             definition_version="3", source="clip.mp4", started_at=started_at,
                             ended_at=started_at + timedelta(minutes=5), end_reason="completed")
    st = WorkoutSet(index=1, target_reps=len(roms) + 1, started_s=0.0, ended_s=10.0, ended_reason="completed")
    session.sets.append(st)
    for i, rom in enumerate(roms, start=1):
        rep = Rep(index=i, side="left", start_s=2.0 * i, end_s=2.0 * i + 1.5, duration_s=1.5, eccentric_s=0.7,
                  concentric_s=0.8, measure="knee", min_value=170 - rom, max_value=170.0, range_of_motion=rom)
        st.reps.append(rep)
        if i == 1:
            fault = FormEvent(code="shallow", cue="Sit deeper", severity="warning", time_s=2.5, side="left",
                              value=101.0, rep_index=1)
            st.form_events.append(fault)
            rep.faults.append(fault)
    st.form_events.append(FormEvent(code="out_of_view", cue="Step back", severity="info", time_s=9.0,
                                    side="none"))
    st.holds.append(Hold(start_s=1.0, end_s=3.5, duration_s=2.5, side="both"))
    st.not_measurable.append(NotMeasurableInterval(start_s=8.0, end_s=9.5, duration_s=1.5,
                                                   reason="left_ankle not visible"))
    t = np.array([0.0, 0.1, 0.2], dtype="<f4")
    v = np.array([170.0, np.nan, 95.5], dtype="<f4")
    st.angle_series.append(AngleSeries(measure="knee", n_samples=3, times_s_f32=t.tobytes(),
                                       values_f32=v.tobytes()))
    session.notes.append(SessionNote(pain_0_10=2, effort_rpe_0_10=6, text="knee ok"))
    return session


def test_models_round_trip(sm):
    started = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=1)))  # 07:30 UTC
    with write_session(sm) as s:
        ana = Patient(name="ana")
        therapist = Therapist(name="Dr. Ruiz")
        s.add(Prescription(patient=ana, therapist=therapist, exercise_id="squat", reps=10, sets=3, hold_s=None,
                           rom_deg=90.0, per_week=3, start_date=date(2026, 3, 1), until_date=date(2026, 4, 30)))
        s.add(_session_graph(ana, started))
    with sm() as s:
        w = s.scalars(select(WorkoutSession)).one()
        assert w.started_at == started and w.started_at.tzinfo == timezone.utc
        assert w.started_at.hour == 7
        st = w.sets[0]
        assert [r.range_of_motion for r in st.reps] == [90.0, 95.0]
        assert [f.code for f in st.reps[0].faults] == ["shallow"]
        assert [(f.code, f.rep_id) for f in st.form_events] == [("shallow", st.reps[0].id), ("out_of_view", None)]
        assert st.holds[0].duration_s == 2.5 and st.not_measurable[0].reason == "left_ankle not visible"
        t, v = st.angle_series[0].arrays()
        np.testing.assert_allclose(t, [0.0, 0.1, 0.2], rtol=1e-6)
        assert v[0] == 170.0 and np.isnan(v[1]) and v[2] == 95.5
        assert (w.notes[0].pain_0_10, w.notes[0].effort_rpe_0_10) == (2, 6)
        rx = s.scalars(select(Prescription)).one()
        assert (rx.patient.name, rx.therapist.name, rx.active, rx.until_date) == ("ana", "Dr. Ruiz", True,
                                                                                   date(2026, 4, 30))


def test_deleting_a_session_removes_its_rows(sm):
    with write_session(sm) as s:
        s.add(_session_graph(Patient(name="ana"), datetime(2026, 3, 1, tzinfo=timezone.utc)))
    with write_session(sm) as s:
        s.delete(s.scalars(select(WorkoutSession)).one())
    with sm() as s:
        for model in (WorkoutSet, Rep, FormEvent, Hold, NotMeasurableInterval, AngleSeries, SessionNote):
            assert s.scalars(select(model)).all() == [], model.__name__
        assert s.scalars(select(Patient.name)).all() == ["ana"]


def test_scores_outside_0_to_10_are_refused(sm):
    with pytest.raises(IntegrityError):
        with write_session(sm) as s:
            session = _session_graph(Patient(name="ana"), datetime(2026, 3, 1, tzinfo=timezone.utc))
            session.notes[0].pain_0_10 = 11
            s.add(session)


# ------------------------------------------------------------------------------------------ queries


@pytest.fixture
def history(sm):
    """ana: three squat sessions a week apart and one plank; bo: one squat session."""
    base = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    with write_session(sm) as s:
        ana, bo = Patient(name="ana"), Patient(name="bo")
        for week, roms in enumerate([(80.0, 84.0), (88.0, 90.0), (95.0, 97.0)]):
            s.add(_session_graph(ana, base + timedelta(weeks=week), roms=roms))
        s.add(_session_graph(ana, base + timedelta(days=1), exercise_id="plank", roms=()))
        s.add(_session_graph(bo, base, roms=(70.0,)))
    return sm


def test_list_sessions_newest_first_with_totals(history):
    with history() as s:
        rows = list_sessions(s)
        assert len(rows) == 5
        assert [r.started_at for r in rows] == sorted((r.started_at for r in rows), reverse=True)
        ana = list_sessions(s, "ana", exercise_id="squat")
        assert [r.mean_range_of_motion for r in ana] == [96.0, 89.0, 82.0]
        first = ana[-1]
        assert (first.n_sets, first.n_reps, first.target_reps, first.n_faults) == (1, 2, 3, 2)
        assert (first.hold_s, first.not_measurable_s) == (2.5, 1.5)
        since = datetime(2026, 3, 8, tzinfo=timezone.utc)
        assert len(list_sessions(s, "ana", since=since)) == 2
        assert len(list_sessions(s, "ana", until=since)) == 2
        assert list_sessions(s, "nobody") == []
        assert len(list_sessions(s, limit=2)) == 2


def test_session_detail_uses_the_event_keys(history):
    from coach.engine.events import FormFault, RepRecord

    with history() as s:
        sid = list_sessions(s, "bo")[0].id
        d = session_detail(s, sid, with_series=True)
    rep = d["sets"][0]["reps"][0]
    expected = RepRecord(index=1, side="left", start_s=2.0, end_s=3.5, eccentric_s=0.7, concentric_s=0.8,
                         measure="knee", min_value=100.0, max_value=170.0,
                         faults=(FormFault("shallow", "Sit deeper", 2.5, "warning", 1, "left", 101.0),))
    assert rep.keys() == expected.to_dict().keys()
    assert {k: rep[k] for k in rep if k != "duration_s"} == {
        k: v for k, v in expected.to_dict().items() if k != "duration_s"}
    assert d["sets"][0]["faults_outside_reps"][0]["code"] == "out_of_view"
    assert d["sets"][0]["angle_series"][0]["values"][1] is None  # NaN becomes null in JSON
    assert d["totals"] == {"sets": 1, "reps": 1, "faults": 2, "hold_s": 2.5, "not_measurable_s": 1.5}


def test_unknown_session_and_patient_are_one_sentence(sm, history):
    with history() as s:
        with pytest.raises(NotFound, match="no session with id 999"):
            get_session(s, 999)
        with pytest.raises(NotFound, match="Known patients: ana, bo"):
            get_patient(s, "carla")


def test_patient_summary_and_rep_rows(history):
    with history() as s:
        summary = patient_summary(s, "ana")
        assert summary.sessions == 4
        squat = next(e for e in summary.exercises if e.exercise_id == "squat")
        assert (squat.sessions, squat.reps, squat.target_reps) == (3, 6, 9)
        assert (squat.first_mean_range_of_motion, squat.last_mean_range_of_motion) == (82.0, 96.0)
        assert squat.faults_by_code == {"shallow": 3, "out_of_view": 3}
        assert summary.mean_pain_0_10 == 2.0
        rows = rep_rows(s, "ana", exercise_id="squat")
        assert [r.range_of_motion for r in rows] == [80.0, 84.0, 88.0, 90.0, 95.0, 97.0]
        assert rows[0].fault_codes == ("shallow",) and rows[1].fault_codes == ()
        assert [p.exercise_id for p in active_prescriptions(s, "ana")] == []


def test_sessions_per_week_for_adherence(history):
    with history() as s:
        weeks = sessions_per_week(s, "ana")
    # 2026-03-02 is a Monday: squat that week, plank the next day; squat the two weeks after
    assert weeks == {date(2026, 3, 2): {"squat": 1, "plank": 1}, date(2026, 3, 9): {"squat": 1},
                     date(2026, 3, 16): {"squat": 1}}
    with history() as s:  # 09:00 UTC on Monday is still Sunday in Honolulu
        hawaii = sessions_per_week(s, "bo", tz=timezone(timedelta(hours=-10)))
    assert hawaii == {date(2026, 2, 23): {"squat": 1}}


def test_empty_database_lists_nothing(sm):
    with sm() as s:
        assert list_sessions(s) == []
        assert count_sessions(s) == 0
        with pytest.raises(NotFound, match="no sessions yet"):
            get_session(s, 1)
        with pytest.raises(NotFound, match="No patients are recorded yet"):
            patient_summary(s, "ana")


def test_files_that_are_not_our_database_are_one_sentence(tmp_path):
    from db.errors import DatabaseError

    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some text that is long enough to matter " * 20)
    with pytest.raises(DatabaseError, match="not an SQLite database"):
        open_database(text)

    other = tmp_path / "other.sqlite"
    with _raw(other) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseError, match="not a coach history"):
        open_database(other)

    newer = tmp_path / "newer.sqlite"
    close_database(open_database(newer))
    with _raw(newer) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(DatabaseError, match="newer than this program knows"):
        open_database(newer)


# ------------------------------------------------------------------------------- locations and servers


@pytest.mark.parametrize("text, expected", [
    ("coach.sqlite", Path("coach.sqlite")),
    ("~/h/coach.sqlite", Path("~/h/coach.sqlite").expanduser()),
    ("sqlite:////tmp/x/coach.sqlite", Path("/tmp/x/coach.sqlite")),
    ("postgresql+psycopg://ana:pw@db.clinic:5432/coach", "postgresql+psycopg://ana:***@db.clinic:5432/coach"),
    ("postgresql://ana@db.clinic/coach", "postgresql+psycopg://ana@db.clinic/coach"),
    ("postgres://ana@db.clinic/coach", "postgresql+psycopg://ana@db.clinic/coach"),
])
def test_a_url_is_a_url_and_a_path_stays_a_file(text, expected):
    from db.engine import describe, is_url, parse_location

    loc = parse_location(text)
    if isinstance(expected, Path):
        assert loc == expected and not is_url(loc)
    else:
        assert is_url(loc) and describe(loc) == expected  # the password never shows


@pytest.mark.parametrize("text, message", [
    ("mysql://u@h/coach", "cannot keep its history in 'mysql'"),
    ("postgresql+psycopg2://u@h/coach", "through psycopg 3, not 'psycopg2'"),
    ("postgresql://u@h", "names no database"),
    ("sqlite://", "must name a file"),
])
def test_unsupported_database_urls_are_refused_in_one_sentence(text, message, tmp_path, monkeypatch):
    from db.errors import DatabaseError
    from db.engine import parse_location

    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatabaseError, match=message):
        parse_location(text)
    monkeypatch.setenv("COACH_DB", text)
    with pytest.raises(DatabaseError, match=message):
        default_db_path()
    assert list(tmp_path.iterdir()) == []  # no folder named "mysql:" or the like


def test_the_environment_may_name_a_server_database(monkeypatch):
    from db.engine import is_url

    monkeypatch.setenv("COACH_DB", "postgresql://coach@db.clinic:5432/coach")
    assert is_url(default_db_path())


def test_an_unreachable_database_server_is_one_sentence(postgres_server):
    from db.errors import DatabaseError
    from coach.devtools.local_servers import free_port

    url = f"postgresql+psycopg://coach:secret@127.0.0.1:{free_port()}/coach"
    with pytest.raises(DatabaseError, match=r"^Cannot reach the database postgresql\+psycopg://coach:\*\*\*@"
                       r"127\.0\.0\.1:\d+/coach: .*(refused|failed)") as info:
        open_database(url)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DatabaseError, match='database "nope" does not exist'):
        open_database(postgres_server.url("nope"))


def test_a_postgres_database_of_another_program_or_a_newer_coach_is_refused(postgres_server):
    from db.errors import DatabaseError

    other = postgres_server.create_database()
    import psycopg

    with psycopg.connect(other.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
    with pytest.raises(DatabaseError, match="PostgreSQL database but not a coach history"):
        open_database(other)
    newer = postgres_server.create_database()
    close_database(open_database(newer))
    with psycopg.connect(newer.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(DatabaseError, match="newer than this program knows"):
        open_database(newer)


def test_check_schema_refuses_an_unmigrated_database_without_touching_it(history_db):
    """What `coach worker` does before it takes a job: it must not create or migrate the shared schema."""
    from db.engine import check_schema
    from db.errors import DatabaseError

    message = "no history database at" if history_db.is_sqlite else "has no coach tables yet"
    with pytest.raises(DatabaseError, match=message):
        check_schema(history_db.location)
    assert not history_db.exists()
    close_database(open_database(history_db.location))
    check_schema(history_db.location)  # at head now: no error


def test_writers_take_turns_so_check_then_insert_never_collides(history_db):
    """Eight threads each add the same new patient at once (as eight workers recording sessions of a new
    patient would): SQLite's write lock / PostgreSQL's advisory lock make them take turns, so one row,
    no unique-constraint error."""
    from db.patients import get_or_create_patient

    sm = open_database(history_db.location)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def add() -> None:
        try:
            barrier.wait()
            with write_session(sm) as s:
                get_or_create_patient(s, "new patient")
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        close_database(sm)
    assert errors == []
    assert history_db.rows("SELECT count(*) FROM patients WHERE name = 'new patient'") == [(1,)]


def test_job_rows_keep_json_results_and_utc_times_alike_on_both(sm):
    from db.models import AnalysisJob, User

    created = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    result = {"reps": 3, "reps_records": [{"index": 1, "range_of_motion": 88.5, "faults": []}],
              "not_measurable": [], "session_id": None, "note": "ünïcode ✓"}
    with write_session(sm) as s:
        ana = Patient(name="ana")
        s.add(ana)
        s.flush()
        user = User(name="ana", role="patient", patient_id=ana.id)
        s.add(user)
        s.flush()
        s.add(AnalysisJob(id="a" * 32, owner_user_id=user.id, patient_id=ana.id, exercise_id="squat",
                          filename="clip.mp4", kind="video", upload_name="a.mp4", created_at=created,
                          result=result))
    with sm() as s:
        job = s.get(AnalysisJob, "a" * 32)
        assert job.result == result
        assert job.created_at == created and job.created_at.tzinfo == timezone.utc
        assert (job.status, job.attempts, job.max_attempts, job.keep_upload) == ("queued", 0, 3, False)
    with pytest.raises(IntegrityError):  # the states are a closed list on both engines
        with write_session(sm) as s:
            s.get(AnalysisJob, "a" * 32).status = "lost"


def test_a_job_id_marks_at_most_one_session(sm):
    with write_session(sm) as s:
        ana = Patient(name="ana")
        for _ in range(1):
            s.add(WorkoutSession(patient=ana, exercise_id="squat", definition_hash="h", definition_version="1",
                                 source="upload: a.npz", job_id="j" * 32))
    with pytest.raises(IntegrityError):
        with write_session(sm) as s:
            s.add(WorkoutSession(patient_id=s.scalars(select(Patient.id)).one(), exercise_id="squat",
                                 definition_hash="h", definition_version="1", source="upload: a.npz",
                                 job_id="j" * 32))
