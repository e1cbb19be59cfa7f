"""`coach workout`: a coached set from the camera, a video or a recording, saved to the history."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer
from rich.live import Live
from rich.table import Table

from coach.cli.common import DbOption, ModelPathOption, PeopleOption, SideOption, VariantOption, console, err_console
from coach.errors import CoachError


class TerminalSink:
    """A rich live panel (camera) or progress bar (files) for headless use."""

    def __init__(self, live_source: bool, total_frames: int | None, exercise: str, dropped_frames=None) -> None:
        """dropped_frames: a callable giving the camera frames dropped so far (shown in the live panel)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.live_source = live_source
        self.exercise = exercise
        self.dropped_frames = dropped_frames
        self.overlay = None
        if live_source:
            self.live = Live(self._panel(), console=err_console, refresh_per_second=8, transient=False)
            self.progress = None
        else:
            self.live = None
            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                                     console=err_console, transient=True)
            self.task = self.progress.add_task(exercise, total=total_frames, status="")

    def __enter__(self) -> "TerminalSink":
        (self.live or self.progress).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        (self.live or self.progress).__exit__(*exc)

    def _panel(self) -> Table:
        t = Table(title=f"coach — {self.exercise}", show_header=False, min_width=40)
        o = self.overlay
        if o is None:
            t.add_row("waiting for the camera…")
            return t
        t.add_row("set", f"{o.set_index}/{o.sets}")
        t.add_row("reps", f"{o.reps}" + (f"/{o.target_reps}" if o.target_reps else ""))
        if o.group and o.labels:
            t.add_row("everyone", "  ".join(text for _, text in o.labels))
        if o.reps_left is not None:
            t.add_row("left / right", f"{o.reps_left} / {o.reps_right}")
        if o.held_s is not None:
            t.add_row("held", f"{o.held_s:.1f} s")
        t.add_row("phase", o.phase or "–")
        if o.measure_value is not None:
            t.add_row(o.measure_name, f"{o.measure_value:.0f}")
        if o.cue:
            t.add_row("cue", f"[bold yellow]{o.cue}")
        if o.not_measurable:
            t.add_row("status", f"[red]not measurable: {o.not_measurable}")
        if o.resting_s is not None:
            t.add_row("rest", f"{o.resting_s:.0f} s")
        dropped = self.dropped_frames() if self.dropped_frames is not None else 0
        if dropped:
            t.add_row("dropped", f"{dropped} camera frames (the model is slower than the camera)")
        return t

    def on_set_started(self, set_index, target_reps) -> None:
        return None

    def on_events(self, events) -> None:
        return None

    def on_frame(self, frame, pose, overlay) -> None:
        self.overlay = overlay
        if self.live is not None:
            self.live.update(self._panel())
        else:
            status = f"reps {overlay.reps}" + (f"  held {overlay.held_s:.1f}s" if overlay.held_s is not None else "")
            self.progress.update(self.task, advance=1, status=status)

    def on_set_ended(self, set_result) -> None:
        return None


def print_summary(summary: dict, *, planned: tuple[int, int | None] | None = None, pain: int | None = None,
                  effort: int | None = None, note: str = "") -> None:
    """End-of-session tables: per set (with its target), then every rep numbered within its set; then the
    pain, effort and note that were kept with the session. Left/right columns only for exercises that
    count each side. ``planned``: (sets, reps per set) of the workout, so a session stopped after set 1 of
    3 reads "10 reps of 30 planned", not of the started sets' 10."""
    from rich.markup import escape

    sets_ = summary["sets"]
    title = f"{summary['exercise']}: {summary['reps']} reps"
    if planned is not None and planned[1]:
        title += f" of {planned[0] * planned[1]} planned ({planned[0]} × {planned[1]})"
    if summary["hold_s"]:
        title += f", held {summary['hold_s']:.1f} s"
    if summary.get("session_id"):
        title += f"  (session {summary['session_id']})"
    sided = any(s["reps_per_side"]["left"] or s["reps_per_side"]["right"] for s in sets_)
    held = any(s["hold_s"] for s in sets_)
    table = Table(title=title)
    cols = ["set", "reps", "target"] + ["L", "R"] * sided + ["held s"] * held + ["faults", "not measurable s",
                                                                               "ended"]
    for col in cols:
        table.add_column(col, justify="right" if col != "ended" else "left")
    for s in sets_:
        row = [str(s["index"]), str(s["reps"]), str(s["target_reps"]) if s.get("target_reps") else "–"]
        if sided:
            row += [str(s["reps_per_side"]["left"]), str(s["reps_per_side"]["right"])]
        if held:
            row.append(f"{s['hold_s']:.1f}")
        row += [str(len(s["faults"])), f"{s['not_measurable_s']:.1f}", s["ended_reason"]]
        table.add_row(*row)
    console.print(table)
    if summary["reps_records"]:
        reps = Table(title="repetitions")
        for col in ("set", "rep", "side", "start s", "duration s", "down s", "up s", "min", "max", "ROM", "faults"):
            reps.add_column(col, justify="right")
        for s in sets_:
            for r in s.get("reps_records", []):
                reps.add_row(str(s["index"]), str(r["index"]), r["side"], f"{r['start_s']:.2f}",
                             f"{r['duration_s']:.2f}", f"{r['eccentric_s']:.2f}", f"{r['concentric_s']:.2f}",
                             f"{r['min_value']:.0f}", f"{r['max_value']:.0f}", f"{r['range_of_motion']:.0f}",
                             ", ".join(f["code"] for f in r["faults"]) or "–")
        console.print(reps)
    felt = [f"pain {pain}/10" if pain is not None else "", f"effort {effort}/10" if effort is not None else "",
            f"note: {escape(note.strip())}" if note.strip() else ""]
    if any(felt):
        console.print("kept with the session: " + ", ".join(x for x in felt if x), highlight=False)
    if summary.get("people") is not None:
        people = Table(title="everyone in view (group mode)")
        for col in ("person", "seen s", "reps", "L", "R", "held s", "faults"):
            people.add_column(col, justify="right")
        for p in summary["people"]:
            people.add_row(f"#{p['track_id']}", f"{p['first_seen_s']:.1f}–{p['last_seen_s']:.1f}", str(p["reps"]),
                           str(p["reps_per_side"]["left"]), str(p["reps_per_side"]["right"]),
                           f"{p['hold_s']:.1f}", str(len(p["faults"])))
        if not summary["people"]:
            people.add_row("nobody", "", "", "", "", "", "")
        console.print(people)


