"""The progress report as data: built from the history through the query layer (nothing recomputes from video).

Layout of a physiotherapy progress note: reporting period; adherence (sessions done against sessions
prescribed, per week); per exercise: reps done against target, range of motion per joint and side with
the target, tempo (eccentric / concentric seconds), form faults by type and their weekly trend, holds,
time not measurable and why, and the first session against the latest; the patient's reported pain and
effort. Renderers (``coach.reports.render``) turn a :class:`Report` into HTML, PDF, Markdown, JSON, CSV
and FHIR without touching the database again.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from coach.app.prescriptions import (FIRST_DAY, LAST_DAY, check_day, in_force, prescribed_reps, prescribed_sessions,
                                     week_days)
from coach.reports.budget import checkpoint
from coach.reports.joints import exercise_name, measure_info
from db.models import utc_now
from db.notes import NoteRow, session_notes
from db.patients import get_patient
from db.prescriptions import patient_prescriptions
from db.report_queries import (
    fault_counts_per_session,
    holds_per_session,
    not_measurable_per_session,
    rep_rows,
    set_seconds_per_session,
)
from db.sessions import list_sessions


#: Longest report period, in days: 10 years. Longer ones are refused (a report of 100 years took minutes and
#: gigabytes); a default period (from the first session or prescription) keeps its latest 10 years.
MAX_PERIOD_DAYS = 3653


@dataclass
class WeekAdherence:
    """One week of the period: a session is a day on which the exercise was done (both arms the same day
    count once). Prescribed: `coach.app.prescriptions.prescribed_sessions` over the week's days that are in
    the period and not after the day the report was made."""

    week_start: date  #: Monday
    done: int  #: sessions done (all exercises, days in the period)
    prescribed: int | None  #: sessions prescribed that week (all exercises), None if none was in force
    by_exercise: dict[str, int] = field(default_factory=dict)  #: sessions done per exercise
    prescribed_by_exercise: dict[str, int] = field(default_factory=dict)
    #: sessions done that count towards the prescription (on days one was in force, at most the prescribed
    #: number per exercise)
    done_prescribed: int = 0
    done_prescribed_by_exercise: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        if not self.prescribed:
            return None
        return 100.0 * self.done_prescribed / self.prescribed


@dataclass
class SessionPoint:
    """One session of one exercise, with what the report shows of it."""

    session_id: int
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    sets: int
    reps: int
    #: prescribed for the session: sets × reps of the prescription in force on its day (None: none was)
    target_reps: int | None
    mean_rom: float | None  #: mean range of motion of the reps, the primary measure's unit
    max_rom: float | None
    mean_eccentric_s: float | None
    mean_concentric_s: float | None
    faults: dict[str, int]
    hold_s: float
    holds: int
    longest_hold_s: float
    not_measurable_s: float
    not_measurable_reasons: dict[str, float]
    pain_0_10: int | None = None
    effort_rpe_0_10: int | None = None
    note: str = ""
    side: str = ""  #: the side(s) of its reps: "left", "right", "both", "left+right"; "" without reps
    prescription_id: int | None = None  #: the prescription in force on its day
    #: source seconds the sets ran (what "not measurable" is a share of)
    active_s: float = 0.0

    @property
    def n_faults(self) -> int:
        return sum(self.faults.values())


@dataclass
class RomPoint:
    session_id: int
    started_at: datetime
    mean: float
    max: float
    min: float
    reps: int


@dataclass
class RomSeries:
    """Range of motion of one measure on one side, per session."""

    measure: str
    side: str  #: "left", "right" or "both"
    joint: str | None
    unit: str
    label: str
    points: list[RomPoint] = field(default_factory=list)

    @property
    def first(self) -> RomPoint | None:
        return self.points[0] if self.points else None

    @property
    def latest(self) -> RomPoint | None:
        return self.points[-1] if self.points else None


@dataclass
class Comparison:
    """The first session of the period against the latest one."""

    first: SessionPoint
    latest: SessionPoint

    def rows(self) -> list[tuple[str, Any, Any, Any]]:
        """(what, first, latest, change) rows for tables."""
        f, l = self.first, self.latest

        def change(a, b):
            if a is None or b is None:
                return None
            return b - a

        items = [
            ("date", f.started_at.date().isoformat(), l.started_at.date().isoformat(), None),
            ("reps", f.reps, l.reps, change(f.reps, l.reps)),
            ("target reps", f.target_reps, l.target_reps, None),
            ("mean range of motion", _r(f.mean_rom), _r(l.mean_rom), _r(change(f.mean_rom, l.mean_rom))),
            ("best range of motion", _r(f.max_rom), _r(l.max_rom), _r(change(f.max_rom, l.max_rom))),
            ("eccentric s", _r(f.mean_eccentric_s, 2), _r(l.mean_eccentric_s, 2),
             _r(change(f.mean_eccentric_s, l.mean_eccentric_s), 2)),
            ("concentric s", _r(f.mean_concentric_s, 2), _r(l.mean_concentric_s, 2),
             _r(change(f.mean_concentric_s, l.mean_concentric_s), 2)),
            ("form faults", f.n_faults, l.n_faults, change(f.n_faults, l.n_faults)),
            ("held s", _r(f.hold_s), _r(l.hold_s), _r(change(f.hold_s, l.hold_s))),
            ("not measurable s", _r(f.not_measurable_s), _r(l.not_measurable_s), None),
            ("pain 0–10", f.pain_0_10, l.pain_0_10, change(f.pain_0_10, l.pain_0_10)),
            ("effort 0–10", f.effort_rpe_0_10, l.effort_rpe_0_10, change(f.effort_rpe_0_10, l.effort_rpe_0_10)),
        ]
        return items


@dataclass
class PrescriptionInfo:
    id: int
    exercise_id: str
    sets: int | None
    reps: int | None
    hold_s: float | None
    rom_deg: float | None
    per_week: int | None
    start_date: date
    until_date: date | None
    active: bool
    ended_at: datetime | None
    notes: str = ""  #: what the therapist wrote for the patient


@dataclass
class ExerciseReport:
    exercise_id: str
    name: str
    measure: str
    unit: str
    joint: str | None
    measure_label: str
    prescription: PrescriptionInfo | None  #: the latest one of the period
    target_rom: float | None  #: degrees, from the prescription, else the definition's target
    sessions: list[SessionPoint]
    rom: list[RomSeries]
    faults_total: dict[str, int]
    faults_per_week: dict[date, dict[str, int]]  #: every week of the period (empty dicts for none)
    reps_per_week: dict[date, int]
    not_measurable_reasons: dict[str, float]  #: reason -> seconds over the period

    @property
    def reps(self) -> int:
        return sum(s.reps for s in self.sessions)

    @property
    def target_reps(self) -> int | None:
        targets = [s.target_reps for s in self.sessions if s.target_reps]
        return sum(targets) if targets else None

    @property
    def reps_with_target(self) -> int:
        return sum(s.reps for s in self.sessions if s.target_reps)

    @property
    def reps_percent(self) -> float | None:
        t = self.target_reps
        return None if not t else 100.0 * self.reps_with_target / t

    @property
    def hold_s(self) -> float:
        return sum(s.hold_s for s in self.sessions)

    @property
    def holds(self) -> int:
        return sum(s.holds for s in self.sessions)

    @property
    def longest_hold_s(self) -> float:
        return max((s.longest_hold_s for s in self.sessions), default=0.0)

    @property
    def not_measurable_s(self) -> float:
        return sum(s.not_measurable_s for s in self.sessions)

    @property
    def mean_eccentric_s(self) -> float | None:
        return _mean([s.mean_eccentric_s for s in self.sessions])

    @property
    def mean_concentric_s(self) -> float | None:
        return _mean([s.mean_concentric_s for s in self.sessions])

    @property
    def comparison(self) -> Comparison | None:
        """The first session against the latest (of the same side, when sessions train one side each)."""
        comps = self.comparisons
        return comps[0][1] if comps else None

    @property
    def comparisons(self) -> list[tuple[str, Comparison]]:
        """(side, first against latest) for each side trained on its own, else one ("", comparison)."""
        with_reps = [s for s in self.sessions if s.reps or s.hold_s]
        if not with_reps:
            return []
        sides = sorted({s.side for s in with_reps if s.side})
        if len(sides) > 1 and all(x in ("left", "right") for x in sides):
            out = []
            for side in sides:
                these = [s for s in with_reps if s.side == side]
                out.append((side, Comparison(these[0], these[-1])))
            return out
        return [("", Comparison(with_reps[0], with_reps[-1]))]

    def fault_trend(self) -> list[tuple[str, int, float | None, float | None]]:
        """(code, total, faults per rep in the first half of the weeks, in the second half)."""
        weeks = sorted(self.faults_per_week)
        half = len(weeks) // 2
        first_w, last_w = weeks[:half] or weeks, weeks[half:] or weeks
        out = []
        for code, total in sorted(self.faults_total.items(), key=lambda kv: -kv[1]):
            def rate(ws):
                reps = sum(self.reps_per_week.get(w, 0) for w in ws)
                n = sum(self.faults_per_week[w].get(code, 0) for w in ws)
                return None if reps == 0 else n / reps
            out.append((code, total, rate(first_w), rate(last_w)))
        return out


@dataclass
class Report:
    patient: str
    period_from: date
    period_to: date  #: inclusive
    generated_at: datetime
    sessions: int
    adherence: list[WeekAdherence]
    exercises: list[ExerciseReport]
    notes: list[NoteRow]  #: every note in the period, as recorded
    prescriptions: list[PrescriptionInfo]
    message: str | None = None  #: why the report is empty, in one sentence
    #: the day the figures run to: the period's last day, or the day the report was made if that is earlier
    counted_to: date | None = None

    @property
    def summary(self):
        """The at-a-glance table (`coach.reports.summary.Summary`): what every format shows first."""
        if getattr(self, "_summary", None) is None:
            from coach.reports.summary import summarize

            self._summary = summarize(self)
        return self._summary

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, including the derived figures the other formats show (``summary`` first)."""
        d = {"summary": _jsonable(asdict(self.summary))}
        d.update(_jsonable(asdict(self)))
        for ex, out in zip(self.exercises, d["exercises"]):
            out["totals"] = {
                "reps": ex.reps,
                "target_reps": ex.target_reps,
                "reps_percent_of_target": _r(ex.reps_percent, 1),
                "mean_eccentric_s": _r(ex.mean_eccentric_s, 3),
                "mean_concentric_s": _r(ex.mean_concentric_s, 3),
                "hold_s": ex.hold_s,
                "holds": ex.holds,
                "longest_hold_s": ex.longest_hold_s,
                "not_measurable_s": ex.not_measurable_s,
            }
            out["fault_trend"] = [
                {"code": c, "total": n, "per_rep_first_half": _r(a, 4), "per_rep_second_half": _r(b, 4)}
                for c, n, a, b in ex.fault_trend()
            ]
            out["first_vs_latest"] = [
                {"side": side or None,
                 "rows": [{"what": w, "first": a, "latest": b, "change": c} for w, a, b, c in comp.rows()]}
                for side, comp in ex.comparisons
            ]
        return d


