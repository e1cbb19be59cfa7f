"""`coach sessions list | show ID`: read the workout history kept in SQLite."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from coach.cli.common import DbOption
from coach.errors import CoachError
from db.models import MAX_ID

sessions_app = typer.Typer(
    help="Recorded workout sessions: list them, show one with its sets, reps, faults and holds, add how "
    "it felt.",
    no_args_is_help=True,
)

def _open(db_path: Optional[Path]):
    """The sessionmaker of an existing history database; a friendly error if there is none."""
    from db.engine import history_exists, open_database, resolve_db_path

    path = resolve_db_path(db_path)
    if not history_exists(path):
        raise CoachError(f"No session history at {path} yet: record a workout first, or point --db "
                         "(or $COACH_DB) at the database file.")
    return path, open_database(path)


def _table(title: str) -> Table:
    """A compact table: these have many numeric columns and should fit 80 columns where they can."""
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False,
                 expand=False,
                 title_style="bold")


#: Columns whose text may wrap, with the narrowest they may get; the others (numbers) never wrap.
_MIN_WIDTH = {"started": 10, "patient": 7, "exercise": 8, "status": 9, "ended": 8, "fault codes": 11,
              "cue": 12, "why": 12, "measure": 7}
_WRAPPING = set(_MIN_WIDTH)


def _columns(table: Table, names: tuple[str, ...], left: tuple[str, ...] = ()) -> None:
    for name in names:
        wraps = name in _WRAPPING
        table.add_column(name, justify="left" if name in left or wraps else "right", no_wrap=not wraps,
                         min_width=_MIN_WIDTH.get(name) if wraps else None)


def _local(dt: datetime | None) -> str:
    return "—" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M")


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "—" if value is None else format(value, fmt)


def _status(ended_at: datetime | None, end_reason: str | None) -> str:
    if ended_at is None:
        return "[yellow]unfinished[/]"  # still recording, or the program was killed
    return end_reason or "ended"


def list_cmd(
    patient: Optional[str] = typer.Option(None, "--patient", "-p", help="Only this patient's sessions."),
    exercise: Optional[str] = typer.Option(None, "--exercise", "-e", help="Only this exercise id."),
    limit: int = typer.Option(50, "--limit", min=1, max=1_000_000, help="Show at most this many, newest first."),
    db_path: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List recorded sessions, newest first, with their reps, faults, hold and not-measurable time.

    Example: coach sessions list --patient ana
    """
    from coach.app.prescriptions import in_force, prescribed_reps
    from db.engine import close_database
    from db.patients import get_patient
    from db.prescriptions import patient_prescriptions
    from db.sessions import list_sessions

    path, sm = _open(db_path)
    try:
        with sm() as db:
            if patient is not None:
                get_patient(db, patient)  # unknown name -> one sentence listing the known ones
            rows = list_sessions(db, patient, exercise_id=exercise, limit=limit)
            rxs = {name: patient_prescriptions(db, name) for name in {r.patient for r in rows}}
            # what each session was prescribed: the one definition the report and the API use
            prescribed = {r.id: prescribed_reps(in_force(rxs[r.patient], r.exercise_id, r.started_at.date()))
                          for r in rows}
    finally:
        close_database(sm)
    if not rows:
        who = f" for {patient}" if patient else ""
        what = f" of {exercise}" if exercise else ""
        raise CoachError(f"No sessions{what}{who} are recorded in {path} yet.")
    if as_json:
        print(json.dumps([{**r.to_dict(), "target_reps": prescribed[r.id]} for r in rows], indent=2))
        return
    table = _table(f"Sessions in {path}")
    # Hold and not-measurable columns only when some session has them: the table should fit 80 columns.
    with_hold = any(r.hold_s for r in rows)
    with_nm = any(r.not_measurable_s for r in rows)
    _columns(table, ("id", "started", "patient", "exercise", "reps", "ROM", "faults")
             + ("held s",) * with_hold + ("unmeas. s",) * with_nm + ("status",), left=("started",))
    for r in rows:
        reps = f"{r.n_reps}/{prescribed[r.id]}" if prescribed[r.id] else str(r.n_reps)
        cells = [str(r.id), _local(r.started_at), r.patient, r.exercise_id, reps,
                 _num(r.mean_range_of_motion), str(r.n_faults)]
        cells += [_num(r.hold_s)] * with_hold + [_num(r.not_measurable_s)] * with_nm
        table.add_row(*cells, _status(r.ended_at, r.end_reason))
    table.caption = ("reps: counted/prescribed (sets × reps of the prescription in force that day); ROM: mean "
                     "range of motion of the reps")
    table.caption_justify = "left"
    Console().print(table)


def show_cmd(
    session_id: int = typer.Argument(..., min=1, max=MAX_ID, help="Session id, from `coach sessions list`."),
    db_path: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print the whole session as JSON."),
    series: bool = typer.Option(False, "--series", help="With --json: include the angle series samples."),
) -> None:
    """Show one session: its sets, every rep (times, range of motion, faults), holds, unmeasured time.

    Example: coach sessions show 12 --json
    """
    from db.engine import close_database
    from coach.api.schemas.sessions import session_detail

    _, sm = _open(db_path)
    try:
        with sm() as db:
            detail = session_detail(db, session_id, with_series=series)
    finally:
        close_database(sm)
    if as_json:
        print(json.dumps(detail, indent=2))
        return
    _print_detail(Console(), detail)


