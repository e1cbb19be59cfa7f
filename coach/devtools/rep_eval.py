"""Rep-count evaluation against a labels file (the format of ../shared/data/labels.tsv).

Labels: tab-separated with a header; required columns `file` and `exercise`, and `reps` and/or `hold_s`;
optional `reps_alt` (comma list of other counts that are also right), `reps_left`, `reps_right`. Other
columns are ignored. A count is right when it equals `reps` or one of `reps_alt`; a hold is right within
`hold_tolerance_s`.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from coach.errors import CoachError

#: Robustness checks (`--perturb`): the footage as if seen in a mirror, at half the frame rate, or with
#: shakier keypoints (PoseSeries transforms).
PERTURBATIONS = {
    "mirror": lambda s: s.mirrored(),
    "half-fps": lambda s: s.decimated(2),
    "jitter": lambda s: s.jittered(0),
}


def perturbed(series, name: str | None):
    """`series` changed by the named perturbation (None: unchanged)."""
    return series if name is None else PERTURBATIONS[name](series)


@dataclass(frozen=True)
class Label:
    file: str
    exercise: str
    reps: int | None
    reps_alt: tuple[int, ...] = ()
    reps_left: int | None = None
    reps_right: int | None = None
    hold_s: float | None = None

    @property
    def acceptable(self) -> tuple[int, ...]:
        """Every count that is right for this clip."""
        return ((self.reps,) if self.reps is not None else ()) + self.reps_alt


@dataclass
class ClipResult:
    file: str
    exercise: str
    expected: int | None
    counted: int | None
    ok: bool
    diff: int | None  #: counted minus the nearest right count
    expected_hold_s: float | None = None
    hold_s: float | None = None
    hold_error_s: float | None = None
    reps_left: int | None = None
    reps_right: int | None = None
    expected_left: int | None = None
    expected_right: int | None = None
    not_measurable_s: float = 0.0
    error: str | None = None  #: why the clip could not be run
    warnings: list = field(default_factory=list)  #: the count's caveats (`coach.engine.caveats`)

    def to_dict(self) -> dict:
        return asdict(self)


def _int(value: str, where: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise CoachError(f"{where}: expected a whole number, found '{value}'") from None


def read_labels(path: Path) -> list[Label]:
    """Parse a labels file; a malformed one gives one clear error naming the line and column."""
    if not path.is_file():
        raise CoachError(f"Labels file not found: {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        columns = set(reader.fieldnames or [])
        missing = {"file", "exercise"} - columns
        if missing or not ({"reps", "hold_s"} & columns):
            raise CoachError(f"{path}: needs tab-separated columns file, exercise and reps or hold_s "
                             f"(found: {', '.join(sorted(columns)) or 'none'})")
        labels = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            if not (row.get("file") or "").strip():
                continue
            alt = tuple(_int(v, f"{where} reps_alt") for v in (row.get("reps_alt") or "").split(",") if v.strip())
            hold = (row.get("hold_s") or "").strip()
            try:
                hold_s = float(hold) if hold else None
            except ValueError:
                raise CoachError(f"{where} hold_s: expected seconds, found '{hold}'") from None
            label = Label(row["file"].strip(), row["exercise"].strip(), _int(row.get("reps", ""), f"{where} reps"),
                          alt, _int(row.get("reps_left", ""), f"{where} reps_left"),
                          _int(row.get("reps_right", ""), f"{where} reps_right"), hold_s)
            if label.reps is None and label.hold_s is None:
                raise CoachError(f"{where}: neither reps nor hold_s is given for {label.file}")
            labels.append(label)
    if not labels:
        raise CoachError(f"{path} has no labelled clips")
    return labels


def score_clip(label: Label, counted: int, hold_s: float, reps_left: int, reps_right: int,
               hold_tolerance_s: float, not_measurable_s: float = 0.0, warnings: list | None = None) -> ClipResult:
    """Compare one clip's result with its label."""
    res = ClipResult(label.file, label.exercise, label.reps, counted, ok=True, diff=None,
                     expected_hold_s=label.hold_s, not_measurable_s=not_measurable_s,
                     expected_left=label.reps_left, expected_right=label.reps_right,
                     reps_left=reps_left, reps_right=reps_right, warnings=list(warnings or []))
    if label.acceptable:
        res.diff = min((counted - a for a in label.acceptable), key=abs)
        res.ok = res.diff == 0
    if label.hold_s is not None:
        res.hold_s = hold_s
        res.hold_error_s = abs(hold_s - label.hold_s)
        res.ok = res.ok and res.hold_error_s <= hold_tolerance_s
    return res


