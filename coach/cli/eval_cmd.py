"""`coach eval ...`: measure the program against labelled data (pose keypoints, rep counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from coach.cli.common import ModelPathOption, VariantOption, console, resolve_model_path

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
    from coach.pose_engine import PoseEngine
    from coach.pose_eval import evaluate_pose, read_truth

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


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
