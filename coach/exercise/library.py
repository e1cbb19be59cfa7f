"""Finding exercise definitions: the built-in `exercises/*.yaml` library, the user's own folder, then any
extra directories (`--exercises DIR`).

Later places override earlier ones, by id (the file's stem): a definition in the user folder with the
same id as a built-in one is used instead of it (a clinic's own squat), and one in an extra directory
overrides both. The user folder is `$COACH_EXERCISES_DIR` when set, else `exercises` in the platform's
user config folder (`~/.config/coach/exercises` on Linux).

A file that does not load makes its id unavailable (it is not replaced by a lower-precedence file with the
same id: that would quietly run another exercise than the one the clinic wrote); `load_library` gives
every definition that loads and, separately, every file that does not, so one broken file never hides
the rest of the library (`coach exercises list` and `GET /api/exercises` both use it).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from coach.errors import DefinitionError
from coach.exercise.loader import DefinitionProblem, definition_files, parse_definition_text
from coach.exercise.spec import ExerciseDefinition

log = logging.getLogger(__name__)

#: The built-in library shipped with the program.
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "exercises"

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


def read_definition(path: Path) -> tuple[ExerciseDefinition | None, list[DefinitionProblem]]:
    """Load one definition file: (definition, []) or (None, its problems). Never raises for a bad file.

    Unlike `exercise_spec.load_definition`, the messages name no path (the problems' `path` does), and a
    file the parser chokes on (nesting thousands deep, an alias that contains itself, ...) is a problem
    of that file rather than an exception."""
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [DefinitionProblem(where, None, "", "no such file")]
    except OSError as exc:
        return None, [DefinitionProblem(where, None, "", f"cannot read it ({exc.strerror or type(exc).__name__})")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [DefinitionProblem(where, raw.count(b"\n", 0, exc.start) + 1, "",
                                        f"not UTF-8 text (byte {exc.start})")]
    try:
        return parse_definition_text(text, where)
    except RecursionError:
        message = "not readable as a definition: nested too deeply, or an alias that refers to itself"
    except Exception as exc:  # a parser failure on odd input is this file's problem, not the library's
        log.debug("%s: the definition parser failed", where, exc_info=True)
        message = f"not readable as a definition ({type(exc).__name__}: {exc})"
    return None, [DefinitionProblem(where, None, "", message)]


def _load(path: Path) -> ExerciseDefinition:
    d, problems = read_definition(path)
    if d is None:
        raise DefinitionError(str(problems[0]))
    return d


def get_definition(exercise_id: str, extra_dirs: Iterable = ()) -> ExerciseDefinition:
    """The definition in force with this id (built-in, user folder, extra directories; the last wins).
    Unknown id -> DefinitionError listing the closest ids; a file that does not load -> DefinitionError
    naming file, line and field."""
    extra_dirs = list(extra_dirs)
    index = _index(extra_dirs)
    path = index.get(exercise_id)
    if path is None:
        for p in index.values():  # a file whose name is not its id
            d, _ = read_definition(p)
            if d is not None and d.id == exercise_id:
                return d
        close = difflib.get_close_matches(exercise_id, list(index), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise DefinitionError(f"no exercise '{exercise_id}'{hint} (known: {', '.join(sorted(index))})")
    d = _load(path)
    if d.id != exercise_id:
        raise DefinitionError(f"{path}: the file is named for '{exercise_id}' but its id is '{d.id}'")
    return d


@dataclass(frozen=True)
class LibraryProblem:
    """A file in force in the library that cannot be used: its id is unavailable until it is fixed."""

    entry: LibraryEntry  #: the file, its source (built-in | user | dir) and what it overrides
    problems: tuple[DefinitionProblem, ...]  #: at least one: line (1-based or None), field, message

    @property
    def id(self) -> str:
        """The id the file is in force for (its stem)."""
        return self.entry.id

    @property
    def path(self) -> Path:
        return self.entry.path

    def __str__(self) -> str:
        more = len(self.problems) - 1
        return str(self.problems[0]) + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def _id_line(path: Path) -> int | None:
    """The line of the top-level `id:` of a file that loaded (for pointing at a duplicate id)."""
    try:
        m = re.search(r"(?m)^id[ \t]*:", path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return None if m is None else m.string.count("\n", 0, m.start()) + 1


def load_entries(entries: Mapping[str, LibraryEntry]) -> tuple[dict[str, ExerciseDefinition], list[LibraryProblem]]:
    """Load every entry of `library_entries`: ({entry id: definition} of the files that load, [problem of
    each file that does not]), both in the entries' order. Never raises for a bad file.

    A file that loads but whose id is already taken is a problem too, so the ids of the definitions are
    unique and each is what `get_definition(id)` gives: the id belongs to the file named for it (even a
    broken one), else to the first file (by name) that declares it."""
    loaded: dict[str, ExerciseDefinition] = {}
    problems: list[LibraryProblem] = []
    for key, entry in entries.items():
        d, found = read_definition(entry.path)
        if d is None:
            problems.append(LibraryProblem(entry, tuple(found)))
        else:
            loaded[key] = d
    claimed: dict[str, str] = {}  # id -> key of the file, for files not named for their id
    for key, d in list(loaded.items()):
        if d.id == key:
            continue
        if d.id in entries:
            owner = d.id
        elif d.id in claimed:
            owner = claimed[d.id]
        else:
            claimed[d.id] = key
            continue
        o = entries[owner]
        problems.append(LibraryProblem(entries[key], (DefinitionProblem(
            str(entries[key].path), _id_line(entries[key].path), "id",
            f"'{d.id}' is already the id of {o.path.name} ({o.source}), which is used instead; this file is "
            f"never used (name it {d.id}.yaml to replace that one, or give it another id)"),)))
        del loaded[key]
    order = {k: i for i, k in enumerate(entries)}
    problems.sort(key=lambda p: order[p.id])
    return loaded, problems


def load_library(extra_dirs: Iterable = ()) -> tuple[list[ExerciseDefinition], list[LibraryProblem]]:
    """(every definition in force that loads, sorted by id; every file in force that does not, by id).

    One broken file costs only its own id. Use this to show the library; `get_definition` to use one."""
    loaded, problems = load_entries(library_entries(extra_dirs))
    return sorted(loaded.values(), key=lambda d: d.id), problems


def list_definitions(extra_dirs: Iterable = ()) -> list[ExerciseDefinition]:
    """Every definition in force (later directories override earlier ones), sorted by id. Strict: raises
    DefinitionError for the first file that does not load (`load_library` reports them instead)."""
    definitions, problems = load_library(extra_dirs)
    if problems:
        raise DefinitionError(str(problems[0]))
    return definitions


def load_exercise(exercise: str | Path, extra_dirs: Iterable = ()) -> ExerciseDefinition:
    """A definition by id ("squat": built-in, user folder, `extra_dirs`) or by the path of a YAML file.
    Raises `DefinitionError` naming the file, line and field of a mistake, or the closest known ids."""
    text = str(exercise)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        from coach.exercise.loader import load_definition

        return load_definition(text)
    return get_definition(text, extra_dirs)
