"""`coach pose ...`: turn a video, camera or image into a keypoint recording."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from coach.cli.common import (ModelPathOption, PeopleOption, VariantOption, console, err_console,
                              progress_task, resolve_model_path)
from coach.errors import CoachError

pose_app = typer.Typer(help="Pose keypoints: extract them from a video once, replay them anywhere.",
                       no_args_is_help=True)


@pose_app.command("extract")
def extract(
    source: str = typer.Argument(..., help="Video file, still image, or camera index (0, 1, ...)."),
    output: Path = typer.Option(..., "-o", "--output", help="Recording to write (.npz is added if missing)."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Also write the video with the skeleton "
                                           "drawn on it (.mp4)."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
    num_poses: str = PeopleOption,
) -> None:
    """Detect body keypoints in every frame and save them as a recording.

    The recording (format: see coach/recording.py) can replace the video in every later command, without
    running the model again. Example: coach pose extract squat.mp4 -o squat.npz --preview squat_pose.mp4
    """
    from coach.app.extraction import extract_keypoints
    from coach.app.pipeline import BackgroundWorker
    from coach.pose.engine import open_video_engine
    from coach.pose.recording import save_recording
    from coach.app.renderer import draw_pose_frame
    from coach.app.sources import open_source
    from coach.app.video_output import VideoWriter

    if preview is not None and preview.suffix.lower() != ".mp4":
        raise CoachError(f"--preview must name an .mp4 file, not {preview}")
    with open_source(source) as src:  # a bad source fails before any model work
        info = resolve_model_path(model, variant)
        engine = open_video_engine(info.path, num_poses)
        writer = VideoWriter(preview, src.fps) if preview else None
        # the preview is drawn and encoded on its own thread, overlapping the model
        drawing = BackgroundWorker(lambda item: writer.write(draw_pose_frame(item[0].image_bgr.copy(), item[1])),
                                   name="preview-writer") if writer is not None else None
        t0 = time.perf_counter()
        with progress_task(f"extracting {Path(str(source)).name}", src.frame_count) as advance:
            def on_frame(frame, pose) -> None:
                if drawing is not None:
                    drawing.submit((frame, pose))
                done = frame.index + 1
                advance(f"{done / max(time.perf_counter() - t0, 1e-9):5.1f} fps")

            try:
                series = extract_keypoints(src, engine, model_variant=info.variant, model_sha256=info.sha256,
                                           on_frame=on_frame)
            finally:
                try:
                    if drawing is not None:
                        drawing.close()
                finally:
                    if writer is not None:
                        writer.close()
                    engine.close()
    path = save_recording(output, series)
    found = int(np.count_nonzero(series.n_people))
    total = len(series)
    ended = series.meta.get("ended", "")
    console.print(f"wrote [bold]{path}[/]: {total} frames, a person in {found} "
                  f"({100.0 * found / max(total, 1):.0f}%)" + (f", ended: {ended}" if ended else ""))
    if preview:
        console.print(f"preview: [bold]{preview}[/]")
    if found == 0:
        err_console.print("[yellow]warning:[/] nobody was found in any frame; every frame of the recording "
                          "says 'nobody'.")
    elif ended.startswith("truncated"):
        err_console.print(f"[yellow]warning:[/] the video ended early ({ended}); the recording holds the "
                          "readable part.")


@pose_app.command("info")
def info(recording: Path = typer.Argument(..., help="A recording written by `pose extract`.")) -> None:
    """Show what a recording holds: source, size, fps, model, frames with a person."""
    from rich.table import Table

    from coach.pose.recording import load_recording

    series = load_recording(recording)
    m = series.meta
    table = Table(show_header=False)
    for key, value in [("source", m.get("source", "")), ("frames", len(series)),
                       ("duration", f"{series.timestamps_s[-1]:.2f} s" if len(series) else "0 s"),
                       ("fps", f"{series.fps:.2f}"), ("size", f"{series.width_px}×{series.height_px} px"),
                       ("model", f"{m.get('model_variant', '')} {str(m.get('model_sha256', ''))[:12]}".strip()
                        or "none recorded"),
                       ("coordinates", "image and 3-D world" if series.has_world else "image only (2-D)"),
                       ("people per frame (max)", series.n_slots),
                       ("frames with a person", int(np.count_nonzero(series.n_people))),
                       ("program version", m.get("program_version", ""))]:
        table.add_row(key, str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(pose_app, name="pose")
