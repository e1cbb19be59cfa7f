"""A YAML syntax error in a definition, said as the line of the mistake and what to write instead.

PyYAML reports where its parser gave up, in parser words ("expected ',' or '}', but got ':'"), which is
often a line after the mistake: a `{` left open is noticed at the next field. `explain` looks at the text
around that place for the usual mistakes of people editing a definition by hand (a bracket or quote left
open, a tab, a missing colon, a value holding ': ', uneven indentation) and names the line to fix.
"""

from __future__ import annotations

import yaml

_CLOSER = {"{": "}", "[": "]"}


def _code(line: str) -> str:
    """`line` without its comment and without the text inside quotes (the quote characters kept, so an
    open quote leaves an odd number of them)."""
    out = []
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                if quote == "'" and line[i + 1:i + 2] == "'":  # '' inside single quotes
                    i += 2
                    continue
                quote = None
                out.append(c)
            elif quote == '"' and c == "\\":
                i += 1
        elif c in "\"'" and (not out or out[-1] in " \t[{,:-"):
            quote = c
            out.append(c)
        elif c == "#" and (not out or out[-1] in " \t"):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _unclosed_quote(line: str) -> str | None:
    """The quote character left open on `line`, if any."""
    code = _code(line)
    for q in "\"'":
        if code.count(q) % 2:
            return q
    return None


def _content_before(lines: list[str], k: int) -> int | None:
    """Index of the last line before `k` with something on it besides a comment."""
    for j in range(min(k, len(lines)) - 1, -1, -1):
        if _code(lines[j]).strip():
            return j
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """(1-based line of the mistake, sentence) for a PyYAML error raised on `text`."""
    lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    at = mark.line if mark is not None else None  # 0-based
    problem = exc.problem or ""
    context = exc.context or ""

    def said(k: int | None, message: str) -> tuple[int | None, str]:
        return (None if k is None else k + 1), f"not valid YAML: {message}"

    if at is None:
        return None, f"not valid YAML: {problem or exc}"
    # a tab: YAML indents with spaces only
    if "'\\t'" in problem:
        return said(at, "a tab character: use spaces instead (YAML does not allow tabs to indent)")
    prev = _content_before(lines, at)
    for k in (at, prev):
        if k is not None and k < len(lines) and "\t" in lines[k][:_indent(lines[k]) + 1]:
            return said(k, "a tab character: use spaces instead (YAML does not allow tabs to indent)")
    # a quote left open: the text runs on to the next quote, and the error comes later. A text may go on
    # over lines, so an open quote is a line with an odd number of quotes that no later line closes.
    odd = [k for k in range(min(at + 1, len(lines))) if _unclosed_quote(lines[k])]
    if len(odd) % 2:
        k = odd[-1]
        q = _unclosed_quote(lines[k])
        return said(k, f"the text opened with {q} on this line is not closed: end it with {q} on the same line")
    # a bracket left open: the parser notices it at the next line with something on it
    if context.startswith("while parsing a flow") and exc.context_mark is not None:
        opened = exc.context_mark.line
        ch = "{" if "mapping" in context else "["
        closer = _CLOSER[ch]
        found = problem.rsplit("but got ", 1)[-1] if "but got " in problem else ""
        if at > opened:
            last = _content_before(lines, at)
            last = opened if last is None or last < opened else last
            where = "this line" if last == opened else f"line {opened + 1}"
            return said(last, f"the '{ch}' opened on {where} is not closed: end it with '{closer}'")
        if found in ("'}'", "']'"):
            return said(at, f"the '{ch}' opened on this line is closed with {found}: end it with '{closer}'")
        return said(at, f"inside '{ch} … {closer}': expected ',' between entries or '{closer}' at the end, found "
                        f"{found or 'something else'} (is a comma, a colon or the closing '{closer}' missing?)")
    if "found '}'" in problem or "found ']'" in problem:
        ch = "}" if "found '}'" in problem else "]"
        opener = "{" if ch == "}" else "["
        return said(at, f"a '{ch}' that closes nothing: remove it, or add the '{opener}' it should close")
    if problem.startswith("mapping values are not allowed"):
        prev = _content_before(lines, at)
        here = lines[at] if at < len(lines) else ""
        if prev is not None:
            before = _code(lines[prev]).strip()
            if ":" not in before and not before.startswith("-"):
                word = before.split()[0] if before.split() else before
                rest = before[len(word):].strip()
                fix = f"'{word}: {rest}'" if rest else f"'{word}:'"
                return said(prev, f"'{before}' has no ':' after the field name: write {fix}")
            if _indent(here) > _indent(lines[prev]):
                return said(at, f"this line is indented more than line {prev + 1} ({_indent(here)} spaces against "
                                f"{_indent(lines[prev])}), so it reads as part of that line's value: indent the "
                                f"fields of one mapping by the same number of spaces")
        key, _, value = _code(here).partition(":")
        return said(at, f"a ': ' inside a value: put the value in quotes, e.g. {key.strip()}: "
                        f"\"{value.strip()}\"" if value.strip() else "a ':' where a value was expected")
    if problem.startswith("expected <block end>") and context.startswith("while parsing a block"):
        here = lines[at] if at < len(lines) else ""
        n = _indent(here)
        above = next((j for j in range(at - 1, -1, -1) if _code(lines[j]).strip() and _indent(lines[j]) < n), None)
        if above is not None:
            return said(at, f"this line is indented by {n} spaces, line {above + 1} above it by "
                            f"{_indent(lines[above])}: indent the fields of one mapping by the same number of "
                            f"spaces")
    what = problem + (f" ({context})" if context else "")
    return said(at, what or str(exc))
