"""Issue 19, point by point: each input that froze, crashed or overloaded coach now gets one clear
sentence and a non-zero exit or a 4xx, and loses nothing. (The broader hostile-input suite is
tests/test_hostile_input.py; a real `coach serve` under hostile requests is tests/test_serve_hostile.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_run import coach, coach_process


def billion_laughs() -> str:
    """Nine levels of nine aliases: 342 bytes that stand for 9**9 (387 million) strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- 1. billion laughs


def test_billion_laughs_is_refused_by_validate_in_one_sentence(tmp_path: Path):
    f = tmp_path / "laughs.yaml"
    f.write_text(billion_laughs())
    res = coach_process("exercises", "validate", str(f), timeout=60)
    assert res.status == 1, res.text
    assert f"{f}:5: not accepted: its aliases expand to more than 10000 values" in res.text
    assert "Traceback" not in res.text


def test_billion_laughs_in_an_exercises_folder_costs_only_its_own_id(tmp_path: Path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "laughs.yaml").write_text(billion_laughs())
    res = coach_process("workout", "-e", "laughs", "--exercises", str(folder), "-s", "nothing.npz", "--no-show",
                        "--db", str(tmp_path / "c.sqlite"), timeout=60)
    assert res.status == 2, res.text
    assert "laughs.yaml:5: not accepted: its aliases expand to more than 10000 values" in res.sentence()
    assert "Traceback" not in res.text


def test_an_alias_inside_its_own_value_is_refused(tmp_path: Path):
    from coach.exercise.loader import parse_definition_text

    d, problems = parse_definition_text("id: x\nmeasures: &m\n  knee: [*m]\n", "self.yaml")
    assert d is None
    assert str(problems[0]) == ("self.yaml:3: not accepted: the alias *m is used inside the value it names, "
                                "which would make the definition infinite")


def test_the_built_in_definitions_stay_far_below_the_value_budget():
    from coach.exercise.library import BUILTIN_DIR
    from coach.exercise.loader import parse_definition_text

    for f in sorted(BUILTIN_DIR.glob("*.yaml")):
        d, problems = parse_definition_text(f.read_text(encoding="utf-8"), str(f))
        assert d is not None and not problems, (f, problems)


# ------------------------------------------------------------------------------ 10. smaller


def test_a_range_percentage_outside_0_to_100_is_a_problem(tmp_path: Path):
    from coach.exercise.library import BUILTIN_DIR

    f = tmp_path / "squat.yaml"
    text = (BUILTIN_DIR / "squat.yaml").read_text().replace('when: "knee > 75%"', 'when: "knee > 175%"')
    f.write_text(text)
    line = next(k for k, ln in enumerate(text.splitlines(), 1) if "175%" in ln)
    res = coach("exercises", "validate", str(f))
    assert res.status == 1
    assert (f"{f}:{line}: movement.phases.up.when: a range percentage is from 0% (the lowest value of the movement) "
            f"to 100% (the highest); 175% is outside it, so \"knee > 175%\" is always or never true") in res.text


# ------------------------------------------------------------------- 5. bad recordings


def recording_arrays(series, **meta) -> dict:
    import json

    import numpy as np

    m = {"format": "coach-keypoints", "format_version": 2, "fps": series.fps, "width_px": series.width_px,
         "height_px": series.height_px, "source": "test"}
    m.update(meta)
    return dict(timestamps_s=series.timestamps_s, frame_index=series.frame_index, n_people=series.n_people,
                image_xy_px=series.xy_px, visibility=series.visibility, world_xyz_m=series.world_m,
                meta_json=np.array(json.dumps(m)))


