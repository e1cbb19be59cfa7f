"""Hostile input, as a fair but unfriendly tester would give it: every bad command line, definition,
recording and API body below gets one clear sentence (or a status and a sentence), a non-zero exit or a 4xx,
and never a traceback. The cases are data; each runs as its own test.

- CLI: through ``coach.cli.main.run`` in this process (what ``python coach.py`` runs): an exception that
  escapes is what a user would see as a traceback, so it fails the test.
- Definitions: ``parse_definition_text`` (what ``exercises validate``, the library and the API use): each
  problem is ``file:line: field: message`` on one line. The wording of some YAML messages is being
  improved elsewhere; these cases pin the line and the field, and the words that say what is wrong.
- Recordings: ``load_recording`` (the CLI, ``exercises try`` and the upload sniffing use it).
- API: FastAPI's TestClient with server exceptions raised into the test; every answer is
  ``{"detail": "<one sentence>"}`` with the status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import coach
from test_hardening import billion_laughs, bad_recordings, recording_arrays, write_bad, write_zip_bomb

# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A history with patient ana (one session) and therapist dr, and some files that are not what
    their names say."""
    from coach.devtools.synthetic import synthesize

    t = tmp_path_factory.mktemp("hostile")
    db = t / "history.sqlite"
    rec = write_bad(t / "good.npz", recording_arrays(synthesize("squat", reps=2, seed=1).series))
    assert coach("workout", "-e", "squat", "-s", str(rec), "--no-show", "-p", "ana", "--db", str(db)).status == 0
    assert coach("users", "add", "dr", "--role", "therapist", "--db", str(db)).status == 0
    (t / "empty.mp4").write_bytes(b"")
    (t / "junk.mp4").write_bytes(b"junk" * 100)
    (t / "text.npz").write_text("hello, I am text")
    (t / "notdb.sqlite").write_text("hello")
    (t / "folder").mkdir()
    return {"t": t, "db": str(db), "rec": str(rec)}


