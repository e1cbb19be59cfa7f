"""The exercise language: pydantic models of a definition, YAML loading with line numbers, validation.

A definition is data: it is parsed and checked here before use and its conditions are parsed by
`coach.exercise.expressions` (never executed as Python). Every mistake becomes one message of the form
``file:line: field.path: what was expected, what was found; did you mean X?``.
The reference of every field is `exercises/README.md`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, \
    model_validator

from coach.errors import DefinitionError
from coach.exercise.expressions import KEYWORDS, Condition, ExpressionError, Node, parse_condition
from coach.pose.landmarks import LANDMARK_NAMES, SIDED_PARTS
from coach.engine.measures import MeasureGeometry, valid_part

_PART_NAMES = tuple(SIDED_PARTS) + tuple(LANDMARK_NAMES)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _closest(name: str, choices: Iterable[str], cutoff: float = 0.5) -> str | None:
    m = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=cutoff)
    return m[0] if m else None


def _check_part(name: str) -> str:
    if not isinstance(name, str) or not valid_part(name):
        hint = _closest(str(name), _PART_NAMES, 0.6)
        suffix = f"; did you mean '{hint}'?" if hint else ""
        raise ValueError(f"unknown landmark '{name}'{suffix} (a landmark such as 'nose' or "
                         f"'left_knee', or a sided part such as 'knee')")
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


MEASURE_KINDS = ("angle", "inclination", "distance", "height")


class MeasureSpec(_Model):
    """One measure: exactly one of angle / inclination / distance / height."""

    angle: list[str] | None = Field(None, min_length=3, max_length=3)
    inclination: list[str] | None = Field(None, min_length=2, max_length=2)
    distance: list[str] | None = Field(None, min_length=2, max_length=2)
    height: list[str] | None = Field(None, min_length=1, max_length=1)
    from_: Literal["vertical", "horizontal"] = Field("vertical", alias="from")
    axis: Literal["x", "y", "xy"] = "xy"
    per: Literal["torso", "shoulder_width", "hip_width", "thigh", "shin", "upper_arm", "forearm",
                 "none"] = "torso"
    space: Literal["2d", "3d"] = "2d"
    side: Literal["left", "right", "both", "auto"] = "auto"
    min_visibility: float | None = Field(None, ge=0.0, le=1.0)

    @field_validator("height", mode="before")
    @classmethod
    def _one_part(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("angle", "inclination", "distance", "height")
    @classmethod
    def _parts(cls, v):
        if v is not None:
            for p in v:
                _check_part(p)
        return v

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in MEASURE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none of them"
            raise ValueError(f"a measure needs exactly one of {', '.join(MEASURE_KINDS)}; found {found}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in MEASURE_KINDS if getattr(self, k) is not None)

    @property
    def geometry(self) -> MeasureGeometry:
        return MeasureGeometry(kind=self.kind, parts=tuple(getattr(self, self.kind)), space=self.space,
                               reference=self.from_, axis=self.axis, per=self.per)

    @property
    def unit(self) -> str:
        if self.kind in ("distance", "height"):
            return "" if self.per == "none" and self.space == "3d" else (
                "px" if self.per == "none" else self.per + " lengths")
        return "deg"


class PhaseSpec(_Model):
    when: str  #: condition to enter the phase
    until: str | None = None  #: condition to leave it (default: when `when` stops holding)


class RangeSpec(_Model):
    """Adaptive range: percentages in conditions are relative to the person's own recent range."""

    rest: Literal["high", "low"]
    min_span: float = Field(gt=0)
    window_s: float = Field(10.0, gt=0)
    quantile: float = Field(0.02, ge=0.0, lt=0.25)
    outlier_span: float | None = Field(None, gt=0)
    reset_after_gap_s: float = Field(1.0, ge=0.0)
    settle_s: float = Field(0.3, ge=0.0)


class HoldSpec(_Model):
    phase: str
    min_s: float = Field(1.0, ge=0)
    bridge_gap_s: float = Field(0.0, ge=0)


class CreditSide(_Model):
    measure: str
    pick: Literal["min", "max"]


class Smoothing(_Model):
    cutoff_hz: float = Field(3.0, gt=0)
    min_cutoff_hz: float = Field(1.0, gt=0)
    beta: float = Field(0.05, ge=0)
    despike_frames: int = Field(5, ge=1, le=31)


