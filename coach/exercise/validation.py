"""Checking a definition's data: pydantic's errors turned into one sentence per mistake (at its line, with
the closest valid name), the checks pydantic cannot make (conditions, phase names, hysteresis, the rep
cycle), and the repair that lets every independent mistake of a file be reported at once."""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from coach.exercise.expressions import KEYWORDS, Condition, ExpressionError, Node, parse_condition
from coach.exercise.spec import (MEASURE_KINDS, ExerciseDefinition, FormRule, MeasureSpec, PhaseSpec, closest_name,
                                 valid_part)
from coach.exercise.yaml_source import Problem, dotted, line_for


def _did_you_mean(name: str, known: list[str], otherwise: str = "") -> str:
    """"; did you mean 'x'?" for the known name closest to a misspelt `name`, else `otherwise`."""
    hint = closest_name(name, known)
    return f"; did you mean '{hint}'?" if hint else otherwise


def describe(value: Any) -> str:
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


#: pydantic error types about a value of the wrong kind -> what was expected, in words
_TYPE_WORDS = {"int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
               "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
               "bool_parsing": "true or false", "bool_type": "true or false", "string_type": "text",
               "list_type": "a list, e.g. [a, b]", "dict_type": "a mapping of fields (name: value)"}
#: pydantic error types about a number out of bounds -> (words, key of the bound in the error's context)
_BOUND_WORDS = {"greater_than": ("greater than", "gt"), "greater_than_equal": ("greater than or equal to", "ge"),
                "less_than": ("less than", "lt"), "less_than_equal": ("less than or equal to", "le")}


def _example(loc: tuple, typ: str) -> str:
    """`field: value` to show the right way of writing a number or true/false at `loc` ("" if unknown)."""
    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return ""
    if typ.startswith("bool"):
        return f"{key}: true"
    if not typ.startswith(("int", "float", "finite")):
        return ""
    model = _model_for_mapping(loc[:-1])
    field = None if model is None else next((f for n, f in model.model_fields.items() if key in (n, f.alias)), None)
    value = None if field is None else field.default
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = 10 if typ.startswith("int") else 1
    return f"{key}: {value:g}" if isinstance(value, float) else f"{key}: {value}"


def _pydantic_problems(exc: ValidationError, lines: dict[tuple, int]) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        typ = err["type"]
        field = dotted(loc)
        line = line_for(loc, lines)
        found = err.get("input")
        if typ == "extra_forbidden":
            parent = _model_for_mapping(loc[:-1])
            names = _field_names(parent) if parent else []
            hint = closest_name(str(loc[-1]), names, 0.5)
            msg = f"unknown field '{loc[-1]}'"
            msg += f"; did you mean '{hint}'?" if hint else (
                f"; expected one of: {', '.join(names)}" if names else "")
        elif typ == "missing":
            msg = f"required field '{loc[-1]}' is missing"
            line = line_for(loc[:-1], lines)
        elif typ == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        elif typ in ("too_short", "too_long"):
            ctx = err.get("ctx", {})
            limit = ctx.get("min_length") if typ == "too_short" else ctx.get("max_length")
            what = "entries" if isinstance(found, dict) else "items"
            msg = (f"expected {'at least' if typ == 'too_short' else 'at most'} {limit} {what}, "
                   f"found {ctx.get('actual_length', len(found) if hasattr(found, '__len__') else '?')}")
        elif typ in _TYPE_WORDS:
            msg = f"expected {_TYPE_WORDS[typ]}, found {describe(found)}"
            example = _example(loc, typ)
            msg += f"; write e.g. {example}" if example else ""
        elif typ in _BOUND_WORDS:
            words, key = _BOUND_WORDS[typ]
            msg = f"expected a number {words} {err.get('ctx', {}).get(key)}, found {describe(found)}"
        elif typ == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            hint = closest_name(str(found), re.findall(r"'([^']*)'", expected), 0.4)
            msg = f"expected one of {expected}, found {describe(found)}"
            msg += f"; did you mean '{hint}'?" if hint else ""
        else:
            m = str(err["msg"])
            m = re.sub(r"^Input should be ", "expected ", m)
            m = re.sub(r"^Input ", "expected the value to ", m)
            m = m.replace("Dictionary", "a mapping").replace("dictionary", "a mapping")
            m = m.replace("valid list", "list").replace("valid string", "text")
            msg = f"{m}, found {describe(found)}"
        out.append(Problem(line, field, msg))
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