def bad_recordings(series):
    """(name, arrays or a writer, the sentence's telling part): recordings that were accepted silently or
    crashed later, before coach validated them fully."""
    import json

    import numpy as np

    a = recording_arrays(series)
    yield "complex timestamps", {**a, "timestamps_s": a["timestamps_s"].astype(complex)}, \
        "timestamps_s holds complex128 values, not numbers"
    fi = a["frame_index"].astype(float)
    fi[3] = np.nan
    yield "a NaN frame index", {**a, "frame_index": fi}, "frame_index must hold whole numbers, found nan"
    people = a["n_people"].astype(float)
    people[3] = np.nan
    yield "a NaN person count", {**a, "n_people": people}, "n_people must hold whole numbers, found nan"
    xy = a["image_xy_px"].copy()
    xy[5, 0, 0, 0] = np.inf
    yield "an infinite coordinate", {**a, "image_xy_px": xy}, "image_xy_px holds an infinite coordinate"
    yield "infinite world coordinates", {**a, "world_xyz_m": np.full_like(a["world_xyz_m"], np.inf)}, \
        "world_xyz_m holds an infinite coordinate"
    yield "fps 1e308", recording_arrays(series, fps=1e308), "fps must be at most 1000 frames a second"
    yield "a width of 10**30 px", recording_arrays(series, width_px=10**30), \
        "width_px must be a whole number of pixels from 0 to 100000"
    yield "timestamps of 1e300 s", {**a, "timestamps_s": a["timestamps_s"] * 1e300 + 1}, \
        "timestamps must be within ±1e+10 s"
    yield "no frames", {k: (v if k == "meta_json" else v[:0]) for k, v in a.items()}, "it holds no frames"
    yield "no person slots", {**a, "image_xy_px": a["image_xy_px"][:, :0], "visibility": a["visibility"][:, :0],
                              "world_xyz_m": a["world_xyz_m"][:, :0], "n_people": np.zeros_like(a["n_people"])}, \
        "it must have from 1 to 64 person slots, found 0"
    yield "metadata as two texts", {**a, "meta_json": np.array([json.dumps({}), json.dumps({})])}, \
        "its metadata must be one JSON text"
    yield "a frame index past int64", {**a, "frame_index": a["frame_index"].astype(float) * 1e30}, \
        "frame_index must be from 0"


def write_bad(path: Path, data) -> Path:
    import numpy as np

    np.savez(path, **data)
    return path


def write_zip_bomb(path: Path, series) -> Path:
    """A valid recording whose image_xy_px header declares 1 GB of zeros (about 1 MB on disk)."""
    import io
    import zipfile

    import numpy as np

    a = recording_arrays(series)
    shape = (1_000_000, 4, 33, 2)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in a.items():
            if k != "image_xy_px":
                buf = io.BytesIO()
                np.lib.format.write_array(buf, v)
                z.writestr(k + ".npy", buf.getvalue())
        with z.open("image_xy_px.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
            left = int(np.prod(shape)) * 4
            zeros = bytes(1 << 20)
            while left > 0:
                f.write(zeros[:left])
                left -= len(zeros)
    return path


@pytest.fixture(scope="module")
def squat_series():
    from coach.devtools.synthetic import synthesize

    return synthesize("squat", reps=2, seed=1).series


def test_each_bad_recording_is_one_sentence(tmp_path: Path, squat_series):
    from coach.errors import SourceError
    from coach.pose.recording import load_recording

    cases = list(bad_recordings(squat_series))
    for i, (what, data, message) in enumerate(cases):
        path = write_bad(tmp_path / f"bad{i}.npz", data)
        with pytest.raises(SourceError) as exc:
            load_recording(path)
        assert message in str(exc.value), what
        assert str(exc.value).startswith(f"{path} is not a valid keypoint recording: "), what
        assert "\n" not in str(exc.value), what


def test_a_recording_that_decompresses_to_a_gigabyte_is_refused_before_decompressing(tmp_path: Path, squat_series):
    import resource

    from coach.errors import SourceError
    from coach.pose.recording import load_recording

    bomb = write_zip_bomb(tmp_path / "bomb.npz", squat_series)
    assert bomb.stat().st_size < 5_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SourceError, match="is too large to be a keypoint recording: its arrays hold more than "
                                          "256 MB once decompressed"):
        load_recording(bomb)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: nothing decompressed


def test_a_bad_recording_in_the_cli_is_one_sentence_not_a_traceback(tmp_path: Path, squat_series):
    path = write_bad(tmp_path / "fast.npz", recording_arrays(squat_series, fps=1e308))
    res = coach("workout", "-e", "squat", "-s", str(path), "--no-show", "--db", str(tmp_path / "c.sqlite"))
    assert res.status == 2
    assert res.sentence() == (f"error: {path} is not a valid keypoint recording: fps must be at most 1000 "
                              f"frames a second, found 1e+308")


