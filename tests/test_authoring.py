"""Exercise authoring: where definitions live and which is in force, new/--from, the JSON Schema, `try` with
its plot, and validation reporting every problem of a file. The real user config is never touched: every
test points COACH_EXERCISES_DIR at a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from coach.cli.main import app
from coach.exercise.library import BUILTIN_DIR, get_definition, library_entries, user_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def user_folder(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "user_exercises"
    monkeypatch.setenv("COACH_EXERCISES_DIR", str(folder))
    return folder


def _squat_text(name: str) -> str:
    return (BUILTIN_DIR / "squat.yaml").read_text().replace("name: Bodyweight squat", f"name: {name}")


def invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert "Traceback" not in res.output, res.output
    return res


def user_error(*args: str) -> str:
    """The one-sentence error a command stops with (printed by `coach.cli.main.run`, exit status 2)."""
    from coach.errors import USER_ERRORS

    res = runner.invoke(app, list(args))
    assert isinstance(res.exception, USER_ERRORS), (res.exception, res.output)
    return str(res.exception)


# ------------------------------------------------------------------ where definitions live


def test_user_dir_comes_from_the_environment(user_folder: Path):
    assert user_dir() == user_folder


def test_user_definition_overrides_builtin_and_extra_dir_overrides_user(tmp_path: Path, user_folder: Path):
    user_folder.mkdir()
    (user_folder / "squat.yaml").write_text(_squat_text("User squat"))
    assert get_definition("squat").name == "User squat"
    entry = library_entries()["squat"]
    assert entry.source == "user" and entry.overrides_builtin
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "squat.yaml").write_text(_squat_text("Clinic squat"))
    assert get_definition("squat", [clinic]).name == "Clinic squat"
    entry = library_entries([clinic])["squat"]
    assert entry.source == "dir" and [s for s, _ in entry.overrides] == ["built-in", "user"]
    assert library_entries()["plank"].source == "built-in"


def test_list_shows_the_source_in_force(tmp_path: Path, user_folder: Path):
    user_folder.mkdir()
    (user_folder / "squat.yaml").write_text(_squat_text("User squat"))
    res = invoke("exercises", "list")
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "squat" in line and "User squat" in line)
    assert "user" in row and "overrides built-in" in row
    plank = next(line for line in res.output.splitlines() if line.strip("│ ").startswith("plank"))
    assert "built-in" in plank and "overrides" not in plank
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "squat.yaml").write_text(_squat_text("Clinic squat"))
    res = invoke("exercises", "list", "--exercises", str(clinic))
    row = next(line for line in res.output.splitlines() if "Clinic squat" in line)
    assert "dir" in row and "overrides built-in, user" in row


def test_list_marks_an_invalid_user_file_without_a_traceback(user_folder: Path):
    user_folder.mkdir()
    (user_folder / "broken.yaml").write_text("id: broken\nname: [x\n")
    res = invoke("exercises", "list")
    assert res.exit_code == 1
    assert "broken" in res.output and "invalid" in res.output


def test_workout_uses_the_user_definition(user_folder: Path, tmp_path: Path):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    user_folder.mkdir()
    (user_folder / "squat.yaml").write_text(_squat_text("User squat"))
    rec = save_recording(tmp_path / "squat.npz", synthesize("squat", reps=3).series)
    res = invoke("workout", "-e", "squat", "--source", str(rec), "--no-show", "--json",
                 "--db", str(tmp_path / "h.db"))
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    assert out["reps"] == 3
    # the session keeps the hash of the user's file, not the built-in one
    import hashlib

    user_hash = hashlib.sha256((user_folder / "squat.yaml").read_bytes()).hexdigest()
    assert get_definition("squat").content_hash == user_hash
    import sqlite3

    con = sqlite3.connect(tmp_path / "h.db")
    assert con.execute("select definition_hash from sessions").fetchone()[0] == user_hash


# ------------------------------------------------------------------ new


def test_new_writes_a_valid_scaffold_into_the_user_folder(user_folder: Path):
    res = invoke("exercises", "new", "seated_knee_extension")
    assert res.exit_code == 0, res.output
    f = user_folder / "seated_knee_extension.yaml"
    assert f.exists() and str(f) in res.output.replace("\n", "")
    assert (user_folder / "exercise.schema.json").exists()
    assert f.read_text().startswith("# yaml-language-server: $schema=exercise.schema.json")
    assert get_definition("seated_knee_extension").id == "seated_knee_extension"
    assert invoke("exercises", "validate", str(f)).exit_code == 0
    assert "already exists" in user_error("exercises", "new", "seated_knee_extension")


def test_new_from_existing_copies_with_the_new_id(tmp_path: Path, user_folder: Path):
    res = invoke("exercises", "new", "my_squat", "--from", "squat")
    assert res.exit_code == 0, res.output
    d = get_definition("my_squat")
    base = get_definition("squat")
    assert d.id == "my_squat"
    assert d.movement.model_dump() == base.movement.model_dump() and d.form == base.form
    assert d.measures == base.measures and d.targets == base.targets and d.view == base.view
    # the copy is another exercise: it does not keep the squat's name, description and set-up
    assert (d.name, d.description, d.setup) == ("My squat", "", [])
    assert base.name not in (user_folder / "my_squat.yaml").read_text()
    out = tmp_path / "elsewhere" / "knee.yaml"
    res = invoke("exercises", "new", "knee", "-o", str(out))
    assert res.exit_code == 0 and out.exists()
    assert "yaml-language-server" not in out.read_text()
    assert "an id is lower-case" in user_error("exercises", "new", "Bad Id")
    assert "named for its id: knee.yaml, not other.yaml" in user_error("exercises", "new", "knee", "-o",
                                                                         str(tmp_path / "other.yaml"))


# ------------------------------------------------------------------ schema


def test_schema_validates_the_whole_builtin_library_and_rejects_mistakes(tmp_path: Path):
    import jsonschema

    out = tmp_path / "exercise.schema.json"
    assert invoke("exercises", "schema", "-o", str(out)).exit_code == 0
    schema = json.loads(out.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(BUILTIN_DIR.glob("*.yaml"))
    assert len(files) >= 19
    for f in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(f.read_text()))]
        assert errors == [], (f.name, errors)
    squat = yaml.safe_load((BUILTIN_DIR / "squat.yaml").read_text())
    assert schema["properties"]["measures"]["description"]
    bad = json.loads(json.dumps(squat))
    bad["movement"]["min_phase"] = 0.1  # misspelled field
    assert list(validator.iter_errors(bad))
    bad = json.loads(json.dumps(squat))
    first = next(iter(bad["measures"]))
    kind = next(k for k in ("angle", "inclination", "distance") if k in bad["measures"][first])
    bad["measures"][first][kind][0] = "kne"  # unknown landmark
    assert list(validator.iter_errors(bad))
    printed = invoke("exercises", "schema")
    assert json.loads(printed.output)["title"] == schema["title"]


# ------------------------------------------------------------------ validate: every problem


MULTI = """\
id: knee_bend
name: Knee bend
measures:
  knee: {angle: [hip, kne, ankle], side: auto}
