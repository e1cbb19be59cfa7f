"""The HTTP API through FastAPI's TestClient: every endpoint, and every refusal (no token, bad or expired
token, wrong role, another therapist's patient, oversized and non-video uploads). Temporary SQLite files;
no pose model except where a real video is analysed."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402
from db.models import utc_now  # noqa: E402


def _seed(db_path):
    """Two therapists with one patient each, a stray patient, tokens (one expired), one session for ana."""
    from coach.engine.events import FormFault, RepRecord
    from coach.app.session_recorder import SessionRecorder

    sm = open_database(db_path)
    tokens = {}
    with write_session(sm) as s:
        for name, role, th in (("drsmith", "therapist", None), ("drjones", "therapist", None),
                               ("ana", "patient", "drsmith"), ("bob", "patient", "drjones")):
            u = add_user(s, name, role, th)
            tokens[name] = issue_token(s, u)
        ana = s.scalars(__import__("sqlalchemy").select(__import__("db.models").models.User)
                        .where(__import__("db.models").models.User.name == "ana")).one()
        tokens["expired"] = issue_token(s, ana, days=1, now=utc_now() - timedelta(days=2))
    with SessionRecorder(sm, "ana", "squat", "h" * 64, "1", "clip.mp4") as rec:
        rec.start_set(1, target_reps=5)
        fault = FormFault("shallow", "Sit a little deeper", 2.0, rep_index=1, side="left", value=115.0)
        rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0, (fault,)))
        rec.add_rep(RepRecord(2, "both", 3.0, 5.0, 1.0, 1.0, "knee", 85.0, 172.0))
        rec.end_set("source ended")
    with SessionRecorder(sm, "carl", "squat", "h" * 64, "1", "clip.mp4") as rec:  # nobody's patient
        rec.start_set(1)
    close_database(sm)
    return tokens


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("api") / "coach.sqlite"
    tokens = _seed(db_path)
    app = create_app(db_path, max_upload_mb=0.5)
    with TestClient(app) as client:
        yield client, tokens


def H(token):
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------------ authentication


@pytest.mark.parametrize("path", ["/api/me", "/api/patients", "/api/exercises", "/api/jobs",
                                  "/api/patients/ana/report", "/api/sessions/1"])
def test_no_token_is_401_with_a_bearer_challenge(api, path):
    client, _ = api
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "token" in r.json()["detail"]


def test_invalid_and_expired_tokens_are_401(api):
    client, tokens = api
    assert client.get("/api/me", headers=H("coach_not-a-token")).status_code == 401
    r = client.get("/api/me", headers=H(tokens["expired"]))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_tokens_are_stored_hashed(api, tmp_path):
    client, tokens = api
    import sqlite3

    path = client.app.state.settings.db_path
    rows = sqlite3.connect(path).execute("SELECT token_sha256 FROM api_tokens").fetchall()
    stored = {r[0] for r in rows}
    assert all(len(h) == 64 for h in stored)
    assert not any(t in stored for t in tokens.values())
    import hashlib

    assert hashlib.sha256(tokens["ana"].encode()).hexdigest() in stored


def test_me(api):
    client, tokens = api
    assert client.get("/api/me", headers=H(tokens["drsmith"])).json() == {"name": "drsmith", "role": "therapist"}
    me = client.get("/api/me", headers=H(tokens["ana"])).json()
    assert me == {"name": "ana", "role": "patient", "patient": "ana", "therapist": "drsmith"}


# ------------------------------------------------------------------------------------------ patients


def test_a_therapist_sees_only_their_patients(api):
    client, tokens = api
    names = [p["name"] for p in client.get("/api/patients", headers=H(tokens["drsmith"])).json()]
    assert names == ["ana"]
    ana = client.get("/api/patients/ana", headers=H(tokens["drsmith"])).json()
    assert ana["therapist"] == "drsmith" and ana["sessions"] == 1
    for path in ("/api/patients/bob", "/api/patients/bob/sessions", "/api/patients/bob/prescriptions",
                 "/api/patients/bob/report", "/api/patients/carl", "/api/patients/nobody"):
        r = client.get(path, headers=H(tokens["drsmith"]))
        assert r.status_code == 404, path


def test_a_patient_sees_only_themself(api):
    client, tokens = api
    assert [p["name"] for p in client.get("/api/patients", headers=H(tokens["ana"])).json()] == ["ana"]
    assert client.get("/api/patients/ana", headers=H(tokens["ana"])).status_code == 200
    assert client.get("/api/patients/bob", headers=H(tokens["ana"])).status_code == 404
    sid = client.get("/api/patients/ana/sessions", headers=H(tokens["ana"])).json()[0]["id"]
    assert client.get(f"/api/sessions/{sid}", headers=H(tokens["bob"])).status_code == 404
    assert client.get(f"/api/sessions/{sid}", headers=H(tokens["drjones"])).status_code == 404


def test_add_patient(api):
    """A new name is the caller's patient; a name in use is 409 with one answer whether the patient has
    another therapist (bob) or none (carl, recorded at a clinic PC): the API never takes a patient over."""
    client, tokens = api
    r = client.post("/api/patients", json={"name": "dora"}, headers=H(tokens["drjones"]))
    assert r.status_code == 201 and r.json()["therapist"] == "drjones" and r.json()["sessions"] == 0
    again = client.post("/api/patients", json={"name": "dora"}, headers=H(tokens["drjones"]))
    assert again.status_code == 200 and again.json()["name"] == "dora"
    taken = client.post("/api/patients", json={"name": "bob"}, headers=H(tokens["drsmith"]))
    unowned = client.post("/api/patients", json={"name": "carl"}, headers=H(tokens["drsmith"]))
    assert taken.status_code == unowned.status_code == 409
    assert taken.json()["detail"].replace("bob", "X") == unowned.json()["detail"].replace("carl", "X")
    assert client.get("/api/patients/carl", headers=H(tokens["drsmith"])).status_code == 404
    assert client.post("/api/patients", json={"name": "erin"}, headers=H(tokens["ana"])).status_code == 403
    assert client.post("/api/patients", json={"name": "  "}, headers=H(tokens["drsmith"])).status_code == 422


# ------------------------------------------------------------------------------------- prescriptions


def test_prescriptions_assign_list_end(api):
    client, tokens = api
    body = {"exercise_id": "squat", "reps": 12, "sets": 3, "per_week": 4, "notes": "slow down"}
    r = client.post("/api/patients/ana/prescriptions", json=body, headers=H(tokens["drsmith"]))
    assert r.status_code == 201, r.text
    rx = r.json()
    assert rx["active"] and rx["reps"] == 12 and rx["therapist"] == "drsmith"
    # a second one of the same exercise replaces it
    r2 = client.post("/api/patients/ana/prescriptions", json={**body, "reps": 8}, headers=H(tokens["drsmith"]))
    active = client.get("/api/patients/ana/prescriptions", headers=H(tokens["ana"])).json()
    assert [p["id"] for p in active] == [r2.json()["id"]]
    every = client.get("/api/patients/ana/prescriptions?include_ended=true", headers=H(tokens["ana"])).json()
    assert len(every) == 2
    # refusals: a patient, another therapist, an unknown exercise, bad targets
    assert client.post("/api/patients/ana/prescriptions", json=body, headers=H(tokens["ana"])).status_code == 403
    assert client.post("/api/patients/ana/prescriptions", json=body,
                       headers=H(tokens["drjones"])).status_code == 404
    r = client.post("/api/patients/ana/prescriptions", json={"exercise_id": "sqat"}, headers=H(tokens["drsmith"]))
    assert r.status_code == 422 and "squat" in r.json()["detail"]
    assert client.post("/api/patients/ana/prescriptions", json={"exercise_id": "squat", "reps": 0},
                       headers=H(tokens["drsmith"])).status_code == 422
    assert client.post("/api/patients/ana/prescriptions",
                       json={"exercise_id": "squat", "start_date": "2026-05-01", "until_date": "2026-04-01"},
                       headers=H(tokens["drsmith"])).status_code == 422
    rid = r2.json()["id"]
    assert client.post(f"/api/prescriptions/{rid}/end", headers=H(tokens["ana"])).status_code == 403
    assert client.post(f"/api/prescriptions/{rid}/end", headers=H(tokens["drjones"])).status_code == 404
    ended = client.post(f"/api/prescriptions/{rid}/end", headers=H(tokens["drsmith"]))
    assert ended.status_code == 200 and not ended.json()["active"] and ended.json()["ended_at"]
    assert client.get("/api/patients/ana/prescriptions", headers=H(tokens["ana"])).json() == []
    assert client.post("/api/prescriptions/999999/end", headers=H(tokens["drsmith"])).status_code == 404


# ------------------------------------------------------------------------------------------ sessions


def test_sessions_with_reps_and_faults(api):
    client, tokens = api
    rows = client.get("/api/patients/ana/sessions", headers=H(tokens["drsmith"])).json()
    s = next(r for r in rows if r["source"] == "clip.mp4")
    assert s["n_reps"] == 2 and s["n_faults"] == 1 and s["exercise_id"] == "squat"
    d = client.get(f"/api/sessions/{s['id']}", headers=H(tokens["ana"])).json()
    reps = d["sets"][0]["reps"]
    assert [r["index"] for r in reps] == [1, 2]
    assert reps[0]["faults"][0]["code"] == "shallow" and reps[0]["range_of_motion"] == 90.0
    assert client.get("/api/sessions/999999", headers=H(tokens["ana"])).status_code == 404
    assert client.get("/api/sessions/0", headers=H(tokens["ana"])).status_code == 422
    assert client.get("/api/patients/ana/sessions?exercise_id=plank",
                      headers=H(tokens["ana"])).json() == []


def test_session_notes(api):
    client, tokens = api
    sid = client.get("/api/patients/ana/sessions", headers=H(tokens["ana"])).json()[-1]["id"]
    r = client.post(f"/api/sessions/{sid}/notes", json={"pain_0_10": 3, "text": "knee ok"},
                    headers=H(tokens["ana"]))
    assert r.status_code == 201 and r.json()["pain_0_10"] == 3
    assert client.post(f"/api/sessions/{sid}/notes", json={"pain_0_10": 11},
                       headers=H(tokens["ana"])).status_code == 422
    assert client.post(f"/api/sessions/{sid}/notes", json={}, headers=H(tokens["ana"])).status_code == 422
    assert client.post(f"/api/sessions/{sid}/notes", json={"text": "x"},
                       headers=H(tokens["bob"])).status_code == 404
    d = client.get(f"/api/sessions/{sid}", headers=H(tokens["drsmith"])).json()
    assert d["notes"][0]["text"] == "knee ok"


# ------------------------------------------------------------------------------------------- reports


def test_report_summary(api):
    client, tokens = api
    r = client.get("/api/patients/ana/summary", headers=H(tokens["drsmith"]))
    assert r.status_code == 200
    rep = r.json()
    squat = next(e for e in rep["exercises"] if e["exercise_id"] == "squat")
    assert rep["patient"] == "ana" and squat["sessions_done"] >= 1
    assert squat["reps_done"] + squat["reps_outside_plan"] >= 2
    assert client.get("/api/patients/ana/summary?from=2026-03-02&to=2026-03-01",
                      headers=H(tokens["drsmith"])).status_code == 422
    assert client.get("/api/patients/bob/summary", headers=H(tokens["drsmith"])).status_code == 404


@pytest.mark.parametrize("fmt,ctype,start", [
    ("json", "application/json", b"{"), ("html", "text/html", b"<!"), ("pdf", "application/pdf", b"%PDF"),
    ("md", "text/markdown", b"#"), ("csv", "text/csv", b""), ("sessions_csv", "text/csv", b""),
    ("fhir", "application/fhir+json", b"{"),
])
def test_report_formats(api, fmt, ctype, start):
    client, tokens = api
    r = client.get(f"/api/patients/ana/report?format={fmt}", headers=H(tokens["ana"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(ctype)
    assert r.content.lstrip().startswith(start) and len(r.content) > 20
    if fmt == "fhir":
        assert r.json()["resourceType"] == "Bundle"
    if fmt == "json":
        assert "ana" in r.text


def test_report_refusals(api):
    client, tokens = api
    assert client.get("/api/patients/ana/report?from=2026-05-01&to=2026-04-01",
                      headers=H(tokens["drsmith"])).status_code == 422
    assert client.get("/api/patients/ana/report?format=docx", headers=H(tokens["drsmith"])).status_code == 422
    assert client.get("/api/patients/ana/report", headers=H(tokens["drjones"])).status_code == 404
    assert client.get("/api/patients/bob/report", headers=H(tokens["ana"])).status_code == 404
    r = client.get("/api/patients/ana/report?format=csv&from=2026-01-01&to=2026-12-31", headers=H(tokens["drsmith"]))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]


# ----------------------------------------------------------------------------------------- exercises


def test_exercise_library(api):
    client, tokens = api
    rows = client.get("/api/exercises", headers=H(tokens["ana"])).json()
    ids = [r["id"] for r in rows]
    assert "squat" in ids and len(ids) >= 10
    sq = client.get("/api/exercises/squat", headers=H(tokens["ana"])).json()
    assert sq["name"] and "id: squat" in sq["yaml"] and sq["definition"]["movement"]["measure"]
    r = client.get("/api/exercises/sqaut", headers=H(tokens["ana"]))
    assert r.status_code == 404 and "squat" in r.json()["detail"]


def test_validate_definition(api):
    client, tokens = api
    good = client.get("/api/exercises/squat", headers=H(tokens["drsmith"])).json()["yaml"]
    r = client.post("/api/exercises/validate", content=good, headers={**H(tokens["drsmith"]),
                                                                      "Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json() == {"valid": True, "id": "squat", "problems": []}
    bad = good + "\nbogus_field: 1\n"
    body = client.post("/api/exercises/validate", content=bad, headers={**H(tokens["drsmith"]),
                                                                        "Content-Type": "application/yaml"}).json()
    assert not body["valid"] and body["problems"]
    assert body["problems"][0]["line"] == good.count("\n") + 2 and body["problems"][0]["field"] == "bogus_field"
    broken = client.post("/api/exercises/validate", content="id: [unclosed\n", headers=H(tokens["drsmith"])).json()
    assert not broken["valid"] and broken["problems"][0]["line"] >= 1
    ctrl = client.post("/api/exercises/validate", content="id: squat\nname: \x1f\n", headers=H(tokens["drsmith"]))
    assert ctrl.status_code == 200 and ctrl.json()["problems"][0]["line"] == 2
    assert client.post("/api/exercises/validate", content=good, headers=H(tokens["ana"])).status_code == 403
    assert client.post("/api/exercises/validate", content=b"\xff\xfe", headers=H(tokens["drsmith"])).status_code == 422
    assert client.post("/api/exercises/validate", content="#" * 300_000,
                       headers=H(tokens["drsmith"])).status_code == 413


# ------------------------------------------------------------------------------------------------ jobs


@pytest.fixture(scope="module")
def squat_npz(tmp_path_factory):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=3, fps=30.0)
    return save_recording(tmp_path_factory.mktemp("npz") / "squat3.npz", clip.series), clip.reps


def _wait(client, token, job_id, timeout_s=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        job = client.get(f"/api/jobs/{job_id}", headers=H(token)).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_upload_a_recording_runs_a_job_and_stores_the_session(api, squat_npz):
    client, tokens = api
    path, true_reps = squat_npz
    with open(path, "rb") as f:
        r = client.post("/api/jobs", files={"file": ("squat3.npz", f, "application/octet-stream")},
                        data={"exercise_id": "squat"}, headers=H(tokens["ana"]))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "done") and job["status_url"] == f"/api/jobs/{job['id']}"
    done = _wait(client, tokens["ana"], job["id"])
    assert done["status"] == "done", done["error"]
    result = done["result"]
    assert result["reps"] == true_reps == 3
    assert result["session_id"] == done["session_id"] and done["progress"] == 1.0
    assert set(result) >= {"exercise", "source", "reps", "reps_records", "faults", "holds", "sets", "ended_reason"}
    stored = client.get(f"/api/sessions/{done['session_id']}", headers=H(tokens["drsmith"])).json()
    assert stored["totals"]["reps"] == 3 and stored["patient"] == "ana"
    # the job is the uploader's; others do not see it
    assert client.get(f"/api/jobs/{job['id']}", headers=H(tokens["drsmith"])).status_code == 404
    assert [j["id"] for j in client.get("/api/jobs", headers=H(tokens["ana"])).json()] == [job["id"]]


def test_a_therapist_uploads_for_their_patient_only(api, squat_npz):
    client, tokens = api
    path, _ = squat_npz
    data = path.read_bytes()
    r = client.post("/api/jobs", files={"file": ("a.npz", data)}, data={"exercise_id": "squat", "patient": "bob"},
                    headers=H(tokens["drsmith"]))
    assert r.status_code == 404
    r = client.post("/api/jobs", files={"file": ("a.npz", data)}, data={"exercise_id": "squat"},
                    headers=H(tokens["drsmith"]))
    assert r.status_code == 422
    r = client.post("/api/jobs", files={"file": ("a.npz", data)}, data={"exercise_id": "squat", "patient": "bob"},
                    headers=H(tokens["ana"]))
    assert r.status_code == 403
    r = client.post("/api/jobs", files={"file": ("a.npz", data)}, data={"exercise_id": "squat", "patient": "ana"},
                    headers=H(tokens["drsmith"]))
    assert r.status_code == 202
    assert _wait(client, tokens["drsmith"], r.json()["id"])["status"] == "done"


def test_upload_refusals(api):
    client, tokens = api
    h = H(tokens["ana"])
    r = client.post("/api/jobs", files={"file": ("big.mp4", b"\0" * 600_000)}, data={"exercise_id": "squat"},
                    headers=h)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/api/jobs", files={"file": ("clip.mp4", b"this is not a video at all" * 100)},
                    data={"exercise_id": "squat"}, headers=h)
    assert r.status_code == 415 and "video" in r.json()["detail"]
    r = client.post("/api/jobs", files={"file": ("fake.npz", b"PK\x03\x04" + b"\0" * 100)},
                    data={"exercise_id": "squat"}, headers=h)
    assert r.status_code == 415
    r = client.post("/api/jobs", files={"file": ("empty.mp4", b"")}, data={"exercise_id": "squat"}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/jobs", files={"file": ("x.mp4", b"abc")}, data={"exercise_id": "nope"}, headers=h)
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    assert client.post("/api/jobs", data={"exercise_id": "squat"}, headers=h).status_code == 422
    assert client.post("/api/jobs", files={"file": ("x.mp4", b"abc")}, data={"exercise_id": "squat"}).status_code == 401
    assert client.get("/api/jobs/deadbeef", headers=h).status_code == 404


def test_upload_a_real_video_uses_the_pose_model(tmp_path, pose_model):
    """A tiny generated .mp4 (nobody in it) goes through OpenCV and the real model: 0 reps, not measurable."""
    import cv2

    video = tmp_path / "blank.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for i in range(10):
        w.write(np.full((120, 160, 3), 40 + 10 * i, np.uint8))
    w.release()
    db_path = tmp_path / "c.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        tok = issue_token(s, add_user(s, "dr", "therapist"))
        add_user(s, "eve", "patient", "dr")
    close_database(sm)
    with TestClient(create_app(db_path, model_path=pose_model)) as client:
        r = client.post("/api/jobs", files={"file": ("blank.mp4", video.read_bytes(), "video/mp4")},
                        data={"exercise_id": "squat", "patient": "eve"}, headers=H(tok))
        assert r.status_code == 202, r.text
        job = _wait(client, tok, r.json()["id"])
        assert job["status"] == "done", job["error"]
        assert job["frame_count"] == 10 and job["frames_done"] == 10
        assert job["result"]["reps"] == 0 and job["result"]["not_measurable_s"] > 0


def test_stopping_the_server_interrupts_a_running_job(tmp_path, pose_model):
    """A running job stops at its next frame when the server stops: its session ends 'interrupted' and the
    job goes back to the queue, that start not counted, its upload kept, to be finished after a restart
    (tests/test_jobs.py restarts one)."""
    import cv2
    import sqlite3

    video = tmp_path / "long.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for i in range(600):
        w.write(np.full((240, 320, 3), i % 255, np.uint8))
    w.release()
    db_path = tmp_path / "c.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        add_user(s, "dr", "therapist")
        tok = issue_token(s, add_user(s, "eve", "patient", "dr"))
    close_database(sm)
    with TestClient(create_app(db_path, model_path=pose_model)) as client:
        r = client.post("/api/jobs", files={"file": ("long.mp4", video.read_bytes())}, data={"exercise_id": "squat"},
                        headers=H(tok))
        job_id = r.json()["id"]
        for _ in range(400):
            if client.get(f"/api/jobs/{job_id}", headers=H(tok)).json()["frames_done"] > 5:
                break
            time.sleep(0.05)
        jobs = client.app.state.jobs
    job = jobs.get(job_id)
    assert job.status == "queued" and job.attempts == 0 and 5 < job.frames_done < 600
    assert jobs.uploads.path(job.upload_name).is_file()
    row = sqlite3.connect(db_path).execute("SELECT end_reason, ended_at FROM sessions").fetchone()
    assert row[0] == "interrupted" and row[1] is not None


# ------------------------------------------------------------------------------------------ web page


def test_the_page_and_docs_are_served(api):
    client, _ = api
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/jobs" in schema["paths"] and "/api/exercises/validate" in schema["paths"]


def test_an_upload_without_content_length_is_cut_off_at_the_limit(api):
    client, tokens = api

    def chunks():
        for _ in range(20):
            yield b"\0" * 50_000

    r = client.post("/api/jobs", content=chunks(), headers={**H(tokens["ana"]),
                                                             "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413


def test_cors_only_for_configured_origins(tmp_path):
    db_path = tmp_path / "c.sqlite"
    pre = {"Origin": "https://portal.example", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "Authorization"}
    with TestClient(create_app(db_path, cors_origins=["https://portal.example"])) as client:
        r = client.options("/api/patients", headers=pre)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://portal.example"
        r = client.options("/api/patients", headers={**pre, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(db_path)) as client:
        assert "access-control-allow-origin" not in client.get("/api/me", headers={"Origin": "https://x.example"}).headers