#: (command line with {t} {db} {rec} placeholders, what the one sentence must say). Exit status 2.
CLI_CASES = [
    ("workout -e nosuch -s {rec} --no-show --db {db}", "no exercise 'nosuch'"),
    ("workout -e squat -s {t}/missing.mp4 --no-show --db {db}", "Video not found: {t}/missing.mp4"),
    ("workout -e squat -s {t}/folder --no-show --db {db}", "{t}/folder is a directory, not a video file"),
    ("workout -e squat -s {t}/empty.mp4 --no-show --db {db}", "{t}/empty.mp4 is empty (0 bytes)"),
    ("workout -e squat -s {t}/junk.mp4 --no-show --db {db}", "{t}/junk.mp4 is not a video this program can read"),
    ("workout -e squat -s {t}/text.npz --no-show --db {db}", "{t}/text.npz is not a keypoint recording"),
    ("workout -e squat -s -1 --no-show --db {db}", "-1 is neither a file nor a camera number"),
    ("workout -e squat -s {rec} --no-show --save-video {t}/o.avi --db {db}", "--save-video must name an .mp4 file"),
    ("workout -e squat -s {rec} --no-show --side up --db {db}", "--side must be left, right or both, not 'up'"),
    ("workout -e squat -s {rec} --no-show --person 0 --db {db}", "--person must be auto, largest, center or a track id"),
    ("workout -e squat -s {rec} --no-show --pain 11 --db {db}", "Invalid value for '--pain'"),
    ("workout -e squat -s {rec} --no-show --sets 0 --db {db}", "Invalid value for '--sets'"),
    ("workout -e squat -s {rec} --no-show --reps 10001 --db {db}", "Invalid value for '--reps'"),
    ("workout -e squat -s {rec} --no-show --rest -5 --db {db}", "Invalid value for '--rest'"),
    ("workout -e squat -s {rec} --no-show --num-poses 9 --db {db}", "Invalid value for '--num-poses'"),
    ("workout -e squat -s {rec} --no-show --no-db --pain 3", "--pain, --effort and --note are kept with the session"),
    ("workout -e squat -s {rec} --no-show --db mysql://x/y", "coach cannot keep its history in 'mysql' databases"),
    ("workout -e squat -s {rec} --no-show --db {t}/folder", "The database path {t}/folder is a folder"),
    ("workout -e squat -s {rec} --no-show --db {t}/notdb.sqlite", "{t}/notdb.sqlite is not an SQLite database"),
    ("workout -e squat -s {rec} --no-show --exercises {t}/nowhere --db {db}", "Invalid value for '--exercises'"),
    ("sessions show 0 --db {db}", "Invalid value for 'SESSION_ID'"),
    ("sessions show abc --db {db}", "Invalid value for 'SESSION_ID'"),
    ("sessions show 99999999999999999999 --db {db}", "Invalid value for 'SESSION_ID'"),
    ("sessions show 99999 --db {db}", "There is no session with id 99999"),
    ("sessions note 1 --pain -1 --db {db}", "Invalid value for '--pain'"),
    ("sessions list --limit 0 --db {db}", "Invalid value for '--limit'"),
    ("sessions list --db {t}/nohistory.sqlite", "No session history at {t}/nohistory.sqlite yet"),
    ("report nobody --db {db}", "No patient named 'nobody'"),
    ("report ana -f docx --db {db}", "Unknown report format 'docx'"),
    ("report ana --from 2026-13-01 --db {db}", "--from must be a date like 2026-03-31, not '2026-13-01'"),
    ("report ana --from 2026-02-01 --to 2026-01-01 --db {db}", "--to 2026-01-01 is before --from 2026-02-01"),
    ("report ana --from 9999-12-31 --db {db}", "The first day 9999-12-31 is outside the dates coach works with"),
    ("report ana --from 2001-01-01 --to 2031-01-01 --db {db}", "A report covers at most 3653 days (10 years)"),
    ("report ana -f html -o /proc/nowhere/ana.html --db {db}", "Cannot write the report to /proc/nowhere/ana.html"),
    ("plan assign ana nosuch --db {db}", "no exercise 'nosuch'"),
    ("plan assign ana squat --until soon --db {db}", "--until must be a date like 2026-03-31, not 'soon'"),
    ("plan assign ana squat --until 0001-01-01 --db {db}", "--until 0001-01-01 is outside the dates coach works with"),
    ("plan assign ana squat --until 2020-01-01 --db {db}", "--until 2020-01-01 is before the prescription starts"),
    ("plan assign ana squat --per-week 22 --db {db}", "Invalid value for '--per-week'"),
    ("plan assign ana squat --reps 99999999999999999999 --db {db}", "Invalid value for '--reps'"),
    ("plan end ana lunge --db {db}", "ana has no active prescription of 'lunge'"),
    ("plan show nobody --db {db}", "No patient named 'nobody'"),
    ("users add x --role admin --db {db}", "The role must be therapist or patient, not 'admin'"),
    ("users add a\u200bb --role therapist --db {db}", "holds U+200B (zero width space), which is not printable"),
    ("users add \u0430na --role therapist --db {db}", "mixes Cyrillic and Latin letters, which look alike"),
    ("users add ana --role patient --therapist nobody --db {db}", "'nobody' is not a therapist user"),
    ("users claim nobody --therapist dr --db {db}", "No patient named 'nobody'"),
    ("users claim ana --therapist nobody --db {db}", "'nobody' is not a therapist user"),
    ("users claim ana --therapist dr --from dr --db {db}", "ana has no therapist, so --from dr does not apply"),
    ("users token nobody --db {db}", "No user named 'nobody'"),
    ("users token dr --days 0 --db {db}", "Invalid value for '--days'"),
    ("exercises show nosuch", "no exercise 'nosuch'"),
    ("pose extract {t}/junk.mp4 -o {t}/x.npz", "{t}/junk.mp4 is not a video this program can read"),
    ("serve --port 0 --db {db}", "Invalid value for '--port'"),
    ("serve --queue ftp://x --db {db}", "coach's job queue is a Redis URL (redis://host:6379/0) or an SQLite queue file"),
    ("worker --db {t}/nowhere.sqlite", "There is no history database at {t}/nowhere.sqlite"),
    ("models install --variant tiny", "'tiny' is not one of 'lite', 'full', 'heavy'"),
    ("nosuchcommand", "No such command 'nosuchcommand'"),
    ("workout --nosuchoption", "No such option: --nosuchoption"),
]