def note_cmd(
    session_id: int = typer.Argument(..., min=1, max=MAX_ID, help="Session id, from `coach sessions list`."),
    pain: Optional[int] = typer.Option(None, "--pain", min=0, max=10, help="Pain during the session, 0–10."),
    effort: Optional[int] = typer.Option(None, "--effort", min=0, max=10,
                                         help="Perceived effort (RPE), 0–10."),
    text: str = typer.Option("", "--note", help="Anything else worth telling the therapist."),
    db_path: Optional[Path] = DbOption,
) -> None:
    """Record how a session felt: pain and effort (0–10) and a free-text note, for the therapist's report.

    Example: coach sessions note 12 --pain 3 --effort 7 --note "knee felt stiff"
    """
    from db.engine import close_database, write_session
    from db.notes import add_session_note

    _, sm = _open(db_path)
    try:
        with write_session(sm) as db:
            add_session_note(db, session_id, pain, effort, text)
    finally:
        close_database(sm)
    Console().print(f"Noted for session {session_id}.")


def _print_detail(console: Console, d: dict[str, Any]) -> None:
    started = datetime.fromisoformat(d["started_at"])
    ended = datetime.fromisoformat(d["ended_at"]) if d["ended_at"] else None
    t = d["totals"]
    console.print(f"[bold]Session {d['id']}[/] — {d['patient']}, {d['exercise_id']} "
                  f"(definition {d['definition_version']}, {d['definition_hash'][:12]})")
    console.print(f"source: {d['source']}", highlight=False)
    duration = f", {(ended - started).total_seconds() / 60:.1f} min" if ended else ""
    console.print(f"started {_local(started)}, ended {_local(ended)}{duration}: "
                  f"{_status(ended, d['end_reason'])}")
    console.print(f"{t['sets']} sets, {t['reps']} reps, {t['faults']} form faults, "
                  f"{t['hold_s']:.1f} s held, {t['not_measurable_s']:.1f} s not measurable")

    sets = _table("Sets")
    _columns(sets, ("set", "reps", "target", "start s", "end s", "mean ROM", "faults", "held s",
                    "unmeas. s", "ended"))
    for s in d["sets"]:
        roms = [r["range_of_motion"] for r in s["reps"] if r["range_of_motion"] is not None]
        n_faults = sum(len(r["faults"]) for r in s["reps"]) + len(s["faults_outside_reps"])
        sets.add_row(str(s["index"]), str(len(s["reps"])), _num(s["target_reps"], "d"),
                     _num(s["started_s"], ".2f"), _num(s["ended_s"], ".2f"),
                     _num(sum(roms) / len(roms) if roms else None), str(n_faults),
                     _num(sum(h["duration_s"] for h in s["holds"])),
                     _num(sum(n["duration_s"] for n in s["not_measurable"])),
                     s["ended_reason"] or "[yellow]open[/]")
    console.print(sets)

    measures = sorted({r["measure"] for s in d["sets"] for r in s["reps"]})
    reps = _table(f"Reps of {', '.join(measures) or 'the primary measure'} (source seconds; min, max and "
                  "ROM in the measure's unit, degrees for angles)")
    many = len(measures) > 1
    _columns(reps, ("set", "rep", "side", "start s", "dur s", "ecc s", "con s") + ("measure",) * many
             + ("min", "max", "ROM", "fault codes"), left=("side",))
    for s in d["sets"]:
        for r in s["reps"]:
            reps.add_row(str(s["index"]), str(r["index"]), r["side"], _num(r["start_s"], ".2f"),
                         _num(r["duration_s"], ".2f"), _num(r["eccentric_s"], ".2f"),
                         _num(r["concentric_s"], ".2f"), *[r["measure"]] * many,
                         _num(r["min_value"]), _num(r["max_value"]), _num(r["range_of_motion"]),
                         ", ".join(f["code"] for f in r["faults"]) or "—")
    if reps.row_count:
        console.print(reps)
    else:
        console.print("No reps were counted.")

    outside = [(s["index"], f) for s in d["sets"] for f in s["faults_outside_reps"]]
    if outside:
        table = _table("Form faults outside reps")
        _columns(table, ("set", "time s", "code", "cue", "severity", "side"),
                 left=("code", "severity", "side"))
        for i, f in outside:
            table.add_row(str(i), _num(f["time_s"], ".2f"), f["code"], f["cue"], f["severity"], f["side"])
        console.print(table)

    holds = [(s["index"], h) for s in d["sets"] for h in s["holds"]]
    if holds:
        table = _table("Holds")
        _columns(table, ("set", "start s", "end s", "held s", "side"), left=("side",))
        for i, h in holds:
            table.add_row(str(i), _num(h["start_s"], ".2f"), _num(h["end_s"], ".2f"),
                          _num(h["duration_s"], ".2f"), h["side"])
        console.print(table)

    nms = [(s["index"], n) for s in d["sets"] for n in s["not_measurable"]]
    if nms:
        table = _table("Not measurable")
        _columns(table, ("set", "start s", "end s", "dur s", "why"))
        for i, n in nms:
            table.add_row(str(i), _num(n["start_s"], ".2f"), _num(n["end_s"], ".2f"),
                          _num(n["duration_s"], ".2f"), n["reason"])
        console.print(table)

    for n in d["notes"]:
        console.print(f"note: pain {_num(n['pain_0_10'], 'd')}/10, effort {_num(n['effort_rpe_0_10'], 'd')}/10"
                      + (f" — {n['text']}" if n["text"] else ""), highlight=False)


sessions_app.command("list")(list_cmd)
sessions_app.command("show")(show_cmd)
sessions_app.command("note")(note_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
