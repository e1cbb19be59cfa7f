"""Progress reports: the model equals what the pipeline recorded; every format renders; CSV types; friendly
edge cases. The history is made once per module by replaying synthetic recordings through the real
workout pipeline (coach.devtools.synthetic_history), eight weeks of it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import matplotlib.dates as mdates
import pytest
from typer.testing import CliRunner

from coach.cli.main import app
from coach.errors import USER_ERRORS
from coach.reports import FORMATS, charts, write_report
from coach.reports.model import build_report, monday
from coach.devtools.synthetic_history import ELBOW_RX, SQUAT_RX, generate_history
from db.engine import close_database, open_database

ROOT = Path(__file__).resolve().parents[1]
PATIENT = "report-patient"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    db = tmp_path_factory.mktemp("reports") / "history.sqlite"
    h = generate_history(db, PATIENT, weeks=8)
    return db, h


@pytest.fixture(scope="module")
def report(history):
    db, _ = history
    sm = open_database(db)
    try:
        with sm() as s:
            yield build_report(s, PATIENT)
    finally:
        close_database(sm)


def _ex(report, exercise_id):
    return next(e for e in report.exercises if e.exercise_id == exercise_id)


def test_history_came_from_the_pipeline_with_a_trend(history):
    _, h = history
    squats = [s for s in h.sessions if s.exercise_id == "squat"]
    assert len(squats) >= 20 and all(s.reps > 0 for s in squats)
    first, last = squats[0], squats[-1]
    assert sum(last.rom) / len(last.rom) > sum(first.rom) / len(first.rom) + 20  # depth grew over the weeks
    assert "shallow" in first.fault_codes and "shallow" not in last.fault_codes


def test_sessions_reps_and_targets_equal_what_was_recorded(report, history):
    _, h = history
    assert report.sessions == len(h.sessions)
    assert report.message is None
    for ex_id, (sets, reps, _rom, _pw) in (("squat", SQUAT_RX), ("elbow_flexion", ELBOW_RX)):
        ex = _ex(report, ex_id)
        recorded = {s.session_id: s for s in h.sessions if s.exercise_id == ex_id}
        assert [p.session_id for p in ex.sessions] == sorted(recorded, key=lambda i: (recorded[i].started_at, i))
        for p in ex.sessions:
            rec = recorded[p.session_id]
            assert p.reps == rec.reps
            assert p.target_reps == sets * reps == rec.target_reps
            assert p.started_at == rec.started_at
            assert p.pain_0_10 == rec.pain_0_10 and p.effort_rpe_0_10 == rec.effort_rpe_0_10
            assert p.mean_rom == pytest.approx(sum(rec.rom) / len(rec.rom), abs=1e-6)
            assert Counter(p.faults) == Counter(rec.fault_codes)
        assert ex.reps == sum(s.reps for s in recorded.values())
        assert ex.target_reps == sets * reps * len(recorded)


def test_range_of_motion_per_joint_and_side(report, history):
    _, h = history
    squat = _ex(report, "squat")
    assert squat.joint == "knee" and squat.unit == "deg" and squat.target_rom == SQUAT_RX[2]
    assert [(s.measure, s.side) for s in squat.rom] == [("knee", "both")]
    elbow = _ex(report, "elbow_flexion")
    assert elbow.joint == "elbow" and elbow.target_rom == ELBOW_RX[2]
    sides = {s.side: s for s in elbow.rom}
    assert set(sides) == {"left", "right"}
    for side, series in sides.items():
        recorded = [s for s in h.sessions if s.exercise_id == "elbow_flexion" and s.side == side]
        assert [p.session_id for p in series.points] == [s.session_id for s in recorded]
        for p, rec in zip(series.points, recorded):
            assert p.mean == pytest.approx(sum(rec.rom) / len(rec.rom), abs=1e-6)
            assert p.max == pytest.approx(max(rec.rom), abs=1e-6)
        assert series.latest.mean > series.first.mean  # improving
    assert sides["right"].first.mean < sides["left"].first.mean  # the lagging side


def test_fault_counts_and_trend(report, history):
    _, h = history
    squat = _ex(report, "squat")
    recorded = Counter(c for s in h.sessions if s.exercise_id == "squat" for c in s.fault_codes)
    assert squat.faults_total == dict(recorded)
    per_week = defaultdict(Counter)
    for s in h.sessions:
        if s.exercise_id == "squat":
            per_week[monday(s.started_at.date())].update(s.fault_codes)
    for week, counts in squat.faults_per_week.items():
        assert counts == dict(per_week.get(week, {}))
    (code, total, first_half, second_half), = squat.fault_trend()
    assert code == "shallow" and total == recorded["shallow"]
    assert first_half > 0 and second_half == 0


def test_adherence_per_week(report, history):
    _, h = history
    days = defaultdict(lambda: defaultdict(set))
    for s in h.sessions:
        d = s.started_at.date()
        days[monday(d)][s.exercise_id].add(d)
    assert report.adherence[0].week_start == monday(h.first_day)
    assert all(b.week_start - a.week_start == timedelta(days=7) for a, b in zip(report.adherence, report.adherence[1:]))
    for w in report.adherence:
        expected = {ex: len(d) for ex, d in days.get(w.week_start, {}).items()}
        assert w.by_exercise == expected
        # a whole week asks for 3 + 2 sessions; this week is counted only up to today (generate_history ends
        # today), pro-rated and rounded up: on a Monday 1 + 1, on a Thursday 2 + 2
        n_days = min(7, (report.counted_to - w.week_start).days + 1)
        rx = {"squat": math.ceil(SQUAT_RX[3] * n_days / 7), "elbow_flexion": math.ceil(ELBOW_RX[3] * n_days / 7)}
        assert w.week_start == monday(report.counted_to) or n_days == 7
        assert w.prescribed_by_exercise == rx
        assert w.prescribed == sum(rx.values())
        assert w.done_prescribed == sum(min(expected.get(ex, 0), n) for ex, n in rx.items())
    missed = report.adherence[2]  # the generator skips one squat session in the third week
    assert missed.by_exercise["squat"] == 2 and missed.percent == pytest.approx(80.0)


def test_first_against_latest_and_pain(report, history):
    _, h = history
    squat = _ex(report, "squat")
    comp = squat.comparison
    squats = [s for s in h.sessions if s.exercise_id == "squat"]
    assert comp.first.session_id == squats[0].session_id and comp.latest.session_id == squats[-1].session_id
    rows = {w: (a, b) for w, a, b, _ in comp.rows()}
    assert rows["pain 0–10"] == (squats[0].pain_0_10, squats[-1].pain_0_10)
    mean = sum(s.pain_0_10 for s in h.sessions) / len(h.sessions)
    assert report.summary.pain_mean == pytest.approx(mean, abs=0.05)
    assert report.summary.pain_max == max(s.pain_0_10 for s in h.sessions)
    # one arm per session: each side is compared with itself
    elbow = _ex(report, "elbow_flexion")
    assert [side for side, _ in elbow.comparisons] == ["left", "right"]
    for side, c in elbow.comparisons:
        these = [s for s in h.sessions if s.exercise_id == "elbow_flexion" and s.side == side]
        assert (c.first.session_id, c.latest.session_id) == (these[0].session_id, these[-1].session_id)
        assert c.latest.mean_rom > c.first.mean_rom


def test_report_agrees_with_the_recorded_session_detail(report, history):
    """The model reads the same rows `sessions show` does."""
    from coach.api.schemas.sessions import session_detail

    db, _ = history
    squat = _ex(report, "squat")
    point = squat.sessions[len(squat.sessions) // 2]
    sm = open_database(db)
    try:
        with sm() as s:
            detail = session_detail(s, point.session_id)
    finally:
        close_database(sm)
    reps = [r for st in detail["sets"] for r in st["reps"]]
    assert len(reps) == point.reps
    assert point.mean_rom == pytest.approx(sum(r["range_of_motion"] for r in reps) / len(reps))
    assert point.sets == detail["totals"]["sets"]
    assert point.n_faults == detail["totals"]["faults"]


def test_every_format_renders(history, tmp_path):
    db, h = history
    sm = open_database(db)
    try:
        outputs = {}
        for fmt in FORMATS:
            _, written = write_report(sm, PATIENT, fmt, tmp_path / f"r.{fmt}")
            outputs[fmt] = written
    finally:
        close_database(sm)
    html = outputs["html"][0].read_text()
    assert html.count("data:image/png;base64,") >= 8  # adherence, pain, and rom/reps/tempo per exercise, faults
    assert "Range of motion per joint and side" in html and "/ 75°" in html
    assert html.index('id="summary"') < html.index("Range of motion per joint and side")  # the table first
    pdf = outputs["pdf"][0].read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    reader = PdfReader(outputs["pdf"][0])
    assert len(reader.pages) >= 3
    assert "Progress report" in reader.pages[0].extract_text()
    md = outputs["md"][0].read_text()
    assert md.startswith(f"# Progress report — {PATIENT}") and "| not deep enough |" in md and "shallow" not in md
    data = json.loads(outputs["json"][0].read_text())
    assert data["sessions"] == len(h.sessions) and {e["exercise_id"] for e in data["exercises"]} == {
        "squat", "elbow_flexion"}
    assert [p.name for p in outputs["csv"]] == ["r_reps.csv", "r_sessions.csv"]
    bundle = json.loads(outputs["fhir"][0].read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"


def test_csv_loads_in_pandas_with_the_right_types(history, tmp_path):
    import pandas as pd

    db, h = history
    sm = open_database(db)
    try:
        _, (reps_path, sessions_path) = write_report(sm, PATIENT, "csv", tmp_path / "x.csv")
    finally:
        close_database(sm)
    reps = pd.read_csv(reps_path, parse_dates=["session_started_at"])
    assert len(reps) == sum(s.reps for s in h.sessions)
    for col in ("session_id", "set_index", "rep_index", "n_faults"):
        assert reps[col].dtype == "int64", col
    for col in ("start_s", "duration_s", "eccentric_s", "concentric_s", "rom_deg", "min_deg", "max_deg"):
        assert reps[col].dtype == "float64", col
    assert str(reps["session_started_at"].dtype).startswith("datetime64") and str(
        reps["session_started_at"].dt.tz) == "UTC"
    assert reps["rom_deg"].notna().all()
    sessions = pd.read_csv(sessions_path, parse_dates=["started_at", "ended_at"])
    assert len(sessions) == len(h.sessions)
    for col in ("session_id", "sets", "reps", "target_reps", "n_faults", "pain_0_10", "effort_rpe_0_10"):
        assert sessions[col].dtype == "int64", col
    for col in ("mean_rom", "mean_eccentric_s", "hold_s", "not_measurable_s", "reps_pct_of_target"):
        assert sessions[col].dtype == "float64", col
    assert sessions["reps"].sum() == len(reps)
    by_id = {s.session_id: s for s in h.sessions}
    for row in sessions.itertuples():
        assert row.reps == by_id[row.session_id].reps
        assert math.isclose(row.mean_rom, sum(by_id[row.session_id].rom) / row.reps, abs_tol=1e-3)


# ------------------------------------------------------------------------------------ friendly results

runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, list(args))


def _one_sentence_error(result) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, USER_ERRORS), result.exception
    message = str(result.exception)
    assert "\n" not in message and message.endswith((".", "?", ")"))
    return message


def test_unknown_patient_is_one_sentence(history):
    db, _ = history
    message = _one_sentence_error(_cli("report", "nobody", "--db", str(db)))
    assert "No patient named 'nobody'" in message and PATIENT in message


def test_unknown_patient_through_the_real_command_prints_no_traceback(history):
    db, _ = history
    proc = subprocess.run([sys.executable, str(ROOT / "coach.py"), "report", "nobody", "--db", str(db)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "No patient named 'nobody'" in proc.stderr


def test_period_with_no_data_is_an_empty_valid_report(history, tmp_path):
    db, _ = history
    out = tmp_path / "empty.html"
    result = _cli("report", PATIENT, "--db", str(db), "--from", "2001-01-01", "--to", "2001-01-31", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "has no sessions between 2001-01-01 and 2001-01-31" in result.output
    html = out.read_text()
    assert "has no sessions between" in html and "</html>" in html
    for fmt in ("pdf", "json", "csv", "fhir", "md"):
        result = _cli("report", PATIENT, "--db", str(db), "--from", "2001-01-01", "--to", "2001-01-31",
                      "-f", fmt, "-o", str(tmp_path / f"empty.{fmt}"))
        assert result.exit_code == 0, (fmt, result.output)
    assert json.loads((tmp_path / "empty.fhir").read_text())["entry"][0]["resource"]["resourceType"] == "Patient"


def test_patient_without_sessions_and_escaped_html(tmp_path):
    db = tmp_path / "h.sqlite"
    name = "<script>alert(1)</script>"
    assert _cli("plan", "assign", name, "squat", "--per-week", "3", "--db", str(db)).exit_code == 0
    out = tmp_path / "r.html"
    result = _cli("report", name, "--db", str(db), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "has no recorded sessions yet" in result.output
    html = out.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "has no recorded sessions yet" in html


def test_bad_arguments_are_one_sentence(history, tmp_path):
    db, _ = history
    assert "before --from" in _one_sentence_error(
        _cli("report", PATIENT, "--db", str(db), "--from", "2026-03-01", "--to", "2026-02-01"))
    assert "Unknown report format" in _one_sentence_error(_cli("report", PATIENT, "--db", str(db), "-f", "docx"))
    assert "must be a date" in _one_sentence_error(_cli("report", PATIENT, "--db", str(db), "--from", "march"))
    assert "No session history" in _one_sentence_error(_cli("report", PATIENT, "--db", str(tmp_path / "none.sqlite")))
    assert "Name the patient" in _one_sentence_error(_cli("report", "--db", str(db)))


# ------------------------------------------------------------------------- charts of a short history
#
# A physiotherapist's first report follows a patient's first session: the charts must show it in the week
# around it (not on an axis of ±2 years or of a few hours), with bars narrower than the plot, sessions of
# one day side by side, and the charts of all exercises on one time axis.

WEEKLY = ("adherence", ".faults")


def _axes_of_charts(report, monkeypatch):
    """all_charts(report) with the matplotlib axes each chart was drawn on, by chart key."""
    figures = []
    real_png = charts._png

    def keep(fig):
        figures.append(fig)
        return real_png(fig)

    monkeypatch.setattr(charts, "_png", keep)
    out = charts.all_charts(report)
    assert len(figures) == len(out)
    return {key: fig.axes[0] for key, fig in zip(out, figures)}


def _xlim(ax) -> tuple[datetime, datetime]:
    lo, hi = ax.get_xlim()
    return mdates.num2date(lo), mdates.num2date(hi)


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400


def _bars(ax) -> list[tuple[float, float]]:
    """(left, right) of every bar, in days (matplotlib date numbers), left to right."""
    return sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)


def _tick_labels(ax) -> list[str]:
    lo, hi = ax.get_xlim()
    locs = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    return ax.xaxis.get_major_formatter().format_ticks(locs)


def _short_report(tmp_path, name: str, **history):
    db = tmp_path / f"{name}.sqlite"
    h = generate_history(db, PATIENT, **history)
    sm = open_database(db)
    try:
        with sm() as s:
            # the report is made the evening of the last session, as a physiotherapist would after it
            now = datetime.combine(h.last_day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=18)
            return build_report(s, PATIENT, now=now), h
    finally:
        close_database(sm)


def test_one_days_sessions_get_a_slot_each_and_no_weekly_charts(tmp_path, monkeypatch):
    """One day's sessions are not stacked on one vertical line of a week-long axis (issue 13, item 5): each
    session has its own slot, labelled with its time, and the per-week charts (one bar) are left out."""
    report, h = _short_report(tmp_path, "one", days=1, today=date(2026, 3, 3))  # a Tuesday: squat, both elbows
    assert len(h.sessions) == 3
    axes = _axes_of_charts(report, monkeypatch)
    assert {"pain", "squat.rom", "squat.reps", "squat.tempo", "elbow_flexion.rom", "elbow_flexion.reps"} <= set(axes)
    assert "adherence" not in axes and not any(k.endswith(".faults") for k in axes)
    times = sorted({s.started_at.strftime("%H:%M") for s in h.sessions})
    for key, ax in axes.items():
        lo, hi = ax.get_xlim()
        assert hi - lo == pytest.approx(len(times) + 0.4), key  # slots, not days
        assert [t.get_text() for t in ax.get_xticklabels()] == times, key
        assert "03 Mar 2026" in ax.get_xlabel(), key
        for left, right in _bars(ax):
            assert right - left <= 0.25 * (hi - lo), key
    # the two elbow sessions of that day: two bars in their own slots, neither hiding the other
    bars = _bars(axes["elbow_flexion.reps"])
    assert len(bars) == 2 and bars[0][1] < bars[1][0]
    # the target of the lone squat session is drawn across its bar
    (target,) = [ln for ln in axes["squat.reps"].get_lines() if ln.get_label() == "target"]
    (bar,) = _bars(axes["squat.reps"])
    assert max(target.get_xdata()) - min(target.get_xdata()) == pytest.approx(bar[1] - bar[0])
    assert set(target.get_ydata()) == {SQUAT_RX[0] * SQUAT_RX[1]}


def test_sessions_on_one_day_and_a_few_days_share_one_sensible_axis(tmp_path, monkeypatch):
    # Sunday to Tuesday: a squat session a day; on Tuesday also both elbows, at 09:00 and 11:00
    report, h = _short_report(tmp_path, "few", days=3, today=date(2026, 3, 3))
    elbows = [s for s in h.sessions if s.exercise_id == "elbow_flexion"]
    assert len(elbows) == 2 and elbows[0].started_at.date() == elbows[1].started_at.date()
    axes = _axes_of_charts(report, monkeypatch)
    per_session = {k: ax for k, ax in axes.items() if not k.endswith(WEEKLY)}
    assert {"pain", "squat.rom", "squat.reps", "elbow_flexion.rom", "elbow_flexion.reps",
            "elbow_flexion.tempo"} <= set(per_session)
    # one time axis for every exercise: the elbow's one day is not spread over hours
    limits = {k: ax.get_xlim() for k, ax in per_session.items()}
    assert len(set(limits.values())) == 1, limits
    lo, hi = _xlim(per_session["squat.rom"])
    first, last = min(s.started_at for s in h.sessions), max(s.started_at for s in h.sessions)
    assert 6.9 <= _days(lo, hi) <= 10
    assert _days(lo, first) >= 1 and _days(last, hi) >= 1
    # the two elbow sessions of one day: two bars side by side, neither hiding the other
    bars = _bars(per_session["elbow_flexion.reps"])
    assert len(bars) == 2
    (l1, r1), (l2, r2) = bars
    assert r1 <= l2 and r2 - l1 <= 1.0
    assert sorted(p.get_height() for p in per_session["elbow_flexion.reps"].patches) == sorted(
        s.reps for s in elbows)
    # the squat bars: one a day, each well under a day wide
    squat_bars = _bars(per_session["squat.reps"])
    assert len(squat_bars) == 3 and all(r - l <= 0.7 for l, r in squat_bars)
    assert all(r1 <= l2 for (_, r1), (l2, _) in pairwise(squat_bars))
    # three days: no per-week charts (their one bar says nothing the summary table does not)
    assert "adherence" not in axes and "squat.faults" not in axes


def test_a_long_history_keeps_its_own_axis_and_same_day_bars_apart(report, monkeypatch):
    axes = _axes_of_charts(report, monkeypatch)
    squat = _ex(report, "squat")
    first, last = squat.sessions[0].started_at, squat.sessions[-1].started_at
    lo, hi = _xlim(axes["squat.rom"])
    # autoscaled to the data as before: no padding to a minimum window
    assert _days(lo, first) < 0.1 * _days(first, last) and _days(last, hi) < 0.1 * _days(first, last)
    # both elbows are trained on the same days: every session has its own bar, none overlaps another
    elbow = _ex(report, "elbow_flexion")
    bars = _bars(axes["elbow_flexion.reps"])
    assert len(bars) == len(elbow.sessions)
    assert all(r1 <= l2 + 1e-9 for (_, r1), (l2, _) in pairwise(bars))


def test_a_range_of_motion_seen_in_one_session_shows_no_change(tmp_path):
    """With one session, first and latest are the same session: the change column says "—", uncoloured
    (it read "+0.0" in red, as if the patient had got worse); with several, its colour follows its sign."""
    import re

    from coach.reports.render import render_html, render_markdown

    report, _ = _short_report(tmp_path, "lone", days=1, today=date(2026, 3, 3))  # one squat session that day
    (squat,) = [ex for ex in report.exercises if ex.exercise_id == "squat"]
    assert squat.rom and all(len(s.points) == 1 for s in squat.rom)
    html = render_html(report, {})
    rows = re.findall(r"<tr><td class=\"l\">([^<]+)</td><td class=\"l\">[^<]*</td><td>1</td>"
                      r"<td>[^<]*</td><td>[^<]*</td><td class=\"([a-z]*)\">([^<]*)</td>", html)
    assert rows and all(cls == "" and text == "—" for _, cls, text in rows), rows
    md_rows = re.findall(r"^\| [^|]+ \| [^|]+ \| 1 \| [0-9.]+ \| [0-9.]+ \| ([^|]+) \|", render_markdown(report), re.M)
    assert md_rows and all(text.strip() == "—" for text in md_rows), md_rows


def test_a_range_of_motion_change_is_coloured_by_its_sign(report):
    import re

    from coach.reports.render import render_html

    html = render_html(report, {})
    cells = re.findall(r"<td class=\"(good|bad|)\">([+-−]?[0-9.]+|—)</td><td>[0-9]+</td>", html)
    assert cells
    for cls, text in cells:
        value = float(text.replace("−", "-"))
        assert cls == ("good" if value > 0 else "bad" if value < 0 else ""), (cls, text)


def test_the_number_of_sessions_is_said_in_good_english():
    """"1 session, none prescribed", not "1 sessions" (seen on a one-session history on PostgreSQL)."""
    from coach.reports.render import adherence_line
    from coach.reports.summary import Summary

    def summary(done: int) -> Summary:
        day = date(2026, 3, 3)
        return Summary(patient="ana", period_from=day, period_to=day, counted_to=day, sessions_done=done,
                       sessions_prescribed=None, sessions_counted=0, adherence_percent=None, pain_mean=None,
                       pain_max=None, pain_over_limit=0, effort_mean=None, exercises=[], alerts=[])

    assert adherence_line(summary(1)) == "Adherence — (1 session, none prescribed)"
    assert adherence_line(summary(3)) == "Adherence — (3 sessions, none prescribed)"