@pytest.mark.parametrize("line,says", CLI_CASES, ids=[c[0].split(" --db")[0][:60] for c in CLI_CASES])
def test_a_bad_command_line_is_one_sentence(world, line, says):
    args = [a.format(**world) for a in line.split(" ")]
    res = coach(*args)
    assert res.status == 2, (res.status, res.text)
    sentence = res.sentence()
    assert says.format(**world) in sentence, sentence
    assert "Traceback" not in res.text
    # one error: click's framed usage error, or coach's single "error:" sentence
    assert sentence.count("error:") + sentence.count("Error ") == 1, sentence


# --------------------------------------------------------------------------------------- definitions


def _squat() -> str:
    from coach.exercise.library import BUILTIN_DIR

    return (BUILTIN_DIR / "squat.yaml").read_text(encoding="utf-8")


def _edit(old: str, new: str) -> str:
    text = _squat()
    assert old in text, old
    return text.replace(old, new, 1)


#: (what, definition text, line or a text whose first line the problem is on, words the problem must hold).
DEFINITION_CASES = [
    ("a tab for indentation", lambda: _edit("  knee: {angle", "\tknee: {angle"), "\tknee", "use spaces"),
    ("a missing closing brace", lambda: _edit("cooldown_s: 10}", "cooldown_s: 10"), "cooldown_s: 10\n", "not valid YAML"),
    ("'=' in a condition", lambda: _edit('"knee > 110"', '"knee = 110"'), "knee = 110", "form[0].fail_if"),
    ("an unknown field", lambda: _edit("view: side", "view: side\ncolour: red"), "colour: red", "unknown field 'colour'"),
    ("an unknown view", lambda: _edit("view: side", "view: top"), "view: top", "found 'top'"),
    ("reps as a word", lambda: _edit("reps: 10,", "reps: ten,"), "reps: ten", "targets.reps"),
    ("negative reps", lambda: _edit("reps: 10,", "reps: -3,"), "reps: -3", "greater than or equal to 1"),
    ("reps of 1e999", lambda: _edit("reps: 10,", "reps: 1e999,"), "reps: 1e999", "targets.reps"),
    ("an unknown landmark", lambda: _edit("[hip, knee, ankle]", "[hip, knee, toe]"), "toe]", "unknown landmark 'toe'"),
    ("an angle of two landmarks", lambda: _edit("[hip, knee, ankle]", "[hip, knee]"), "[hip, knee]", "at least 3 items"),
    ("an unknown primary measure", lambda: _edit("measure: knee", "measure: elbow"), "measure: elbow",
     "unknown measure 'elbow'"),
    ("an unknown measure in a rule", lambda: _edit('"trunk_lean > 50"', '"trunk > 50"'), "trunk > 50",
     "did you mean 'trunk_lean'?"),
    ("leaving a phase the way it was entered", lambda: _edit('until: "knee < 60%"', 'until: "knee > 80%"'),
     "knee > 80%", "must be the opposite comparison"),
    ("hysteresis the wrong way round", lambda: _edit('until: "knee < 60%"', 'until: "knee < 90%"'), "knee < 90%",
     "exit threshold 90% must be below the enter threshold 75%"),
    ("a range percentage of 150", lambda: _edit('"knee > 75%"', '"knee > 150%"'), "knee > 150%", "150% is outside it"),
    ("a rep cycle through an unknown phase", lambda: _edit("rep: [up, down, up]", "rep: [up, middle, up]"),
     "middle", "phase 'middle', which is not defined"),
    ("a key given twice", lambda: _edit("view: side", "view: side\nview: front"), "view: front", "'view' is given twice"),
    ("a negative dwell", lambda: _edit("min_phase_s: 0.1", "min_phase_s: -1"), "min_phase_s: -1",
     "movement.min_phase_s"),
    ("an unknown check", lambda: _edit("check: at_turn", "check: sometimes"), "sometimes", "found 'sometimes'"),
    ("'>>' in a condition", lambda: _edit('"knee > 110"', '"knee >> 110"'), "knee >> 110", "unexpected '>'"),
    ("an id that is a path", lambda: _edit("id: squat", "id: ../../etc/passwd"), 1, "an id is lower-case letters"),
    ("a control character", lambda: _edit("name: Bodyweight squat", "name: Body\x07weight squat"), 2,
     "U+0007 is not allowed"),
    ("a list, not a mapping", lambda: "- squat\n- lunge\n", 1, "expected a mapping of fields"),
    ("an empty file", lambda: "", 1, "found nothing"),
    ("billion laughs", billion_laughs, 5, "its aliases expand to more than 10000 values"),
    ("an alias inside itself", lambda: "a: &a [*a]\n", 1, "the alias *a is used inside the value it names"),
    ("5000 nested lists", lambda: "a: " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply"),
]


@pytest.mark.parametrize("what,make,line,says", DEFINITION_CASES, ids=[c[0] for c in DEFINITION_CASES])
def test_a_bad_definition_is_one_sentence_naming_file_and_line(what, make, line, says):
    from coach.exercise.loader import parse_definition_text

    text = make()
    if isinstance(line, str):  # the line the edited text is on, wherever the built-in file puts it
        line = text[:text.index(line)].count("\n") + 1
    definition, problems = parse_definition_text(text, "mine.yaml")
    assert definition is None and problems, what
    first = str(problems[0])
    assert first.startswith(f"mine.yaml:{line}: " if line else "mine.yaml: "), first
    assert says in first, first
    assert all("\n" not in str(p) for p in problems)


# ---------------------------------------------------------------------------------------- recordings


def _more_bad_recordings(series):
    """Recordings coach refused before issue 19 too; kept here as hostile input."""
    import numpy as np

    a = recording_arrays(series)
    n = len(series)
    yield "format_version as text", recording_arrays(series, format_version="abc"), "format_version must be a whole"
    yield "metadata a list", {**a, "meta_json": np.array(json.dumps([1, 2]))}, "must be a JSON object"
    yield "fps 0", recording_arrays(series, fps=0), "fps must be a positive number"
    yield "arrays of unequal length", {**a, "visibility": a["visibility"][: n - 5]}, "visibility must have shape"
    t = a["timestamps_s"].copy()
    t[10] = t[5]
    yield "decreasing timestamps", {**a, "timestamps_s": t}, "timestamps must increase"
    yield "visibility above 1", {**a, "visibility": a["visibility"] + 2}, "visibility must be between 0 and 1"
    yield "another format", {**a, "meta_json": np.array(json.dumps({"format": "x"}))}, "is not a coach-keypoints"


def test_every_bad_recording_is_one_sentence(tmp_path: Path):
    """Each case separately, then the files that are not recordings at all."""
    import numpy as np

    from coach.devtools.synthetic import synthesize
    from coach.errors import SourceError
    from coach.pose.recording import load_recording

    series = synthesize("squat", reps=2, seed=4).series
    cases = list(bad_recordings(series)) + list(_more_bad_recordings(series))
    files = [(what, write_bad(tmp_path / f"r{i}.npz", data), says) for i, (what, data, says) in enumerate(cases)]
    text = tmp_path / "text.npz"
    text.write_text("hello")
    pickled = tmp_path / "pickle.npz"
    np.savez(pickled, meta_json=np.array([{"a": 1}], dtype=object))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(files[0][1].read_bytes()[:5000])
    files += [("text named .npz", text, "is not a keypoint recording"),
              ("pickled objects", pickled, "holds Python objects"),
              ("a truncated archive", truncated, "keypoint recording"),
              ("a zip bomb", write_zip_bomb(tmp_path / "bomb.npz", series), "256 MB once decompressed")]
    assert len(files) >= 20
    for what, path, says in files:
        with pytest.raises(SourceError) as exc:
            load_recording(path)
        assert says in str(exc.value) and "\n" not in str(exc.value), (what, str(exc.value))


# ------------------------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from fastapi.testclient import TestClient

    from coach.api import create_app
    from coach.api.users import add_user, issue_token
    from coach.app.session_recorder import SessionRecorder
    from coach.engine.events import RepRecord
    from db.engine import close_database, open_database, write_session

    db = tmp_path_factory.mktemp("hostile_api") / "coach.sqlite"
    sm = open_database(db)
    tokens = {}
    with write_session(sm) as s:
        for name, role, th in (("dr", "therapist", None), ("dr2", "therapist", None), ("ana", "patient", "dr"),
                               ("bob", "patient", "dr2")):
            tokens[name] = issue_token(s, add_user(s, name, role, th))
    with SessionRecorder(sm, "ana", "squat", "h" * 64, "1", "clip.mp4") as rec:
        rec.start_set(1)
        rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0))
        tokens["session"] = rec.session_id
    close_database(sm)
    app = create_app(db, max_upload_mb=1)
    with TestClient(app) as client:  # a server exception is raised into the test: a traceback fails it
        yield client, tokens