# ------------------------------------------------------------------------------------------ building


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(values) / len(values) if values else None


def _r(value, digits: int = 1):
    return None if value is None else round(float(value), digits)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {(k.isoformat() if isinstance(k, (date, datetime)) else k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    return obj


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def period_bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """[since, until) in UTC for inclusive dates."""
    since = datetime.combine(period_from, time.min, tzinfo=timezone.utc)
    until = datetime.combine(period_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return since, until


def build_report(
    db: Session,
    patient: str,
    *,
    period_from: date | None = None,
    period_to: date | None = None,
    now: datetime | None = None,
) -> Report:
    """The progress report of ``patient`` (`db.errors.NotFound` for an unknown name).

    The period defaults to the first recorded session up to today (dates are UTC days, inclusive).
    """
    from coach.errors import CoachError

    check_day(period_from, "The first day")
    check_day(period_to, "The last day")
    if period_from is not None and period_to is not None and period_to < period_from:
        raise CoachError(f"The period ends ({period_to.isoformat()}) before it starts "
                         f"({period_from.isoformat()}); swap --from and --to.")
    if period_from is not None and period_to is not None and (period_to - period_from).days + 1 > MAX_PERIOD_DAYS:
        raise CoachError(f"A report covers at most {MAX_PERIOD_DAYS} days (10 years); {period_from.isoformat()} to "
                         f"{period_to.isoformat()} is {(period_to - period_from).days + 1}: ask for a shorter period.")
    p = get_patient(db, patient)
    name = p.name
    now = now or utc_now()
    rxs = [
        PrescriptionInfo(r.id, r.exercise_id, r.sets, r.reps, r.hold_s, r.rom_deg, r.per_week, r.start_date,
                         r.until_date, r.active, r.ended_at, r.notes or "")
        for r in patient_prescriptions(db, name)
    ]
    today = min(max(now.date(), FIRST_DAY), LAST_DAY)
    if period_from is not None:
        if period_to is None:
            period_to = max(today, period_from)
            if (period_to - period_from).days + 1 > MAX_PERIOD_DAYS:
                raise CoachError(f"A report covers at most {MAX_PERIOD_DAYS} days (10 years); from "
                                 f"{period_from.isoformat()} to today is more: give a later first day, or a last "
                                 "day too.")
    else:  # from the first session or prescription, the latest 10 years at most
        first = list_sessions(db, name, limit=1, newest_first=False)
        starts = [first[0].started_at.date()] if first else []
        starts += [r.start_date for r in rxs]
        period_from = min(max(min(starts), FIRST_DAY), LAST_DAY) if starts else today
        if period_to is None:
            period_to = max(today, period_from)
        period_from = min(max(period_from, period_to - timedelta(days=MAX_PERIOD_DAYS - 1)), period_to)
    since, until = period_bounds(period_from, period_to)

    sessions = list_sessions(db, name, since=since, until=until, newest_first=False)
    reps = rep_rows(db, name, since=since, until=until)
    faults = fault_counts_per_session(db, name, since=since, until=until)
    nms = not_measurable_per_session(db, name, since=since, until=until)
    holds = holds_per_session(db, name, since=since, until=until)
    active_s = set_seconds_per_session(db, name, since=since, until=until)
    notes_rows = session_notes(db, name, since=since, until=until)

    weeks = []
    w = monday(period_from)
    while w <= period_to:
        weeks.append(w)
        w += timedelta(days=7)

    # adherence: days done against days prescribed, up to the day the report was made
    counted_to = min(period_to, now.date())
    days: dict[date, dict[str, set]] = {wk: defaultdict(set) for wk in weeks}
    for s in sessions:
        day = s.started_at.date()
        days[monday(day)][s.exercise_id].add(day)
    ex_ids = sorted({r.exercise_id for r in rxs} | {s.exercise_id for s in sessions})
    adherence = []
    for wk in weeks:
        counted = week_days(wk, period_from, counted_to)
        done_ex = {ex: len(d) for ex, d in days[wk].items()}
        per_ex: dict[str, int] = {}
        done_rx: dict[str, int] = {}
        for ex in ex_ids:
            n = prescribed_sessions(rxs, ex, counted)
            if n:
                per_ex[ex] = n
                on_days = sum(1 for d in days[wk].get(ex, ()) if in_force(rxs, ex, d) is not None)
                done_rx[ex] = min(on_days, n)
        adherence.append(WeekAdherence(wk, sum(done_ex.values()), sum(per_ex.values()) if per_ex else None,
                                       done_ex, per_ex, sum(done_rx.values()), done_rx))

    # per-rep aggregates per session
    by_session: dict[int, list] = defaultdict(list)
    for r in reps:
        by_session[r.session_id].append(r)
    notes_by_session: dict[int, NoteRow] = {}
    for n in notes_rows:
        prev = notes_by_session.get(n.session_id)
        # several notes for a session: the latest scores win, texts are joined
        if prev is None:
            notes_by_session[n.session_id] = n
        else:
            notes_by_session[n.session_id] = NoteRow(
                n.session_id, n.exercise_id, n.started_at,
                n.pain_0_10 if n.pain_0_10 is not None else prev.pain_0_10,
                n.effort_rpe_0_10 if n.effort_rpe_0_10 is not None else prev.effort_rpe_0_10,
                "; ".join(t for t in (prev.text, n.text) if t))

    exercises: dict[str, list] = defaultdict(list)
    for s in sessions:
        exercises[s.exercise_id].append(s)

    out_ex: list[ExerciseReport] = []
    for ex_id, ex_sessions in sorted(exercises.items()):
        checkpoint()  # a server's render budget (coach.reports.budget)
        ex_rxs = [r for r in rxs if r.exercise_id == ex_id and r.start_date <= period_to]
        # the one in force at the end of the period, else the latest one that started in it
        rx = in_force(rxs, ex_id, counted_to) or (max(ex_rxs, key=lambda r: (r.start_date, r.id))
                                                   if ex_rxs else None)
        points: list[SessionPoint] = []
        rom: dict[tuple[str, str], RomSeries] = {}
        measures_seen: dict[str, int] = defaultdict(int)
        faults_week: dict[date, dict[str, int]] = {wk: {} for wk in weeks}
        reps_week: dict[date, int] = {wk: 0 for wk in weeks}
        nm_total: dict[str, float] = defaultdict(float)
        for s in ex_sessions:
            rows = by_session.get(s.id, [])
            roms = [r.range_of_motion for r in rows if r.range_of_motion is not None]
            day_rx = in_force(rxs, ex_id, s.started_at.date())
            target = prescribed_reps(day_rx)
            n_holds, _held, longest = holds.get(s.id, (0, 0.0, 0.0))
            note = notes_by_session.get(s.id)
            f = faults.get(s.id, {})
            pt = SessionPoint(
                session_id=s.id, started_at=s.started_at, ended_at=s.ended_at, end_reason=s.end_reason,
                sets=s.n_sets, reps=s.n_reps, target_reps=target,
                mean_rom=_mean(roms), max_rom=max(roms) if roms else None,
                mean_eccentric_s=_mean([r.eccentric_s for r in rows]),
                mean_concentric_s=_mean([r.concentric_s for r in rows]),
                faults=dict(f), hold_s=s.hold_s, holds=n_holds, longest_hold_s=longest,
                not_measurable_s=s.not_measurable_s, not_measurable_reasons=dict(nms.get(s.id, {})),
                pain_0_10=note.pain_0_10 if note else None,
                effort_rpe_0_10=note.effort_rpe_0_10 if note else None,
                note=note.text if note else "",
                side="+".join(sorted({r.side for r in rows})),
                prescription_id=day_rx.id if day_rx is not None else None,
                active_s=active_s.get(s.id, 0.0),
            )
            points.append(pt)
            wk = monday(s.started_at.date())
            if wk in faults_week:
                for code, n in f.items():
                    faults_week[wk][code] = faults_week[wk].get(code, 0) + n
                reps_week[wk] += s.n_reps
            for reason, secs in pt.not_measurable_reasons.items():
                nm_total[reason] += secs
            per_side: dict[tuple[str, str], list[float]] = defaultdict(list)
            for r in rows:
                measures_seen[r.measure] += 1
                if r.range_of_motion is not None:
                    per_side[(r.measure, r.side)].append(r.range_of_motion)
            for (measure, side), values in per_side.items():
                series = rom.get((measure, side))
                if series is None:
                    info = measure_info(ex_id, measure)
                    series = rom[(measure, side)] = RomSeries(measure, side, info.joint, info.unit, info.label)
                series.points.append(RomPoint(s.id, s.started_at, sum(values) / len(values), max(values),
                                              min(values), len(values)))
        measure = max(measures_seen, key=measures_seen.get) if measures_seen else _primary(ex_id)
        info = measure_info(ex_id, measure)
        target_rom = rx.rom_deg if rx is not None and rx.rom_deg else _definition_rom(ex_id)
        faults_total: dict[str, int] = defaultdict(int)
        for pt in points:
            for code, n in pt.faults.items():
                faults_total[code] += n
        out_ex.append(ExerciseReport(
            exercise_id=ex_id, name=exercise_name(ex_id), measure=measure, unit=info.unit, joint=info.joint,
            measure_label=info.label, prescription=rx, target_rom=target_rom if info.is_degrees else None,
            sessions=points, rom=sorted(rom.values(), key=lambda r: (r.measure != measure, r.measure, r.side)),
            faults_total=dict(faults_total), faults_per_week=faults_week, reps_per_week=reps_week,
            not_measurable_reasons=dict(nm_total),
        ))

    notes = list(notes_rows)
    message = None
    if not sessions:
        any_session = list_sessions(db, name, limit=1)
        if not any_session:
            message = f"{name} has no recorded sessions yet."
        else:
            message = (f"{name} has no sessions between {period_from.isoformat()} and "
                       f"{period_to.isoformat()}.")
    return Report(
        patient=name, period_from=period_from, period_to=period_to, generated_at=now, sessions=len(sessions),
        adherence=adherence, exercises=out_ex, notes=notes, prescriptions=rxs, message=message,
        counted_to=counted_to,
    )


def _primary(exercise_id: str) -> str:
    from coach.errors import CoachError

    try:
        from coach.exercise.library import get_definition

        return get_definition(exercise_id).movement.measure
    except CoachError:
        return "measure"


def _definition_rom(exercise_id: str) -> float | None:
    from coach.errors import CoachError

    try:
        from coach.exercise.library import get_definition

        return get_definition(exercise_id).targets.rom_deg
    except CoachError:
        return None