def summarise(results: list[ClipResult]) -> dict:
    """Aggregate: exact-match rate, off-by-one rate, normalised mean absolute error, hold error."""
    counted = [r for r in results if r.diff is not None and r.error is None]
    holds = [r for r in results if r.hold_error_s is not None and r.error is None]
    n = len(results)
    within_one = [r for r in results if r.error is None and (r.diff is None or abs(r.diff) <= 1)
                  and (r.hold_error_s is None or r.ok)]
    mae = [abs(r.diff) / max(r.expected or 1, 1) for r in counted]
    return {
        "n": n,
        "n_counted": len(counted),
        "n_holds": len(holds),
        "n_failed": sum(r.error is not None for r in results),
        "exact_rate": sum(r.ok for r in results) / n if n else 0.0,
        "obo_rate": len(within_one) / n if n else 0.0,
        "max_abs_diff": max((abs(r.diff) for r in counted), default=0),
        "mae": float(np.mean(mae)) if mae else 0.0,
        "hold_error_s": float(np.mean([r.hold_error_s for r in holds])) if holds else None,
        "max_hold_error_s": float(np.max([r.hold_error_s for r in holds])) if holds else None,
        #: share of clips whose count says it could be wrong (at least one caveat)
        "warned_rate": sum(bool(r.warnings) for r in results) / n if n else 0.0,
    }


@dataclass(frozen=True)
class ClipTask:
    """Everything needed to count one labelled clip, in this process or in a worker (picklable)."""

    label: Label
    videos: Path  #: folder holding the clip
    model_path: Path
    model_variant: str
    model_sha256: str
    people: object = "auto"  #: how many people the pose engine looks for ("auto" or a number)
    cache_root: Path | None = None  #: keypoint cache folder (None: the user cache)
    perturb: str | None = None
    offline: bool = False
    hold_tolerance_s: float = 1.5
    exercises_dirs: tuple = ()


def run_clip(task: ClipTask, on_frame: Callable[[], None] | None = None) -> ClipResult:
    """Extract (or take from the cache) one clip's keypoints, count it and score it; a clip that cannot be
    run gives a result with its `error`. on_frame() is called after each frame extracted."""
    from coach.app.extraction import extract_cached
    from coach.app.sources import open_source
    from coach.engine.counter import count
    from coach.exercise.library import get_definition

    label = task.label
    try:
        definition = get_definition(label.exercise, extra_dirs=task.exercises_dirs)
        video = task.videos / label.file
        if not video.is_file():
            raise CoachError(f"clip not found: {video}")
        with open_source(video) as src:
            series, _, _ = extract_cached(src, task.model_path, model_variant=task.model_variant,
                                          model_sha256=task.model_sha256, num_poses=task.people,
                                          cache_root=task.cache_root,
                                          on_frame=(lambda f, p: on_frame()) if on_frame else None)
        r = count(definition, perturbed(series, task.perturb), offline=task.offline)
        return score_clip(label, r.reps, r.hold_s, r.reps_left, r.reps_right, task.hold_tolerance_s,
                          r.not_measurable_s, r.warnings)
    except CoachError as exc:
        return ClipResult(label.file, label.exercise, label.reps, None, False, None, label.hold_s, error=str(exc))


def evaluate_labels(tasks: list[ClipTask], *, jobs: int = 1,
                    on_clip: Callable[[ClipResult], None] | None = None,
                    on_frame: Callable[[], None] | None = None) -> list[ClipResult]:
    """Run every clip through the exercise engine and score it, in label order.

    Causal by default (each task's `offline` False), exactly as `workout` counts a camera or a file. jobs > 1
    runs clips in that many worker processes (each with its own pose model); the counts are the same as
    a serial run's, since each clip is counted on its own from its own keypoints. on_clip(result) after each
    clip; on_frame() after each frame extracted in this process (serial runs).
    """
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            res = run_clip(task, on_frame)
            results.append(res)
            if on_clip is not None:
                on_clip(res)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[ClipResult | None] = [None] * len(tasks)
    # spawn, not fork: MediaPipe's native threads do not survive a fork
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_clip, task): k for k, task in enumerate(tasks)}
        for fut in as_completed(futures):
            res = fut.result()
            results[futures[fut]] = res
            if on_clip is not None:
                on_clip(res)
    return [r for r in results if r is not None]
