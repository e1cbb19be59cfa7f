"""`coach demo`: a complete coached workout on a built-in default, with no camera and no footage."""

from __future__ import annotations

from pathlib import Path

import typer

from coach.cli.common import console


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for the demo's database, recording and "
                             "annotated video."),
    exercise: str = typer.Option("squat", "--exercise", help="Exercise the synthetic person performs."),
    reps: int = typer.Option(6, "--reps", min=1, max=50, help="Repetitions in the synthetic set."),
) -> None:
    """Run a full workout on a synthetic squat set: counting, cues, database, summary, annotated video.

    A synthetic person (keypoints generated with known answers) performs a set with a little pixel noise
    and a moment out of view between two reps; the recording is replayed through the same pipeline as a camera workout: exercise
    engine, form rules, overlay, session recorder. Everything is written under --out.
    """
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    out.mkdir(parents=True, exist_ok=True)
    clip = synthesize(exercise, reps=reps, rep_s=2.2, noise_px=1.5, seed=7, dropouts=[(3.3, 3.9)])
    recording = save_recording(out / f"{exercise}_demo.npz", clip.series)
    video = out / f"{exercise}_demo_coached.mp4"
    db = out / "coach.sqlite"
    console.rule(f"[bold]coach demo[/]: a synthetic {exercise} set of {clip.reps} reps, replayed through "
                 "the workout pipeline")
    # Through the command itself, exactly as a person would type it, so the demo cannot drift from it.
    from coach.cli.main import app

    typer.main.get_command(app).main(
        args=["workout", "--exercise", exercise, "--patient", "demo", "--source", str(recording), "--no-show",
              "--save-video", str(video), "--db", str(db)],
        prog_name="coach", standalone_mode=False)
    console.print(f"truth: {clip.reps} reps.  database: [bold]{db}[/]  "
                  f"(try: .venv/bin/python coach.py sessions list --db {db})")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
