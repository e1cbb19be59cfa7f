"""Finding exercise definitions: the built-in `exercises/*.yaml` library, then any extra directories.

A definition in an extra directory with the same id as a built-in one replaces it (a clinic's own squat).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable

from coach.errors import DefinitionError
from coach.exercise_spec import ExerciseDefinition, definition_files, load_definition

#: The built-in library shipped with the program.
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "exercises"


def library_dirs(extra_dirs: Iterable = ()) -> list[Path]:
    return [BUILTIN_DIR, *(Path(p) for p in extra_dirs)]


def _index(extra_dirs: Iterable = ()) -> dict[str, Path]:
    """id -> file, later directories overriding earlier ones. The id is the file's stem."""
    out: dict[str, Path] = {}
    for d in library_dirs(extra_dirs):
        if d.is_dir():
            for f in definition_files([d]):
                out[f.stem] = f
    return out


def get_definition(exercise_id: str, extra_dirs: Iterable = ()) -> ExerciseDefinition:
    """The definition with this id. Unknown id -> DefinitionError listing the closest ids."""
    extra_dirs = list(extra_dirs)
    index = _index(extra_dirs)
    path = index.get(exercise_id)
    if path is None:
        for d in list_definitions(extra_dirs):
            if d.id == exercise_id:
                return d
        close = difflib.get_close_matches(exercise_id, list(index), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise DefinitionError(f"no exercise '{exercise_id}'{hint} (known: {', '.join(sorted(index))})")
    d = load_definition(path)
    if d.id != exercise_id:
        raise DefinitionError(f"{path}: the file is named for '{exercise_id}' but its id is '{d.id}'")
    return d


def list_definitions(extra_dirs: Iterable = ()) -> list[ExerciseDefinition]:
    """Every definition found (later directories override earlier ones), sorted by id."""
    return [load_definition(p) for _, p in sorted(_index(extra_dirs).items())]
