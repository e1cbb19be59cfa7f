"""The API documents every body it answers (``coach.api.schemas``): each JSON success response of
``/openapi.json`` names its properties, real bodies of a rich history fit their schema key by key, and the
rep shape is declared once, as the engine writes it."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi")
jsonschema = pytest.importorskip("jsonschema")
from fastapi.testclient import TestClient  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402


def H(token):
    return {"Authorization": f"Bearer {token}"}


def _seed(db_path):
    """A therapist and a patient with two prescriptions, a squat session with everything a session can hold
    (reps with and without faults, one that ended early, a fault outside reps, time not measurable, an
    angle series with a gap, a second empty set, a note) and a plank session with holds."""
    from coach.app.prescriptions import assign
    from coach.app.session_recorder import SessionRecorder
    from coach.engine.events import FormFault, HoldRecord, NotMeasurable, RepRecord

    sm = open_database(db_path)
    tokens = {}
    with write_session(sm) as s:
        tokens["therapist"] = issue_token(s, add_user(s, "drsmith", "therapist"))
        tokens["patient"] = issue_token(s, add_user(s, "ana", "patient", "drsmith"))
        assign(s, "ana", "squat", reps=10, sets=3, per_week=3, notes="pain under 4")
        assign(s, "ana", "plank", hold_s=30, per_week=2)
    with SessionRecorder(sm, "ana", "squat", "h" * 64, "1", "clip.mp4") as rec:
        rec.start_set(1, target_reps=5, started_s=0.5)
        fault = FormFault("shallow", "Sit a little deeper", 2.0, rep_index=1, side="left", value=115.0)
        rec.add_rep(RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0, (fault,)))
        rec.add_rep(RepRecord(2, "both", 3.0, 5.25, 1.125, 1.0, "knee", 85.5, 172.0, ended_early=True))
        rec.add_fault(FormFault("out_of_view", "Step back", 6.0, "info", None, "none", None))
        rec.add_not_measurable([NotMeasurable(6.0, 7.5, "left_knee not visible")])
        rec.add_angle_series("knee", [0.0, 0.1, 0.2, 0.3], [170.0, float("nan"), 150.5, 120.0])
        rec.end_set("source ended", ended_s=8.0)
        rec.start_set(2, target_reps=5)
        rec.end_set("quit")
        rec.add_note(3, 7, "knee ok")
    with SessionRecorder(sm, "ana", "plank", "p" * 64, "2", "camera 0") as rec:
        rec.start_set(1, target_hold_s=30.0)
        rec.add_holds([HoldRecord(1.0, 11.5, "both"), HoldRecord(12.0, 20.0)])
        rec.end_set("completed")
    close_database(sm)
    return tokens


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API over that history, a broken definition file in an extra folder, and one finished analysis job
    (a synthetic recording of 3 squats): (client, tokens, the answer to that job's upload)."""
    from coach.devtools.synthetic import synthesize
    from coach.pose.recording import save_recording

    root = tmp_path_factory.mktemp("schemas")
    extra = root / "exercises"
    extra.mkdir()
    (extra / "knee_broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    tokens = _seed(root / "coach.sqlite")
    npz = save_recording(root / "squat3.npz", synthesize("squat", reps=3, fps=30.0).series)
    with TestClient(create_app(root / "coach.sqlite", exercise_dirs=[extra])) as client:
        r = client.post("/api/jobs", files={"file": ("squat3.npz", npz.read_bytes())}, data={"exercise_id": "squat"},
                        headers=H(tokens["patient"]))
        assert r.status_code == 202, r.text
        accepted, job_id = r, r.json()["id"]
        t0 = time.monotonic()
        while client.get(f"/api/jobs/{job_id}", headers=H(tokens["patient"])).json()["status"] not in ("done",
                                                                                                        "failed"):
            assert time.monotonic() - t0 < 120, "the job did not finish"
            time.sleep(0.05)
        yield client, tokens, accepted


def _json_media(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        assert schema["$ref"].startswith("#/components/schemas/"), schema
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _success_bodies(doc: dict):
    """(operation, status, media type, schema) of every JSON success response the schema documents."""
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for code, response in op["responses"].items():
                if code.startswith("2"):
                    for media, content in response.get("content", {}).items():
                        if _json_media(media):
                            yield f"{method.upper()} {path}", code, media, content.get("schema", {})


def test_every_json_success_body_is_documented(api):
    """Every 2xx JSON body has a schema that names its properties (a component of the API's models, or an
    array of them): none is a bare object that documents nothing."""
    client, _, _ = api
    doc = client.get("/openapi.json").json()
    bodies = list(_success_bodies(doc))
    assert len(bodies) >= 20
    undocumented = []
    for op, code, media, schema in bodies:
        body = _resolve(schema, doc)
        if body.get("type") == "array":
            body = _resolve(body.get("items", {}), doc)
        if not body.get("properties"):
            undocumented.append(f"{op} {code} {media}: {schema}")
    assert not undocumented, "\n".join(undocumented)


def _undocumented_keys(instance, schema: dict, doc: dict, where: str, described: bool = False) -> list[str]:
    """Keys of ``instance`` that its schema does not declare. An object whose schema names no properties
    passes only as a map with typed values (followed), or as a field the schema describes as free-form
    (``described``: e.g. a definition as JSON, a FHIR resource)."""
    schema = _resolve(schema, doc)
    for key in ("anyOf", "oneOf"):
        if key in schema:  # the branch the value fits
            for branch in schema[key]:
                if _fits(instance, branch, doc):
                    return _undocumented_keys(instance, branch, doc, where, described)
            return [f"{where}: fits no branch of {schema[key]}"]
    out = []
    if isinstance(instance, dict):
        props = schema.get("properties")
        values = schema.get("additionalProperties")
        if props:
            out += [f"{where}.{k}" for k in instance if k not in props]
            for k, v in instance.items():
                if k in props:
                    out += _undocumented_keys(v, props[k], doc, f"{where}.{k}", "description" in props[k])
        elif isinstance(values, dict) and values:
            for k, v in instance.items():
                out += _undocumented_keys(v, values, doc, f"{where}[{k!r}]")
        elif not described:
            out.append(f"{where}: an object whose keys the schema does not name ({schema})")
    elif isinstance(instance, list) and "items" in schema:
        for i, v in enumerate(instance):
            out += _undocumented_keys(v, schema["items"], doc, f"{where}[{i}]", described)
    return out


def _fits(instance, schema: dict, doc: dict) -> bool:
    return not list(_validator(schema, doc).iter_errors(instance))


def _validator(schema: dict, doc: dict):
    # the document's components beside the schema, so that "#/components/schemas/X" resolves
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]},
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _bodies(client, tokens, accepted):
    """(label, operation, response) of every JSON success answer, on things that exist."""
    t, p = H(tokens["therapist"]), H(tokens["patient"])
    job_id = accepted.json()["id"]
    out = [("upload", "POST /api/jobs", accepted)]

    def call(label, op, method, url, headers=t, **kw):
        r = client.request(method, url, headers=headers, **kw)
        assert r.status_code < 300, (label, r.status_code, r.text)
        out.append((label, op, r))
        return r

    call("me (therapist)", "GET /api/me", "GET", "/api/me")
    call("me (patient)", "GET /api/me", "GET", "/api/me", p)
    call("patients", "GET /api/patients", "GET", "/api/patients")
    call("new patient", "POST /api/patients", "POST", "/api/patients", json={"name": "dora"})
    call("patient", "GET /api/patients/{name}", "GET", "/api/patients/ana")
    rx = call("assign", "POST /api/patients/{name}/prescriptions", "POST", "/api/patients/ana/prescriptions",
              json={"exercise_id": "lunge", "reps": 8, "until_date": "2099-12-31"}).json()
    call("end", "POST /api/prescriptions/{prescription_id}/end", "POST", f"/api/prescriptions/{rx['id']}/end")
    call("prescriptions", "GET /api/patients/{name}/prescriptions", "GET",
         "/api/patients/ana/prescriptions?include_ended=true")
    sessions = call("sessions", "GET /api/patients/{name}/sessions", "GET", "/api/patients/ana/sessions").json()
    for s in sessions:
        for q in ("", "?series=true"):
            call(f"session {s['id']}{q}", "GET /api/sessions/{session_id}", "GET", f"/api/sessions/{s['id']}{q}")
    call("note", "POST /api/sessions/{session_id}/notes", "POST", f"/api/sessions/{sessions[-1]['id']}/notes", p,
         json={"pain_0_10": 2, "text": "fine"})
    for fmt in ("json", "fhir"):
        call(f"report {fmt}", "GET /api/patients/{name}/report", "GET", f"/api/patients/ana/report?format={fmt}")
    call("summary", "GET /api/patients/{name}/summary", "GET", "/api/patients/ana/summary")
    call("exercises", "GET /api/exercises", "GET", "/api/exercises")
    call("problems", "GET /api/exercises/problems", "GET", "/api/exercises/problems")
    for ex in ("squat", "plank", "lunge"):
        call(f"exercise {ex}", "GET /api/exercises/{exercise_id}", "GET", f"/api/exercises/{ex}")
    good = client.get("/api/exercises/squat", headers=t).json()["yaml"]
    for label, text in (("valid", good), ("unknown field", good + "\nbogus: 1\n"), ("not YAML", "id: [x\n")):
        call(f"validate ({label})", "POST /api/exercises/validate", "POST", "/api/exercises/validate",
             content=text.encode())
    call("jobs", "GET /api/jobs", "GET", "/api/jobs", p)
    call("job", "GET /api/jobs/{job_id}", "GET", f"/api/jobs/{job_id}", p)
    return out


