"""YAML text into plain data and a map from each field's path to its line: the loader's first step, so that
every later problem can name the line of its field. Never constructs Python objects (safe loading)."""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from coach.exercise.yaml_errors import explain


class Problem(Exception):
    """One problem at a line (None: unknown) and field path."""

    def __init__(self, line: int | None, field: str, message: str):
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


def compose(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text into Python data and a map from field path to line number (1-based)."""
    try:
        loader = yaml.SafeLoader(text)  # the reader checks characters already here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise Problem(line, "", f"not valid YAML: character U+{exc.character:04X} is not allowed") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            line, message = explain(exc, text)
            raise Problem(line, "", message) from None
        except yaml.YAMLError as exc:
            raise Problem(None, "", f"not valid YAML: {exc}") from None
        except RecursionError:
            raise Problem(None, "", "not readable as a definition: nested too deeply") from None
        lines: dict[tuple, int] = {}

        def walk(n, path: tuple):
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                out = {}
                for k_node, v_node in n.value:
                    key = construct(k_node, path)
                    if not isinstance(key, (str, int, float, bool)):
                        raise Problem(k_node.start_mark.line + 1, dotted(path),
                                       "expected a plain name as key")
                    key = str(key) if not isinstance(key, str) else key
                    if key in out:
                        raise Problem(k_node.start_mark.line + 1, dotted(path + (key,)),
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
                raise Problem(n.start_mark.line + 1, dotted(path), f"bad value: {exc}") from None
            except (ValueError, TypeError, AttributeError, OverflowError):
                # PyYAML's constructors fail this way on a tagged scalar that is not what its tag says
                # (`!!timestamp nope`, `!!int x`)
                raise Problem(n.start_mark.line + 1, dotted(path),
                               f"bad value: {n.value!r} is not a valid {n.tag.rsplit(':', 1)[-1]}") from None

        try:
            data = walk(node, ()) if node is not None else None
        except RecursionError:
            raise Problem(None, "", "not readable as a definition: nested too deeply") from None
        return data, lines
    finally:
        loader.dispose()


def dotted(loc: Iterable) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
