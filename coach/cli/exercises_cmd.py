"""`coach exercises ...`: the exercise library and authoring — list, show, new, validate, schema, try."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from coach.cli.common import (ModelPathOption, NumPosesOption, Perturbation, PerturbOption, SideOption,
                              VariantOption,
                              console, err_console, perturbed)
from coach.errors import CoachError, DefinitionError

exercises_app = typer.Typer(help="Exercise definitions (YAML): list, show, new, validate, schema, try.",
                            no_args_is_help=True)

ExtraDirsOption = typer.Option(None, "--exercises", "--dir", "-d", exists=True, file_okay=False, help="Extra folder of definitions "
                               "(repeatable); a definition there replaces a built-in or user one with the "
                               "same id.")

SCHEMA_FILE = "exercise.schema.json"


def _print(text: str, style: str | None = None, err: bool = False) -> None:
    (err_console if err else console).print(escape(text), style=style, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------- validate


@exercises_app.command("validate")
def validate(paths: List[Path] = typer.Argument(..., help="Definition files or directories of *.yaml."),
             ) -> None:
    """Check definitions without running them; every problem is printed as file:line: field: message.

    Problems (✗): mistakes, an id that is not the file's name, an id two files use. Warnings (!): allowed
    but probably not meant (a measure nothing uses, phases whose thresholds overlap, a range whose rest
    end the phases contradict). Exit status 0 when all are valid (warnings or not), 1 otherwise.
    """
    from coach.exercise.loader import check_paths, definition_files

    files = definition_files(paths)
    problems, warnings = check_paths(paths)
    for p in problems:
        err_console.print(f"[red]✗[/] {escape(str(p))}", highlight=False, soft_wrap=True)
    bad = {p.path for p in problems}
    good = [f for f in files if str(f) not in bad]
    for f in good:
        console.print(f"[green]✓[/] {escape(str(f))}", highlight=False, soft_wrap=True)
        for w in warnings:
            if w.path == str(f):
                console.print(f"  [yellow]![/] {escape(str(w))}", highlight=False, soft_wrap=True)
    if not files and not problems:
        err_console.print("no definition files found (expected *.yaml files or directories of them)")
        raise typer.Exit(1)
    summary = (f"{len(good)} valid, {len(bad)} with problems ({len(problems)} problem{'s' if len(problems) != 1 else ''})"
               if problems else f"{len(good)} valid")
    if warnings:
        summary += f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    console.print(summary, highlight=False)
    if problems:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------- list / show


@exercises_app.command("list")
def list_cmd(dirs: Optional[List[Path]] = ExtraDirsOption) -> None:
    """List the exercises in force and where each comes from (built-in, user folder, --exercises dir).

    A file that does not load is listed as invalid, and its problems are printed in full under the table
    (exit status 1); the rest are listed as usual.
    """
    from coach.exercise.library import library_entries, load_entries, user_dir

    table = Table(title="exercises")
    for col in ("id", "name", "category", "view", "counts", "source", "note"):
        table.add_column(col)
    table.add_column("file (not built-in)", overflow="fold")
    entries = library_entries(dirs or ())
    loaded, problems = load_entries(entries)  # the same function as GET /api/exercises
    bad = {p.id: p for p in problems}
    for e in entries.values():
        note = ""
        if e.overrides:
            note = "overrides " + ", ".join(s for s, _ in e.overrides)
        src = e.source
        where = "" if e.source == "built-in" else str(e.path)
        if e.id in bad:
            table.add_row(e.id, "[red]invalid[/]", "", "", "", escape(src),
                          escape(f"{note + '; ' if note else ''}see below"), escape(where))
            continue
        d = loaded[e.id]
        mv = d.movement
        kind = "hold" if mv.hold is not None else ("reps per side" if mv.sides == "each" else "reps")
        table.add_row(d.id, escape(d.name), d.category, d.view, kind, escape(src), escape(note), escape(where))
    console.print(table)
    for prob in problems:  # in full: a table cell would cut the message short
        err_console.print(f"[red]✗[/] {escape(prob.id)} ({escape(prob.entry.source)}) cannot be used:",
                          highlight=False, soft_wrap=True)
        for p in prob.problems:
            err_console.print(f"    {escape(str(p))}", highlight=False, soft_wrap=True)
    if problems:
        err_console.print("fix them, then check with: coach exercises validate FILE", highlight=False)
    u = user_dir()
    console.print(f"user folder: {escape(str(u))}" + ("" if u.is_dir() else " (not created yet; "
                  "`coach exercises new ID` creates it)"), highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@exercises_app.command("show")
def show(exercise_id: str = typer.Argument(..., help="Exercise id, e.g. squat, or a definition file."),
         dirs: Optional[List[Path]] = ExtraDirsOption) -> None:
    """Show one definition: set-up instructions, measures, phases, form rules, targets, where it comes from."""
    from coach.exercise.library import library_entries

    d = _load(exercise_id, dirs or ())
    entry = library_entries(dirs or ()).get(d.id)
    where = d.source
    if entry is not None and Path(entry.path) == Path(d.source):
        where = f"{entry.source}: {d.source}" + (
            f" (overrides {', '.join(f'{s} {p}' for s, p in entry.overrides)})" if entry.overrides else "")
    console.print(f"[bold]{escape(d.name)}[/] ({d.id}, {d.category}, {d.view} view)", highlight=False)
    _print(f"  {where}")
    if d.description:
        _print(d.description)
    for line in d.setup:
        _print(f"  • {line}")
    console.print("[bold]measures[/]")
    for name, m in d.measures.items():
        parts = ", ".join(getattr(m, m.kind))
        _print(f"  {name}: {m.kind} [{parts}] {m.space} side={m.side}")
    mv = d.movement
    console.print(f"[bold]movement[/] on {mv.measure}", highlight=False)
    if mv.range:
        _print(f"  range: {_fields(mv.range.model_dump())}")
    for name, ph in mv.phases.items():
        _print(f"  {name}: when {ph.when!r} until {ph.until or 'not (when)'!r}")
    if mv.rep:
        _print(f"  rep: {' → '.join(mv.rep)}")
        from coach.engine.compiled import rest_end

        rest = rest_end(d)
        by = "range.rest" if mv.range else "the phases' thresholds"
        _print(f"  reps start at the {rest} end of {mv.measure}; each turns at its "
               f"{'lowest' if rest == 'high' else 'highest'} value (from {by})" if rest else
               f"  the phases do not say where reps start: each rep turns at the extreme of {mv.measure} "
               f"farther from where it started")
    if mv.hold:
        _print(f"  hold: {mv.hold.phase}")
    if d.form:
        console.print("[bold]form[/]")
        for r in d.form:
            _print(f"  {r.code} ({r.check}): fails if {r.fail_if!r} → \"{r.cue}\"")
    if d.targets_dict:
        console.print("[bold]targets[/]")
        _print(f"  {_fields(d.targets_dict)}")
    _print(f"hash {d.content_hash[:12]}")


def _fields(values: dict, *, nested: bool = False) -> str:
    """A definition's settings in words, "rest high, min span 40, window 10 s", not a Python dict: names
    without underscores, units from the name's suffix (``_s`` seconds, ``_deg`` degrees), unset ones left out."""
    parts = []
    for key, value in values.items():
        if value is None or value == {}:
            continue
        name, unit = key, ""
        if key.endswith("_s"):
            name, unit = key[:-2], " s"
        elif key.endswith("_deg"):
            name, unit = key[:-4], "°"
        name = {"rom": "range of motion"}.get(name, name)
        if isinstance(value, dict):
            parts.append(f"{name.replace('_', ' ')} ({_fields(value, nested=True)})")
            continue
        if isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{name.replace('_', ' ')} {value}{unit}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------- new / schema

