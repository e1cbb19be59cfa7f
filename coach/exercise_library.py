"""Finding exercise definitions: the built-in `exercises/*.yaml` library, the user's own folder, then any
extra directories (`--exercises DIR`).

Later places override earlier ones, by id (the file's stem): a definition in the user folder with the
same id as a built-in one is used instead of it (a clinic's own squat), and one in an extra directory
overrides both. The user folder is `$COACH_EXERCISES_DIR` when set, else `exercises` in the platform's
user config folder (`~/.config/coach/exercises` on Linux).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from coach.errors import DefinitionError
from coach.exercise_spec import ExerciseDefinition, definition_files, load_definition

#: The built-in library shipped with the program.
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "exercises"

#: Environment variable naming the user's definitions folder (overrides the platform default).
USER_DIR_ENV = "COACH_EXERCISES_DIR"


def user_dir() -> Path:
    """The user's own definitions folder (may not exist yet)."""
    env = os.environ.get(USER_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("coach", appauthor=False)) / "exercises"


def library_sources(extra_dirs: Iterable = ()) -> list[tuple[Path, str]]:
    """(folder, kind) in order of precedence, lowest first; kind is built-in, user or dir."""
    out = [(BUILTIN_DIR, "built-in")]
    u = user_dir()
    if u.resolve() != BUILTIN_DIR.resolve():
        out.append((u, "user"))
    out += [(Path(p), "dir") for p in extra_dirs]
    return out


def library_dirs(extra_dirs: Iterable = ()) -> list[Path]:
    """Folders searched for definitions, lowest precedence first."""
    return [d for d, _ in library_sources(extra_dirs)]


@dataclass(frozen=True)
class LibraryEntry:
    """Where the definition in force for an id comes from, and what it replaces."""

    id: str
    path: Path
    source: str  #: built-in | user | dir
    overrides: tuple[tuple[str, Path], ...] = ()  #: (source, path) of definitions it replaces

    @property
    def overrides_builtin(self) -> bool:
        return any(s == "built-in" for s, _ in self.overrides)


def library_entries(extra_dirs: Iterable = ()) -> dict[str, LibraryEntry]:
    """id -> the entry in force (later folders override earlier ones). The id is the file's stem."""
    out: dict[str, LibraryEntry] = {}
    for d, kind in library_sources(extra_dirs):
        if d.is_dir():
            for f in definition_files([d]):
                prev = out.get(f.stem)
                over = (*prev.overrides, (prev.source, prev.path)) if prev is not None else ()
                out[f.stem] = LibraryEntry(f.stem, f, kind, over)
    return dict(sorted(out.items()))


def _index(extra_dirs: Iterable = ()) -> dict[str, Path]:
    """id -> file, later directories overriding earlier ones. The id is the file's stem."""
    return {k: e.path for k, e in library_entries(extra_dirs).items()}


def get_definition(exercise_id: str, extra_dirs: Iterable = ()) -> ExerciseDefinition:
    """The definition in force with this id (built-in, user folder, extra directories; the last wins).
    Unknown id -> DefinitionError listing the closest ids."""
    extra_dirs = list(extra_dirs)
    index = _index(extra_dirs)
    path = index.get(exercise_id)
    if path is None:
        for p in index.values():  # a file whose name is not its id
            try:
                d = load_definition(p)
            except DefinitionError:
                continue
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
    """Every definition in force (later directories override earlier ones), sorted by id."""
    return [load_definition(p) for _, p in sorted(_index(extra_dirs).items())]