def _percent_outside_range(node: Node) -> float | None:
    """The first ``N%`` of an expression outside 0..100 (a threshold the range never reaches), else None."""
    if node.kind == "pct" and not 0.0 <= float(node.value) <= 100.0:
        return float(node.value)
    if node.kind == "neg" and node.args[0].kind == "pct" and float(node.args[0].value) > 0:
        return -float(node.args[0].value)
    for arg in node.args:
        found = _percent_outside_range(arg)
        if found is not None:
            return found
    return None


def semantic_problems(d: ExerciseDefinition, lines: dict[tuple, int]) -> list[Problem]:
    probs: list[Problem] = []

    def add(loc: tuple, msg: str):
        probs.append(Problem(line_for(loc, lines), dotted(loc), msg))

    names = list(d.measures)
    for n in names:
        if n in KEYWORDS or not re.match(r"^[A-Za-z_][A-Za-z_0-9]*$", n):
            add(("measures", n), f"'{n}' cannot name a measure (use letters, digits and _, not and/or/not/abs)")
    mv = d.movement
    if mv.measure not in d.measures:
        add(("movement", "measure"), f"unknown measure '{mv.measure}'"
            + _did_you_mean(mv.measure, names, f"; measures defined: {', '.join(names)}"))
        return probs
    conds: dict[str, Condition] = {}
    pct_reported: list[bool] = []

    def parse(loc: tuple, key: str, text: str) -> Condition | None:
        try:
            c = parse_condition(text, names)
        except ExpressionError as exc:
            add(loc, f"\"{text}\": {exc}")
            return None
        if c.uses_percent:
            if mv.range is None:
                if pct_reported:
                    return None
                pct_reported.append(True)
                add(loc, f"'%' thresholds are relative to the movement's range, but movement.range is not "
                         f"given (add e.g. range: {{rest: high, min_span: 40}}) in \"{text}\"")
                return None
            outside = _percent_outside_range(c.root)
            if outside is not None:
                add(loc, f"a range percentage is from 0% (the lowest value of the movement) to 100% (the "
                         f"highest); {outside:g}% is outside it, so \"{text}\" is always or never true")
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
                add(("movement", "rep", i), f"the rep cycle names phase '{p}', which is not defined"
                    + _did_you_mean(p, phase_names, f"; phases: {', '.join(phase_names)}"))
        for a, b in zip(mv.rep, mv.rep[1:]):
            if a == b:
                add(("movement", "rep"), f"the rep cycle repeats '{a}' twice in a row; list each change "
                                         f"of phase once, e.g. [up, down, up]")
                break
    if mv.hold is not None and mv.hold.phase not in mv.phases:
        add(("movement", "hold", "phase"), f"hold names phase '{mv.hold.phase}', which is not defined"
            + _did_you_mean(mv.hold.phase, phase_names, f"; phases: {', '.join(phase_names)}"))
    if mv.rep is None and mv.hold is None:
        add(("movement",), "a movement needs a rep cycle (rep: [up, down, up]) or a hold (hold: {phase: ...})")
    if mv.credit_side is not None:
        cs = mv.credit_side
        if cs.measure not in d.measures:
            add(("movement", "credit_side", "measure"), f"unknown measure '{cs.measure}'"
                + _did_you_mean(cs.measure, names))
        elif not d.measures[cs.measure].sided:
            add(("movement", "credit_side", "measure"),
                f"'{cs.measure}' has no side (it uses no left/right landmark), so it cannot tell sides apart")
    if mv.fallback is not None:
        fb = mv.fallback
        if fb.measure not in d.measures:
            add(("movement", "fallback", "measure"), f"unknown measure '{fb.measure}'"
                + _did_you_mean(fb.measure, names))
        elif fb.measure == mv.measure:
            add(("movement", "fallback", "measure"), "the fallback must be another measure than the primary one")
        if mv.range is None:
            add(("movement", "fallback"), "a fallback is counted in its own range, so it needs movement.range "
                                          "(and '%' thresholds), e.g. range: {rest: high, min_span: 40}")
    if mv.sides == "each" and not d.measures[mv.measure].sided:
        add(("movement", "sides"), f"sides: each needs a sided primary measure; '{mv.measure}' has no side")
    for i, rule in enumerate(d.form):
        check = rule.check.strip()
        if check.startswith("during"):
            rest = check[len("during"):].strip()
            if rest not in mv.phases:
                hint = closest_name(rest, phase_names)
                add(("form", i, "check"), f"'during' needs a defined phase, found '{rest or 'nothing'}'"
                    + (f"; did you mean 'during {hint}'?" if hint else f"; phases: {', '.join(phase_names)}"))
        elif check not in ("always", "at_turn", "over_rep"):
            add(("form", i, "check"), f"expected always, at_turn, over_rep or 'during PHASE', found '{check}'"
                + _did_you_mean(check, ["always", "at_turn", "over_rep", *(f"during {p}" for p in phase_names)]))
        parse(("form", i, "fail_if"), f"form:{i}", rule.fail_if)
    codes = [r.code for r in d.form]
    for i, c in enumerate(codes):
        if c in codes[:i]:
            add(("form", i, "code"), f"fault code '{c}' is used by two rules; codes must be unique")
    d._conditions = conds
    return probs


