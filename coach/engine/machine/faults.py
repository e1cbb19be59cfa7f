"""Form rules: checked every frame (``always``, ``during PHASE``), at a rep's turning point (``at_turn``) or
over the whole rep (``over_rep``). A fault is recorded each time; its cue is shown only when the same fault
was not cued within its rule's ``cooldown_s`` (so cues do not nag)."""

from __future__ import annotations

from coach.engine.events import FormFault
from coach.engine.machine.rep_ledger import cue
from coach.engine.machine.table import Rule


class FaultWatcher:
    """The form rules of one machine; cue times are shared by the machines of a set (in the tally)."""

    __slots__ = ("tally", "rules", "side", "frame_bits", "prev_active")

    def __init__(self, tally, rules: tuple[Rule, ...], side: str) -> None:
        self.tally = tally
        self.rules = rules
        self.side = side
        self.frame_bits = 0
        for r in rules:
            if r.check in ("always", "during"):
                self.frame_bits |= r.bit
        self.prev_active = 0

    def frame(self, t: float, mask: int, phase: int | None, rep_index: int | None, out: list) -> list[FormFault]:
        """Frame-level rules that start failing in this frame (in their phase, for ``during``). Returns the
        faults raised, which belong to rep `rep_index` when one is in progress."""
        fr = mask & self.frame_bits
        active = 0
        raised: list[FormFault] = []
        if fr:
            for r in self.rules:
                if fr & r.bit and (r.check == "always" or r.phase == phase):
                    active |= r.bit
            rising = active & ~self.prev_active
            if rising:
                for r in self.rules:
                    if rising & r.bit:
                        f = FormFault(r.code, r.cue, t, r.severity, rep_index, self.side)
                        last = self.tally.cue_times.get(r.code)
                        if last is None or t - last >= r.cooldown_s:
                            self.tally.faults.append(f)
                            raised.append(f)
                            cue(self.tally, t, f, r.cooldown_s, out)
        self.prev_active = active
        return raised

    def at_rep(self, *, index: int, side: str, t_turn: float, mask_turn: int, mask_or: int,
               end_s: float) -> list[tuple[FormFault, Rule]]:
        """Faults of the ``at_turn`` and ``over_rep`` rules of a completed rep."""
        new = []
        for r in self.rules:
            if r.check == "at_turn" and (mask_turn & r.bit):
                new.append((FormFault(r.code, r.cue, t_turn, r.severity, index, side), r))
            elif r.check == "over_rep" and (mask_or & r.bit):
                new.append((FormFault(r.code, r.cue, end_s, r.severity, index, side), r))
        return new
