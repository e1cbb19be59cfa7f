"""Conditions in exercise definitions: a tiny, safe expression language (never Python's eval).

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | compare
    compare    := sum (("<" | "<=" | ">" | ">=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER ["%"] | NAME | "abs" "(" sum ")" | "(" expr ")"

NAME is a measure of the definition. ``NUMBER%`` is a percentage of the movement's range (see
`exercises/README.md`, "Adaptive range"): 0% is the lowest value of the primary measure's current range,
100% the highest.

Evaluation is vectorised: names map to numpy arrays (or floats) and every comparison involving NaN is
False, so a condition over an unmeasurable value never fires.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

#: Names the evaluation environment uses for the low and high ends of the adaptive range.
RANGE_LO = "__range_lo"
RANGE_HI = "__range_hi"

KEYWORDS = frozenset({"and", "or", "not", "abs"})

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
                    r"|(?P<op><=|>=|==|!=|[<>+\-*/()%]))")


class ExpressionError(ValueError):
    """A condition that does not parse or names something unknown. `str()` is the full message."""


@dataclass(frozen=True)
class Node:
    kind: str  #: num, pct, name, neg, abs, bin, cmp, and, or, not
    value: object = None
    args: tuple["Node", ...] = ()

    @property
    def is_bool(self) -> bool:
        return self.kind in ("cmp", "and", "or", "not")


def _equals_hint(text: str, at: int) -> str:
    """What to write instead of an '=' at `at` in a condition ("hip = 90", "hip => 90")."""
    two = text[at:at + 2]
    if two in ("=>", "=<"):
        fixed = text[:at] + two[::-1] + text[at + 2:]
        return f"'{two}' is written '{two[::-1]}': \"{fixed}\""
    fixed = text[:at] + ">=" + text[at + 1:]
    return (f"'=' is not a comparison: write <, >, <= or >= (a measure is never exactly equal to a number), "
            f"e.g. \"{fixed}\"")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        text_stripped = text.rstrip()
        while pos < len(text_stripped):
            m = _TOKEN.match(text_stripped, pos)
            if not m or m.end() == pos:
                at = pos + len(text_stripped[pos:]) - len(text_stripped[pos:].lstrip())
                bad = text_stripped[at:at + 1]
                if bad == "=":
                    raise ExpressionError(_equals_hint(text_stripped, at))
                raise ExpressionError(f"unexpected character '{bad}' at position {at + 1}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("the condition ends too early")
        self.i += 1
        return tok

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[1] == value and tok[0] in ("op", "name"):
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("the condition is empty")
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise ExpressionError(f"unexpected '{tok[1]}' at position {tok[2] + 1}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("or"):
            node = Node("or", None, (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("and"):
            node = Node("and", None, (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.accept("not"):
            return Node("not", None, (self.not_(),))
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("<", "<=", ">", ">=", "==", "!="):
            if tok[1] in ("==", "!="):
                raise ExpressionError(f"'{tok[1]}' is not a comparison you can use: a measure is never exactly "
                                      f"equal to a number; write <, >, <= or >=")
            self.i += 1
            right = self.sum_()
            return Node("cmp", tok[1], (left, right))
        return left

    def sum_(self) -> Node:
        node = self.product()
        while True:
            tok = self.peek()
            if tok is not None and tok[0] == "op" and tok[1] in "+-" and len(tok[1]) == 1:
                self.i += 1
                node = Node("bin", tok[1], (node, self.product()))
            else:
                return node

    def product(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok is not None and tok[0] == "op" and tok[1] in ("*", "/"):
                self.i += 1
                node = Node("bin", tok[1], (node, self.unary()))
            else:
                return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Node("neg", None, (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            if self.accept("%"):
                return Node("pct", float(value))
            return Node("num", float(value))
        if kind == "name":
            if value == "abs":
                if not self.accept("("):
                    raise ExpressionError("abs must be followed by '('")
                inner = self.sum_()
                if not self.accept(")"):
                    raise ExpressionError("missing ')' after abs(...")
                return Node("abs", None, (inner,))
            if value in KEYWORDS:
                raise ExpressionError(f"'{value}' at position {pos + 1} needs a condition before it")
            return Node("name", value)
        if value == "(":
            inner = self.or_()
            if not self.accept(")"):
                raise ExpressionError("missing ')'")
            return inner
        raise ExpressionError(f"unexpected '{value}' at position {pos + 1}")


def _check_types(node: Node, want_bool: bool) -> None:
    if want_bool and not node.is_bool:
        raise ExpressionError("expected a condition such as 'knee > 160', found a value")
    if not want_bool and node.is_bool:
        raise ExpressionError("expected a value, found a condition")
    if node.kind in ("and", "or", "not"):
        for a in node.args:
            _check_types(a, True)
    elif node.kind in ("cmp", "bin", "neg", "abs"):
        for a in node.args:
            _check_types(a, False)


def names_in(node: Node) -> set[str]:
    """Measure names used by an expression."""
    if node.kind == "name":
        return {str(node.value)}
    out: set[str] = set()
    for a in node.args:
        out |= names_in(a)
    return out


def uses_percent(node: Node) -> bool:
    """True when the expression uses a range percentage (``60%``)."""
    return node.kind == "pct" or any(uses_percent(a) for a in node.args)


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def compares(node: Node, name: str):
    """(op, threshold, is_percent) of every plain comparison of measure `name` with a number joined by
    ``and`` in a condition, the measure on the left ("140 > hip" gives ("<", 140.0, False)). Comparisons
    under ``or``, ``not`` or arithmetic do not bound the value and are left out."""
    if node.kind == "cmp":
        a, b = node.args
        if a.kind == "name" and a.value == name and b.kind in ("num", "pct"):
            yield str(node.value), float(b.value), b.kind == "pct"
        elif b.kind == "name" and b.value == name and a.kind in ("num", "pct"):
            yield _FLIP[str(node.value)], float(a.value), a.kind == "pct"
    elif node.kind == "and":
        for arg in node.args:
            yield from compares(arg, name)


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition; call `evaluate(env)` with measure values (arrays or floats)."""

    text: str
    root: Node

    @property
    def names(self) -> set[str]:
        return names_in(self.root)

    @property
    def uses_percent(self) -> bool:
        return uses_percent(self.root)

    def band(self, name: str, percent: bool = False) -> tuple[float, float] | None:
        """(lowest, highest) value of measure `name` for which the condition can hold, read from its plain
        comparisons with numbers (with percentages when `percent`): (-inf, 140) for "hip < 140"; None when
        it has none."""
        lo, hi = float("-inf"), float("inf")
        found = False
        for op, value, pct in compares(self.root, name):
            if pct != percent:
                continue
            found = True
            if op in ("<", "<="):
                hi = min(hi, value)
            else:
                lo = max(lo, value)
        return (lo, hi) if found else None

    def evaluate(self, env: Mapping[str, object]):
        """Boolean array (or bool) of where the condition holds; NaN compares False."""
        return _eval(self.root, env)

    def compile(self) -> Callable[[Mapping[str, object]], object]:
        """A closure evaluating the condition (faster than walking the tree for per-frame use)."""
        return _compile(self.root)

    def thresholds(self, name: str) -> list[tuple[str, Node]]:
        """The comparisons of measure `name` alone with something else: (operator as if `name` were on the
        left, the other side), e.g. "knee < 35%" -> [("<", 35%)]. Evaluate the other side with `evaluate_node`."""
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
        out = []

        def walk(node: Node) -> None:
            if node.kind == "cmp":
                a, b = node.args
                if a.kind == "name" and a.value == name and name not in names_in(b):
                    out.append((node.value, b))
                elif b.kind == "name" and b.value == name and name not in names_in(a):
                    out.append((flip[node.value], a))
            for arg in node.args:
                walk(arg)

        walk(self.root)
        return out


def evaluate_node(node: Node, env: Mapping[str, object]):
    """The value of a (non-boolean) expression node in `env` (see `Condition.thresholds`)."""
    return _eval(node, env)


def parse_condition(text: str, known_names: Iterable[str] | None = None) -> Condition:
    """Parse `text` as a condition. Raises ExpressionError with a precise reason.

    When `known_names` is given, every name must be one of them (the closest is suggested).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected a condition as text, e.g. \"knee > 160\", found {text!r}")
    root = _Parser(text).parse()
    _check_types(root, True)
    if known_names is not None:
        known = list(known_names)
        for name in sorted(names_in(root)):
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
                suffix = f"; did you mean '{hint[0]}'?" if hint else (
                    f"; measures defined: {', '.join(known)}" if known else "; no measures are defined")
                raise ExpressionError(f"unknown measure '{name}'{suffix}")
    return Condition(text, root)


_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def _eval(node: Node, env: Mapping[str, object]):
    k = node.kind
    if k == "num":
        return node.value
    if k == "name":
        return env[node.value]
    if k == "pct":
        lo = env[RANGE_LO]
        return lo + (env[RANGE_HI] - lo) * (node.value / 100.0)
    if k == "neg":
        return -_eval(node.args[0], env)
    if k == "abs":
        return np.abs(_eval(node.args[0], env))
    if k == "bin":
        a, b = _eval(node.args[0], env), _eval(node.args[1], env)
        if node.value == "+":
            return a + b
        if node.value == "-":
            return a - b
        if node.value == "*":
            return a * b
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(a, b)
    if k == "cmp":
        with np.errstate(invalid="ignore"):
            return _CMP[node.value](_eval(node.args[0], env), _eval(node.args[1], env))
    if k == "and":
        return np.logical_and(_eval(node.args[0], env), _eval(node.args[1], env))
    if k == "or":
        return np.logical_or(_eval(node.args[0], env), _eval(node.args[1], env))
    if k == "not":
        return np.logical_not(_eval(node.args[0], env))
    raise AssertionError(k)


def _compile(node: Node) -> Callable:
    """Scalar closures for the per-frame (live) path; NaN compares False as in Python floats."""
    import operator

    k = node.kind
    if k == "num":
        v = node.value
        return lambda env: v
    if k == "name":
        name = node.value
        return lambda env: env[name]
    if k == "pct":
        p = node.value / 100.0
        return lambda env: env[RANGE_LO] + (env[RANGE_HI] - env[RANGE_LO]) * p
    a = [_compile(x) for x in node.args]
    if k == "neg":
        return lambda env: -a[0](env)
    if k == "abs":
        return lambda env: abs(a[0](env))
    if k == "bin":
        if node.value == "/":
            def div(env):
                den = a[1](env)
                return a[0](env) / den if den else float("nan")
            return div
        op = {"+": operator.add, "-": operator.sub, "*": operator.mul}[node.value]
        return lambda env: op(a[0](env), a[1](env))
    if k == "cmp":
        op = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[node.value]
        return lambda env: op(a[0](env), a[1](env))
    if k == "and":
        return lambda env: bool(a[0](env)) and bool(a[1](env))
    if k == "or":
        return lambda env: bool(a[0](env)) or bool(a[1](env))
    if k == "not":
        return lambda env: not a[0](env)
    raise AssertionError(k)