movement:
  measure: knee
  range: {rest: high, min_span: 40}
  phases:
    up:   {when: "knee > 75%", until: "knee < 60%"}
    down: {when: "knee < 35%", until: "knee > 50%"}
  rep: [up, dwn, up]
  min_phase_s: -0.5
form:
  - {code: lean, check: during bottom, fail_if: "knee > 45", cue: "Chest up"}
"""


def test_validate_reports_every_problem_of_a_file(tmp_path: Path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "multi.yaml").write_text(MULTI)
    (folder / "syntax.yaml").write_text("id: x\nname: [unclosed\n")
    (folder / "fine.yaml").write_text(_squat_text("Fine").replace("id: squat", "id: fine"))
    res = invoke("exercises", "validate", str(folder))
    assert res.exit_code == 1
    out = res.output
    f = folder / "multi.yaml"
    for expected in (f"{f}:4: measures.knee.angle: unknown landmark 'kne'",
                     f"{f}:11: movement.rep[1]: the rep cycle names phase 'dwn'",
                     f"{f}:12: movement.min_phase_s: expected a number greater than or equal to 0",
                     f"{f}:14: form[0].check: 'during' needs a defined phase"):
        assert expected in out.replace("\n", " ") or expected in out, (expected, out)
    assert f"{folder / 'syntax.yaml'}:" in out and "not valid YAML" in out
    assert "fine.yaml" in out and "1 valid, 2 with problems" in out


def test_try_a_file_with_problems_lists_them_all(tmp_path: Path):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    f = tmp_path / "multi.yaml"
    f.write_text(MULTI)
    rec = save_recording(tmp_path / "s.npz", synthesize("squat", reps=2).series)
    res = invoke("exercises", "try", str(f), "--source", str(rec))
    assert res.exit_code == 1
    assert res.output.count(str(f) + ":") == 4


# ------------------------------------------------------------------ try


def test_try_counts_a_synthetic_recording_and_draws_the_plot(tmp_path: Path):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    rec = save_recording(tmp_path / "squat.npz", synthesize("squat", reps=4, rep_s=2.0).series)
    definition = tmp_path / "my_squat.yaml"
    definition.write_text(_squat_text("My squat").replace("id: squat", "id: my_squat"))
    png = tmp_path / "trace.png"
    res = invoke("exercises", "try", str(definition), "--source", str(rec), "--plot", str(png))
    assert res.exit_code == 0, res.output
    assert "4 reps" in res.output
    assert "repetitions" in res.output and "phases" in res.output
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    js = invoke("exercises", "try", str(definition), "--source", str(rec), "--json")
    data = json.loads(js.output)
    assert data["reps"] == 4 and data["mode"] == "causal" and data["phase_changes"]
    off = invoke("exercises", "try", "squat", "--source", str(rec), "--offline", "--json")
    assert json.loads(off.output)["reps"] == 4


def test_try_perturbed_in_a_mirror_credits_the_other_leg(tmp_path: Path):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    rec = save_recording(tmp_path / "lunge.npz", synthesize("lunge", reps=5, side="left").series)
    plain = json.loads(invoke("exercises", "try", "lunge", "--source", str(rec), "--json").output)
    res = invoke("exercises", "try", "lunge", "--source", str(rec), "--perturb", "mirror", "--json")
    assert res.exit_code == 0, res.output
    mirrored = json.loads(res.output)
    assert plain["reps_per_side"] == {"left": 3, "right": 2}
    assert mirrored["reps_per_side"] == {"left": 2, "right": 3} and mirrored["reps"] == 5
    bad = invoke("exercises", "try", "lunge", "--source", str(rec), "--perturb", "upside-down")
    assert bad.exit_code == 2 and "upside-down" in bad.output


def test_try_is_the_workout_count(tmp_path: Path):
    """`try` (causal analyse_series) counts what the live engine of `workout` counts."""
    from coach.engine.counter import Counter, count
    from coach.devtools.synthetic import synthesize

    series = synthesize("squat", reps=5, noise_px=2.0, seed=3).series
    d = get_definition("squat")
    engine = Counter(d)
    for frame in series.frames():
        engine.update(frame)
    engine.finish(float(series.timestamps_s[-1]))
    assert count(d, series, offline=False).reps == engine.result().reps == 5


def test_plot_draws_thresholds_phases_reps_and_faults(tmp_path: Path):
    from coach.engine.counter import count
    from coach.devtools.synthetic import synthesize
    from coach.devtools.trace_plot import phase_runs, phase_thresholds, plot_trace

    d = get_definition("squat")
    ths = phase_thresholds(d)
    assert {t.phase for t in ths} == set(d.movement.phases)
    assert {t.which for t in ths} == {"when", "until"}
    r = count(d, synthesize("squat", reps=3, depth=0.6).series, offline=False)
    runs = phase_runs(r.trace.times_s, r.trace.phase)
    assert {p for _, _, p in runs} == set(d.movement.phases)
    assert plot_trace(r, d, tmp_path / "p.png").exists()


def test_plot_of_a_per_side_exercise_has_a_panel_per_side(tmp_path: Path):
    from coach.engine.counter import count
    from coach.devtools.synthetic import synthesize
    from coach.devtools.trace_plot import per_side_results, plot_trace

    d = get_definition("elbow_flexion")
    series = synthesize("elbow_flexion", reps=4).series
    r = count(d, series, offline=False)
    sides = per_side_results(d, series)
    assert sum(s.reps for s in sides.values()) == r.reps  # each side alone counts what the side counted
    assert plot_trace(r, d, tmp_path / "p.png", per_side=sides).exists()


# ------------------------------------------------------------------ fixed thresholds: where the rep turns

FIXED_BRIDGE = """\
id: fixed_bridge
name: Bridge with fixed thresholds
measures:
  hip: {angle: [left_shoulder, left_hip, left_knee]}
