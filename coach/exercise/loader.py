"""Loading definitions: a file or text in, a validated `ExerciseDefinition` or every problem out, each as
``file:line: field.path: what was expected, what was found; did you mean X?``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from coach.errors import DefinitionError
from coach.exercise.spec import ExerciseDefinition
from coach.exercise.validation import definition_warnings, describe, semantic_problems, validate_all
from coach.exercise.yaml_source import Problem, compose, line_for


@dataclass(frozen=True)
class DefinitionProblem:
    """One mistake in one definition file."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"



def _related(a: str, b: str) -> bool:
    """True when one dotted field path is the other or contains it."""
    def under(x: str, y: str) -> bool:
        return x == y or x.startswith((y + ".", y + "["))
    return under(a, b) or under(b, a)


def parse_definition_text(text: str, source: str = "<text>") -> tuple[ExerciseDefinition | None,
                                                                         list[DefinitionProblem]]:
    """Parse and validate a definition; returns (definition or None, problems)."""
    def prob(p: Problem) -> DefinitionProblem:
        return DefinitionProblem(source, p.line, p.field, p.message)

    try:
        data, lines = compose(text)
    except Problem as p:
        return None, [prob(p)]
    if not isinstance(data, dict):
        return None, [DefinitionProblem(source, 1, "", f"expected a mapping of fields (id: ..., name: ...), "
                                                       f"found {describe(data)}")]
    found, d = validate_all(data, lines)
    if found:
        if d is not None:  # a repaired copy validated: its semantic problems are independent ones too
            found += [p for p in semantic_problems(d, lines)
                      if not any(_related(p.field, q.field) for q in found)]
        found.sort(key=lambda p: (p.line or 0))
        return None, [prob(p) for p in found]
    sem = semantic_problems(d, lines)
    if sem:
        return None, [prob(p) for p in sem]
    d._warnings = [(w.line, w.field, w.message) for w in definition_warnings(d, lines)]
    d._content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    d._source = source
    return d, []


def definition_warnings_of(d: ExerciseDefinition) -> list[DefinitionProblem]:
    """The warnings found when `d` was loaded (`ExerciseDefinition.warnings`), with its file."""
    return [DefinitionProblem(d.source, line, field, message) for line, field, message in d.warnings]


def load_definition(path) -> ExerciseDefinition:
    """Load and validate one definition file. Raises DefinitionError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot read it ({exc})") from None
    d, problems = parse_definition_text(text, str(path))
    if problems:
        raise DefinitionError(str(problems[0]))
    assert d is not None
    return d


def definition_files(paths: Iterable) -> list[Path]:
    """Expand files and directories (their *.yaml / *.yml) into a sorted list of files."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        else:
            out.append(p)
    return out


def validate_paths(paths) -> list[DefinitionProblem]:
    """Every problem in every definition file under `paths` (files or directories), and duplicate ids."""
    return check_paths(paths)[0]


def check_paths(paths) -> tuple[list[DefinitionProblem], list[DefinitionProblem]]:
    """(every problem, every warning) of the definition files under `paths` (files or directories).

    Problems: each file's mistakes, an id that is not its file's name, an id used by two files. Warnings
    (of files without problems): what is allowed but probably a mistake (`ExerciseDefinition.warnings`)."""
    problems: list[DefinitionProblem] = []
    warnings: list[DefinitionProblem] = []
    seen: dict[str, str] = {}
    for f in definition_files(paths):
        if not f.exists():
            problems.append(DefinitionProblem(str(f), None, "", "no such file or directory"))
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(DefinitionProblem(str(f), None, "", f"cannot read it ({exc})"))
            continue
        d, probs = parse_definition_text(text, str(f))
        problems.extend(probs)
        if d is None:
            continue
        line = line_for(("id",), compose(text)[1])
        if d.id != f.stem:
            owner = next((o for o in (f.with_name(f"{d.id}.yaml"), f.with_name(f"{d.id}.yml")) if o.exists()), None)
            why = (f"{owner.name} beside it has that name, so this file is never used under its id" if owner
                   else "the program finds an exercise by its file name")
            problems.append(DefinitionProblem(
                str(f), line, "id", f"id '{d.id}' does not match the file name {f.name}: {why}; write "
                                    f"id: {f.stem}, or rename the file to {d.id}.yaml"))
        if d.id in seen:
            problems.append(DefinitionProblem(str(f), line, "id", f"id '{d.id}' is already used by {seen[d.id]}"))
        else:
            seen[d.id] = str(f)
        if not any(p.path == str(f) for p in problems):
            warnings.extend(definition_warnings_of(d))
    return problems, warnings
