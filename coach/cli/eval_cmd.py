"""`coach eval ...`: measure the program against labelled data (pose keypoints, rep counts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.table import Table

from coach.cli.common import (ModelPathOption, PeopleOption, Perturbation, PerturbOption, VariantOption, console,
                              err_console, resolve_model_path)

eval_app = typer.Typer(help="Measure accuracy against labelled data.", no_args_is_help=True)


@eval_app.command("pose")
def eval_pose(
    coco: Optional[Path] = typer.Option(None, "--coco", help="COCO keypoint annotation JSON (human labels): "
                                        "COCO keypoint AP by pycocotools' COCOeval.", show_default=False),
    mpii: Optional[Path] = typer.Option(None, "--mpii", help="MPII annotation JSON (human labels): PCKh@0.5.",
                                        show_default=False),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Smoke check: CSV of COCO-17 keypoints in "
                                         "pixels (<name>_x, <name>_y columns; optional 'file' column), e.g. "
                                         "labels made by another model.", show_default=False),
    images: Path = typer.Option(..., "--images", help="Folder with the labelled images."),
    setting: str = typer.Option("tiles", "--setting", help="How people are searched for (--coco/--mpii): "
                                "single, num_poses, low_threshold, masked, refined, tiles, tiles_masked (see "
                                "coach/devtools/person_finder.py), or 'all' to compare them."),
    num_poses: Optional[int] = typer.Option(None, "--num-poses", min=1, max=8, help="People per landmarker "
                                            "pass, at most (default: the setting's).", show_default=False),
    min_detection: Optional[float] = typer.Option(None, "--min-detection", min=0.0, max=1.0, help="Person "
                                                  "detector threshold (default: the setting's).", show_default=False),
    min_presence: Optional[float] = typer.Option(None, "--min-presence", min=0.0, max=1.0, help="Landmarker "
                                                 "presence threshold (default: the setting's).", show_default=False),
    detections_out: Optional[Path] = typer.Option(None, "--detections-out", help="Write the detections that "
                                                  "COCOeval scored (COCO results JSON) to this file.",
                                                  show_default=False, dir_okay=False),
    threshold_px: float = typer.Option(21.0, "--threshold-px", help="--truth: a keypoint is correct within "
                                       "this many pixels (PCK threshold)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
) -> None:
    """Pose accuracy on labelled stills: COCO keypoint AP (--coco), MPII PCKh@0.5 (--mpii), or a pixel-error
    smoke check against a CSV (--truth).

    Examples (labels in ../shared/data/ground_truth):
    coach eval pose --coco coco_val_sample/test_coco.json --images coco_val_sample --variant heavy;
    coach eval pose --mpii mpii_sample/test_mpii.json --images mpii_sample --setting all
    """
    from coach.errors import CoachError

    given = [name for name, value in (("--coco", coco), ("--mpii", mpii), ("--truth", truth)) if value is not None]
    if len(given) != 1:
        raise CoachError("give exactly one of --coco ANN.json, --mpii ANN.json or --truth CSV"
                         + (f" (got {' and '.join(given)})" if given else ""))
    info = resolve_model_path(model, variant)
    if truth is not None:
        _eval_pose_csv(truth, images, threshold_px, as_json, info)
        return
    settings = _chosen_settings(setting, num_poses, min_detection, min_presence)
    if coco is not None:
        _eval_pose_coco(coco, images, settings, detections_out, as_json, info)
    else:
        if detections_out is not None:
            raise CoachError("--detections-out writes COCO detections: use it with --coco")
        _eval_pose_mpii(mpii, images, settings, as_json, info)


def _chosen_settings(name: str, num_poses, min_detection, min_presence) -> list:
    """The finder settings named by --setting (all of them for 'all'), with the threshold options applied."""
    from dataclasses import replace

    from coach.devtools.person_finder import SETTINGS
    from coach.errors import CoachError

    if name != "all" and name not in SETTINGS:
        raise CoachError(f"unknown --setting {name!r}; choose one of {', '.join(SETTINGS)} or all")
    chosen = list(SETTINGS.values()) if name == "all" else [SETTINGS[name]]
    changes = {k: v for k, v in (("num_poses", num_poses), ("min_detection", min_detection),
                                 ("min_presence", min_presence)) if v is not None}
    return [replace(s, **changes) for s in chosen] if changes else chosen


def _model_json(info) -> dict:
    return {"variant": info.variant, "sha256": info.sha256}


def _calibration_table(rows, title: str, yardstick: str) -> Table:
    table = Table(title=title, caption=f"right: {yardstick}")
    for col in ("model visibility", "keypoints", "right", "median error px", "labelled hidden"):
        table.add_column(col, justify="right")
    for r in rows:
        d = r.to_dict()
        fmt = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
        table.add_row(d["visibility"], str(d["n"]), fmt(d["right_share"], ".0%"), fmt(d["median_error_px"], ".1f"),
                      fmt(d["labelled_hidden_share"], ".0%"))
    return table


def _eval_pose_coco(ann: Path, images: Path, settings: list, detections_out: Optional[Path], as_json: bool,
                    info) -> None:
    from coach.devtools.pose_coco import evaluate_coco, load_coco_truth
    from coach.errors import CoachError
    from coach.devtools.visibility_calibration import calibration_table
    from coach.pose.engine import PoseEngine

    if detections_out is not None and len(settings) > 1:
        raise CoachError("--detections-out writes the detections of one setting: give --setting NAME, not all")
    truth = load_coco_truth(ann, images)
    results = []
    for s in settings:
        with PoseEngine(info.path, mode="image", **s.engine_options()) as engine:
            results.append(evaluate_coco(engine, truth, s))
    if len(results) > 1:
        _print_comparison([r.summary() for r in results], "coco", as_json, info)
        return
    result = results[0]
    if detections_out is not None:
        try:
            detections_out.write_text(json.dumps(result.results))
        except OSError as exc:
            raise CoachError(f"could not write the detections to {detections_out}: {exc.strerror}") from None
    m = result.matched
    calibration = calibration_table(np.array([k.visibility for k in m]), np.array([k.error_px for k in m]),
                                    np.array([k.similarity >= 0.5 for k in m]),
                                    np.array([not k.labelled_visible for k in m]))
    summary = result.summary()
    if as_json:
        print(json.dumps({"summary": summary, "keypoints": result.per_keypoint(),
                          "visibility_calibration": [r.to_dict() for r in calibration],
                          "images": result.per_image, "setting": result.setting.to_dict(),
                          "model": _model_json(info)}, indent=2))
        return
    table = Table(title=f"COCO keypoints of the matched people ({info.variant} model, setting {result.setting.name})")
    for col in ("keypoint", "labelled", "mean error px", "median error px", "right (OKS ≥ 0.5)"):
        table.add_column(col, justify="left" if col == "keypoint" else "right")
    for row in result.per_keypoint():
        if row["n"]:
            table.add_row(row["keypoint"], str(row["n"]), f"{row['mean_error_px']:.1f}",
                          f"{row['median_error_px']:.1f}", f"{row['right_share']:.0%}")
        else:
            table.add_row(row["keypoint"], "0", "", "", "")
    console.print(table)
    console.print(_calibration_table(calibration, "error by the model's visibility (matched people)",
                                     "COCO keypoint similarity ≥ 0.5; labelled hidden: COCO v=1"))
    console.print(f"COCO keypoint AP {summary['coco_ap']:.3f}  AP50 {summary['coco_ap50']:.3f}  "
                  f"AP75 {summary['coco_ap75']:.3f}  AR {summary['coco_ar']:.3f}  (pycocotools COCOeval)")
    console.print(f"people found {summary['people_found']} of {summary['people_labelled']} labelled; "
                  f"{summary['false_people']} detection(s) matching no labelled person; "
                  f"{summary['ms_per_image']:.0f} ms per image (approximate: shared CPU)")
    console.print(f"detection score: {summary['score']}")


def _eval_pose_mpii(ann: Path, images: Path, settings: list, as_json: bool, info) -> None:
    from coach.devtools.pose_mpii import HEAD_SEGMENT, PCKH_THRESHOLD, evaluate_mpii, load_mpii_truth
    from coach.devtools.visibility_calibration import calibration_table
    from coach.pose.engine import PoseEngine

    people = load_mpii_truth(ann, images)
    results = []
    for s in settings:
        with PoseEngine(info.path, mode="image", **s.engine_options()) as engine:
            results.append(evaluate_mpii(engine, people, s))
    if len(results) > 1:
        _print_comparison([r.summary() for r in results], "mpii", as_json, info)
        return
    result = results[0]
    seen = [j for j in result.joints if np.isfinite(j.error_px)]
    calibration = calibration_table(np.array([j.visibility for j in seen]), np.array([j.error_px for j in seen]),
                                    np.array([j.right for j in seen]))
    summary = result.summary()
    if as_json:
        print(json.dumps({"summary": summary, "joints": result.per_joint(),
                          "visibility_calibration": [r.to_dict() for r in calibration],
                          "setting": result.setting.to_dict(), "model": _model_json(info)}, indent=2))
        return
    table = Table(title=f"MPII PCKh@{PCKH_THRESHOLD:g} per joint ({info.variant} model, setting {result.setting.name})")
    for col in ("joint", "labelled", "PCKh@0.5", "median error px"):
        table.add_column(col, justify="left" if col == "joint" else "right")
    for row in result.per_joint():
        table.add_row(row["joint"], str(row["n"]), "" if row["pckh_0_5"] is None else f"{row['pckh_0_5']:.0%}",
                      "" if row["median_error_px"] is None else f"{row['median_error_px']:.1f}")
    console.print(table)
    console.print(_calibration_table(calibration, "error by the model's visibility",
                                     f"within {PCKH_THRESHOLD:g} head segment"))
    console.print(f"PCKh@{PCKH_THRESHOLD:g} {summary['pckh_0_5']:.3f} over {summary['joints']} joints "
                  f"(head segment: {HEAD_SEGMENT}; pelvis, thorax, upper neck and head top have no MediaPipe "
                  f"landmark and are not scored)")
    console.print(f"people found {summary['people_found']} of {summary['people_labelled']} (searched near each "
                  f"annotation's center/scale); {summary['ms_per_image']:.0f} ms per image (approximate: shared CPU)")


def _print_comparison(summaries: list[dict], sample: str, as_json: bool, info) -> None:
    if as_json:
        print(json.dumps({"settings": summaries, "model": _model_json(info)}, indent=2))
        return
    table = Table(title=f"{'COCO keypoint AP' if sample == 'coco' else 'MPII PCKh@0.5'} per setting "
                  f"({info.variant} model; ms per image approximate: shared CPU)")
    if sample == "coco":
        cols = (("AP", "coco_ap"), ("AP50", "coco_ap50"), ("AR", "coco_ar"), ("found", None), ("false", "false_people"))
    else:
        cols = (("PCKh@0.5", "pckh_0_5"), ("found", None))
    table.add_column("setting")
    for title, _ in cols + (("ms/image", ""),):
        table.add_column(title, justify="right")
    for s in summaries:
        cells = [f"{s['people_found']}/{s['people_labelled']}" if key is None
                 else f"{s[key]:.3f}" if isinstance(s[key], float) else str(s[key]) for _, key in cols]
        table.add_row(s["setting"], *cells, f"{s['ms_per_image']:.0f}")
    console.print(table)


def _eval_pose_csv(truth: Path, images: Path, threshold_px: float, as_json: bool, info) -> None:
    from coach.devtools.pose_eval import evaluate_pose, read_truth
    from coach.pose.engine import PoseEngine

    pairs = read_truth(truth, images)
    with PoseEngine(info.path, mode="image") as engine:
        result = evaluate_pose(engine, pairs, threshold_px)
    summary = result.summary()
    if as_json:
        print(json.dumps({"summary": summary, "per_keypoint": result.per_keypoint(),
                          "keypoints": [e.__dict__ for e in result.errors],
                          "model": {"variant": info.variant, "sha256": info.sha256}}, indent=2))
        return
    table = Table(title=f"pose error per keypoint ({info.variant} model; smoke check: labels made by a model)")
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
    num_poses: str = PeopleOption,
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1, help="Clips counted at once, each in "
                             "its own process with its own pose model (default: the number of cores); the "
                             "counts are the same as one at a time."),
) -> None:
    """Count every labelled clip and compare with the labels: per clip and overall, with what could make
    a count wrong (camera cuts, thin margins, a side not seen, reps ended early).

    Keypoints are extracted once per clip and model and cached, so a second run only re-counts.
    Example: coach eval reps ../shared/data/labels.tsv --videos ../shared/data/videos
    Robustness: add --perturb mirror (a general definition counts the same in a mirror).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from coach.devtools.rep_eval import ClipTask, evaluate_labels, read_labels, summarise
    from coach.errors import CoachError

    rows = read_labels(labels)
    if not videos.is_dir():
        raise CoachError(f"Video folder not found: {videos}")
    info = resolve_model_path(model, variant)
    tasks = [ClipTask(label, videos, info.path, info.variant, info.sha256, num_poses, recordings,
                      None if perturb is None else perturb.value, offline, hold_tolerance_s) for label in rows]
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as bar:
        overall = bar.add_task(f"clips ({min(jobs, len(tasks))} at a time)", total=len(tasks), last="")
        results = evaluate_labels(tasks, jobs=jobs,
                                  on_clip=lambda r: bar.update(overall, advance=1, last=r.file))
    summary = summarise(results)
    if as_json:
        print(json.dumps({"clips": [r.to_dict() for r in results], "summary": summary}, indent=2))
        return
    title = f"rep counts: {labels.name}" + (f" (perturbed: {perturb.value})" if perturb is not None else "")
    table = Table(title=title)
    for col in ("file", "exercise", "expected", "counted", "diff", "L/R", "hold s (true)", "ok", "warnings"):
        table.add_column(col, justify="left" if col in ("file", "exercise") else "right")
    for r in results:
        lr = f"{r.reps_left}/{r.reps_right} ({r.expected_left}/{r.expected_right})" \
            if r.expected_left is not None else ""
        hold = f"{r.hold_s:.1f} ({r.expected_hold_s:.1f})" if r.hold_s is not None else ""
        mark = "[green]yes[/]" if r.ok else f"[red]{r.error or 'no'}[/]"
        table.add_row(r.file, r.exercise, "" if r.expected is None else str(r.expected),
                      "" if r.counted is None else str(r.counted), "" if r.diff is None else f"{r.diff:+d}",
                      lr, hold, mark, _warning_codes(r.warnings))
    console.print(table)
    hold_text = (f"  hold error mean {summary['hold_error_s']:.2f} s, max {summary['max_hold_error_s']:.2f} s"
                 if summary["hold_error_s"] is not None else "")
    console.print(f"clips {summary['n']}  exact {summary['exact_rate']:.1%}  off-by-one {summary['obo_rate']:.1%}"
                  f"  max |diff| {summary['max_abs_diff']}  MAE/expected {summary['mae']:.3f}{hold_text}"
                  f"  warned {summary['warned_rate']:.0%}")


def _warning_codes(warnings: list) -> str:
    """The caveats of a count in a few words: each code once, with how often it came up."""
    from collections import Counter

    return ", ".join(f"{code}" + (f" ×{n}" if n > 1 else "") for code, n in Counter(w["code"] for w in warnings).items())


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
