"""`coach users ...`: accounts and bearer tokens for the HTTP API (`coach serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from coach.cli.common import DbOption, console, err_console

users_app = typer.Typer(help="Users of the HTTP API (therapists, patients) and their tokens.",
                        no_args_is_help=True)

DaysOption = typer.Option(90.0, "--days", min=0.001, help="Days the token stays valid.")


def _open(db: Optional[Path]):
    from db.engine import open_database, resolve_db_path

    return open_database(resolve_db_path(db))


def _print_token(name: str, secret: str, days: float) -> None:
    err_console.print(f"token for [bold]{name}[/] (valid {days:g} days; shown only now, keep it safe):",
                      highlight=False)
    print(secret)


@users_app.command("add")
def add(name: str = typer.Argument(..., help="User name (for a patient: the name their sessions use)."),
        role: str = typer.Option(..., "--role", help="therapist or patient."),
        therapist: Optional[str] = typer.Option(None, "--therapist", help="A patient's therapist (a user)."),
        days: float = DaysOption,
        db: Optional[Path] = DbOption) -> None:
    """Add a user and print their first token (once: only its hash is kept).

    Examples:\n
      coach users add drsmith --role therapist\n
      coach users add ana --role patient --therapist drsmith
    """
    from coach.api.users import add_user, issue_token
    from db.engine import close_database, write_session

    sm = _open(db)
    try:
        with write_session(sm) as s:
            user = add_user(s, name, role, therapist)
            secret = issue_token(s, user, days=days)
            name = user.name
    finally:
        close_database(sm)
    _print_token(name, secret, days)


@users_app.command("token")
def token(name: str = typer.Argument(..., help="User name."),
          days: float = DaysOption,
          revoke_others: bool = typer.Option(False, "--revoke-others", help="Revoke the user's other tokens."),
          db: Optional[Path] = DbOption) -> None:
    """Make a new token for a user and print it (once)."""
    from coach.api.users import get_user, issue_token, revoke_tokens
    from db.engine import close_database, write_session

    sm = _open(db)
    try:
        with write_session(sm) as s:
            user = get_user(s, name)
            n = revoke_tokens(s, user) if revoke_others else 0
            secret = issue_token(s, user, days=days)
    finally:
        close_database(sm)
    if n:
        err_console.print(f"revoked {n} older token(s)")
    _print_token(user.name, secret, days)


@users_app.command("list")
def list_cmd(db: Optional[Path] = DbOption) -> None:
    """List the users, their roles, patients' therapists and live tokens."""
    from coach.api.users import list_users
    from db.engine import close_database

    sm = _open(db)
    try:
        with sm() as s:
            rows = list_users(s)
    finally:
        close_database(sm)
    table = Table(title="users")
    for col in ("name", "role", "therapist", "live tokens", "latest expiry (UTC)"):
        table.add_column(col)
    for r in rows:
        exp = r["expires_at"].strftime("%Y-%m-%d %H:%M") if r["expires_at"] else "–"
        table.add_row(r["name"], r["role"], r["therapist"] or "–", str(r["tokens"]), exp)
    console.print(table)


@users_app.command("claim")
def claim(patient: str = typer.Argument(..., help="The patient (as their sessions name them)."),
          therapist: str = typer.Option(..., "--therapist", help="The therapist user who takes the patient over."),
          previous: Optional[str] = typer.Option(None, "--from", help="The patient's current therapist, to move "
                                                 "a patient who has one (a deliberate transfer)."),
          db: Optional[Path] = DbOption) -> None:
    """Give a patient recorded without a therapist (`coach workout -p NAME` at a clinic PC) to a therapist,
    who can then see their whole history in the API. Recorded with who ran it, when and from whom
    (`coach users claims`); the API itself never takes a patient over.

    Examples:\n
      coach users claim carl --therapist drsmith\n
      coach users claim carl --therapist drjones --from drsmith
    """
    from coach.api.users import claim_patient
    from db.engine import close_database, write_session

    sm = _open(db)
    try:
        with write_session(sm) as s:
            c = claim_patient(s, patient, therapist, previous=previous)
            name, by = c.patient.name, c.claimed_by
    finally:
        close_database(sm)
    console.print(f"{name} is now {therapist.strip()}'s patient (recorded as done by {by}).", highlight=False)


@users_app.command("claims")
def claims_cmd(patient: Optional[str] = typer.Argument(None, help="Only this patient's."),
               db: Optional[Path] = DbOption) -> None:
    """The audit of patients taken over: who, from whom, when, by which command and account."""
    from coach.api.users import list_claims
    from db.engine import close_database

    sm = _open(db)
    try:
        with sm() as s:
            rows = list_claims(s, patient)
    finally:
        close_database(sm)
    table = Table(title="patients taken over")
    for col in ("when (UTC)", "patient", "therapist", "from", "command", "by"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["claimed_at"].strftime("%Y-%m-%d %H:%M"), r["patient"], r["therapist"] or "–",
                      r["previous"] or "–", f"coach {r['how']}", r["claimed_by"])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