# ------------------------------------------------------------ 4. file names that are not UTF-8


def _tiny_video(path: bytes) -> bytes:
    """A 1-second 15 frames/s grey video written under an ASCII name, then renamed to ``path`` (bytes)."""
    import os

    import cv2
    import numpy as np

    ascii_name = os.path.join(os.path.dirname(path), b"tiny.mp4")
    w = cv2.VideoWriter(os.fsdecode(ascii_name), cv2.VideoWriter_fourcc(*"mp4v"), 15, (160, 120))
    for i in range(15):
        w.write(np.full((120, 160, 3), 8 * i, np.uint8))
    w.release()
    os.rename(ascii_name, path)
    return path


def test_a_latin1_file_name_that_is_not_a_video_is_one_sentence_not_a_segfault(tmp_path: Path):
    import os

    name = os.fsencode(tmp_path) + b"/caf\xe9.mp4"
    with open(name, "wb") as f:
        f.write(b"hello")
    res = coach_process("workout", "-e", "squat", "-s", name, "--no-show", "--db", str(tmp_path / "c.sqlite"))
    assert res.status == 2, (res.status, res.text)
    assert res.sentence() == f"error: {tmp_path}/caf\\xe9.mp4 is not a video this program can read"


def test_a_video_with_a_latin1_name_is_coached_and_saved(tmp_path: Path, pose_model):
    import json
    import os

    video = _tiny_video(os.fsencode(tmp_path) + b"/v\xeddeo.mp4")
    out = os.fsencode(tmp_path) + b"/coach\xe9d.mp4"
    res = coach_process("workout", "-e", "squat", "-s", video, "--no-show", "--json", "-p", "ana", "--model",
                        str(pose_model), "--save-video", out, "--db", str(tmp_path / "c.sqlite"))
    assert res.status == 0, res.text
    result = json.loads(res.out)
    assert result["reps"] == 0 and result["source"] == f"{tmp_path}/v\\xeddeo.mp4"
    assert os.path.getsize(out) > 0
    shown = coach("sessions", "show", str(result["session_id"]), "--db", str(tmp_path / "c.sqlite"))
    assert shown.status == 0 and f"source: {tmp_path}/v\\xeddeo.mp4" in " ".join(shown.out.split())


@pytest.mark.parametrize("spec", ["-1", "+3", "100", ""])
def test_a_source_that_is_neither_a_file_nor_a_camera_number(tmp_path: Path, spec: str):
    res = coach("workout", "-e", "squat", "-s", spec, "--no-show", "--db", str(tmp_path / "c.sqlite"))
    assert res.status == 2
    if spec:
        assert res.sentence() == (f"error: {spec} is neither a file nor a camera number (cameras are numbered 0 "
                                  "to 99)")
    else:
        assert res.sentence() == ("error: No source given: name a video, image or recording file, or a camera "
                                  "number (0, 1, ...)")


# ------------------------------------------------------------------ 7. tracebacks in the CLI


def _history(tmp_path: Path, series) -> Path:
    """A history with one recorded squat session of patient ana."""
    db = tmp_path / "history" / "coach.sqlite"
    rec = write_bad(tmp_path / "good.npz", recording_arrays(series))
    res = coach("workout", "-e", "squat", "-s", str(rec), "--no-show", "-p", "ana", "--db", str(db))
    assert res.status == 0, res.text
    return db


def _read_only(db: Path, *argv: str):
    """``coach ARGV`` in a child process that sees ``db`` on a read-only file system (a bind mount in a
    private mount namespace when run as root, who may write any file; file permissions otherwise)."""
    import os
    import shlex
    import shutil

    if os.geteuid() != 0:
        db.chmod(0o444)
        return coach_process(*argv)
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed here")
    import sys

    from cli_run import REPO

    q = shlex.quote(str(db))
    script = (f"mount --bind {q} {q} && mount -o remount,bind,ro {q} && cd {shlex.quote(str(REPO))} && "
              f"exec {shlex.quote(sys.executable)} coach.py " + " ".join(shlex.quote(a) for a in argv))
    import subprocess

    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if "mount:" in proc.stderr or "unshare:" in proc.stderr:
        pytest.skip(f"no private read-only mount here: {proc.stderr.strip()}")
    from cli_run import Outcome

    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def test_a_workout_on_a_read_only_history_is_one_sentence(tmp_path: Path, squat_series):
    db = _history(tmp_path, squat_series)
    rec = tmp_path / "good.npz"
    res = _read_only(db, "workout", "-e", "squat", "-s", str(rec), "--no-show", "-p", "ana", "--db", str(db))
    assert res.status == 2, res.text
    assert res.sentence() == (f"error: The history database {db} cannot be written: read-only (attempt to write a "
                              "readonly database); make the file and its folder writable, or give another --db.")
    assert "Traceback" not in res.text
    report = _read_only(db, "report", "ana", "-f", "md", "-o", str(tmp_path / "ana.md"), "--db", str(db))
    assert report.status == 0, report.text  # reading a read-only history still works


