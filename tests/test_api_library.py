"""A library with broken definition files: `load_library` lists the definitions that load and, apart, the
files that do not; `GET /api/exercises` keeps answering with the rest (and counts the broken files in a
header), `GET /api/exercises/problems` tells a therapist what is wrong (file name, line, field, message;
no folder path), `GET /api/exercises/{id}` of a broken one is a 422 with a message, and `coach exercises
list` uses the same function. The real user folder is never read: COACH_EXERCISES_DIR points at a
temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from coach.errors import DefinitionError  # noqa: E402
from coach.exercise.library import BUILTIN_DIR, get_definition, list_definitions, load_library  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402

#: Not YAML at all: the flow sequence opened on line 2 is never closed.
UNCLOSED = "id: knee_broken\nname: [Knee\n"


def _valid(new_id: str, name: str, base: str = "squat") -> str:
    """A copy of a built-in definition with another id and name."""
    text = (BUILTIN_DIR / f"{base}.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^id:.*$", f"id: {new_id}", text, count=1)
    return re.sub(r"(?m)^name:.*$", f"name: {name}", text, count=1)


@pytest.fixture
def folders(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A user folder with one valid and one malformed definition, an extra folder with a malformed lunge
    (replacing the built-in one)."""
    user = tmp_path / "user_exercises"
    extra = tmp_path / "clinic"
    user.mkdir()
    extra.mkdir()
    monkeypatch.setenv("COACH_EXERCISES_DIR", str(user))
    (user / "knee_ok.yaml").write_text(_valid("knee_ok", "Clinic knee"), encoding="utf-8")
    (user / "knee_broken.yaml").write_text(UNCLOSED, encoding="utf-8")
    (extra / "lunge.yaml").write_text("id: lunge\nname: Lunge\nbogus_field: 1\n", encoding="utf-8")
    return user, extra


@pytest.fixture
def api(folders, tmp_path: Path):
    db_path = tmp_path / "coach.sqlite"
    sm = open_database(db_path)
    tokens = {}
    with write_session(sm) as s:
        for name, role, th in (("drsmith", "therapist", None), ("ana", "patient", "drsmith")):
            tokens[name] = issue_token(s, add_user(s, name, role, th))
    close_database(sm)
    with TestClient(create_app(db_path, exercise_dirs=[folders[1]])) as client:
        yield client, tokens