movement:
  measure: hip
  phases:
    down: {when: "hip < 140", until: "hip > 145"}
    up:   {when: "hip > 165", until: "hip < 160"}
  rep: [down, up, down]
form:
  - {code: low_bridge, check: at_turn, fail_if: "hip < 160", cue: "Lift your hips higher"}
"""


def test_fixed_thresholds_turn_at_the_far_end_of_the_movement():
    """Without a range, the turning point is the far end of the movement: here reps start low (lying, hip
    bent, 105°, well below where the rep starts at 145°) and turn at the top (175°). Deciding per rep from
    how far the values went either side of the start put the turn at the rep's start ("down s 0.00"), so
    every `at_turn` rule checked the wrong moment."""
    from coach.engine.counter import count_measures
    from coach.engine.compiled import compile_definition
    from coach.exercise.loader import parse_definition_text

    d, problems = parse_definition_text(FIXED_BRIDGE)
    assert not problems
    assert compile_definition(d).table.rest == "low"
    t = np.arange(0, 22, 1 / 30)
    hip = np.full(len(t), 105.0)
    tops = []
    for k in range(5):  # 5 bridges of 4 s from 1 s on: 105 -> 175 -> 105
        t0 = 1 + 4 * k
        m = (t >= t0) & (t < t0 + 4)
        hip[m] = 140 - 35 * np.cos(2 * np.pi * (t[m] - t0) / 4)
        tops.append(t0 + 2)
    r = count_measures(d, t, {"hip": hip}, offline=False)
    assert r.reps == 5
    for rec, top in zip(r.rep_records, tops):
        assert abs(rec.start_s + rec.eccentric_s - top) < 0.1, rec  # the turn is at the top
        assert rec.eccentric_s > 0.5 and rec.concentric_s > 0.5
    assert r.faults == []  # every bridge reached 175 at its turn


@pytest.mark.parametrize("phases,rest", [
    ({"down": "hip < 140", "up": "hip > 165"}, "low"),
    ({"down": "140 > hip", "up": "hip > 165 and hip < 200"}, "low"),
    ({"down": "hip > 160", "up": "hip < 100"}, "high"),
    ({"down": "hip < 100", "up": "hip < 60"}, "high"),  # both below: the first is the higher one
    ({"down": "hip < 60", "up": "hip < 100"}, "low"),
    ({"down": "hip < 100 or hip > 170", "up": "hip > 150"}, None),  # it does not say: decided per rep
])
def test_where_reps_start_is_read_from_the_phase_thresholds(phases, rest):
    from coach.engine.compiled import compile_definition
    from coach.exercise.loader import parse_definition_text

    text = FIXED_BRIDGE.replace('{when: "hip < 140", until: "hip > 145"}', '{when: "%s"}' % phases["down"])
    text = text.replace('{when: "hip > 165", until: "hip < 160"}', '{when: "%s"}' % phases["up"])
    d, problems = parse_definition_text(text)
    assert not problems, problems
    assert compile_definition(d).table.rest == rest


# ------------------------------------------------------------------ validate: the id, and warnings


def test_validate_wants_the_id_to_be_the_file_name(tmp_path: Path):
    (tmp_path / "my_squat.yaml").write_text(_squat_text("Mine").replace("id: squat", "id: my_squat"))
    (tmp_path / "deep_squat.yaml").write_text(_squat_text("Deep"))  # a copy that kept the id 'squat'
    (tmp_path / "press.yaml").write_text(_squat_text("Press").replace("id: squat", "id: my_squat"))
    res = invoke("exercises", "validate", str(tmp_path))
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert (f"{tmp_path / 'deep_squat.yaml'}:1: id: id 'squat' does not match the file name deep_squat.yaml"
            in out and "write id: deep_squat, or rename the file to squat.yaml" in out), out
    # the id of another file beside it: that file is the one used
    assert f"{tmp_path / 'press.yaml'}:1: id: id 'my_squat' does not match the file name press.yaml" in out
    assert "my_squat.yaml beside it has that name, so this file is never used" in out
    assert "1 valid, 2 with problems" in out


WARNED = """\
id: warned
name: Warned
measures:
  knee: {angle: [hip, knee, ankle]}
  elbow: {angle: [shoulder, elbow, wrist]}
