"""`coach users add/token/list` through Typer's runner, and token expiry and revocation."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from coach.api.users import AuthError, authenticate, get_user, issue_token, revoke_tokens
from coach.cli.main import app
from db.engine import close_database, open_database, write_session
from db.models import utc_now

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_users_add_token_list(tmp_path):
    db = str(tmp_path / "c.sqlite")
    r = run("users", "add", "drsmith", "--role", "therapist", "--db", db)
    assert r.exit_code == 0, r.output
    tok = [line for line in r.stdout.splitlines() if line.startswith("coach_")][0]
    r = run("users", "add", "ana", "--role", "patient", "--therapist", "drsmith", "--db", db)
    assert r.exit_code == 0
    ana_tok = [line for line in r.stdout.splitlines() if line.startswith("coach_")][0]
    hashes = {h for (h,) in sqlite3.connect(db).execute("SELECT token_sha256 FROM api_tokens")}
    assert hashlib.sha256(tok.encode()).hexdigest() in hashes and tok not in hashes
    r = run("users", "token", "ana", "--days", "1", "--revoke-others", "--db", db)
    assert r.exit_code == 0
    new = [line for line in r.stdout.splitlines() if line.startswith("coach_")][0]
    sm = open_database(db)
    with sm() as s:
        assert authenticate(s, new).name == "ana"
        with pytest.raises(AuthError, match="revoked"):
            authenticate(s, ana_tok)
        assert authenticate(s, tok).role == "therapist"
    close_database(sm)
    r = run("users", "list", "--db", db)
    assert r.exit_code == 0 and "drsmith" in r.stdout and "ana" in r.stdout


@pytest.mark.parametrize("args,message", [
    (("users", "add", "bob", "--role", "patient"), "--therapist"),
    (("users", "add", "bob", "--role", "patient", "--therapist", "nobody"), "not a therapist"),
    (("users", "add", "bob", "--role", "admin"), "therapist or patient"),
    (("users", "add", "drsmith", "--role", "therapist"), "already"),
    (("users", "token", "nobody"), "No user"),
])
def test_users_refusals_are_one_sentence(tmp_path, capsys, args, message):
    from coach.cli.main import run as main_run

    db = str(tmp_path / "c.sqlite")
    assert run("users", "add", "drsmith", "--role", "therapist", "--db", db).exit_code == 0
    with pytest.raises(SystemExit) as exc:
        main_run([*args, "--db", db])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_expired_and_unknown_tokens(tmp_path):
    sm = open_database(tmp_path / "c.sqlite")
    with write_session(sm) as s:
        from coach.api.users import add_user

        u = add_user(s, "dr", "therapist")
        old = issue_token(s, u, days=1, now=utc_now() - timedelta(days=1, seconds=1))
        live = issue_token(s, u, days=1)
    with sm() as s:
        with pytest.raises(AuthError, match="expired"):
            authenticate(s, old)
        with pytest.raises(AuthError, match="unknown"):
            authenticate(s, live + "x")
        with pytest.raises(AuthError):
            authenticate(s, "")
        assert authenticate(s, live).name == "dr"
    with write_session(sm) as s:
        assert revoke_tokens(s, get_user(s, "dr")) == 2
    close_database(sm)