SCAFFOLD = """\
{modeline}# A new exercise. Every field is explained in exercises/README.md (the reference).
#   check it:  coach exercises validate {path}
#   try it:    coach exercises try {path} --source CLIP.mp4 --plot trace.png
id: {id}
name: {name}
category: rehab                 # fitness | rehab
description: ""
view: side                      # side | front | any: the camera view it needs
setup:
  - Side-on to the camera, the whole body in the picture.
measures:
  # The joint that moves: the angle at the middle landmark, 180 = straight. Without left_/right_ the side
  # that moves is followed (side: auto). space: 3d changes less with the camera angle.
  joint: {{angle: [hip, knee, ankle], space: 3d, side: auto}}
movement:
  measure: joint                # the primary measure
  # Thresholds in % of the range this person moves through. rest: where reps start (high = straight).
  range: {{rest: high, min_span: 30}}
  phases:
    start: {{when: "joint > 75%", until: "joint < 60%"}}
    end:   {{when: "joint < 35%", until: "joint > 50%"}}
  rep: [start, end, start]
  min_phase_s: 0.1
form: []
targets: {{reps: 10, sets: 1}}
"""


def _title(exercise_id: str) -> str:
    return exercise_id.replace("_", " ").capitalize()


#: What `new --from` writes instead of the copied exercise's name, description and set-up.
_OWN_FIELDS = {
    "name": "name: {title}",
    "description": 'description: ""            # one or two sentences: what the exercise is',
    "setup": "setup: []                   # what the person hears before the set, e.g.\n"
             "#  - Side-on to the camera, the whole body in the picture.",
}