movement:
  measure: knee
  range: {rest: high, min_span: 40}
  phases:
    bent:     {when: "knee < 40%", until: "knee > 50%"}
    straight: {when: "knee > 30%", until: "knee < 20%"}
  rep: [bent, straight, bent]
"""


def test_validate_warns_of_an_unused_measure_overlapping_phases_and_a_contradicted_rest(tmp_path: Path):
    f = tmp_path / "warned.yaml"
    f.write_text(WARNED)
    res = invoke("exercises", "validate", str(f))
    assert res.exit_code == 0, res.output  # warnings are not problems
    out = " ".join(res.output.split())
    assert f"{f}:5: measures.elbow: measure 'elbow' is not used by any phase or form rule" in out, out
    assert (f"{f}:11: movement.phases.straight.when: phases 'bent' (knee below 40%) and 'straight' (knee above "
            f"30%) overlap between 30% and 40%") in out, out
    assert f"{f}:8: movement.range.rest: rest: high, but the rep starts in 'bent'" in out and "write rest: low" in out
    assert "1 valid; 3 warnings" in out
    fixed = WARNED.replace("  elbow: {angle: [shoulder, elbow, wrist]}\n", "").replace("rest: high", "rest: low")
    f.write_text(fixed.replace('"knee > 30%", until: "knee < 20%"', '"knee > 75%", until: "knee < 60%"'))
    res = invoke("exercises", "validate", str(f))
    assert res.exit_code == 0 and "warning" not in res.output, res.output


def test_list_prints_the_problem_of_an_invalid_file_in_full(user_folder: Path):
    user_folder.mkdir()
    (user_folder / "squat.yaml").write_text(_squat_text("User squat"))
    (user_folder / "deep_squat.yaml").write_text(_squat_text("Deep"))  # kept the id of squat.yaml
    res = invoke("exercises", "list")
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert "…" not in res.output
    assert ("'squat' is already the id of squat.yaml (user), which is used instead; this file is never used "
            "(name it squat.yaml to replace that one, or give it another id)") in out, out


# ------------------------------------------------------------------ the plot: every measure, and only where measured

TWO_MEASURES = """\
id: two_measures
name: Two measures
measures:
  knee: {angle: [left_hip, left_knee, left_ankle]}
  lean: {inclination: [left_hip, left_shoulder]}
  hip: {angle: [left_shoulder, left_hip, left_knee]}
