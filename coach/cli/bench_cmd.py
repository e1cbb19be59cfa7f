"""`coach bench VIDEO`: how fast each stage runs on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from coach.cli.common import (ModelPathOption, PeopleOption, VariantOption, console, err_console,
                              resolve_model_path)


def _stage_bars(bar):
    """A benchmark progress callback `(stage, done, total)` that keeps one bar per stage."""
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    return progress


def bench(
    video: Path = typer.Argument(..., help="A video clip (30 fps 1280×720 is the reference)."),
    frames: Optional[int] = typer.Option(None, "--frames", min=10, help="Only the first N frames."),
    exercise: str = typer.Option("squat", "--exercise", help="Definition used by the counting stage."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON figures instead of a table."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
    num_poses: str = PeopleOption,
    people: bool = typer.Option(False, "--people", help="Instead: the pipeline pass with the model looking "
                                "for 1, 2, auto and 4 people: frames/s and CPU ms per frame of each."),
    pace: bool = typer.Option(True, "--paced/--no-paced", help="Also run the clip as a camera delivers it "
                              "(frames released at its fps) for the latency figures; takes the clip's length."),
    repeat: int = typer.Option(1, "--repeat", min=1, max=10, help="Run the inference, pipeline and paced "
                               "passes N times in turn and keep the best of each (a shared machine only slows "
                               "passes down)."),
) -> None:
    """Measure frames/s of each stage on one clip: decoding, inference, pipeline, counting engine.

    Passes over the same frames: decoding alone; the model alone (bare inference); the whole pipeline flat
    out (decoding, model, engine and overlay overlapping, as `workout --source FILE` runs them); the same
    paced like a camera (frames released at the clip's fps; latency from a frame's release to its overlay,
    frames dropped while the model was busy); the counting engine alone on the keypoints (offline
    frames/s, and the live engine's milliseconds per frame). Prints pipeline ÷ inference, the real-time
    factor and the machine's load average (other programs slow every pass).

    --people runs the pipeline with the model looking for 1, 2, auto and 4 people and prints the cost of each.

    These are figures for this machine, not a test. Example: coach bench clip.mp4 --json
    """
    from rich.progress import Progress

    from coach.devtools.benchmark import run_benchmark

    info = resolve_model_path(model, variant)
    if people:
        from coach.devtools.benchmark import run_people_sweep

        with Progress(console=err_console, transient=True) as bar:
            rows = run_people_sweep(video, info.path, max_frames=frames, exercise=exercise,
                                    progress=_stage_bars(bar))
        if as_json:
            print(json.dumps({"video": str(video), "model_variant": info.variant, "people": rows}, indent=2))
            return
        table = Table(title=f"{video.name}: cost of looking for several people ({info.variant} model)")
        for col in ("num_poses", "people found / frame", "frames with 2+", "inference frames/s",
                    "pipeline frames/s", "CPU ms / frame", f"reps ({exercise})"):
            table.add_column(col, justify="right")
        for r in rows:
            table.add_row(str(r["num_poses"]), f"{r['people_per_frame']:.2f}", str(r["frames_with_several"]),
                          f"{r['inference_fps']:.1f}", f"{r['pipeline_fps']:.1f}", f"{r['cpu_ms_per_frame']:.1f}",
                          str(r["reps"]))
        console.print(table)
        return
    with Progress(console=err_console, transient=True) as bar:
        result = run_benchmark(video, info.path, model_variant=info.variant, max_frames=frames,
                               exercise=exercise, progress=_stage_bars(bar), num_poses=num_poses, pace=pace,
                               repeat=repeat)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"{video.name}: {result.width_px}×{result.height_px}, {result.source_fps:.1f} fps, "
                  f"{result.frames} frames, {result.model_variant} model, num_poses {num_poses} "
                  f"({result.extra.get('people_per_frame', 0):.2f} people found per frame)")
    table.add_column("stage")
    table.add_column("frames/s", justify="right")
    table.add_row("decoding alone", f"{result.decode_fps:,.1f}")
    table.add_row("bare pose inference (its own pass)", f"{result.inference_fps:,.1f}")
    table.add_row("whole pipeline, flat out (decode, pose, engine, overlay)", f"{result.pipeline_fps:,.1f}")
    if result.engine_fps is not None:
        table.add_row(f"counting engine ({exercise}, recording, offline)", f"{result.engine_fps:,.0f}")
    console.print(table)
    load = result.extra.get("load_1min", [])
    console.print(f"pipeline ÷ inference: {result.pipeline_over_inference:.3f}   "
                  f"real-time factor: {result.realtime_factor:.2f}×   live engine: "
                  f"{result.engine_live_ms_per_frame:.3f} ms/frame")
    if result.latency_ms_p50 is not None:
        console.print(f"paced like a camera: frame → overlay latency p50 {result.latency_ms_p50:.1f} ms, "
                      f"p95 {result.latency_ms_p95:.1f} ms; {result.paced_dropped_frames} frames dropped")
    console.print(f"flat out: frame → overlay latency p50 {result.latency_flat_out_ms_p50:.1f} ms, "
                  f"p95 {result.latency_flat_out_ms_p95:.1f} ms (frames wait in the bounded queues)")
    if load:
        console.print(f"load average (1 min) at start and end: {load[0]} / {load[-1]} on {os.cpu_count()} cores"
                      + (f"; best of {repeat} runs" if repeat > 1 else ""))


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