def test_real_bodies_fit_their_schema_key_by_key(api):
    """Every JSON answer of a history with reps, faults, holds, time not measurable, angle series, notes,
    prescriptions, a finished job and a broken definition file fits the schema /openapi.json documents for
    it, and holds no key the schema does not declare; and the models lose nothing on the way: a job's
    ``result`` is the ``coach workout --json`` object its analysis stored, key for key."""
    from coach.api.job_records import get_job

    client, tokens, accepted = api
    doc = client.get("/openapi.json").json()
    documented = {(op, code, media): schema for op, code, media, schema in _success_bodies(doc)}
    seen_ops = set()
    problems = []
    for label, op, r in _bodies(client, tokens, accepted):
        media = r.headers["content-type"].split(";")[0]
        schema = documented.get((op, str(r.status_code), media))
        if schema is None:
            problems.append(f"{label}: {op} {r.status_code} {media} is not documented")
            continue
        seen_ops.add(op)
        body = r.json()
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                  for e in _validator(schema, doc).iter_errors(body)]
        problems += [f"{label}: {e}" for e in errors]
        problems += [f"{label}: undocumented key {k}" for k in _undocumented_keys(body, schema, doc, "body")]
        if label == "job":
            stored = get_job(client.app.state.sessionmaker, body["id"]).result
            assert body["status"] == "done" and body["result"]["reps"] == 3
            assert body["result"] == stored
    assert not problems, "\n".join(problems)
    assert len(seen_ops) >= 18