movement:
  measure: knee
  phases:
    up:   {when: "knee > 160 and lean < 40", until: "knee < 150"}
    down: {when: "knee < 100", until: "knee > 110"}
  rep: [up, down, up]
form:
  - {code: lean, check: during down, fail_if: "lean > 30", cue: "Chest up"}
"""


def test_plot_has_a_panel_per_measure_with_its_thresholds_and_no_curve_where_not_measurable():
    from coach.devtools.trace_plot import trace_figure
    from coach.engine.counter import count_measures
    from coach.exercise.loader import parse_definition_text

    d, problems = parse_definition_text(TWO_MEASURES)
    assert not problems
    t = np.arange(0, 13, 1 / 30)
    knee = 125 + 45 * np.cos(2 * np.pi * t / 3)  # 4 squats, down at 1.5, 4.5, 7.5, 10.5 s
    lean = 10 + 25 * (1 - np.cos(2 * np.pi * t / 3)) / 2  # leans to 35 at the bottom: a fault each rep
    lean[(t > 5.5) & (t < 7.0)] = np.nan  # the shoulder hidden while standing: the "up" phase cannot be told
    r = count_measures(d, t, {"knee": knee, "lean": lean, "hip": 150 + 0 * t}, offline=False)
    assert any(n.start_s < 6.0 < n.end_s for n in r.not_measurable)
    fig = trace_figure(r, d)
    panels = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
    assert list(panels) == ["knee", "lean", "hip"]  # the primary first, then every other measure

    def lines(ax):
        return {ln.get_label(): ln for ln in ax.get_lines()}

    knee_lines, lean_lines = lines(panels["knee"]), lines(panels["lean"])
    assert {"up: enter > 160", "up: leave < 150", "down: enter < 100", "down: leave > 110"} <= set(knee_lines)
    assert list(lean_lines["up: enter < 40"].get_ydata()) == [40, 40]  # the phase threshold on lean
    assert list(lean_lines["fault lean if > 30 (during down)"].get_ydata()) == [30, 30]  # and the rule's
    assert any("not used" in h.get_text() for h in panels["hip"].get_legend().get_texts())
    # the black curve of the primary measure is not drawn inside the stretch that could not be measured
    curve = next(ln for ln in panels["knee"].get_lines() if ln.get_label().startswith("knee"))
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata(), dtype=float)
    inside = (x > 6.0) & (x < 6.9)
    assert np.isfinite(knee[inside]).all() and np.isnan(y[inside]).all()
    assert np.isfinite(y[(x > 1) & (x < 5)]).all()


def test_try_prints_every_measure_the_side_it_was_taken_on_and_why_a_rep_ends_before_its_phase(tmp_path: Path):
    from coach.pose.recording import save_recording
    from coach.devtools.synthetic import synthesize

    rec = save_recording(tmp_path / "squat.npz", synthesize("squat", reps=3, side="left").series)
    res = invoke("exercises", "try", "squat", "--source", str(rec))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    knee = next(ln for ln in lines if ln.startswith("knee ("))
    assert knee.startswith("knee (left side): ") and "reps start at its high end and turn at its lowest value" in knee
    # hip is squat's fallback measure (counted when the knee cannot be seen), not an unused one
    assert any(ln.startswith("hip: ") and "fallback: counted when knee cannot be measured" in ln for ln in lines)
    assert any(ln.startswith("trunk_lean: ") and " … " in ln for ln in lines)
    # reps counted together are not credited to a side: no "side" column saying "both" under "left side"
    header = next(ln for ln in lines if "start s" in ln)
    assert "side" not in header and "both" not in res.output
    assert "end s: when the condition of the rep's last phase began to hold" in " ".join(res.output.split())
    shown = invoke("exercises", "show", "squat").output
    assert "reps start at the high end of knee; each turns at its lowest value (from range.rest)" in shown


def test_every_whole_definition_in_the_authoring_guide_loads_and_the_bridge_turns_at_the_top():
    import re

    from coach.engine.compiled import rest_end
    from coach.exercise.loader import parse_definition_text

    text = (BUILTIN_DIR / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("id: ") and "\nmovement:" in b]
    assert len(blocks) >= 2
    for b in blocks:
        d, problems = parse_definition_text(b, "README.md")
        assert not problems, [str(p) for p in problems]
    bridge = next(parse_definition_text(b)[0] for b in blocks if b.startswith("id: bridge"))
    assert rest_end(bridge) == "low" and bridge.measures["hip"].min_visibility == 0.2


def test_a_fallback_measure_is_used():
    """`movement.fallback` counts its measure when the primary cannot be measured: `validate` must not call
    it unused (it did, on the built-in squat, lunge and sit_to_stand)."""
    for name in ("squat", "lunge", "sit_to_stand"):
        path = BUILTIN_DIR / f"{name}.yaml"
        res = invoke("exercises", "validate", str(path))
        assert res.exit_code == 0, res.output
        assert "not used by any phase or form rule" not in res.output, res.output