# ---------------------------------------------------------------- warnings: allowed, probably a mistake


def _band_text(lo: float, hi: float, unit: str) -> str:
    if lo == float("-inf"):
        return f"below {hi:g}{unit}"
    if hi == float("inf"):
        return f"above {lo:g}{unit}"
    return f"between {lo:g}{unit} and {hi:g}{unit}"


def definition_warnings(d: ExerciseDefinition, lines: dict[tuple, int]) -> list[Problem]:
    """What a valid definition says that is probably not meant: a measure nothing uses, phases whose
    `when` thresholds overlap (a value between them enters both), a `range.rest` that the phases
    contradict (reps would be counted from the wrong end)."""
    out: list[Problem] = []

    def add(loc: tuple, msg: str):
        out.append(Problem(line_for(loc, lines), dotted(loc), msg))

    mv = d.movement
    used = d.used_measures()
    for name in d.measures:
        if name not in used:
            add(("measures", name), f"measure '{name}' is not used by any phase or form rule (keep it only to "
                                    f"look at it in `exercises try --plot`; otherwise remove it)")
    pct = mv.range is not None
    unit = "%" if pct else ""
    bands = {}
    for p in mv.phases:
        c = d._conditions.get(f"phase:{p}:when")
        b = None if c is None else c.band(mv.measure, percent=pct)
        if b is not None:
            bands[p] = b
    names = list(bands)
    for i, p in enumerate(names):
        for q in names[:i]:
            (lp, hp), (lq, hq) = bands[p], bands[q]
            lo, hi = max(lp, lq), min(hp, hq)
            if lo < hi:
                add(("movement", "phases", p, "when"),
                    f"phases '{q}' ({mv.measure} {_band_text(lq, hq, unit)}) and '{p}' ({mv.measure} "
                    f"{_band_text(lp, hp, unit)}) overlap {_band_text(lo, hi, unit)}: a value there enters "
                    f"both; keep their thresholds apart")
    if mv.range is not None and mv.rep:
        by_phases = d.rest_from_phases()
        if by_phases is not None and by_phases != mv.range.rest:
            first = mv.rep[0]
            add(("movement", "range", "rest"),
                f"rest: {mv.range.rest}, but the rep starts in '{first}' ({d.movement.phases[first].when}), at the "
                f"{by_phases} end of the other phases of the rep: the range would be widened from the wrong end "
                f"and each rep turn at its start; write rest: {by_phases}")
    return out


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


#: a part of a pydantic error location that names a type tried ("list[str]", "function-after[_one(), ...]"),
#: not a field of the definition
_TAG = re.compile(r"^[A-Za-z_-]+\[.*\]$", re.S)


def _clean_loc(loc) -> tuple:
    """A pydantic error location as the path of the field in the definition (type tags left out; a key the
    author wrote, such as 'movement[', stays)."""
    return tuple(p for p in loc if not (isinstance(p, str) and _TAG.match(p)))


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


def validate_all(data: dict, lines: dict[tuple, int]) -> tuple[list[Problem], ExerciseDefinition | None]:
    """(problems found by the models, a definition validated from a repaired copy or None)."""
    import copy

    work = copy.deepcopy(data)
    found: list[Problem] = []
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
