"""A JSON Schema of the exercise language for editors (validation, completion, hover help)."""

from __future__ import annotations

from coach.exercise.spec import ExerciseDefinition, MEASURE_KINDS, _ID, _PART_NAMES


def json_schema() -> dict:
    """A JSON Schema (draft 2020-12) of the exercise language, for editors (validation, completion).

    Made from the pydantic models (their field descriptions), landmark names as completions, and the
    short forms the loader accepts (``height: ankle``, ``setup: one line``). It checks the shape; the
    loader's own checks (conditions, phase names, hysteresis) are `coach exercises validate`'s.
    """
    schema = ExerciseDefinition.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
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