class MovementSpec(_Model):
    measure: str
    phases: dict[str, PhaseSpec] = Field(min_length=1)
    rep: list[str] | None = Field(None, min_length=2)
    hold: HoldSpec | None = None
    sides: Literal["together", "each"] = "together"
    credit_side: CreditSide | None = None
    min_phase_s: float = Field(0.1, ge=0)
    max_gap_s: float = Field(4.0, ge=0)
    min_rep_s: float = Field(0.0, ge=0)
    max_rep_s: float | None = Field(None, gt=0)
    rest_s: float | None = Field(None, gt=0)
    range: RangeSpec | None = None
    smoothing: Smoothing = Field(default_factory=Smoothing)


class FormRule(_Model):
    code: str
    check: str = "always"  #: always | at_turn | over_rep | "during PHASE"
    fail_if: str
    cue: str
    severity: Literal["info", "warning", "error"] = "warning"
    cooldown_s: float = Field(5.0, ge=0)
    breaks_hold: bool = False


class Tempo(_Model):
    eccentric_s: float | None = Field(None, gt=0)
    concentric_s: float | None = Field(None, gt=0)
    pause_s: float | None = Field(None, ge=0)


class Targets(_Model):
    reps: int | None = Field(None, ge=1)
    sets: int | None = Field(None, ge=1)
    hold_s: float | None = Field(None, gt=0)
    rom_deg: float | None = Field(None, gt=0)
    rest_between_sets_s: float | None = Field(None, ge=0)
    tempo: Tempo | None = None


class ExerciseDefinition(_Model):
    id: str
    name: str
    category: Literal["fitness", "rehab"] = "fitness"
    description: str = ""
    view: Literal["side", "front", "any"] = "any"
    setup: list[str] = Field(default_factory=list)
    version: int = Field(1, ge=1)
    min_visibility: float = Field(0.5, ge=0.0, le=1.0)
    measures: dict[str, MeasureSpec] = Field(min_length=1)
    movement: MovementSpec
    form: list[FormRule] = Field(default_factory=list)
    targets: Targets = Field(default_factory=Targets)

    _content_hash: str = PrivateAttr("")
    _source: str = PrivateAttr("")
    _conditions: dict = PrivateAttr(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"an id is lower-case letters, digits and _ starting with a letter, found '{v}'")
        return v

    @field_validator("setup", mode="before")
    @classmethod
    def _setup(cls, v):
        return [v] if isinstance(v, str) else v

    @property
    def content_hash(self) -> str:
        """sha256 of the definition file's text (stored with sessions so old results stay interpretable)."""
        return self._content_hash

    @property
    def source(self) -> str:
        return self._source

    @property
    def targets_dict(self) -> dict:
        return self.targets.model_dump(exclude_none=True)

    def condition(self, key: str) -> Condition:
        """Parsed condition by key: ``phase:NAME:when``, ``phase:NAME:until``, ``form:INDEX``."""
        return self._conditions[key]

    def measure_unit(self, name: str) -> str:
        return self.measures[name].unit


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


# ---------------------------------------------------------------- YAML with line numbers


class _Problem(Exception):
    def __init__(self, line: int | None, field: str, message: str):
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


