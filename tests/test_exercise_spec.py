"""The exercise language: loading, and one precise message (file:line: field: ...) per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from coach.errors import DefinitionError
from coach.exercise.loader import load_definition, parse_definition_text, validate_paths

GOOD = """\
id: knee_bend
name: Knee bend
category: rehab
view: side
setup: Stand side-on to the camera.
measures:
  knee: {angle: [hip, knee, ankle], side: auto}
  trunk: {inclination: [hip, shoulder], from: vertical}
movement:
  measure: knee
  range: {rest: high, min_span: 40}
  phases:
    up:   {when: "knee > 75%", until: "knee < 60%"}
    down: {when: "knee < 35%", until: "knee > 50%"}
  rep: [up, down, up]
  min_phase_s: 0.1
form:
  - {code: lean, check: during down, fail_if: "trunk > 45", cue: "Chest up", cooldown_s: 5}
targets: {reps: 10, sets: 2}
"""


def problems(text: str):
    d, probs = parse_definition_text(text, "ex.yaml")
    return d, probs


def one_problem(text: str):
    d, probs = problems(text)
    assert d is None
    assert len(probs) == 1, [str(p) for p in probs]
    return probs[0]


def test_good_definition_loads_with_everything():
    d, probs = problems(GOOD)
    assert probs == []
    assert d.id == "knee_bend" and d.name == "Knee bend" and d.view == "side"
    assert d.setup == ["Stand side-on to the camera."]
    assert d.targets.reps == 10
    assert d.condition("phase:up:when").uses_percent
    assert len(d.content_hash) == 64 or d.content_hash == ""


def test_load_definition_hashes_the_file(tmp_path: Path):
    f = tmp_path / "k.yaml"
    f.write_text(GOOD)
    d = load_definition(f)
    import hashlib
    assert d.content_hash == hashlib.sha256(GOOD.encode()).hexdigest()
    assert d.source == str(f)


def test_nesting_too_deep_is_a_problem_not_a_crash():
    d, problems = parse_definition_text(GOOD + "notes: " + "[" * 5000 + "]" * 5000 + "\n", "ex.yaml")
    assert d is None and len(problems) == 1
    assert "nested too deeply" in str(problems[0])


@pytest.mark.parametrize("old,new,line,field,words", [
    # 1 bad YAML syntax
    ("  rep: [up, down, up]", "  rep: [up, down, up", 15, "", ["not valid YAML", "end it with ']'"]),
    # 2 unknown landmark, closest suggested
    ("[hip, knee, ankle]", "[hip, kne, ankle]", 7, "measures.knee.angle", ["unknown landmark 'kne'", "did you mean 'knee'"]),
    # 3 unknown measure in an expression, closest suggested
    ('fail_if: "trunk > 45"', 'fail_if: "trunkk > 45"', 18, "form[0].fail_if", ["unknown measure 'trunkk'", "did you mean 'trunk'"]),
    # 4 exit threshold on the wrong side of enter
    ('until: "knee < 60%"', 'until: "knee < 80%"', 13, "movement.phases.up.until", ["exit threshold 80%", "below the enter threshold 75%"]),
    # 5 rep cycle naming a missing phase
    ("rep: [up, down, up]", "rep: [up, dwn, up]", 15, "movement.rep[1]", ["'dwn'", "did you mean 'down'"]),
    # 6 wrong type
    ("min_phase_s: 0.1", "min_phase_s: fast", 16, "movement.min_phase_s", ["expected a number", "'fast'", "write e.g. min_phase_s: 0.1"]),
    # 7 missing required field
    ("name: Knee bend\n", "", 1, "name", ["required field 'name' is missing"]),
    # 8 unknown field, closest suggested
    ("  min_phase_s: 0.1", "  min_phase: 0.1", 16, "movement.min_phase", ["unknown field 'min_phase'", "did you mean 'min_phase_s'"]),
    # 9 bad side value
    ("side: auto}", "side: middle}", 7, "measures.knee.side", ["expected one of", "'middle'"]),
    # 10 negative dwell
    ("min_phase_s: 0.1", "min_phase_s: -0.5", 16, "movement.min_phase_s", ["greater than or equal to 0"]),
    # 11 duplicate key
    ("  rep: [up, down, up]", "  rep: [up, down, up]\n  rep: [down, up, down]", 16, "movement.rep", ["given twice"]),
    # 12 measure naming a missing measure for the movement
    ("  measure: knee", "  measure: kneee", 10, "movement.measure", ["unknown measure 'kneee'", "did you mean 'knee'"]),
    # 13 a 'during' check naming a missing phase
    ("check: during down", "check: during bottom", 18, "form[0].check", ["'during' needs a defined phase"]),
    # 14 same comparison for entering and leaving
    ('until: "knee > 50%"', 'until: "knee < 50%"', 14, "movement.phases.down.until", ["opposite comparison"]),
    # 15 condition that does not parse
    ('when: "knee > 75%"', 'when: "knee >> 75%"', 13, "movement.phases.up.when", ["unexpected '>'"]),
    # 16 a measure with two kinds
    ("trunk: {inclination: [hip, shoulder], from: vertical}", "trunk: {inclination: [hip, shoulder], angle: [hip, knee, ankle]}",
     8, "measures.trunk", ["exactly one of"]),
    # 17 percent thresholds without a range
    ("  range: {rest: high, min_span: 40}\n", "", 12, "movement.phases.up.when", ["movement.range is not given"]),
    # 18 a tagged value that is not what its tag says (PyYAML's constructor raised AttributeError here)
    ("name: Knee bend", "name: !!timestamp soon", 2, "name", ["'soon' is not a valid timestamp"]),
    # 19 the same for a number
    ("min_phase_s: 0.1", "min_phase_s: !!float quick", 16, "movement.min_phase_s", ["'quick' is not a valid float"]),
])
def test_each_mistake_gives_one_precise_message(old, new, line, field, words):
    assert old in GOOD
    p = one_problem(GOOD.replace(old, new, 1))
    assert p.line == line, str(p)
    assert p.field == field, str(p)
    text = str(p)
    assert text.startswith(f"ex.yaml:{line}: "), text
    for w in words:
        assert w in text, text


def test_load_definition_raises_definition_error_with_file_and_line(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.replace("[hip, knee, ankle]", "[hip, knee, ankel]"))
    with pytest.raises(DefinitionError) as exc:
        load_definition(f)
    assert str(exc.value).startswith(f"{f}:7: measures.knee.angle: unknown landmark 'ankel'; did you mean 'ankle'?")


def test_missing_file_is_a_definition_error(tmp_path: Path):
    with pytest.raises(DefinitionError, match="no such file"):
        load_definition(tmp_path / "nope.yaml")


def test_not_a_mapping():
    p = one_problem("- just\n- a list\n")
    assert "expected a mapping" in str(p)


def test_validate_paths_reports_duplicate_ids(tmp_path: Path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "knee_bend.yaml").write_text(GOOD)
    probs = validate_paths([tmp_path / "a", tmp_path / "b"])
    assert len(probs) == 1
    assert probs[0].field == "id" and "already used" in probs[0].message and probs[0].line == 1


def test_validate_paths_reports_every_file(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("id: knee_bend", "id: a").replace("side: auto", "side: up"))
    (tmp_path / "b.yaml").write_text(GOOD.replace("id: knee_bend", "id: b").replace("rep: [up, down, up]", "rep: [up]"))
    (tmp_path / "c.yaml").write_text(GOOD.replace("id: knee_bend", "id: c"))
    probs = validate_paths([tmp_path])
    assert sorted(Path(p.path).name for p in probs) == ["a.yaml", "b.yaml"]


def test_builtin_library_is_valid():
    root = Path(__file__).resolve().parent.parent / "exercises"
    assert validate_paths([root]) == []


def test_cli_validate(tmp_path: Path):
    from coach.cli.main import app

    good = tmp_path / "knee_bend.yaml"
    good.write_text(GOOD)
    bad = tmp_path / "other.yaml"
    bad.write_text(GOOD.replace("id: knee_bend", "id: other").replace("rep: [up, down, up]", "rep: [up, dwn, up]"))
    runner = CliRunner()
    ok = runner.invoke(app, ["exercises", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    res = runner.invoke(app, ["exercises", "validate", str(tmp_path)])
    assert res.exit_code == 1
    out = res.output
    assert "other.yaml:15: movement.rep[1]" in out and "did you mean 'down'" in out
    assert "Traceback" not in out
    res = runner.invoke(app, ["exercises", "validate", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_a_control_character_is_a_problem_with_its_line_not_a_crash(tmp_path: Path):
    path = tmp_path / "ctrl.yaml"
    path.write_text("id: x\nname: ok\ndescription: \"bell \x07 here\"\n")
    problems = validate_paths([path])
    assert len(problems) == 1
    assert problems[0].line == 3 and "U+0007" in problems[0].message


@pytest.mark.parametrize("old,new,line,words", [
    # a '{' left open: the parser notices it at the next field, the mistake is on the line that opened it
    ("side: auto}", "side: auto", 7, ["'{' opened on this line is not closed", "end it with '}'"]),
    # ... also when it is the last field of the file, or a comment and a blank line come first
    ("targets: {reps: 10, sets: 2}", "targets: {reps: 10, sets: 2", 19, ["end it with '}'"]),
    ("side: auto}", "side: auto\n\n  # the trunk", 7, ["end it with '}'"]),
    # ... or it goes on over two lines
    ('cue: "Chest up", cooldown_s: 5}', 'cue: "Chest up",\n     cooldown_s: 5\n', 19, ["opened on line 18", "end it with '}'"]),
    ("[hip, knee, ankle]", "[hip, knee, ankle}", 7, ["'[' opened on this line is closed with '}'", "end it with ']'"]),
    ("side: auto}", "side: auto}}", 7, ["a '}' that closes nothing"]),
    # a tab
    ("  measure: knee", "\tmeasure: knee", 10, ["tab", "use spaces"]),
    ("    down: {when", "\t  down: {when", 14, ["tab", "use spaces"]),
    # a quote left open
    ("name: Knee bend", 'name: "Knee bend', 2, ['opened with " on this line is not closed', 'end it with "']),
    ('when: "knee > 75%"', 'when: "knee > 75%', 13, ['opened with " on this line is not closed']),
    # a colon missing, or one inside a value
    ("  measure: knee", "  measure knee", 10, ["'measure knee' has no ':'", "write 'measure: knee'"]),
    ("name: Knee bend", "name: Knee: bend", 2, ["put the value in quotes", 'name: "Knee: bend"']),
    # uneven indentation
    ("  rep: [up, down, up]", "   rep: [up, down, up]", 15, ["indented by 3 spaces, line 12 above it by 2"]),
    # '=' in a condition
    ('fail_if: "trunk > 45"', 'fail_if: "trunk = 45"', 18, ["'=' is not a comparison", "write <, >, <= or >=",
                                                              '"trunk >= 45"']),
    ('fail_if: "trunk > 45"', 'fail_if: "trunk => 45"', 18, ["'=>' is written '>='", '"trunk >= 45"']),
    ('fail_if: "trunk > 45"', 'fail_if: "trunk == 45"', 18, ["never exactly equal", "write <, >, <= or >="]),
    # a number in words, or of the wrong kind
    ("reps: 10", "reps: ten", 19, ["expected a whole number, found 'ten'", "write e.g. reps: 10"]),
    ("reps: 10", "reps: 2.5", 19, ["expected a whole number, found 2.5"]),
    ("cooldown_s: 5", "cooldown_s: five", 18, ["expected a number, found 'five'", "write e.g. cooldown_s: 5"]),
    ("cooldown_s: 5", "breaks_hold: maybe", 18, ["expected true or false", "write e.g. breaks_hold: true"]),
])
def test_a_message_names_the_line_of_the_mistake_and_what_to_write(old, new, line, words):
    assert old in GOOD
    p = one_problem(GOOD.replace(old, new, 1))
    text = str(p)
    assert p.line == line, text
    for w in words:
        assert w in text, text
    for jargon in ("<scalar>", "<block", "token", "flow mapping", "Input should", "unable to parse", "valid integer"):
        assert jargon not in text, text


def test_a_key_with_a_bracket_is_an_unknown_field_not_a_crash():
    # pydantic's own type tags in error locations look like "list[str]"; a key such as 'movement[' is the
    # author's, and dropping it left an empty location (IndexError)
    d, probs = problems(GOOD.replace("movement:\n", "movement[:\n", 1))
    assert d is None
    assert any(p.line == 9 and "unknown field 'movement['; did you mean 'movement'?" in str(p) for p in probs), probs
