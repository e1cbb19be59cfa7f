"""Issue 19, point by point: each input that froze, crashed or overloaded coach now gets one clear
sentence and a non-zero exit or a 4xx, and loses nothing. (The broader hostile-input suite is
tests/test_hostile_input.py; a real `coach serve` under hostile requests is tests/test_serve_hostile.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_run import coach, coach_process


def billion_laughs() -> str:
    """Nine levels of nine aliases: 342 bytes that stand for 9**9 (387 million) strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- 1. billion laughs


def test_billion_laughs_is_refused_by_validate_in_one_sentence(tmp_path: Path):
    f = tmp_path / "laughs.yaml"
    f.write_text(billion_laughs())
    res = coach_process("exercises", "validate", str(f), timeout=60)
    assert res.status == 1, res.text
    assert f"{f}:5: not accepted: its aliases expand to more than 10000 values" in res.text
    assert "Traceback" not in res.text


def test_billion_laughs_in_an_exercises_folder_costs_only_its_own_id(tmp_path: Path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "laughs.yaml").write_text(billion_laughs())
    res = coach_process("workout", "-e", "laughs", "--exercises", str(folder), "-s", "nothing.npz", "--no-show",
                        "--db", str(tmp_path / "c.sqlite"), timeout=60)
    assert res.status == 2, res.text
    assert "laughs.yaml:5: not accepted: its aliases expand to more than 10000 values" in res.sentence()
    assert "Traceback" not in res.text


def test_an_alias_inside_its_own_value_is_refused(tmp_path: Path):
    from coach.exercise.loader import parse_definition_text

    d, problems = parse_definition_text("id: x\nmeasures: &m\n  knee: [*m]\n", "self.yaml")
    assert d is None
    assert str(problems[0]) == ("self.yaml:3: not accepted: the alias *m is used inside the value it names, "
                                "which would make the definition infinite")


def test_the_built_in_definitions_stay_far_below_the_value_budget():
    from coach.exercise.library import BUILTIN_DIR
    from coach.exercise.loader import parse_definition_text

    for f in sorted(BUILTIN_DIR.glob("*.yaml")):
        d, problems = parse_definition_text(f.read_text(encoding="utf-8"), str(f))
        assert d is not None and not problems, (f, problems)


# ------------------------------------------------------------------------------ 10. smaller


def test_a_range_percentage_outside_0_to_100_is_a_problem(tmp_path: Path):
    from coach.exercise.library import BUILTIN_DIR

    f = tmp_path / "squat.yaml"
    f.write_text((BUILTIN_DIR / "squat.yaml").read_text().replace('when: "knee > 75%"', 'when: "knee > 175%"'))
    res = coach("exercises", "validate", str(f))
    assert res.status == 1
    assert (f"{f}:17: movement.phases.up.when: a range percentage is from 0% (the lowest value of the movement) "
            f"to 100% (the highest); 175% is outside it, so \"knee > 175%\" is always or never true") in res.text