def test_a_huge_session_id_is_a_usage_error(tmp_path: Path, squat_series):
    db = _history(tmp_path, squat_series)
    for command in (("sessions", "show"), ("sessions", "note")):
        res = coach(*command, "99999999999999999999", "--db", str(db))
        assert res.status == 2, res.text
        assert "Invalid value for 'SESSION_ID': Input should be less than or equal to 4611686018427387904" \
            in res.sentence()
    assert coach("sessions", "show", str(2**62), "--db", str(db)).sentence() == (
        "error: There is no session with id 4611686018427387904; see `coach sessions list` for the ids.")


# ------------------------------------------------------------------------ 2. far dates (CLI)


def test_far_report_dates_are_refused_in_one_sentence(tmp_path: Path, squat_series):
    db = _history(tmp_path, squat_series)
    res = coach("report", "ana", "--from", "9999-12-31", "--db", str(db))
    assert res.status == 2
    assert res.sentence() == ("error: The first day 9999-12-31 is outside the dates coach works with (2000-01-01 "
                              "to 2099-12-31).")
    res = coach("report", "ana", "--from", "2001-01-01", "--to", "2031-01-01", "--db", str(db))
    assert res.sentence() == ("error: A report covers at most 3653 days (10 years); 2001-01-01 to 2031-01-01 is "
                              "10958: ask for a shorter period.")
    res = coach("plan", "assign", "ana", "squat", "--until", "0001-01-01", "--db", str(db))
    assert res.sentence() == ("error: --until 0001-01-01 is outside the dates coach works with (2000-01-01 to "
                              "2099-12-31).")
    res = coach("plan", "assign", "ana", "squat", "--reps", "99999999999999999999", "--db", str(db))
    assert res.status == 2 and "Invalid value for '--reps'" in res.sentence()


# ------------------------------------------------------------------------------ 10. smaller


def test_a_missing_exercises_folder_is_not_silently_ignored(tmp_path: Path):
    for command in (("workout", "-e", "squat", "-s", "x.npz", "--no-show"), ("exercises", "list"),
                    ("plan", "assign", "ana", "squat")):
        res = coach(*command, "--exercises", str(tmp_path / "no" / "such"))
        assert res.status == 2, (command, res.text)
        assert f"Invalid value for '--exercises'" in res.sentence() and "does not exist" in res.sentence()


# --------------------------------------------------------------------------- the HTTP API


@pytest.fixture
def api_app(tmp_path: Path):
    """A clinic's API over a fresh history: therapists dr and dr2, patient Łukasz (dr's) with a session,
    carl (recorded at a clinic PC: nobody's) and bob (dr2's); returns (client, tokens, db path)."""
    from fastapi.testclient import TestClient

    from coach.api import create_app
    from coach.api.users import add_user, issue_token
    from coach.app.session_recorder import SessionRecorder
    from coach.engine.events import RepRecord
    from db.engine import close_database, open_database, write_session

    db = tmp_path / "coach.sqlite"
    sm = open_database(db)
    tokens = {}
    with write_session(sm) as s:
        for name, role, th in (("dr", "therapist", None), ("dr2", "therapist", None),
                               ("Łukasz", "patient", "dr"), ("bob", "patient", "dr2")):
            tokens[name] = issue_token(s, add_user(s, name, role, th))
    for who in ("Łukasz", "carl"):
        with SessionRecorder(sm, who, "squat", "h" * 64, "1", "clip.mp4") as rec:
            rec.start_set(1)
            rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0))
    close_database(sm)
    app = create_app(db, max_upload_mb=5)
    with TestClient(app) as client:
        yield client, tokens, db