def _own_identity(text: str, title: str) -> str:
    """`text` (a definition) with its top-level name, description and setup replaced by `_OWN_FIELDS`:
    a copy says what it counts, not what the exercise it was copied from is."""
    from coach.exercise.yaml_source import compose

    _, lines = compose(text)
    starts = sorted(line for path, line in lines.items() if len(path) == 1 and isinstance(path[0], str))
    rows = text.splitlines(keepends=True)
    for key in ("setup", "description", "name"):  # from the bottom up, so line numbers stay right
        start = lines.get((key,))
        if start is None:
            continue
        end = next((s for s in starts if s > start), len(rows) + 1) - 1  # last line of the field
        while end > start and (not rows[end - 1].strip() or rows[end - 1].lstrip().startswith("#")):
            end -= 1  # keep the comments and blank lines before the next field
        rows[start - 1:end] = [_OWN_FIELDS[key].format(title=title) + "\n"]
    return "".join(rows)


@exercises_app.command("new")
def new(exercise_id: str = typer.Argument(..., help="Id of the new exercise, e.g. seated_knee_extension."),
        from_: Optional[str] = typer.Option(None, "--from", help="Start from a copy of this exercise (an id "
                                            "or a file) instead of the scaffold."),
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="File or folder to write (default: "
                                              "the user folder, see `coach exercises list`)."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
        dirs: Optional[List[Path]] = ExtraDirsOption) -> None:
    """Write a new definition to edit: a commented scaffold, or a copy of an existing one with the new id.

    It goes to the user folder (where `workout`, `list` and `try` find it by id; one with a built-in's id
    overrides the built-in), or to -o. Example: coach exercises new seated_knee_extension
    """
    from coach.exercise.library import user_dir
    from coach.exercise.loader import parse_definition_text
    from coach.exercise.schema import json_schema
    from coach.exercise.spec import _ID

    if not _ID.match(exercise_id):
        raise CoachError(f"an id is lower-case letters, digits and _ starting with a letter, found "
                         f"'{exercise_id}'")
    udir = user_dir()
    if output is None:
        dest = udir / f"{exercise_id}.yaml"
    elif output.is_dir() or str(output).endswith(("/", "\\")):
        dest = output / f"{exercise_id}.yaml"
    else:
        dest = output
    if dest.suffix not in (".yaml", ".yml"):
        raise CoachError(f"a definition file ends in .yaml, not {dest.name}")
    if dest.stem != exercise_id:
        raise CoachError(f"a definition file is named for its id: {exercise_id}.yaml, not {dest.name} (write -o "
                         f"{dest.with_name(exercise_id + '.yaml')}, or pick the id {dest.stem})")
    if dest.exists() and not force:
        raise CoachError(f"{dest} already exists; edit it, or pass --force to replace it")
    in_user_dir = dest.parent.resolve() == udir.resolve()
    if from_:
        base = _load(from_, dirs or ())
        text = Path(base.source).read_text(encoding="utf-8")
        text, n = re.subn(r"(?m)^id:[ \t]*\S+", f"id: {exercise_id}", text, count=1)
        if n == 0:
            raise CoachError(f"{base.source}: no 'id:' line at the top level to replace")
        text = _own_identity(text, _title(exercise_id))
        text = (f"# copied from {base.id} ({base.source}): its measures, movement, form and targets.\n"
                f"# The name, description and set-up are this exercise's own to write.\n") + text
        if in_user_dir and "yaml-language-server" not in text:
            text = f"# yaml-language-server: $schema={SCHEMA_FILE}\n" + text
    else:
        text = SCAFFOLD.format(id=exercise_id, name=_title(exercise_id), path=dest,
                               modeline=f"# yaml-language-server: $schema={SCHEMA_FILE}\n" if in_user_dir
                               else "")
    _, problems = parse_definition_text(text, str(dest))
    if problems:  # never write something that does not load
        raise CoachError(f"the new definition would not be valid: {problems[0]}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    if in_user_dir:
        (dest.parent / SCHEMA_FILE).write_text(json.dumps(json_schema(), indent=2), encoding="utf-8")
    console.print(f"wrote [bold]{escape(str(dest))}[/]" + (f" (a copy of {from_})" if from_ else ""),
                  highlight=False, soft_wrap=True)
    console.print(f"next: edit it, then  coach exercises validate {escape(str(dest))}\n"
                  f"      coach exercises try {escape(str(dest))} --source CLIP.mp4 --plot trace.png",
                  highlight=False, soft_wrap=True)


@exercises_app.command("schema")
def schema(output: Optional[Path] = typer.Option(None, "-o", "--output", help="File to write (default: "
                                                 "print it)."),
           ) -> None:
    """Write the JSON Schema of the exercise language, so editors validate and complete YAML.

    With the YAML extension of VS Code (or any editor using yaml-language-server), put
    `# yaml-language-server: $schema=PATH/exercise.schema.json` on the first line of a definition.
    """
    from coach.exercise.schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if output is None:
        print(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    console.print(f"wrote [bold]{escape(str(output))}[/]", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------- try


def _load(ref: str, dirs) -> "object":
    """A definition from a file path (every problem printed, exit 1) or an id in the library."""
    from coach.exercise.library import get_definition
    from coach.exercise.loader import parse_definition_text

    p = Path(ref)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in ref:
        if not p.is_file():
            raise DefinitionError(f"{p}: no such file")
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DefinitionError(f"{p}: cannot read it ({exc})") from None
        d, problems = parse_definition_text(text, str(p))
        if problems:
            for pr in problems:
                err_console.print(f"[red]✗[/] {escape(str(pr))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        return d
    return get_definition(ref, dirs)


def _series_for(source: str, model: Optional[Path], variant: str, num_poses: int,
                save_recording_to: Optional[Path], use_cache: bool):
    """Keypoints of a recording, or of a video through the pose engine (cached like `eval reps`)."""
    from coach.pose.recording import is_recording, load_recording, save_recording

    if is_recording(source):
        return load_recording(source), None
    from coach.cli.common import progress_task
    from coach.app.extraction import extract_cached, extract_keypoints
    from coach.pose.models import resolve_model
    from coach.pose.engine import PoseEngine
    from coach.app.sources import open_source

    with open_source(source) as src:  # a bad source fails before any model work
        info = resolve_model(variant, model, progress=True)
        t0 = time.perf_counter()
        # transient: a cache hit reads no frame and must not leave an empty bar behind
        with progress_task(f"pose {Path(str(source)).name}", src.frame_count, transient=True) as advance:
            def on_frame(frame, pose) -> None:
                advance(f"{(frame.index + 1) / max(time.perf_counter() - t0, 1e-9):5.1f} fps")

            if use_cache and not src.is_live:
                series, cached, hit = extract_cached(src, info.path, model_variant=info.variant,
                                                     model_sha256=info.sha256, num_poses=num_poses,
                                                     on_frame=on_frame)
            else:
                with PoseEngine(info.path, num_poses=num_poses) as engine:
                    series = extract_keypoints(src, engine, model_variant=info.variant,
                                               model_sha256=info.sha256, on_frame=on_frame)
                cached, hit = None, False
    if hit:
        _print(f"keypoints from the cache: {cached}", style="dim", err=True)
        if save_recording_to is not None:
            _print(f"saved keypoints: {save_recording(save_recording_to, series)}", err=True)
        return series, None
    saved = None
    if save_recording_to is not None:
        saved = save_recording(save_recording_to, series)
        _print(f"saved keypoints: {saved} (use it as --source to iterate without the pose model)", err=True)
    else:
        _print("tip: --save-recording KEYPOINTS.npz keeps these keypoints; try again with --source "
               "KEYPOINTS.npz in a fraction of a second", style="dim", err=True)
    return series, saved


def phase_changes(result) -> list[tuple[float, str]]:
    """(time, phase) at every change of phase ("" = moving between phases)."""
    times = result.trace.times_s
    phases = result.trace.phase
    out: list[tuple[float, str]] = []
    prev = None
    for t, p in zip(list(times), list(phases)):
        if p != prev:
            out.append((float(t), str(p)))
            prev = p
    return out


def _print_try(d, result, source: str, mode: str, changes) -> None:
    from coach.devtools.trace_plot import side_words
    from coach.engine.compiled import rest_end

    tr = result.trace
    nd = 1 if d.measure_unit(tr.primary) == "deg" else 2  # decimals of the measure
    console.print(f"[bold]{escape(d.name)}[/] ({d.id}, {escape(d.source)}, hash {d.content_hash[:12]}) on "
                  f"{escape(source)}  " + escape(f"[{mode}]"), highlight=False, soft_wrap=True)
    for name in d.measures:  # the range each measure went through: the first thing to compare with thresholds
        primary = name == tr.primary
        vals = [v for v in (tr.counted if primary else tr.values.get(name, [])).tolist() if v == v]
        unit = d.measure_unit(name)
        places = 1 if unit == "deg" else 2
        side = side_words(tr.side) if primary else ""
        if primary:
            turns = {"high": "reps start at its high end and turn at its lowest value",
                     "low": "reps start at its low end and turn at its highest value"}.get(
                         rest_end(d) or "", "each rep turns at the extreme farther from where it started")
            what = f"primary: {turns}"
        else:
            fallback = d.movement.fallback
            what = (f"fallback: counted when {d.movement.measure} cannot be measured"
                    if fallback is not None and fallback.measure == name
                    else "not used by any phase or rule" if name not in d.used_measures() else "")
        span = f"{min(vals):.{places}f} … {max(vals):.{places}f} {unit}".rstrip() if vals else "never measured"
        label = f"{name} ({side})" if side else name
        _print(f"{label}: {span}" + (f"   [{what}]" if what else ""))
    if changes:
        parts = [f"{t:.2f} {p or '·'}" for t, p in changes]
        _print("phases (time s, phase; · = moving between phases):")
        line = "  "
        for part in parts:
            if len(line) + len(part) > 110:
                _print(line.rstrip(" →"))
                line = "  "
            line += part + " → "
        _print(line.rstrip(" →"))
    for nm in result.not_measurable:
        _print(f"not measurable {nm.start_s:.2f}–{nm.end_s:.2f} s: {nm.reason}", style="yellow")
    if result.rep_records:
        # reps are credited to a side only when the definition counts sides apart or credits them; else the
        # side is the measure's (printed above), not the rep's
        credited = d.movement.sides == "each" or d.movement.credit_side is not None
        t = Table(title="repetitions")
        cols = ("#", "side", "start s", "turn s", "end s", "down s", "up s", "min", "max", "ROM", "faults")
        for col in cols if credited else cols[:1] + cols[2:]:
            t.add_column(col, justify="right")
        for r in result.rep_records:
            row = [str(r.index), r.side, f"{r.start_s:.2f}", f"{r.start_s + r.eccentric_s:.2f}",
                   f"{r.end_s:.2f}", f"{r.eccentric_s:.2f}", f"{r.concentric_s:.2f}", f"{r.min_value:.{nd}f}",
                   f"{r.max_value:.{nd}f}", f"{r.range_of_motion:.{nd}f}", ", ".join(f.code for f in r.faults) or "–"]
            t.add_row(*(row if credited else row[:1] + row[2:]))
        console.print(t)
        if d.movement.min_phase_s > 0:
            _print(f"end s: when the condition of the rep's last phase began to hold; the phase list above shows "
                   f"that phase min_phase_s ({d.movement.min_phase_s:g} s) later, once it had held that long",
                   style="dim")
    for h in result.holds:
        _print(f"hold {h.start_s:.2f}–{h.end_s:.2f} s ({h.duration_s:.1f} s)")
    for f in result.faults:
        rep = f" (rep {f.rep_index})" if f.rep_index else ""
        _print(f"fault {f.time_s:.2f} s{rep}: {f.code} — \"{f.cue}\"", style="red")
    summary = f"{result.reps} reps"
    if d.movement.sides == "each" or d.movement.credit_side is not None:
        summary += f" (left {result.reps_left}, right {result.reps_right})"
    if d.movement.hold is not None:
        summary += f", held {result.hold_s:.1f} s"
    summary += f", {len(result.faults)} faults, not measurable {result.not_measurable_s:.1f} s"
    console.print(f"[bold]{escape(summary)}[/]", highlight=False)


@exercises_app.command("try")
def try_cmd(
    definition: str = typer.Argument(..., help="A definition file (.yaml), or an exercise id."),
    source: str = typer.Option(..., "--source", "-s", help="Video file, or keypoint recording (.npz)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Draw the trace (measure, thresholds, phases, "
                                        "reps, faults) into this PNG."),
    side: Optional[str] = SideOption,
    offline: bool = typer.Option(False, "--offline", help="Analyse the whole clip at once (zero-phase "
                                 "smoothing, centred range) instead of frame by frame as `workout` does."),
    save_recording_to: Optional[Path] = typer.Option(None, "--save-recording", help="Save the video's "
                                                     "keypoints (.npz) to try again without the pose model."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse/keep a video's keypoints in the user "
                               "cache (shared with `eval reps`)."),
    perturb: Optional[Perturbation] = PerturbOption,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    dirs: Optional[List[Path]] = ExtraDirsOption,
    model: Optional[Path] = ModelPathOption,
    variant: str = VariantOption,
    num_poses: int = NumPosesOption,
) -> None:
    """Run a definition on a clip or a recording: the phase trace, a per-rep table, and with --plot the
    picture of why it counted what it counted.

    By default it counts as `workout` does (causal, frame by frame). Nothing is saved to the history.

    Examples:\n
      coach exercises try my_knee.yaml --source knee.mp4 --save-recording knee.npz --plot knee.png\n
      coach exercises try my_knee.yaml --source knee.npz --plot knee.png\n
      coach exercises try my_knee.yaml --source knee.npz --perturb mirror   (same count in a mirror?)
    """
    from coach.engine.counter import count

    if side is not None and side not in ("left", "right", "both"):
        raise CoachError(f"--side must be left, right or both, not '{side}'")
    d = _load(definition, dirs or ())
    if not as_json:
        for w in d.warnings:
            _print(f"! {d.source}:{w[0]}: {w[1]}: {w[2]}", style="yellow", err=True)
    series, _ = _series_for(source, model, variant, num_poses, save_recording_to, cache)
    if len(series) == 0:
        raise CoachError(f"{source} holds no frames")
    series = perturbed(series, perturb)
    mode = "offline: whole clip" if offline else "as workout: causal, frame by frame"
    if perturb is not None:
        mode += f"; perturbed: {perturb.value}"
    result = count(d, series, side=side, offline=offline)
    changes = phase_changes(result)
    if as_json:
        out = result.to_dict()
        out.update(definition=d.source, mode="offline" if offline else "causal",
                   phase_changes=[{"time_s": round(t, 3), "phase": p} for t, p in changes])
        print(json.dumps(out, indent=2))
    else:
        _print_try(d, result, source, mode, changes)
    if plot is not None:
        from coach.devtools.trace_plot import per_side_results, plot_trace

        per_side = per_side_results(d, series, offline=offline) if d.movement.sides == "each" else None
        path = plot_trace(result, d, plot, title=f"{d.id} on {Path(source).name}", mode=mode,
                          per_side=per_side)
        (err_console if as_json else console).print(f"plot: [bold]{escape(str(path))}[/]", highlight=False,
                                                    soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(exercises_app, name="exercises")
