"""The exercise library as the API shows it: a definition (listed, or whole with its YAML), a definition file
that does not load, and the validation of a posted definition (``coach.exercise``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from coach.api.errors import safe_text
from coach.exercise.loader import DefinitionProblem
from coach.exercise.spec import Targets


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


class ExerciseOut(BaseModel):
    """An exercise of the library (``coach.exercise.spec.ExerciseDefinition``), as listed."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True)  # `counts` read from `movement`
    id: str = Field(..., description="Exercise id (the definition file is `<id>.yaml`).")
    name: str = Field(..., description="Name shown to people.")
    category: str = Field(..., description="`fitness` or `rehab`.")
    view: str = Field(..., description="The camera view it needs: `side`, `front` or `any`.")
    version: int = Field(..., description="Version of the definition (sessions record it).")
    description: str = Field(..., description="One or two sentences about the exercise.")
    counts: str = Field(..., validation_alias="movement", description="What a set counts: `reps`, `reps per side` "
                                                                      "(each side in turn) or `hold` (seconds).")
    targets: Targets = Field(..., description="The definition's default targets (a prescription overrides them); "
                                              "only those it sets.")
    content_hash: str = Field(..., description="Hash of the definition's content (sessions record it).")

    @field_validator("counts", mode="before")
    @classmethod
    def _counts(cls, movement: Any) -> Any:
        if isinstance(movement, str):
            return movement
        return "hold" if movement.hold is not None else ("reps per side" if movement.sides == "each" else "reps")

    @field_serializer("targets", mode="wrap")
    def _set_targets_only(self, targets: Targets, handler):  # no return annotation: documented as Targets
        return _without_nulls(handler(targets))


class ExerciseDetailOut(ExerciseOut):
    """An exercise with all of its definition and the YAML text it was read from."""

    setup: list[str] = Field(..., description="Instructions shown before the set starts, one line each.")
    definition: dict[str, Any] = Field(..., description="The whole definition as JSON, keys as in the YAML (its "
                                                        "JSON Schema: `coach exercises schema`); fields not set are "
                                                        "left out.")
    yaml: str | None = Field(..., description="The definition file's text; null if it cannot be read now.")

    @classmethod
    def of(cls, d) -> "ExerciseDetailOut":
        """The detail of definition ``d`` (an ``ExerciseDefinition`` loaded from a file)."""
        try:
            text: str | None = Path(d.source).read_text(encoding="utf-8")
        except OSError:
            text = None
        return cls(**dict(ExerciseOut.model_validate(d)), setup=d.setup, yaml=text,
                   definition=d.model_dump(mode="json", by_alias=True, exclude_none=True))


class ProblemOut(BaseModel):
    """One mistake in a definition (``coach.exercise.loader.DefinitionProblem``)."""

    line: int | None = Field(..., description="1-based line of the YAML text; null when unknown.")
    field: str = Field(..., description="Path of the field at fault, e.g. `movement.phases.down.when`; \"\" for the "
                                        "text as a whole.")
    message: str = Field(..., description="What is wrong, in one sentence.")
    text: str = Field(..., description="The problem as one line: `FILE:LINE: FIELD: MESSAGE`.")

    @classmethod
    def of(cls, problem: DefinitionProblem, file: str | None = None) -> "ProblemOut":
        """``problem``, its text naming ``file`` (a file name, never a folder) instead of its path if given.
        Text the YAML made unencodable (a lone surrogate from an escape such as ``"\\udb53"``) is written
        as its escape."""
        if file is not None:
            problem = replace(problem, path=file)
        return cls(line=problem.line, field=safe_text(problem.field), message=safe_text(problem.message),
                   text=safe_text(str(problem)))


class LibraryProblemOut(BaseModel):
    """A definition file in force that does not load (``coach.exercise.library.LibraryProblem``): its exercise
    is unavailable until it is fixed."""

    id: str = Field(..., description="The exercise it would define (the file name without .yaml).")
    file: str = Field(..., description="The file name (no folder).")
    source: str = Field(..., description="Where it is: `user` (the user folder), `dir` (an extra folder of the "
                                         "server) or `built-in`.")
    overrides: list[str] = Field(..., description="The sources of the definitions it replaces: `[\"built-in\"]`: "
                                                  "the built-in exercise of that id is hidden by the broken file.")
    problems: list[ProblemOut] = Field(..., description="What is wrong, at least one.")

    @classmethod
    def of(cls, p) -> "LibraryProblemOut":
        name = p.path.name
        return cls(id=p.id, file=name, source=p.entry.source, overrides=[src for src, _ in p.entry.overrides],
                   problems=[ProblemOut.of(q, name) for q in p.problems])


class ValidationOut(BaseModel):
    """The validation of a posted definition."""

    valid: bool = Field(..., description="True when `problems` is empty.")
    id: str | None = Field(..., description="The definition's id; null when the text is not read that far.")
    problems: list[ProblemOut] = Field(..., description="Every problem found (its text names the file `<posted>`).")