def test_the_rep_shape_is_declared_once_as_the_engine_writes_it(api):
    """One ``RepOut`` (and one ``FormFaultOut``) has the keys of ``RepRecord.to_dict()`` (``FormFault``'s), and
    every place of the schema where reps or faults appear refers to it: a session's sets, a job's result and
    each of its sets."""
    from coach.engine.events import FormFault, HoldRecord, NotMeasurable, RepRecord

    client, _, _ = api
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    fault = FormFault("shallow", "Sit deeper", 2.0)
    rep = RepRecord(1, "both", 1.0, 3.0, 1.0, 1.0, "knee", 80.0, 170.0, (fault,))
    for name, record in (("RepOut", rep), ("FormFaultOut", fault), ("HoldOut", HoldRecord(1.0, 2.0)),
                         ("NotMeasurableOut", NotMeasurable(1.0, 2.0, "why"))):
        assert set(schemas[name]["properties"]) == set(record.to_dict()), name
    rep_keys = set(schemas["RepOut"]["properties"])
    copies = [n for n, s in schemas.items() if n != "RepOut" and rep_keys <= set(s.get("properties", {}))]
    assert copies == [], f"the rep shape is written again in {copies}"
    refs = {(n, p): s["properties"][p]["items"].get("$ref", "").rsplit("/", 1)[-1]
            for n, p in (("SetOut", "reps"), ("SetResultOut", "reps_records"), ("WorkoutResultOut", "reps_records"),
                         ("RepOut", "faults"), ("SetOut", "faults_outside_reps"), ("WorkoutResultOut", "faults"),
                         ("SetResultOut", "faults"))
            for s in [schemas[n]]}
    assert refs == {k: ("FormFaultOut" if "fault" in k[1] else "RepOut") for k in refs}