def _compose(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text into Python data and a map from field path to line number (1-based)."""
    try:
        loader = yaml.SafeLoader(text)  # the reader checks characters already here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise _Problem(line, "", f"not valid YAML: character U+{exc.character:04X} is not allowed") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            what = exc.problem or str(exc)
            ctx = f" ({exc.context})" if exc.context else ""
            raise _Problem(line, "", f"not valid YAML: {what}{ctx}") from None
        except yaml.YAMLError as exc:
            raise _Problem(None, "", f"not valid YAML: {exc}") from None
        except RecursionError:
            raise _Problem(None, "", "not readable as a definition: nested too deeply") from None
        lines: dict[tuple, int] = {}

        def walk(n, path: tuple):
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                out = {}
                for k_node, v_node in n.value:
                    key = construct(k_node, path)
                    if not isinstance(key, (str, int, float, bool)):
                        raise _Problem(k_node.start_mark.line + 1, _dotted(path),
                                       "expected a plain name as key")
                    key = str(key) if not isinstance(key, str) else key
                    if key in out:
                        raise _Problem(k_node.start_mark.line + 1, _dotted(path + (key,)),
                                       f"'{key}' is given twice (first on line {lines[path + (key,)]})")
                    lines[path + (key,)] = k_node.start_mark.line + 1
                    out[key] = walk(v_node, path + (key,))
                return out
            if isinstance(n, yaml.SequenceNode):
                return [walk(v, path + (i,)) for i, v in enumerate(n.value)]
            return construct(n, path)

        def construct(n, path: tuple):
            try:
                return loader.construct_object(n, deep=True)
            except yaml.YAMLError as exc:
                raise _Problem(n.start_mark.line + 1, _dotted(path), f"bad value: {exc}") from None
            except (ValueError, TypeError, AttributeError, OverflowError):
                # PyYAML's constructors fail this way on a tagged scalar that is not what its tag says
                # (`!!timestamp nope`, `!!int x`)
                raise _Problem(n.start_mark.line + 1, _dotted(path),
                               f"bad value: {n.value!r} is not a valid {n.tag.rsplit(':', 1)[-1]}") from None

        try:
            data = walk(node, ()) if node is not None else None
        except RecursionError:
            raise _Problem(None, "", "not readable as a definition: nested too deeply") from None
        return data, lines
    finally:
        loader.dispose()


def _dotted(loc: Iterable) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{value!r} (true/false)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"'{value}' (text)"
    return f"{value!r} ({'a number' if isinstance(value, (int, float)) else type(value).__name__})"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class describing the mapping at `loc` (for suggesting field names)."""
    model: Any = ExerciseDefinition
    for part in loc:
        if model is None:
            return None
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = None
            for name, f in model.model_fields.items():
                if part == name or part == f.alias:
                    field = f
                    break
            if field is None:
                return None
            model = _inner_model(field.annotation)
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation):
    import typing
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for a in args:
        m = _inner_model(a)
        if m is not None:
            return m
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_for_mapping(loc: tuple) -> type[BaseModel] | None:
    """Model of the mapping at `loc`, understanding dicts of models (measures.X, movement.phases.X)."""
    if loc == ():
        return ExerciseDefinition
    if len(loc) == 2 and loc[0] == "measures":
        return MeasureSpec
    if len(loc) == 3 and loc[:2] == ("movement", "phases"):
        return PhaseSpec
    if len(loc) == 2 and loc[0] == "form" and isinstance(loc[1], int):
        return FormRule
    return _model_at(loc)


