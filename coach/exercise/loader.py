"""Loading definitions: a file or text in, a validated `ExerciseDefinition` or every problem out, each as
``file:line: field.path: what was expected, what was found; did you mean X?``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from coach.errors import DefinitionError
from coach.exercise.spec import ExerciseDefinition
from coach.exercise.validation import describe, semantic_problems, validate_all
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
    d._content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    d._source = source
    return d, []


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
    problems: list[DefinitionProblem] = []
    seen: dict[str, str] = {}
    files = definition_files(paths)
    for f in files:
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
        if d is not None:
            if d.id in seen:
                line = line_for(("id",), compose(text)[1])
                problems.append(DefinitionProblem(str(f), line, "id",
                                                  f"id '{d.id}' is already used by {seen[d.id]}"))
            else:
                seen[d.id] = str(f)
    return problems
