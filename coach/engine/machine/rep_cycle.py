"""The cycle of phases that makes one repetition (moves from `table.TransitionTable`), and each rep's
extremes: its minimum and maximum of the primary measure with when they happened, from the start phase on
(so a rep's range of motion includes the start position itself)."""

from __future__ import annotations

from dataclasses import dataclass

from coach.engine.machine.table import (ABANDON, COUNT, COUNT_ON_EXIT, PENDING, RESTART, START_REP,
                                        TransitionTable)

_NAN = float("nan")


@dataclass(frozen=True)
class RepDraft:
    """A rep that reached the end of its cycle, before it is checked (duration) and recorded."""

    start_s: float
    end_s: float
    v_start: float  #: primary measure when the start phase was left
    min_value: float
    max_value: float
    t_min: float
    t_max: float
    i_min: int  #: frame index of the minimum (-1: none seen)
    i_max: int
    mask_min: int  #: condition bits at the minimum (for at_turn rules)
    mask_max: int
    mask_or: int  #: every condition bit that held during the rep (for over_rep rules)
    faults: tuple  #: frame-level faults raised during the rep
    quality: float = 1.0  #: mean quality (visibility) of the frames tracked
    range_min: tuple = (_NAN, _NAN)  #: the adaptive range (low, high) when the minimum was seen
    range_max: tuple = (_NAN, _NAN)  #: ... and when the maximum was


class RepCycle:
    """Where in the cycle the person is (`step`: -1 none, 0 start phase, k reached the k-th phase)."""

    __slots__ = ("table", "step", "start_s", "tracking", "vmin", "vmax", "tmin", "tmax", "imin", "imax",
                 "mmin", "mmax", "v_start", "mask_or", "faults", "q_sum", "q_n", "rmin", "rmax")

    def __init__(self, table: TransitionTable) -> None:
        self.table = table
        self.step = -1
        self.v_start = _NAN
        self.reset()

    def reset(self) -> None:
        """Forget the rep in progress (its start and extremes)."""
        self.start_s: float | None = None
        self.tracking = False
        self.vmin = self.vmax = _NAN
        self.tmin = self.tmax = 0.0
        self.imin = self.imax = -1
        self.mmin = self.mmax = 0
        self.mask_or = 0
        self.faults: list = []
        self.q_sum = 0.0
        self.q_n = 0
        self.rmin = self.rmax = (_NAN, _NAN)

    def _track_from_start_phase(self) -> None:
        self.reset()
        self.tracking = True

    @property
    def in_rep(self) -> bool:
        """True between leaving the start phase and the end of the rep."""
        return self.start_s is not None

    @property
    def pending(self) -> bool:
        """An open cycle ([bottom, top]) has reached its last phase: the rep is counted when it is left."""
        t = self.table
        return t.open_cycle and self.step == len(t.cycle) - 1

    @property
    def returning(self) -> bool:
        """A closed cycle ([up, down, up]) is past its turn, on the way back to the start phase."""
        c = self.table.cycle
        return c is not None and len(c) >= 3 and not self.table.open_cycle and self.step == len(c) - 2

    @property
    def past_turn(self) -> bool:
        """The rep in progress has reached its turning phase (a closed cycle) or its last phase (an open one)."""
        c = self.table.cycle
        if c is None:
            return False
        return self.step == len(c) - 1 if self.table.open_cycle else self.step >= len(c) - 2 >= 1

    def draft(self, end_s: float) -> RepDraft | None:
        """The rep in progress as if it ended at `end_s` (None when no rep is in progress)."""
        if self.start_s is None or self.imin < 0:
            return None
        return RepDraft(self.start_s, end_s, self.v_start, self.vmin, self.vmax, self.tmin, self.tmax, self.imin,
                        self.imax, self.mmin, self.mmax, self.mask_or, tuple(self.faults),
                        self.q_sum / self.q_n if self.q_n else 1.0, self.rmin, self.rmax)

    def enter(self, k: int, t_entry: float) -> RepDraft | None:
        """Phase `k` was entered (dated `t_entry`); returns the rep completed by it, if any."""
        move = self.table.enter.get((self.step, k))
        if move is None:
            return None
        new_step, effect = move
        if effect == COUNT:
            done = self.draft(t_entry)
            self._track_from_start_phase()
            self.step = 0
            return done
        if effect == RESTART:
            self.step = 0
            self._track_from_start_phase()
        elif effect == ABANDON:
            self.step = -1
            self.reset()
        elif effect == PENDING or new_step != self.step:
            self.step = new_step
        return None

    def leave(self, k: int, t: float, v: float) -> RepDraft | None:
        """Phase `k` was left at `t` with value `v`; returns the rep completed by it, if any."""
        effect = self.table.exit.get((self.step, k))
        if effect == START_REP:
            self.start_s = t
            self.v_start = v
            if not self.tracking:
                self.tracking = True
                self.vmin = self.vmax = _NAN
                self.imin = self.imax = -1
            self.mask_or = 0
            self.faults = []
        elif effect == COUNT_ON_EXIT:
            done = self.draft(t)
            self.reset()
            self.step = -1
            return done
        return None

    def close(self, end_s: float) -> RepDraft | None:
        """End the rep in progress at `end_s` (a long gap, the end of the source) and forget the cycle."""
        done = self.draft(end_s)
        self.reset()
        self.step = -1
        return done

    def track(self, t: float, v: float, i: int, mask: int, quality: float = 1.0, rng: tuple = (_NAN, _NAN)) -> None:
        """Follow the extremes of the rep (from the start phase on) with this frame; `rng` is the adaptive
        range (low, high) in it."""
        if not self.tracking:
            return
        self.q_sum += quality
        self.q_n += 1
        if not v >= self.vmin:  # also true while vmin is NaN
            self.vmin, self.tmin, self.imin, self.mmin, self.rmin = v, t, i, mask, rng
        if not v <= self.vmax:
            self.vmax, self.tmax, self.imax, self.mmax, self.rmax = v, t, i, mask, rng
        if self.start_s is not None:
            self.mask_or |= mask