def _pydantic_problems(exc: ValidationError, lines: dict[tuple, int]) -> list[_Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        typ = err["type"]
        field = _dotted(loc)
        line = _line_for(loc, lines)
        found = err.get("input")
        if typ == "extra_forbidden":
            parent = _model_for_mapping(loc[:-1])
            names = _field_names(parent) if parent else []
            hint = _closest(str(loc[-1]), names, 0.5)
            msg = f"unknown field '{loc[-1]}'"
            msg += f"; did you mean '{hint}'?" if hint else (
                f"; expected one of: {', '.join(names)}" if names else "")
        elif typ == "missing":
            msg = f"required field '{loc[-1]}' is missing"
            line = _line_for(loc[:-1], lines)
        elif typ == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        elif typ in ("too_short", "too_long"):
            ctx = err.get("ctx", {})
            limit = ctx.get("min_length") if typ == "too_short" else ctx.get("max_length")
            what = "entries" if isinstance(found, dict) else "items"
            msg = (f"expected {'at least' if typ == 'too_short' else 'at most'} {limit} {what}, "
                   f"found {ctx.get('actual_length', len(found) if hasattr(found, '__len__') else '?')}")
        elif typ == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            hint = _closest(str(found), re.findall(r"'([^']*)'", expected), 0.4)
            msg = f"expected one of {expected}, found {_describe(found)}"
            msg += f"; did you mean '{hint}'?" if hint else ""
        else:
            m = str(err["msg"])
            m = re.sub(r"^Input should be ", "expected ", m)
            m = re.sub(r"^Input ", "expected the value to ", m)
            m = m.replace("Dictionary", "a mapping").replace("dictionary", "a mapping")
            m = m.replace("valid list", "list").replace("valid string", "text")
            msg = f"{m}, found {_describe(found)}"
        out.append(_Problem(line, field, msg))
    out.sort(key=lambda p: (p.line or 0))
    return out


# ---------------------------------------------------------------- semantic checks


def _simple_compare(node: Node) -> tuple[str, str, float, bool] | None:
    """(name, op, threshold, is_percent) when `node` is ``name OP number`` or ``number OP name``."""
    if node.kind != "cmp":
        return None
    left, right = node.args
    op = str(node.value)
    flip = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
    if left.kind == "name" and right.kind in ("num", "pct"):
        return str(left.value), op, float(right.value), right.kind == "pct"
    if right.kind == "name" and left.kind in ("num", "pct"):
        return str(right.value), flip[op], float(left.value), left.kind == "pct"
    return None


def _semantic_problems(d: ExerciseDefinition, lines: dict[tuple, int]) -> list[_Problem]:
    probs: list[_Problem] = []

    def add(loc: tuple, msg: str):
        probs.append(_Problem(_line_for(loc, lines), _dotted(loc), msg))

    names = list(d.measures)
    for n in names:
        if n in KEYWORDS or not re.match(r"^[A-Za-z_][A-Za-z_0-9]*$", n):
            add(("measures", n), f"'{n}' cannot name a measure (use letters, digits and _, not and/or/not/abs)")
    mv = d.movement
    if mv.measure not in d.measures:
        hint = _closest(mv.measure, names)
        add(("movement", "measure"), f"unknown measure '{mv.measure}'"
            + (f"; did you mean '{hint}'?" if hint else f"; measures defined: {', '.join(names)}"))
        return probs
    conds: dict[str, Condition] = {}
    pct_reported: list[bool] = []

    def parse(loc: tuple, key: str, text: str) -> Condition | None:
        try:
            c = parse_condition(text, names)
        except ExpressionError as exc:
            add(loc, f"{exc} in \"{text}\"")
            return None
        if c.uses_percent:
            if mv.range is None:
                if pct_reported:
                    return None
                pct_reported.append(True)
                add(loc, f"'%' thresholds are relative to the movement's range, but movement.range is not "
                         f"given (add e.g. range: {{rest: high, min_span: 40}}) in \"{text}\"")
                return None
        conds[key] = c
        return c

    phase_names = list(mv.phases)
    for pname, ph in mv.phases.items():
        if pname in ("moving", "rest") or not re.match(r"^[A-Za-z_][A-Za-z_0-9]*$", pname):
            add(("movement", "phases", pname), f"'{pname}' cannot name a phase (reserved or not a plain name)")
        w = parse(("movement", "phases", pname, "when"), f"phase:{pname}:when", ph.when)
        u = None
        if ph.until is not None:
            u = parse(("movement", "phases", pname, "until"), f"phase:{pname}:until", ph.until)
        if w is not None and u is not None:
            sw, su = _simple_compare(w.root), _simple_compare(u.root)
            if sw and su and sw[0] == su[0] and sw[3] == su[3]:
                name, wop, wt, pct = sw
                _, uop, ut, _ = su
                unit = "%" if pct else ""
                if (wop[0] == ">") == (uop[0] == ">"):
                    add(("movement", "phases", pname, "until"),
                        f"leaving '{pname}' must be the opposite comparison of entering it "
                        f"(when \"{ph.when}\"), found \"{ph.until}\"")
                elif wop[0] == ">" and ut >= wt:
                    add(("movement", "phases", pname, "until"),
                        f"exit threshold {ut:g}{unit} must be below the enter threshold {wt:g}{unit} "
                        f"(hysteresis: enter above {wt:g}{unit}, leave below a lower value), found "
                        f"\"{ph.until}\"")
                elif wop[0] == "<" and ut <= wt:
                    add(("movement", "phases", pname, "until"),
                        f"exit threshold {ut:g}{unit} must be above the enter threshold {wt:g}{unit} "
                        f"(hysteresis: enter below {wt:g}{unit}, leave above a higher value), found "
                        f"\"{ph.until}\"")
        if w is not None and u is None and ph.until is None:
            conds[f"phase:{pname}:until"] = Condition(f"not ({ph.when})", Node("not", None, (w.root,)))
    pct_names = {n for c in conds.values() if c.uses_percent for n in c.names}
    if mv.range is not None:
        for key, c in conds.items():
            if c.uses_percent and c.names - {mv.measure}:
                pname = key.split(":")[1]
                add(("movement", "phases", pname, key.split(":")[2]),
                    f"'%' thresholds are relative to the range of the primary measure '{mv.measure}'; "
                    f"compare only '{mv.measure}' with a percentage in \"{c.text}\"")
    del pct_names
    if mv.rep is not None:
        for i, p in enumerate(mv.rep):
            if p not in mv.phases:
                hint = _closest(p, phase_names)
                add(("movement", "rep", i), f"the rep cycle names phase '{p}', which is not defined"
                    + (f"; did you mean '{hint}'?" if hint else f"; phases: {', '.join(phase_names)}"))
        for a, b in zip(mv.rep, mv.rep[1:]):
            if a == b:
                add(("movement", "rep"), f"the rep cycle repeats '{a}' twice in a row; list each change "
                                         f"of phase once, e.g. [up, down, up]")
                break
    if mv.hold is not None and mv.hold.phase not in mv.phases:
        hint = _closest(mv.hold.phase, phase_names)
        add(("movement", "hold", "phase"), f"hold names phase '{mv.hold.phase}', which is not defined"
            + (f"; did you mean '{hint}'?" if hint else f"; phases: {', '.join(phase_names)}"))
    if mv.rep is None and mv.hold is None:
        add(("movement",), "a movement needs a rep cycle (rep: [up, down, up]) or a hold (hold: {phase: ...})")
    if mv.credit_side is not None:
        cs = mv.credit_side
        if cs.measure not in d.measures:
            hint = _closest(cs.measure, names)
            add(("movement", "credit_side", "measure"), f"unknown measure '{cs.measure}'"
                + (f"; did you mean '{hint}'?" if hint else ""))
        elif not d.measures[cs.measure].geometry.sided:
            add(("movement", "credit_side", "measure"),
                f"'{cs.measure}' has no side (it uses no left/right landmark), so it cannot tell sides apart")
    if mv.sides == "each" and not d.measures[mv.measure].geometry.sided:
        add(("movement", "sides"), f"sides: each needs a sided primary measure; '{mv.measure}' has no side")
    for i, rule in enumerate(d.form):
        check = rule.check.strip()
        if check.startswith("during"):
            rest = check[len("during"):].strip()
            if rest not in mv.phases:
                hint = _closest(rest, phase_names)
                add(("form", i, "check"), f"'during' needs a defined phase, found '{rest or 'nothing'}'"
                    + (f"; did you mean 'during {hint}'?" if hint else f"; phases: {', '.join(phase_names)}"))
        elif check not in ("always", "at_turn", "over_rep"):
            hint = _closest(check, ["always", "at_turn", "over_rep", *(f"during {p}" for p in phase_names)])
            add(("form", i, "check"), f"expected always, at_turn, over_rep or 'during PHASE', found '{check}'"
                + (f"; did you mean '{hint}'?" if hint else ""))
        parse(("form", i, "fail_if"), f"form:{i}", rule.fail_if)
    codes = [r.code for r in d.form]
    for i, c in enumerate(codes):
        if c in codes[:i]:
            add(("form", i, "code"), f"fault code '{c}' is used by two rules; codes must be unique")
    d._conditions = conds
    return probs


# ---------------------------------------------------------------- every problem, not only the first
#
# pydantic stops at field errors: the rules of the movement are not checked while a measure has an unknown
# landmark. To report every independent mistake of a file at once, the invalid values of a copy of the data
# are replaced (by their default, or by a neutral placeholder) and the copy is validated again; what the
# repaired copy still gets wrong is reported too, except problems about the replaced fields themselves.

#: neutral stand-ins for required values that were missing or invalid (never reported, never used)
_PLACEHOLDERS: dict[str, Any] = {"id": "placeholder", "name": "placeholder", "rest": "high", "min_span": 30.0,
                                 "pick": "min", "when": "1 > 0", "fail_if": "1 > 0", "cue": "",
                                 "range": {"rest": "high", "min_span": 30.0}}
_PLACEHOLDER_PART = "shoulder"


def _clean_loc(loc) -> tuple:
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _at(data: Any, loc: tuple) -> Any:
    for part in loc:
        data = data[part]
    return data


def _repair(work: dict, err: dict) -> bool:
    """Replace the value an error is about in `work` (in place); False when it cannot be done."""
    loc = _clean_loc(err["loc"])
    typ = err["type"]
    try:
        if len(loc) == 3 and loc[0] == "measures" and loc[2] in MEASURE_KINDS and typ == "value_error":
            parts = _at(work, loc)
            fixed = ([p if isinstance(p, str) and valid_part(p) else _PLACEHOLDER_PART for p in parts]
                     if isinstance(parts, list) else [_PLACEHOLDER_PART])
            if fixed != parts:
                _at(work, loc[:-1])[loc[-1]] = fixed
                return True
        for k in range(len(loc), 0, -1):
            key, parent_loc = loc[k - 1], loc[:k - 1]
            parent = _at(work, parent_loc)
            if isinstance(parent, list):
                if parent_loc == ("form",) and isinstance(key, int) and k < len(loc) + 1:
                    parent[key] = {"code": f"__placeholder_{key}", "fail_if": "1 > 0", "cue": ""}
                    return True
                continue
            if not isinstance(parent, dict):
                continue
            if typ == "missing" and k == len(loc):
                if key in _PLACEHOLDERS:
                    parent[key] = copy.deepcopy(_PLACEHOLDERS[key])
                    return True
                if key == "code":
                    parent[key] = f"__placeholder_{id(parent)}"
                    return True
                continue
            if parent_loc == ("measures",):
                parent[key] = {"height": [_PLACEHOLDER_PART]}
                return True
            if parent_loc == ("movement", "phases"):
                parent[key] = {"when": "1 > 0"}
                return True
            if key in _PLACEHOLDERS:
                if parent.get(key) == _PLACEHOLDERS[key]:
                    return False
                parent[key] = copy.deepcopy(_PLACEHOLDERS[key])
                return True
            model = _model_for_mapping(parent_loc)
            if model is None:
                continue
            field = next((f for n, f in model.model_fields.items() if key in (n, f.alias)), None)
            if (field is None or not field.is_required()) and key in parent:  # unknown, or has a default
                del parent[key]
                return True
    except (KeyError, IndexError, TypeError):
        return False
    return False


def _validate_all(data: dict, lines: dict[tuple, int]) -> tuple[list[_Problem], ExerciseDefinition | None]:
    """(problems found by the models, a definition validated from a repaired copy or None)."""
    import copy

    work = copy.deepcopy(data)
    found: list[_Problem] = []
    seen: set = set()
    for _ in range(10):
        try:
            d = ExerciseDefinition.model_validate(work)
        except ValidationError as exc:
            for p in _pydantic_problems(exc, lines):
                if (p.line, p.field, p.message) not in seen:
                    seen.add((p.line, p.field, p.message))
                    found.append(p)
            changed = [_repair(work, e) for e in exc.errors(include_url=False)]
            if not any(changed):
                return found, None
            continue
        return found, d
    return found, None


def _related(a: str, b: str) -> bool:
    """True when one dotted field path is the other or contains it."""
    def under(x: str, y: str) -> bool:
        return x == y or x.startswith((y + ".", y + "["))
    return under(a, b) or under(b, a)


def parse_definition_text(text: str, source: str = "<text>") -> tuple[ExerciseDefinition | None,
                                                                         list[DefinitionProblem]]:
    """Parse and validate a definition; returns (definition or None, problems)."""
    def prob(p: _Problem) -> DefinitionProblem:
        return DefinitionProblem(source, p.line, p.field, p.message)

    try:
        data, lines = _compose(text)
    except _Problem as p:
        return None, [prob(p)]
    if not isinstance(data, dict):
        return None, [DefinitionProblem(source, 1, "", f"expected a mapping of fields (id: ..., name: ...), "
                                                       f"found {_describe(data)}")]
    found, d = _validate_all(data, lines)
    if found:
        if d is not None:  # a repaired copy validated: its semantic problems are independent ones too
            found += [p for p in _semantic_problems(d, lines)
                      if not any(_related(p.field, q.field) for q in found)]
        found.sort(key=lambda p: (p.line or 0))
        return None, [prob(p) for p in found]
    sem = _semantic_problems(d, lines)
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
                line = _line_for(("id",), _compose(text)[1])
                problems.append(DefinitionProblem(str(f), line, "id",
                                                  f"id '{d.id}' is already used by {seen[d.id]}"))
            else:
                seen[d.id] = str(f)
    return problems


# ---------------------------------------------------------------- JSON Schema for editors

#: Field descriptions shown by editors (hover, completion); the reference is exercises/README.md.
_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "ExerciseDefinition": {
        "id": "Identifier: lower-case letters, digits and _, starting with a letter. Name the file <id>.yaml.",
        "name": "Name shown to people.",
        "category": "fitness or rehab.",
        "description": "One or two sentences about the exercise.",
        "view": "The camera view the exercise needs (side, front, any); used in 'not measurable' reasons.",
        "setup": "Instructions shown before the set starts (text or a list of lines).",
        "version": "Bump when you change the meaning; sessions also store the file's sha256.",
        "min_visibility": "Landmarks seen less than this (0-1) give 'not measurable', never a guessed value.",
        "measures": "Named measures: joint angles, inclinations, distances, heights. Names are used in "
                    "conditions.",
        "movement": "The primary measure, phases with enter/exit conditions, and the phase order of one rep "
                    "(or a hold).",
        "form": "Form rules: a condition meaning bad form, when it is checked, and a short cue.",
        "targets": "Default targets (a therapist can override them per patient).",
    },
    "MeasureSpec": {
        "angle": "[a, b, c]: angle at b between b->a and b->c, degrees 0-180 (180 = straight).",
        "inclination": "[a, b]: angle of the segment a->b; from vertical (0 = b straight above a) or "
                       "horizontal (elevation of b over a, -90..90).",
        "distance": "[a, b]: axis y: height of b above a; axis x: horizontal gap; xy: straight-line "
                    "distance; divided by the body length 'per'.",
        "height": "a: how high a landmark is in the picture, in body lengths ('per'); use with a range.",
        "from": "For inclination: vertical (default) or horizontal.",
        "axis": "For distance: x, y or xy (default).",
        "per": "Body length distances and heights are divided by (none = pixels, or metres in 3d).",
        "space": "2d: image pixels; 3d: the model's metric world landmarks (angles change less with the "
                 "camera angle).",
        "side": "For sided parts (knee, wrist...): left, right, both (average) or auto (the side that "
                "moves).",
        "min_visibility": "Per-measure visibility threshold (default: the definition's).",
    },
    "PhaseSpec": {
        "when": "Condition to enter the phase, e.g. \"knee < 35%\" or \"knee < 100\".",
        "until": "Condition to leave it, the opposite comparison a little apart (hysteresis), e.g. "
                 "\"knee > 50%\". Default: when 'when' stops holding.",
    },
    "RangeSpec": {
        "rest": "The end of the range where reps start: high or low.",
        "min_span": "The range is never narrower than this (in the measure's unit).",
        "window_s": "Seconds of movement the range is learned over (at least one slow rep).",
        "quantile": "Fraction ignored at each end of the window (brief outliers).",
        "outlier_span": "Values this far beyond the window's quartiles are implausible (not measurable).",
        "reset_after_gap_s": "After this long without a value the range is learned afresh (0 = never).",
        "settle_s": "After such a gap, the first seconds of values are not trusted.",
    },
    "HoldSpec": {
        "phase": "The phase whose time is the hold.",
        "min_s": "A stretch shorter than this is not a hold.",
        "bridge_gap_s": "Interruptions shorter than this do not end the hold.",
    },
    "CreditSide": {
        "measure": "A sided measure compared at each rep's turning point.",
        "pick": "min or max: the side credited with the rep.",
    },
    "Smoothing": {
        "cutoff_hz": "Offline zero-phase low-pass cut-off.",
        "min_cutoff_hz": "Live One-Euro minimum cut-off (lag about 1/(2*pi*min_cutoff_hz) s when still).",
        "beta": "Live One-Euro speed coefficient.",
        "despike_frames": "Running median window, frames.",
    },
    "MovementSpec": {
        "measure": "The primary measure: reps' min/max/range of motion and turning point are of this.",
        "phases": "Named phases, each {when, until}. 'moving' and 'rest' are reserved.",
        "rep": "The phase order that makes one repetition, e.g. [up, down, up].",
        "hold": "Time spent in a phase is the hold: {phase, min_s, bridge_gap_s}.",
        "sides": "together (default) or each: follow left and right separately, reps counted per side.",
        "credit_side": "For sides: together, credit each rep to the side whose measure is smaller/larger.",
        "min_phase_s": "Dwell: a phase is entered only after its 'when' held this long (seconds).",
        "max_gap_s": "A stretch not measurable for longer than this abandons the rep in progress.",
        "min_rep_s": "Reps shorter than this are not counted.",
        "max_rep_s": "Reps longer than this are not counted.",
        "rest_s": "No change of phase for this long outside a hold is a rest.",
        "range": "Adaptive range for '%' thresholds: {rest: high|low, min_span, ...}.",
        "smoothing": "Filter settings.",
    },
    "FormRule": {
        "code": "Stable fault identifier, unique in the file.",
        "check": "When it is checked: always, at_turn, over_rep, or 'during PHASE'.",
        "fail_if": "Condition that means bad form, e.g. \"trunk_lean > 45\".",
        "cue": "Short instruction shown to the person.",
        "severity": "info, warning or error.",
        "cooldown_s": "The cue is not repeated within this time.",
        "breaks_hold": "While failing, hold time does not count.",
    },
    "Tempo": {"eccentric_s": "Seconds moving away from the start.",
              "concentric_s": "Seconds moving back.", "pause_s": "Seconds paused at the turn."},
    "Targets": {"reps": "Reps per set.", "sets": "Sets.", "hold_s": "Seconds to hold.",
                "rom_deg": "Range of motion of the primary measure.",
                "rest_between_sets_s": "Rest between sets, seconds.", "tempo": "Tempo targets."},
}