def workout(
    exercise: str = typer.Option(..., "--exercise", "-e", help="Exercise id (see `coach exercises list`)."),
    patient: str = typer.Option("me", "--patient", "-p", help="Whose session this is (kept in the history)."),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file, or keypoint recording "
                               "(.npz from `pose extract`)."),
    sets: Optional[int] = typer.Option(None, "--sets", min=1, max=1_000, help="Sets (default: the definition's target; "
                                       "1 for files)."),
    reps: Optional[int] = typer.Option(None, "--reps", min=1, max=10_000, help="Reps per set (default: the definition's "
                                       "target for the camera; count to the end for files)."),
    rest_s: float = typer.Option(60.0, "--rest", min=0.0, max=3600.0, help="Seconds of rest between sets (camera)."),
    side: Optional[str] = SideOption,
    show: bool = typer.Option(True, "--show/--no-show", help="Open a window with the overlay (needs a display)."),
    save_video: Optional[Path] = typer.Option(None, "--save-video", help="Write the annotated video (.mp4)."),
    db: Optional[Path] = DbOption,
    no_db: bool = typer.Option(False, "--no-db", help="Do not keep this session."),
    pain: Optional[int] = typer.Option(None, "--pain", min=0, max=10, help="Pain during the workout, 0–10 "
                                       "(kept with the session for the therapist)."),
    effort: Optional[int] = typer.Option(None, "--effort", min=0, max=10, help="Perceived effort (RPE), 0–10."),
    note: str = typer.Option("", "--note", help="A note for the therapist, kept with the session."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    exercises_dir: Optional[Path] = typer.Option(None, "--exercises", exists=True, file_okay=False, help="Extra folder of exercise "
                                                 "definitions (overrides built-ins with the same id)."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
    num_poses: str = PeopleOption,
    person: str = typer.Option("auto", "--person", help="Whom to follow when several people are in view "
                               "(two are looked for unless --num-poses 1): auto (the one doing the exercise; the largest "
                               "and most central while nobody moves), largest, center, or a track id N as "
                               "labelled over people's heads on the overlay."),
    everyone: bool = typer.Option(False, "--everyone", help="Group mode: count everyone in view, each person "
                                  "separately (per-person counts over their heads, in the summary and in "
                                  "--json 'people'). Detects up to 4 people unless --num-poses says more. "
                                  "Not saved to the history: people are anonymous tracks."),
) -> None:
    """Coach a set: count reps, time holds, flag form, and keep the session.

    Without --sets/--reps the patient's active prescription (coach plan assign) sets the targets.

    Examples:\n
      coach workout -e squat --patient ana               (webcam)\n
      coach workout -e squat --source clip.mp4 --no-show --json\n
      coach workout -e plank --source plank.npz --save-video plank_coached.mp4\n
      coach workout -e push_up --source class.mp4 --num-poses 2 --person largest\n
      coach workout -e squat --source class.mp4 --everyone --json   (per-person counts)
    """
    from coach.app.recorded_workout import RecordedWorkout, run_stream
    from coach.app.sinks import VideoSink, WindowSink, display_available
    from coach.app.workout import WorkoutPlan, pose_stream
    from coach.exercise.library import get_definition
    from coach.pose.recording import is_recording

    definition = get_definition(exercise, extra_dirs=[exercises_dir] if exercises_dir else ())
    if save_video is not None and save_video.suffix.lower() != ".mp4":
        raise CoachError(f"--save-video must name an .mp4 file, not {save_video}")
    if no_db and (pain is not None or effort is not None or note.strip()):
        raise CoachError("--pain, --effort and --note are kept with the session; drop --no-db to keep them")
    if side is not None and side not in ("left", "right", "both"):
        raise CoachError(f"--side must be left, right or both, not '{side}'")
    choose: str | int = person.strip().lower()
    if choose not in ("auto", "largest", "center", "centre"):
        if not choose.isdigit() or int(choose) < 1:
            raise CoachError(f"--person must be auto, largest, center or a track id (1, 2, ...), not '{person}'")
        choose = int(choose)
    choose = "center" if choose == "centre" else choose
    if everyone:
        if num_poses == "auto" or num_poses < 2:
            num_poses = 4
        if not no_db:
            if not as_json:
                err_console.print("group mode (--everyone): sessions are not saved to the history, since the "
                                  "people in view are anonymous tracks; use --json to keep the per-person "
                                  "counts, or run one session per person with --person to save it")
            no_db = True
        if pain is not None or effort is not None or note.strip():
            raise CoachError("--pain, --effort and --note belong to a saved session; group mode saves none")

    model_path = None
    if not is_recording(source):
        from coach.app.sources import open_source

        open_source(source).close()  # a bad source fails here, before any model work
        from coach.pose.models import resolve_model

        model_path = resolve_model(variant, model, progress=not as_json).path
    stream, info = pose_stream(source, model_path=model_path, num_poses=num_poses)
    live = bool(info["is_live"])
    targets = definition.targets
    prescription_id = None
    rx_notes = ""
    if not no_db:  # the patient's prescription: its note always, its targets unless --sets/--reps are given
        from coach.app.prescriptions import workout_targets
        from db.engine import resolve_db_path

        rx_id, rx = workout_targets(resolve_db_path(db), patient, definition.id)
        rx_notes = rx.notes if rx is not None else ""
        if rx is not None and sets is None and reps is None:
            prescription_id, targets, sets, reps = rx_id, rx, rx.sets, rx.reps
    if rx_notes.strip():  # a safety instruction must reach the patient before the set
        from rich.markup import escape

        (err_console if as_json else console).print(
            f"[bold yellow]Note from your therapist:[/] {escape(rx_notes.strip())}", highlight=False)
    plan = WorkoutPlan(
        sets=sets or ((targets.sets or 1) if live else 1),
        reps=reps or ((targets.reps or None) if live else None),
        hold_s=(targets.hold_s or None) if live else None,
        rest_s=rest_s,
    )
    if show and not display_available():
        if not as_json:
            err_console.print("no display found: running without a window (use --no-show to silence this)")
        show = False

    if live:
        console.print(f"[bold]{definition.name}[/]")
        for line in definition.setup:
            console.print(f"  • {line}")
        if definition.view and definition.view != "any":
            console.print(f"Place the camera for a [bold]{definition.view}[/] view of your whole body.")

    sinks = []
    history = None
    if not no_db:
        from db.engine import resolve_db_path

        history = resolve_db_path(db)
    video = VideoSink(save_video, info["fps"]) if save_video else None
    if video:
        sinks.append(video)
    window = WindowSink(info["dropped_frames"] if live else None) if show else None
    if window:
        sinks.append(window)
    terminal = TerminalSink(live, info["frame_count"], definition.id, info["dropped_frames"] if live else None)
    sinks.append(terminal)

    session = RecordedWorkout(definition, plan, history=history, patient=patient, source=info["description"],
                              prescription_id=prescription_id, sinks=sinks, live=live, side=side,
                              ready_s=1.0 if live else 0.0, choose=choose, everyone=everyone,
                              fps=None if live else info["fps"])
    reason = "interrupted"
    # SIGTERM ends the session like Ctrl-C does: everything counted is kept.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with terminal:
            reason = run_stream(session, stream, control=(lambda: window.last_key) if window else None,
                                ended_reason=info["ended_reason"])
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        result = session.finish(reason, pain=pain, effort=effort, note=note)
        if video:
            video.close()
        if window:
            window.close()
    if live:  # camera frames replaced by a newer one while the model was busy (never queued)
        result = {**result, "dropped_frames": info["dropped_frames"]()}
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_summary(result, planned=(plan.sets, plan.reps), pain=pain, effort=effort, note=note)
        if save_video:
            console.print(f"annotated video: [bold]{save_video}[/]")
        if live and result["dropped_frames"]:
            err_console.print(f"{result['dropped_frames']} camera frames were dropped while the model was busy "
                              "(the overlay stays at most one frame behind the model).")
        if reason == "camera lost":
            err_console.print("[yellow]The camera stopped delivering frames; the set was ended and "
                              "everything counted was kept.[/]")


def register(app: typer.Typer) -> None:
    app.command("workout")(workout)