def H(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------------ the library


def test_load_library_separates_definitions_from_broken_files(folders):
    user, extra = folders
    definitions, problems = load_library([extra])
    ids = [d.id for d in definitions]
    assert "knee_ok" in ids and "squat" in ids and ids == sorted(ids)
    assert "knee_broken" not in ids
    assert "lunge" not in ids  # the broken clinic lunge hides the built-in one; it is not silently used
    assert [p.id for p in problems] == ["knee_broken", "lunge"]
    broken, lunge = problems
    assert broken.path == user / "knee_broken.yaml" and broken.entry.source == "user"
    assert broken.problems[0].line == 2 and "not valid YAML" in broken.problems[0].message
    assert lunge.entry.source == "dir" and lunge.entry.overrides_builtin
    assert any(p.field == "bogus_field" and p.line == 3 for p in lunge.problems)
    assert str(user) not in broken.problems[0].message  # the message names no path; the problem's path does
    # the strict listing still refuses, naming the first broken file
    with pytest.raises(DefinitionError, match="knee_broken.yaml:2"):
        list_definitions([extra])


def test_files_the_parser_chokes_on_and_duplicate_ids_are_problems_too(folders):
    user, extra = folders
    (user / "deep.yaml").write_text("id: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    (user / "odd.yaml").write_text("id: odd\nname: !!timestamp nope\n", encoding="utf-8")
    (user / "latin1.yaml").write_bytes(b"id: latin1\nname: Kn\xe9e\n")
    (user / "my_plank.yaml").write_text(_valid("plank", "Another plank", base="plank"), encoding="utf-8")
    definitions, problems = load_library([extra])
    by_id = {p.id: p for p in problems}
    assert set(by_id) == {"deep", "odd", "latin1", "my_plank", "knee_broken", "lunge"}
    assert by_id["latin1"].problems[0].line == 2 and "UTF-8" in by_id["latin1"].problems[0].message
    dup = by_id["my_plank"].problems[0]
    assert dup.field == "id" and dup.line is not None and "plank.yaml (built-in)" in dup.message
    ids = [d.id for d in definitions]
    assert ids.count("plank") == 1 and sorted(set(ids)) == ids
    plank = next(d for d in definitions if d.id == "plank")
    assert Path(plank.source) == BUILTIN_DIR / "plank.yaml" == Path(get_definition("plank", [extra]).source)
    with pytest.raises(DefinitionError, match="deep.yaml"):
        get_definition("deep", [extra])


# ------------------------------------------------------------------------------------ the API


def test_the_listing_keeps_the_valid_definitions_and_counts_the_broken_files(api, folders, tmp_path):
    client, tokens = api
    for who in ("ana", "drsmith"):
        r = client.get("/api/exercises", headers=H(tokens[who]))
        assert r.status_code == 200, r.text
        ids = [row["id"] for row in r.json()]
        assert "knee_ok" in ids and "squat" in ids and "plank" in ids
        assert "knee_broken" not in ids and "lunge" not in ids
        assert next(row for row in r.json() if row["id"] == "knee_ok")["name"] == "Clinic knee"
        assert r.headers["X-Exercise-Problems"] == "2"
        assert str(tmp_path) not in r.text


def test_a_library_without_problems_says_zero(api, folders):
    client, tokens = api
    for f in (*folders[0].glob("knee_broken.yaml"), *folders[1].glob("*.yaml")):
        f.unlink()
    r = client.get("/api/exercises", headers=H(tokens["ana"]))
    assert r.headers["X-Exercise-Problems"] == "0" and "lunge" in [row["id"] for row in r.json()]
    assert client.get("/api/exercises/problems", headers=H(tokens["drsmith"])).json() == []


def test_a_therapist_sees_what_is_wrong_with_each_file(api, tmp_path):
    client, tokens = api
    r = client.get("/api/exercises/problems", headers=H(tokens["drsmith"]))
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["id"] for i in items] == ["knee_broken", "lunge"]
    broken, lunge = items
    assert broken["file"] == "knee_broken.yaml" and broken["source"] == "user" and broken["overrides"] == []
    first = broken["problems"][0]
    assert first["line"] == 2 and first["field"] == "" and "not valid YAML" in first["message"]
    assert first["text"].startswith("knee_broken.yaml:2: not valid YAML")
    assert lunge["file"] == "lunge.yaml" and lunge["source"] == "dir" and lunge["overrides"] == ["built-in"]
    assert {"line": 3, "field": "bogus_field"} in [{k: p[k] for k in ("line", "field")} for p in lunge["problems"]]
    assert str(tmp_path) not in r.text  # file names, never folders


def test_problems_are_for_therapists(api):
    client, tokens = api
    assert client.get("/api/exercises/problems", headers=H(tokens["ana"])).status_code == 403
    assert client.get("/api/exercises/problems").status_code == 401


def test_a_broken_id_is_a_422_with_a_message_and_the_others_still_work(api, tmp_path):
    client, tokens = api
    r = client.get("/api/exercises/knee_broken", headers=H(tokens["drsmith"]))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "knee_broken" in detail and "knee_broken.yaml:2" in detail and "not valid YAML" in detail
    assert str(tmp_path) not in r.text and "Traceback" not in r.text
    r = client.get("/api/exercises/lunge", headers=H(tokens["ana"]))  # a patient: no file, no line
    assert r.status_code == 422
    assert "lunge" in r.json()["detail"] and ".yaml" not in r.text and str(tmp_path) not in r.text
    ok = client.get("/api/exercises/knee_ok", headers=H(tokens["ana"]))
    assert ok.status_code == 200 and ok.json()["name"] == "Clinic knee" and "id: knee_ok" in ok.json()["yaml"]
    assert client.get("/api/exercises/squat", headers=H(tokens["ana"])).status_code == 200
    r = client.get("/api/exercises/knee_brokn", headers=H(tokens["ana"]))
    assert r.status_code == 404 and "knee_broken" in r.json()["detail"]


def test_a_misnamed_file_gives_a_404_without_its_folder(api, folders, tmp_path):
    client, tokens = api
    (folders[0] / "misnamed.yaml").write_text(_valid("knee_two", "Knee two"), encoding="utf-8")
    assert client.get("/api/exercises/knee_two", headers=H(tokens["ana"])).status_code == 200
    r = client.get("/api/exercises/misnamed", headers=H(tokens["ana"]))
    assert r.status_code == 404 and "misnamed.yaml" in r.json()["detail"] and str(tmp_path) not in r.text


def test_the_openapi_schema_documents_the_problems(api):
    client, _ = api
    schema = client.get("/openapi.json").json()
    listing = schema["paths"]["/api/exercises"]["get"]
    assert "X-Exercise-Problems" in listing["responses"]["200"]["headers"]
    assert "/api/exercises/problems" in listing["description"]
    assert "therapist" in schema["paths"]["/api/exercises/problems"]["get"]["summary"]
    assert "422" in schema["paths"]["/api/exercises/{exercise_id}"]["get"]["responses"]


# ------------------------------------------------------------------------------------ the CLI


def test_the_cli_list_marks_the_same_broken_files(folders):
    from typer.testing import CliRunner

    from coach.cli.main import app

    user, extra = folders
    (user / "odd.yaml").write_text("id: odd\nname: !!timestamp nope\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["exercises", "list", "--exercises", str(extra)], env={"COLUMNS": "250"})
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    rows = {line.strip("│ ").split()[0]: line for line in res.output.splitlines() if line.startswith("│ ")
            and line.strip("│ ")}
    for bad in ("knee_broken", "lunge", "odd"):
        assert "invalid" in rows[bad], res.output
    assert "Clinic knee" in rows["knee_ok"] and "invalid" not in rows["squat"]