def _json(text: str) -> dict:
    return {"content": text, "headers": {"content-type": "application/json"}}


#: (what, who, method, path, request keywords, status, words of the detail).
API_CASES = [
    ("no token", None, "GET", "/api/patients", {}, 401, "no bearer token"),
    ("an unknown token", "coach_nope", "GET", "/api/patients", {}, 401, "unknown token"),
    ("a patient adding a patient", "ana", "POST", "/api/patients", {"json": {"name": "x"}}, 403,
     "only a therapist may do this"),
    ("a name missing", "dr", "POST", "/api/patients", {"json": {}}, 422, "body field 'name': Field required"),
    ("a name that is a number", "dr", "POST", "/api/patients", {"json": {"name": 5}}, 422, "body field 'name'"),
    ("a blank name", "dr", "POST", "/api/patients", {"json": {"name": "   "}}, 422, "body field 'name'"),
    ("a name of 201 characters", "dr", "POST", "/api/patients", {"json": {"name": "x" * 201}}, 422,
     "at most 200 characters"),
    ("an unknown field", "dr", "POST", "/api/patients", {"json": {"name": "x", "admin": True}}, 422,
     "body field 'admin'"),
    ("JSON that does not parse", "dr", "POST", "/api/patients", _json("{"), 422, "JSON"),
    ("a JSON list", "dr", "POST", "/api/patients", _json("[1]"), 422, "the body"),
    ("NaN as a name", "dr", "POST", "/api/patients", _json('{"name": NaN}'), 422, "body field 'name'"),
    ("a NUL in a name", "dr", "POST", "/api/patients", {"json": {"name": "a\u0000b"}}, 422, "not printable"),
    ("a right-to-left override", "dr", "POST", "/api/patients", {"json": {"name": "ana\u202e"}}, 422,
     "not printable"),
    ("Cyrillic and Latin mixed", "dr", "POST", "/api/patients", {"json": {"name": "\u0430na"}}, 422,
     "mixes Cyrillic and Latin"),
    ("a name in use", "dr", "POST", "/api/patients", {"json": {"name": "bob"}}, 409, "is in use"),
    ("a 2 MB body", "dr", "POST", "/api/patients", {"json": {"name": "x" * 2_000_000}}, 413,
     "larger than the limit"),
    ("another therapist's patient", "dr", "GET", "/api/patients/bob", {}, 404, "no patient named 'bob'"),
    ("an unknown exercise", "dr", "POST", "/api/patients/ana/prescriptions", {"json": {"exercise_id": "nope"}}, 422,
     "no exercise 'nope'"),
    ("0 reps", "dr", "POST", "/api/patients/ana/prescriptions", {"json": {"exercise_id": "squat", "reps": 0}}, 422,
     "body field 'reps'"),
    ("NaN seconds", "dr", "POST", "/api/patients/ana/prescriptions",
     _json('{"exercise_id": "squat", "hold_s": NaN}'), 422, "body field 'hold_s'"),
    ("Infinity degrees", "dr", "POST", "/api/patients/ana/prescriptions",
     _json('{"exercise_id": "squat", "rom_deg": Infinity}'), 422, "body field 'rom_deg'"),
    ("22 sessions a week", "dr", "POST", "/api/patients/ana/prescriptions",
     {"json": {"exercise_id": "squat", "per_week": 22}}, 422, "body field 'per_week'"),
    ("a 13th month", "dr", "POST", "/api/patients/ana/prescriptions",
     {"json": {"exercise_id": "squat", "start_date": "2026-13-01"}}, 422, "body field 'start_date'"),
    ("a date as a number", "dr", "POST", "/api/patients/ana/prescriptions",
     {"json": {"exercise_id": "squat", "start_date": 0}}, 422, "written like 2026-03-31"),
    ("year 1", "dr", "POST", "/api/patients/ana/prescriptions",
     {"json": {"exercise_id": "squat", "start_date": "0001-01-01"}}, 422, "a date from 2000-01-01 to 2099-12-31"),
    ("until before start", "dr", "POST", "/api/patients/ana/prescriptions",
     {"json": {"exercise_id": "squat", "start_date": "2030-01-02", "until_date": "2030-01-01"}}, 422,
     "until_date 2030-01-01 is before start_date 2030-01-02"),
    ("a patient prescribing", "ana", "POST", "/api/patients/ana/prescriptions", {"json": {"exercise_id": "squat"}},
     403, "only a therapist"),
    ("an empty note", "ana", "POST", "/api/sessions/{session}/notes", {"json": {}}, 422,
     "a note needs a pain score, an effort score or some text"),
    ("pain 11", "ana", "POST", "/api/sessions/{session}/notes", {"json": {"pain_0_10": 11}}, 422,
     "body field 'pain_0_10'"),
    ("a note of 6000 characters", "ana", "POST", "/api/sessions/{session}/notes", {"json": {"text": "x" * 6000}},
     422, "body field 'text'"),
    ("another's session", "bob", "POST", "/api/sessions/{session}/notes", {"json": {"pain_0_10": 1}}, 404,
     "that you may see"),
    ("session 0", "dr", "GET", "/api/sessions/0", {}, 422, "path parameter 'session_id'"),
    ("session 10**20", "dr", "GET", "/api/sessions/99999999999999999999", {}, 422, "path parameter 'session_id'"),
    ("prescription -1", "dr", "POST", "/api/prescriptions/-1/end", {}, 422, "path parameter 'prescription_id'"),
    ("since is garbage", "dr", "GET", "/api/patients/ana/sessions", {"params": {"since": "yesterday"}}, 422,
     "query parameter 'since'"),
    ("since is a Unix time", "dr", "GET", "/api/patients/ana/sessions", {"params": {"until": "0.5"}}, 422,
     "query parameter 'until'"),
    ("limit 0", "dr", "GET", "/api/patients/ana/sessions", {"params": {"limit": 0}}, 422, "query parameter 'limit'"),
    ("a report as docx", "dr", "GET", "/api/patients/ana/report", {"params": {"format": "docx"}}, 422,
     "query parameter 'format'"),
    ("February 30", "dr", "GET", "/api/patients/ana/report", {"params": {"from": "2026-02-30"}}, 422,
     "query parameter 'from'"),
    ("to before from", "dr", "GET", "/api/patients/ana/summary", {"params": {"from": "2026-02-01", "to": "2026-01-01"}},
     422, "'to' (2026-01-01) is before 'from' (2026-02-01)"),
    ("a 100-year report", "dr", "GET", "/api/patients/ana/report",
     {"params": {"from": "2000-01-01", "to": "2099-12-31", "format": "pdf"}}, 422, "at most 3653 days"),
    ("validate with no body", "dr", "POST", "/api/exercises/validate", {}, 422, "the body is empty"),
    ("validate bytes that are not UTF-8", "dr", "POST", "/api/exercises/validate", {"content": b"id: \xff\xfe"}, 422,
     "not UTF-8 text"),
    ("validate 300 KB", "dr", "POST", "/api/exercises/validate", {"content": "x" * 300_000}, 413,
     "larger than the limit"),
    ("validate as a patient", "ana", "POST", "/api/exercises/validate", {"content": "id: x"}, 403,
     "only a therapist"),
    ("problems as a patient", "ana", "GET", "/api/exercises/problems", {}, 403, "only a therapist"),
    ("an unknown exercise id", "dr", "GET", "/api/exercises/nope", {}, 404, "no exercise 'nope'"),
    ("an exercise id of 101 characters", "dr", "GET", "/api/exercises/" + "x" * 101, {}, 422,
     "path parameter 'exercise_id'"),
    ("a job id of 101 characters", "dr", "GET", "/api/jobs/" + "x" * 101, {}, 422, "path parameter 'job_id'"),
    ("someone else's job", "dr", "GET", "/api/jobs/0123456789abcdef", {}, 404, "no job '0123456789abcdef' of yours"),
    ("an upload without a file", "dr", "POST", "/api/jobs", {"data": {"exercise_id": "squat", "patient": "ana"}}, 422,
     "body field 'file': Field required"),
    ("an empty upload", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"")}, "data": {"exercise_id": "squat", "patient": "ana"}}, 422,
     "the uploaded file is empty"),
    ("an upload that is no video", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"not a video" * 50)}, "data": {"exercise_id": "squat", "patient": "ana"}}, 415,
     "not a video that can be decoded"),
    ("text named .npz", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.npz", b"hello")}, "data": {"exercise_id": "squat", "patient": "ana"}}, 415,
     "not a video that can be decoded"),
    ("a zip that is no recording", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.npz", b"PK\x03\x04" + b"\0" * 200)}, "data": {"exercise_id": "squat", "patient": "ana"}},
     415, "a zip file that is not a usable coach keypoint recording"),
    ("an upload for an unknown exercise", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"x")}, "data": {"exercise_id": "nope", "patient": "ana"}}, 422,
     "no exercise 'nope'"),
    ("an upload for nobody", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"x")}, "data": {"exercise_id": "squat"}}, 422, "give the patient"),
    ("an upload for another's patient", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"x")}, "data": {"exercise_id": "squat", "patient": "bob"}}, 404,
     "no patient named 'bob'"),
    ("a patient uploading for another", "ana", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"x")}, "data": {"exercise_id": "squat", "patient": "bob"}}, 403,
     "only their own sessions"),
    ("an Idempotency-Key of 101 characters", "dr", "POST", "/api/jobs",
     {"files": {"file": ("a.mp4", b"x")}, "data": {"exercise_id": "squat", "patient": "ana"},
      "headers": {"Idempotency-Key": "k" * 101}}, 422, "header parameter 'idempotency-key'"),
    ("an upload over the limit", "dr", "POST", "/api/jobs",
     {"files": {"file": ("big.mp4", b"\0" * 1_100_000)}, "data": {"exercise_id": "squat", "patient": "ana"}}, 413,
     "larger than the limit"),
    ("a method the path does not answer", "dr", "DELETE", "/api/patients/ana", {}, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("what,who,method,path,kw,status,says", API_CASES, ids=[c[0] for c in API_CASES])
def test_a_bad_request_is_a_4xx_with_one_sentence(api, what, who, method, path, kw, status, says):
    client, tokens = api
    kw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in kw.items()}
    headers = kw.pop("headers", {})
    if who is not None:
        headers["Authorization"] = f"Bearer {tokens.get(who, who)}"
    r = client.request(method, path.format(session=tokens["session"]), headers=headers, **kw)
    assert r.status_code == status, (what, r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and says in detail, (what, detail)
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_the_suite_is_at_least_sixty_inputs():
    assert len(CLI_CASES) + len(DEFINITION_CASES) + len(API_CASES) + 20 >= 60 * 2