def H(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# 3. a name outside Latin-1 in a download's file name


@pytest.mark.parametrize("fmt,suffix", [("md", "report.md"), ("csv", "report.csv"), ("sessions_csv", "sessions.csv"),
                                        ("fhir", "report.json"), ("pdf", "report.pdf")])
def test_downloads_of_a_patient_named_lukasz(api_app, fmt, suffix):
    client, tokens, _ = api_app
    r = client.get("/api/patients/Łukasz/report", params={"format": fmt}, headers=H(tokens["dr"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == (f'attachment; filename="_ukasz_{suffix}"; '
                                                f"filename*=UTF-8''%C5%81ukasz_{suffix}")


# 2. far dates


def test_a_prescription_in_year_1_is_refused(api_app):
    client, tokens, _ = api_app
    r = client.post("/api/patients/Łukasz/prescriptions", json={"exercise_id": "squat", "start_date": "0001-01-01"},
                    headers=H(tokens["dr"]))
    assert r.status_code == 422
    assert r.json()["detail"] == "body field 'start_date': Input should be a date from 2000-01-01 to 2099-12-31"
    r = client.get("/api/patients/Łukasz/report", params={"from": "1900-01-01", "to": "8999-12-31", "format": "pdf"},
                   headers=H(tokens["dr"]))
    assert r.status_code == 422
    assert r.json()["detail"] == ("query parameter 'from': Input should be a date from 2000-01-01 to 2099-12-31 "
                                  "(and 1 more)")
    r = client.get("/api/patients/Łukasz/report", params={"from": "2000-01-01", "to": "2099-12-31"},
                   headers=H(tokens["dr"]))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("A report covers at most 3653 days (10 years); 2000-01-01 to 2099-12-31 is ")


def test_a_far_prescription_already_in_the_history_gives_a_bounded_report(api_app):
    """A row written before dates were checked (start 0001-01-01): the default period keeps 10 years."""
    import sqlite3

    client, tokens, db = api_app
    r = client.post("/api/patients/Łukasz/prescriptions", json={"exercise_id": "squat"}, headers=H(tokens["dr"]))
    assert r.status_code == 201
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE prescriptions SET start_date = '0001-01-01'")
    for fmt in ("json", "html", "pdf"):
        r = client.get("/api/patients/Łukasz/report", params={"format": fmt}, headers=H(tokens["dr"]))
        assert r.status_code == 200, (fmt, r.text[:300])
        assert len(r.content) < 2_000_000, fmt
    report = client.get("/api/patients/Łukasz/report", headers=H(tokens["dr"])).json()
    from datetime import date

    span = date.fromisoformat(report["period_to"]) - date.fromisoformat(report["period_from"])
    assert span.days + 1 == 3653 and len(report["adherence"]) <= 523


# 6. NaN in a JSON body


def test_nan_in_a_json_body_is_a_422_that_echoes_nothing(api_app):
    client, tokens, _ = api_app
    sid = client.get("/api/patients/Łukasz/sessions", headers=H(tokens["dr"])).json()[0]["id"]
    for path, body, field in (("/api/patients/Łukasz/prescriptions", '{"exercise_id": "squat", "hold_s": NaN}', "hold_s"),
                              (f"/api/sessions/{sid}/notes", '{"pain_0_10": NaN}', "pain_0_10"),
                              ("/api/patients", '{"name": Infinity}', "name")):
        r = client.post(path, content=body, headers={**H(tokens["dr"]), "content-type": "application/json"})
        assert r.status_code == 422, (path, r.text)
        out = r.json()
        assert out["detail"].startswith(f"body field {field!r}: "), out
        assert all(set(e) == {"loc", "msg", "type"} for e in out["errors"])


# 9. adoption and name probing


def test_an_unowned_patient_is_never_taken_over_through_the_api(api_app):
    client, tokens, _ = api_app
    unowned = client.post("/api/patients", json={"name": "carl"}, headers=H(tokens["dr"]))
    taken = client.post("/api/patients", json={"name": "bob"}, headers=H(tokens["dr"]))
    assert unowned.status_code == taken.status_code == 409
    assert unowned.json()["detail"].replace("carl", "N") == taken.json()["detail"].replace("bob", "N")
    for path in ("/api/patients/carl", "/api/patients/carl/sessions", "/api/patients/carl/report",
                 "/api/patients/bob", "/api/patients/nobody"):
        r = client.get(path, headers=H(tokens["dr"]))
        assert r.status_code == 404, path
    assert [p["name"] for p in client.get("/api/patients", headers=H(tokens["dr"])).json()] == ["Łukasz"]


@pytest.mark.parametrize("name,message", [
    ("a\u0000b", "holds U+0000 (a control character), which is not printable"),
    ("an\u200bna", "holds U+200B (zero width space), which is not printable"),
    ("\u0430na", "mixes Cyrillic and Latin letters, which look alike"),
    ("ana\u202e", "holds U+202E (right-to-left override), which is not printable"),
])
def test_a_new_patient_name_must_be_printable_text_in_one_alphabet(api_app, name, message):
    client, tokens, _ = api_app
    r = client.post("/api/patients", json={"name": name}, headers=H(tokens["dr"]))
    assert r.status_code == 422 and message in r.json()["detail"], r.text


def test_names_are_normalised(api_app):
    client, tokens, _ = api_app
    r = client.post("/api/patients", json={"name": "  Ｄｏｒａ   Ｍａｒｘ "}, headers=H(tokens["dr"]))
    assert r.status_code == 201 and r.json()["name"] == "Dora Marx"
    assert client.get("/api/patients/Dora Marx", headers=H(tokens["dr"])).status_code == 200
    assert client.get("/api/patients/Ｄｏｒａ Marx", headers=H(tokens["dr"])).json()["name"] == "Dora Marx"
    composed = "Łuka\u0301sz"  # a combining accent, NFKC-composed to á
    r = client.post("/api/patients", json={"name": composed}, headers=H(tokens["dr"]))
    assert r.status_code == 201 and r.json()["name"] == "Łukász"


def test_only_an_audited_claim_gives_an_unowned_patient_a_therapist(api_app):
    client, tokens, db = api_app
    res = coach("users", "claim", "carl", "--therapist", "dr", "--db", str(db))
    assert res.status == 0, res.text
    assert client.get("/api/patients/carl", headers=H(tokens["dr"])).json()["sessions"] == 1
    moved = coach("users", "claim", "carl", "--therapist", "dr2", "--db", str(db))
    assert moved.status == 2
    assert moved.sentence() == ("error: carl is dr's patient; to move them to dr2, run `coach users claim carl "
                                "--therapist dr2 --from dr`.")
    assert coach("users", "claim", "carl", "--therapist", "dr2", "--from", "dr", "--db", str(db)).status == 0
    assert client.get("/api/patients/carl", headers=H(tokens["dr"])).status_code == 404
    audit = coach("users", "claims", "carl", "--db", str(db))
    rows = [line for line in audit.out.splitlines() if "coach users claim" in line]
    assert len(rows) == 2 and "│ dr2 " in rows[1] and "│ dr " in rows[1]


# 5. uploads of bad recordings: one sentence, nothing left on disk


def test_each_bad_recording_upload_is_415_and_leaves_no_file(api_app, tmp_path: Path, squat_series):
    client, tokens, _ = api_app
    uploads = client.app.state.settings.uploads
    cases = list(bad_recordings(squat_series))
    for i, (what, data, message) in enumerate(cases):
        path = write_bad(tmp_path / f"bad{i}.npz", data)
        with open(path, "rb") as f:
            r = client.post("/api/jobs", files={"file": (f"bad{i}.npz", f)}, data={"exercise_id": "squat",
                                                                                 "patient": "Łukasz"},
                            headers=H(tokens["dr"]))
        assert r.status_code == 415, (what, r.status_code, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("a zip file that is not a usable coach keypoint recording: the upload is not a "
                                 "valid keypoint recording: ") and message in detail, (what, detail)
        assert str(uploads) not in detail
        assert list(uploads.iterdir()) == [], what


# 8. orphaned uploads


def test_leftover_uploads_are_cleaned_when_the_server_starts(tmp_path: Path):
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from fastapi.testclient import TestClient

    from coach.api import create_app
    from coach.api.job_records import create_job, new_job_id
    from coach.api.upload_store import _HOST
    from coach.api.users import add_user
    from db.engine import close_database, open_database, write_session
    from db.patients import get_or_create_patient

    db = tmp_path / "coach.sqlite"
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    sm = open_database(db)
    with write_session(sm) as s:
        owner = add_user(s, "dr", "therapist").id
        pid = get_or_create_patient(s, "ana").id
    jobs = {}
    for status, keep in (("done", False), ("failed", False), ("done", True), ("queued", False)):
        job, _ = create_job(sm, job_id=new_job_id(), owner_user_id=owner, patient_id=pid, exercise_id="squat",
                            filename="a.npz", kind="recording", upload_name="", prescription_id=None,
                            keep_upload=keep, client_key=None)
        with write_session(sm) as s:
            from db.models import AnalysisJob

            row = s.get(AnalysisJob, job.id)
            row.status, row.upload_name = status, f"{job.id}.npz"
        jobs[(status, keep)] = uploads / f"{job.id}.npz"
        jobs[(status, keep)].write_bytes(b"PK")
    close_database(sm)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    killed_part = uploads / f"{new_job_id()}.{_HOST}-{dead}.part"  # a server killed while receiving
    live_part = uploads / f"{new_job_id()}.{_HOST}-{os.getpid()}.part"  # one receiving now
    no_job_old = uploads / f"{new_job_id()}.video"  # killed between storing and recording, an hour ago
    no_job_new = uploads / f"{new_job_id()}.video"  # another server may be recording its job right now
    legacy = Path(tempfile.mkdtemp(prefix="coach-uploads-"))  # what coach made before durable jobs
    (legacy / "upload.mp4").write_bytes(b"x")
    for p in (killed_part, live_part, no_job_old, no_job_new):
        p.write_bytes(b"x")
    hour_ago = time.time() - 3700
    for p in (no_job_old, legacy):
        os.utime(p, (hour_ago, hour_ago))
    app = create_app(db, uploads=uploads, job_workers=0)
    with TestClient(app):
        pass
    left = set(uploads.iterdir())
    assert left == {live_part, no_job_new, jobs[("done", True)], jobs[("queued", False)]}
    assert not legacy.exists()


# ------------------------------------------------------------ live frames: a decompression bomb


def test_a_live_frame_that_says_30000_by_30000_pixels_is_refused_by_its_header(tmp_path: Path):
    """600 bytes of JPEG whose header says 30000 × 30000: decoding it took 5 GB and 10 s of the server."""
    import json
    import resource
    import struct

    import cv2
    import numpy as np
    from fastapi.testclient import TestClient

    from coach.api import create_app
    from coach.api.users import add_user, issue_token
    from coach.devtools.synthetic import synthesize
    from db.engine import close_database, open_database, write_session
    from test_api_live import ReplayEngine, frame_msg

    clip = synthesize("squat", reps=1, fps=30.0)
    db = tmp_path / "c.sqlite"
    sm = open_database(db)
    with write_session(sm) as s:
        add_user(s, "dr", "therapist")
        token = issue_token(s, add_user(s, "ana", "patient", "dr"))
    close_database(sm)
    bomb = bytearray(cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    at = bomb.find(b"\xff\xc0")
    struct.pack_into(">HH", bomb, at + 5, 30000, 30000)
    app = create_app(db, pose_engine_factory=lambda: ReplayEngine(clip.series))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with TestClient(app) as client, client.websocket_connect("/api/live") as ws:
        ws.send_text(json.dumps({"type": "start", "token": token, "exercise_id": "squat", "ready_s": 0}))
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes(frame_msg(1.0, bytes(bomb)))
        answer = ws.receive_json()
        assert (answer["type"], answer["status"], answer["detail"]) == ("error", 413, (
            "a frame is at most 4096 pixels wide and high, this one says 30000 × 30000; skipped (send about 640 px "
            "wide)"))
        ws.send_bytes(frame_msg(2.0))
        assert ws.receive_json()["type"] == "frame"  # the session goes on
        ws.send_text(json.dumps({"type": "stop"}))
        assert ws.receive_json()["type"] == "summary"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB
