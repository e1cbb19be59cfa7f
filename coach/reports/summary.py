"""The at-a-glance table a physiotherapist reads first: per exercise, is the patient on track?

:func:`summarize` turns a report model (:class:`coach.reports.model.Report`) into a :class:`Summary`. It is
the one place where done against prescribed, adherence and pain are computed and rounded: ``coach report``
(terminal, HTML, PDF, Markdown, JSON), ``GET /api/patients/{name}/summary`` and the web page all show
these numbers as they are, never recomputing or rounding them again. What "prescribed" means is defined
once in :mod:`coach.app.prescriptions`.

Per exercise (every exercise done in the period or prescribed during it):

- sessions done / prescribed: days on which the exercise was done / the pro-rated per-week target; the
  adherence counts at most the prescribed number a week, and only days a prescription was in force;
- reps done / prescribed: the reps of the sessions that had a prescription in force / their sets × reps
  (reps of sessions without one are counted apart);
- range of motion reached: per side, the mean of the last third of that side's sessions (each session's
  mean over its reps), against the target (met when every side reaches it); left/right asymmetry as the
  limb symmetry index (smaller / larger), flagged below the threshold of ``review.yaml``;
- pain: the maximum, the mean, the trend, and how many sessions were over the limit (the one in the
  prescription's notes, else ``review.yaml``'s);
- form faults in words with their count; trends compare the first third of the sessions with the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from coach.app.prescriptions import describe, in_force, last_day, pain_limit, prescribed_reps

if TYPE_CHECKING:
    from coach.reports.model import ExerciseReport, Report, SessionPoint

REVIEW_FILE = Path(__file__).with_name("review.yaml")

ARROWS = {"up": "↑", "down": "↓", "steady": "→"}


@dataclass(frozen=True)
class ReviewThresholds:
    """``review.yaml``: what the summary flags and the words of the fault codes."""

    asymmetry_lsi_below: float
    pain_limit_0_10: float
    trend_rom_deg: float
    trend_pain_0_10: float
    trend_faults_per_rep: float
    not_measurable_share_above: float
    fault_words: dict[str, str]


@lru_cache(maxsize=1)
def review_thresholds() -> ReviewThresholds:
    """The thresholds of ``coach/reports/review.yaml`` (read once)."""
    import yaml

    data = yaml.safe_load(REVIEW_FILE.read_text(encoding="utf-8"))
    trend = data["trend_min_change"]
    return ReviewThresholds(
        asymmetry_lsi_below=float(data["asymmetry_lsi_below"]),
        pain_limit_0_10=float(data["pain_limit_0_10"]),
        trend_rom_deg=float(trend["rom_deg"]),
        trend_pain_0_10=float(trend["pain_0_10"]),
        trend_faults_per_rep=float(trend["faults_per_rep"]),
        not_measurable_share_above=float(data["not_measurable_share_above"]),
        fault_words={str(k): str(v) for k, v in (data.get("fault_words") or {}).items()},
    )


def fault_words(code: str) -> str:
    """A form fault code in a physiotherapist's words ("shallow" -> "not deep enough")."""
    return review_thresholds().fault_words.get(code, code.replace("_", " "))


def rounded(value: float | None, digits: int = 0) -> float | int | None:
    """``value`` rounded half up (2.25 -> 2.3, as people round), an int for 0 digits; None stays None.

    The summary rounds here once; every format prints the result as it is."""
    if value is None:
        return None
    q = Decimal(str(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(q) if digits == 0 else float(q)


@dataclass
class Trend:
    """The first third of the sessions against the last third."""

    first: float | int
    last: float | int
    direction: str  #: "up", "down" or "steady" (a change under the review threshold)
    good: bool | None  #: whether that direction is good news (None: steady)

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]


@dataclass
class SideReached:
    side: str  #: "left", "right" or "both"
    reached: float | int  #: the measure's unit (degrees for angles)


@dataclass
class FaultLine:
    code: str
    words: str  #: the fault in words
    count: int
    trend: Trend | None  #: faults per rep


@dataclass
class ExerciseLine:
    """One row of the summary table."""

    exercise_id: str
    name: str
    prescription: str | None  #: the prescription in force at the end of the period, in words
    notes: str  #: its notes for the patient ("" if none)
    reps_per_session: int | None  #: what one session of it is prescribed: sets × reps (None: no reps)
    sessions_done: int  #: days on which it was done in the period
    sessions_prescribed: int | None  #: None: no prescription with sessions a week was in force
    sessions_counted: int  #: done that count towards adherence
    adherence_percent: int | None
    reps_done: int  #: in sessions with a prescription in force
    reps_prescribed: int | None
    reps_outside_plan: int  #: in sessions on days without a prescription
    reps_percent: int | None
    unit: str  #: "°" or " torso lengths" …
    rom_target: float | int | None
    rom_reached: list[SideReached] = field(default_factory=list)
    rom_met: bool | None = None  #: None: no target or nothing measured
    rom_trend: Trend | None = None
    asymmetry_lsi_percent: int | None = None  #: smaller side over larger side, percent
    asymmetry_flag: bool = False
    pain_max: int | None = None
    pain_mean: float | None = None
    pain_trend: Trend | None = None
    pain_limit: float | int | None = None
    pain_limit_source: str = ""  #: "prescription" or "default"
    pain_over_limit: int = 0  #: sessions whose pain was over the limit of their day
    faults: list[FaultLine] = field(default_factory=list)
    not_measurable_percent: int | None = None
    not_measurable_flag: bool = False

    @property
    def pain_flag(self) -> bool:
        return self.pain_over_limit > 0


@dataclass
class Summary:
    """The whole table: the period's totals first, then one line per exercise, then the alerts."""

    patient: str
    period_from: date
    period_to: date
    counted_to: date  #: prescribed sessions count up to this day (the report's day if the period goes on)
    sessions_done: int
    sessions_prescribed: int | None
    sessions_counted: int
    adherence_percent: int | None
    pain_mean: float | None
    pain_max: int | None
    pain_over_limit: int
    effort_mean: float | None
    exercises: list[ExerciseLine]
    alerts: list[str]  #: one sentence each, the most important first


def _thirds(values: Sequence[float]) -> tuple[list[float], list[float]] | None:
    if len(values) < 2:
        return None
    k = max(1, len(values) // 3)
    return list(values[:k]), list(values[-k:])


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and v == v]
    return sum(values) / len(values) if values else None


def _trend(values: Sequence[float], threshold: float, up_is_good: bool, digits: int = 0) -> Trend | None:
    parts = _thirds([v for v in values if v is not None and v == v])
    if parts is None:
        return None
    first, last = _mean(parts[0]), _mean(parts[1])
    change = last - first
    if abs(change) < threshold:
        direction, good = "steady", None
    else:
        direction = "up" if change > 0 else "down"
        good = (change > 0) == up_is_good
    return Trend(rounded(first, digits), rounded(last, digits), direction, good)


def _percent(part: int, whole: int | None) -> int | None:
    return None if not whole else rounded(100.0 * part / whole)


def _exercise_line(report: Report, ex_id: str, ex: ExerciseReport | None) -> ExerciseLine:
    from coach.reports.joints import exercise_name, measure_info

    t = review_thresholds()
    rxs = report.prescriptions
    rx = in_force(rxs, ex_id, report.counted_to or report.period_to)
    if rx is None:
        started = [r for r in rxs if r.exercise_id == ex_id and r.start_date <= report.period_to]
        rx = max(started, key=lambda r: (r.start_date, r.id)) if started else None
    done = sum(w.by_exercise.get(ex_id, 0) for w in report.adherence)
    prescribed_weeks = [w.prescribed_by_exercise[ex_id] for w in report.adherence
                        if ex_id in w.prescribed_by_exercise]
    prescribed = sum(prescribed_weeks) if prescribed_weeks else None
    counted = sum(w.done_prescribed_by_exercise.get(ex_id, 0) for w in report.adherence)
    sessions: list[SessionPoint] = ex.sessions if ex is not None else []
    with_target = [s for s in sessions if s.target_reps]
    reps_prescribed = sum(s.target_reps for s in with_target) if with_target else None
    reps_done = sum(s.reps for s in with_target)
    info = measure_info(ex_id, ex.measure) if ex is not None else None
    line = ExerciseLine(
        exercise_id=ex_id, name=ex.name if ex is not None else exercise_name(ex_id),
        prescription=describe(rx) if rx is not None else None, notes=(rx.notes or "") if rx is not None else "",
        reps_per_session=prescribed_reps(in_force(rxs, ex_id, report.counted_to or report.period_to)),
        sessions_done=done, sessions_prescribed=prescribed, sessions_counted=counted,
        adherence_percent=_percent(counted, prescribed),
        reps_done=reps_done, reps_prescribed=reps_prescribed,
        reps_outside_plan=sum(s.reps for s in sessions if not s.target_reps),
        reps_percent=_percent(reps_done, reps_prescribed),
        unit=info.unit_label if info is not None else "°",
        rom_target=rounded(ex.target_rom) if ex is not None and ex.target_rom else None,
    )
    # pain: the limit of the prescription in force each day, else the default
    default_limit = t.pain_limit_0_10
    limit = pain_limit(rx)
    line.pain_limit = rounded(limit if limit is not None else default_limit, 1)
    line.pain_limit_source = "prescription" if limit is not None else "default"
    if line.pain_limit == int(line.pain_limit):
        line.pain_limit = int(line.pain_limit)
    pains = [s.pain_0_10 for s in sessions if s.pain_0_10 is not None]
    if pains:
        line.pain_max = max(pains)
        line.pain_mean = rounded(sum(pains) / len(pains), 1)
        line.pain_trend = _trend(pains, t.trend_pain_0_10, up_is_good=False, digits=1)
        for s in sessions:
            if s.pain_0_10 is None:
                continue
            day_limit = pain_limit(in_force(rxs, ex_id, s.started_at.date()))
            if s.pain_0_10 > (day_limit if day_limit is not None else default_limit):
                line.pain_over_limit += 1
    if ex is None:
        return line
    # range of motion of the primary measure, per side
    series = [r for r in ex.rom if r.measure == ex.measure and r.points]
    for r in series:
        k = max(1, len(r.points) // 3)
        line.rom_reached.append(SideReached(r.side, rounded(_mean([p.mean for p in r.points[-k:]]))))
    if line.rom_reached and line.rom_target is not None:
        line.rom_met = all(x.reached >= line.rom_target for x in line.rom_reached)
    # the trend within each side (one arm's sessions against the same arm's), averaged over the sides
    per_side = [_trend([p.mean for p in r.points], t.trend_rom_deg, up_is_good=True) for r in series]
    per_side = [x for x in per_side if x is not None]
    if len(per_side) == 1:
        line.rom_trend = per_side[0]
    elif per_side:
        first = sum(x.first for x in per_side) / len(per_side)
        last = sum(x.last for x in per_side) / len(per_side)
        line.rom_trend = _trend([first, last], t.trend_rom_deg, up_is_good=True)
    sides = {x.side: x.reached for x in line.rom_reached}
    if "left" in sides and "right" in sides and max(sides["left"], sides["right"]) > 0:
        lo, hi = sorted((sides["left"], sides["right"]))
        line.asymmetry_lsi_percent = rounded(100.0 * lo / hi)
        line.asymmetry_flag = lo / hi < t.asymmetry_lsi_below
    # form faults, most frequent first, each with its per-rep trend
    for code, n in sorted(ex.faults_total.items(), key=lambda kv: (-kv[1], kv[0])):
        per_rep = [s.faults.get(code, 0) / s.reps for s in sessions if s.reps]
        line.faults.append(FaultLine(code, fault_words(code), n,
                                     _trend(per_rep, t.trend_faults_per_rep, up_is_good=False, digits=2)))
    active = sum(s.active_s for s in sessions)
    if active > 0:
        share = ex.not_measurable_s / active
        line.not_measurable_percent = rounded(100.0 * min(1.0, share))
        line.not_measurable_flag = share > t.not_measurable_share_above
    return line


def summarize(report: Report) -> Summary:
    """The summary table of a report (see the module's docstring for every definition)."""
    by_id = {e.exercise_id: e for e in report.exercises}
    counted_to = report.counted_to or report.period_to
    in_period = {r.exercise_id for r in report.prescriptions
                 if r.start_date <= counted_to and (last_day(r) is None or last_day(r) >= report.period_from)}
    ids = sorted(set(by_id) | in_period)
    lines = [_exercise_line(report, ex_id, by_id.get(ex_id)) for ex_id in ids]
    prescribed = [x.sessions_prescribed for x in lines if x.sessions_prescribed is not None]
    sessions_prescribed = sum(prescribed) if prescribed else None
    counted = sum(x.sessions_counted for x in lines)
    points = [s for e in report.exercises for s in e.sessions]
    pains = [s.pain_0_10 for s in points if s.pain_0_10 is not None]
    efforts = [s.effort_rpe_0_10 for s in points if s.effort_rpe_0_10 is not None]
    alerts: list[str] = []
    for x in lines:
        if x.pain_flag:
            alerts.append(f"{x.name}: pain over the limit of {x.pain_limit}/10 in {x.pain_over_limit} "
                          f"session{'s' if x.pain_over_limit != 1 else ''} (highest {x.pain_max}/10).")
    for x in lines:
        if x.asymmetry_flag:
            sides = {s.side: s.reached for s in x.rom_reached}
            alerts.append(f"{x.name}: left {sides['left']}{x.unit} against right {sides['right']}{x.unit} "
                          f"(symmetry {x.asymmetry_lsi_percent}%).")
    for x in lines:
        if x.sessions_prescribed and x.sessions_done == 0:
            alerts.append(f"{x.name}: none of the {x.sessions_prescribed} prescribed sessions was done.")
        if x.not_measurable_flag:
            alerts.append(f"{x.name}: {x.not_measurable_percent}% of the set time could not be measured.")
    return Summary(
        patient=report.patient, period_from=report.period_from, period_to=report.period_to,
        counted_to=report.counted_to or report.period_to,
        sessions_done=sum(x.sessions_done for x in lines), sessions_prescribed=sessions_prescribed,
        sessions_counted=counted, adherence_percent=_percent(counted, sessions_prescribed),
        pain_mean=rounded(sum(pains) / len(pains), 1) if pains else None,
        pain_max=max(pains) if pains else None,
        pain_over_limit=sum(x.pain_over_limit for x in lines),
        effort_mean=rounded(sum(efforts) / len(efforts), 1) if efforts else None,
        exercises=lines, alerts=alerts,
    )
