"""Entering and leaving phases: hysteresis (separate enter and leave conditions) and dwell.

A phase is entered when its ``when`` condition has held continuously for ``min_phase_s`` (the entry is dated
to when it started holding) and left when its ``until`` condition holds. The first phase after the start, or
after a long gap, is entered at once (nothing to debounce yet). Between phases the person is "moving".
"""

from __future__ import annotations


class PhaseTracker:
    """The current phase (an index, or None while moving), from each frame's condition bitmask."""

    __slots__ = ("when_bits", "until_bits", "min_phase_s", "phase", "fresh", "cand", "cand_since", "entry_t",
                 "just_entered", "last_change_t")

    def __init__(self, when_bits: tuple[int, ...], until_bits: tuple[int, ...], min_phase_s: float) -> None:
        self.when_bits = when_bits
        self.until_bits = until_bits
        self.min_phase_s = min_phase_s
        self.phase: int | None = None
        self.fresh = True  #: no phase seen yet (start, or after a long gap): the first needs no dwell
        self.cand: int | None = None
        self.cand_since = 0.0
        self.entry_t = 0.0  #: when the current phase was entered (its `when` started holding)
        self.just_entered = False
        self.last_change_t: float | None = None

    def forget(self) -> None:
        """After a long gap: no phase, and the next one is entered without dwell."""
        self.phase = None
        self.fresh = True

    def drop_candidate(self) -> None:
        """An unmeasurable frame interrupts a `when` that was holding."""
        self.cand = None

    def leaving(self, mask: int) -> int | None:
        """The phase left in this frame (its `until` holds), or None."""
        ph = self.phase
        if ph is not None and mask & self.until_bits[ph]:
            self.phase = None
            return ph
        return None

    def entering(self, t: float, mask: int) -> tuple[int, float] | None:
        """(phase, entry time) entered in this frame, or None. Call after `leaving`."""
        if self.phase is not None:
            return None
        cand = None
        for k, b in enumerate(self.when_bits):
            if mask & b:
                cand = k
                break
        if cand is None:
            self.cand = None
            return None
        if cand != self.cand:
            self.cand = cand
            self.cand_since = t
        if self.fresh or t - self.cand_since >= self.min_phase_s:
            t_entry = self.cand_since
            self.phase = cand
            self.fresh = False
            self.last_change_t = t_entry
            self.entry_t = t_entry
            self.just_entered = True
            self.cand = None
            return cand, t_entry
        return None
