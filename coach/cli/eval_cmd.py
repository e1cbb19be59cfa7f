"""`coach eval ...`: measure the program against labelled data (pose keypoints, rep counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.table import Table

from coach.cli.common import (ModelPathOption, Perturbation, PerturbOption, VariantOption, console, err_console,
                              perturbed, resolve_model_path)

eval_app = typer.Typer(help="Measure accuracy against labelled data.", no_args_is_help=True)


@eval_app.command("pose")
def eval_pose(
    truth: Path = typer.Option(..., "--truth", help="CSV of labelled COCO-17 keypoints in pixels "
                               "(<name>_x, <name>_y columns; optional 'file' column)."),
    images: Path = typer.Option(..., "--images", help="Folder with the labelled images."),
    threshold_px: float = typer.Option(21.0, "--threshold-px", help="A keypoint is correct within this "
                                       "many pixels (PCK threshold)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
) -> None:
    """Compare detected keypoints with labelled ones: per-keypoint pixel error and PCK.

    Example: coach eval pose --truth ../shared/data/ground_truth/tf_examples_pose_truth/pose_landmark_truth.csv
    --images ../shared/data/ground_truth/tf_examples_pose_truth
    """
    from coach.pose.engine import PoseEngine
    from coach.devtools.pose_eval import evaluate_pose, read_truth

    pairs = read_truth(truth, images)
    info = resolve_model_path(model, variant)
    with PoseEngine(info.path, mode="image") as engine:
        result = evaluate_pose(engine, pairs, threshold_px)
    summary = result.summary()
    if as_json:
        print(json.dumps({"summary": summary, "per_keypoint": result.per_keypoint(),
                          "keypoints": [e.__dict__ for e in result.errors],
                          "model": {"variant": info.variant, "sha256": info.sha256}}, indent=2))
        return
    table = Table(title=f"pose error per keypoint ({info.variant} model)")
    table.add_column("keypoint")
    for image in dict.fromkeys(e.image for e in result.errors):
        table.add_column(f"{image} px", justify="right")
    for name in dict.fromkeys(e.keypoint for e in result.errors):
        cells = []
        for image in dict.fromkeys(e.image for e in result.errors):
            err = next((e.error_px for e in result.errors if e.image == image and e.keypoint == name), None)
            style = "red" if err is None or not err <= threshold_px else ""
            cells.append(f"[{style}]{err:.1f}[/]" if style else f"{err:.1f}")
        table.add_row(name, *cells)
    console.print(table)
    console.print(f"keypoints: {summary['n_keypoints']}  mean error: {summary['mean_error_px']:.1f} px  "
                  f"max error: {summary['max_error_px']:.1f} px  PCK@{threshold_px:g}px: {summary['pck']:.3f}")
    for k in result.beyond_threshold():
        if not np.isfinite(k.error_px):
            console.print(f"  [red]{k.image} {k.keypoint}: nobody found[/]")
            continue
        (tx, ty), (dx, dy) = k.truth_xy_px, k.detected_xy_px
        console.print(f"  [red]{k.image} {k.keypoint}: {k.error_px:.1f} px[/] (labelled at ({tx:.0f}, {ty:.0f}), "
                      f"detected at ({dx:.0f}, {dy:.0f}); the model's visibility {k.visibility:.2f})")


@eval_app.command("reps")
def eval_reps(
    labels: Path = typer.Argument(..., help="Tab-separated labels: file, exercise, reps and/or hold_s "
                                  "(optional reps_alt, reps_left, reps_right)."),
    videos: Path = typer.Option(..., "--videos", help="Folder holding the labelled clips."),
    hold_tolerance_s: float = typer.Option(1.5, "--hold-tolerance", help="A hold is right within this "
                                           "many seconds."),
    recordings: Optional[Path] = typer.Option(None, "--recordings", help="Folder caching each clip's "
                                              "keypoints (default: the user cache)."),
    offline: bool = typer.Option(False, "--offline", help="Whole-clip zero-phase analysis instead of the "
                                 "causal engine that `workout` uses."),
    perturb: Optional[Perturbation] = PerturbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
) -> None:
    """Count every labelled clip and compare with the labels: per clip and overall.

    Keypoints are extracted once per clip and model and cached, so a second run only re-counts.
    Example: coach eval reps ../shared/data/labels.tsv --videos ../shared/data/videos
    Robustness: add --perturb mirror (a general definition counts the same in a mirror).
    """
    from rich.progress import Progress

    from coach.errors import CoachError
    from coach.devtools.rep_eval import evaluate_labels, read_labels, summarise

    rows = read_labels(labels)
    if not videos.is_dir():
        raise CoachError(f"Video folder not found: {videos}")
    info = resolve_model_path(model, variant)

    with Progress(console=err_console, transient=True) as bar:
        overall = bar.add_task("clips", total=len(rows))

        def get_series(label):
            from coach.app.extraction import extract_cached
            from coach.app.sources import open_source

            video = videos / label.file
            if not video.is_file():
                raise CoachError(f"clip not found: {video}")
            with open_source(video) as src:
                task = bar.add_task(f"keypoints {label.file}", total=src.frame_count)
                series, _, _ = extract_cached(src, info.path, model_variant=info.variant, model_sha256=info.sha256,
                                              cache_root=recordings,
                                              on_frame=lambda f, p: bar.update(task, advance=1))
                bar.remove_task(task)
            return perturbed(series, perturb)

        results = evaluate_labels(rows, get_series, hold_tolerance_s=hold_tolerance_s, offline=offline,
                                  on_clip=lambda r: bar.update(overall, advance=1))
    summary = summarise(results)
    if as_json:
        print(json.dumps({"clips": [r.to_dict() for r in results], "summary": summary}, indent=2))
        return
    title = f"rep counts: {labels.name}" + (f" (perturbed: {perturb.value})" if perturb is not None else "")
    table = Table(title=title)
    for col in ("file", "exercise", "expected", "counted", "diff", "L/R", "hold s (true)", "ok"):
        table.add_column(col, justify="left" if col in ("file", "exercise") else "right")
    for r in results:
        lr = f"{r.reps_left}/{r.reps_right} ({r.expected_left}/{r.expected_right})" \
            if r.expected_left is not None else ""
        hold = f"{r.hold_s:.1f} ({r.expected_hold_s:.1f})" if r.hold_s is not None else ""
        mark = "[green]yes[/]" if r.ok else f"[red]{r.error or 'no'}[/]"
        table.add_row(r.file, r.exercise, "" if r.expected is None else str(r.expected),
                      "" if r.counted is None else str(r.counted), "" if r.diff is None else f"{r.diff:+d}",
                      lr, hold, mark)
    console.print(table)
    hold_text = (f"  hold error mean {summary['hold_error_s']:.2f} s, max {summary['max_hold_error_s']:.2f} s"
                 if summary["hold_error_s"] is not None else "")
    console.print(f"clips {summary['n']}  exact {summary['exact_rate']:.1%}  off-by-one {summary['obo_rate']:.1%}"
                  f"  max |diff| {summary['max_abs_diff']}  MAE/expected {summary['mae']:.3f}{hold_text}")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
