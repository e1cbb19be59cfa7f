"""Why a count could be wrong, said with the result: each caveat is a dict with a `code`, a `message` for
people and the source time it concerns (`time_s`, None for the whole set). `CountResult.warnings` lists them;
`eval reps --json` shows them per clip.

Codes:

- ``thin_margin``: a rep cleared the threshold of its turning phase by less than `THIN_MARGIN` of the range;
- ``small_movement``: a rep moved less than the definition's ``min_span``;
- ``ended_early``: a rep's return was not seen (the source ended, faded, or lost the person);
- ``cut``: the picture cut to another shot or zoomed (`coach.engine.cuts`);
- ``person_switched``: another person was followed from then on;
- ``fallback``: the primary measure could not be measured for a while and the definition's fallback
  measure was counted instead;
- ``side_not_measured``: with each side counted, one side could not be measured most of the time the other
  could, so reps that side did alone may be missing.
"""

from __future__ import annotations

from typing import Callable

from coach.exercise.expressions import RANGE_HI, RANGE_LO, evaluate_node

#: A turning value past its threshold by less than this fraction of the range is a thin margin.
THIN_MARGIN = 0.05
#: A side measured for less than this fraction of the frames the other side was measured in is "not measured".
SIDE_SEEN = 0.5


def caveat(code: str, message: str, time_s: float | None = None) -> dict:
    """One caveat (see the module docstring)."""
    return {"code": code, "message": message, "time_s": None if time_s is None else round(float(time_s), 3)}


def margin_function(comp) -> Callable[[float, float, float, float], float | None] | None:
    """For a compiled definition, margin(turning value, range low, range high, rep's range of motion) -> how
    far the value went past the threshold of the turning phase's ``when`` on the primary measure, as a
    fraction of the range (of the rep's range of motion without an adaptive range); None when the
    threshold is not a plain comparison of the primary measure."""
    table = comp.table
    cycle = table.cycle
    if cycle is None or len(cycle) < 2:
        return None
    turn = cycle[-1] if table.open_cycle else cycle[-2]
    thresholds = comp.definition.condition(f"phase:{comp.phases[turn]}:when").thresholds(comp.primary)
    if not thresholds:
        return None

    def margin(value: float, lo: float, hi: float, rom: float) -> float | None:
        span = hi - lo if hi == hi and lo == lo else rom
        if not span > 0:
            return None
        best = None
        for op, node in thresholds:
            try:
                th = float(evaluate_node(node, {RANGE_LO: lo, RANGE_HI: hi}))
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                continue  # the other side names another measure: no plain threshold
            if th != th:
                continue
            past = (th - value) if op in ("<", "<=") else (value - th)
            best = past if best is None else min(best, past)
        return None if best is None else best / span

    return margin


def sides_caveats(seen_frames: dict) -> list[dict]:
    """``side_not_measured`` for each counted side measured in fewer than `SIDE_SEEN` of the frames the other
    side was (`seen_frames`: side -> frames measured; one lane: nothing to say)."""
    if len(seen_frames) != 2:
        return []
    out = []
    for side, seen in seen_frames.items():
        other = max(n for s, n in seen_frames.items() if s != side)
        if other and seen < SIDE_SEEN * other:
            out.append(caveat("side_not_measured", f"the {side} side could be measured in only {seen / other:.0%} "
                                                   f"of the frames the other side was; reps it did alone may be missing"))
    return out


def fallback_caveats(d, seconds: float) -> list[dict]:
    """``fallback`` when the definition's fallback measure was counted for `seconds` (> 0)."""
    if seconds <= 0 or d.movement.fallback is None:
        return []
    return [caveat("fallback", f"{d.movement.measure} could not be measured for {seconds:.1f} s; "
                               f"{d.movement.fallback.measure} was counted instead")]