def json_schema() -> dict:
    """A JSON Schema (draft 2020-12) of the exercise language, for editors (validation, completion).

    Made from the pydantic models, with the descriptions above, landmark names as completions, and the
    short forms the loader accepts (``height: ankle``, ``setup: one line``). It checks the shape; the
    loader's own checks (conditions, phase names, hysteresis) are `coach exercises validate`'s.
    """
    schema = ExerciseDefinition.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    models = dict(defs)
    models["ExerciseDefinition"] = schema
    for name, props in _DESCRIPTIONS.items():
        for field, text in props.items():
            p = models[name].get("properties", {}).get(field)
            if p is not None:
                p["description"] = text
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "coach exercise definition"
    schema["description"] = ("An exercise for coach: what to measure, the phases of one repetition, form "
                             "rules and targets. Reference: exercises/README.md.")
    schema["properties"]["id"]["pattern"] = _ID.pattern
    setup = schema["properties"]["setup"]
    schema["properties"]["setup"] = {"anyOf": [{"type": "string"}, {k: v for k, v in setup.items()
                                                                   if k != "description"}],
                                     "default": [], "description": setup.get("description", "")}
    part = {"type": "string", "enum": sorted(_PART_NAMES)}
    ms = defs["MeasureSpec"]
    for kind in MEASURE_KINDS:
        p = ms["properties"][kind]
        for alt in p.get("anyOf", []):
            if alt.get("type") == "array":
                alt["items"] = part
        if kind == "height":
            p["anyOf"].insert(0, part)
    ms["oneOf"] = [{"required": [k], "properties": {o: {"type": "null"} for o in MEASURE_KINDS if o != k}}
                   for k in MEASURE_KINDS]
    name_pattern = "^[A-Za-z_][A-Za-z_0-9]*$"
    schema["properties"]["measures"]["propertyNames"] = {"pattern": name_pattern}
    defs["MovementSpec"]["properties"]["phases"]["propertyNames"] = {
        "pattern": name_pattern, "not": {"enum": ["moving", "rest"]}}
    defs["FormRule"]["properties"]["check"]["pattern"] = r"^\s*(always|at_turn|over_rep|during\s+\S+)\s*$"
    defs["FormRule"]["properties"]["check"]["examples"] = ["always", "at_turn", "over_rep", "during down"]
    return schema
