"""Time held in the hold phase (plank, wall sit).

Time counts while the person is in the hold phase, measurable, and no ``breaks_hold`` rule fails. An
interruption (out of view, out of position, a rule failing) shorter than ``bridge_gap_s`` after which the
person is in the hold again does not end it: the hold is one interval across it. ``bridge_gap_s: 0`` counts
only time seen in position. Stretches shorter than ``min_s`` are not holds.
"""

from __future__ import annotations

from coach.engine.events import HoldProgress, HoldRecord


class HoldTimer:
    """One hold at a time, recorded into the set's tally when it ends."""

    __slots__ = ("tally", "side", "min_s", "bridge_s", "start", "pause")

    def __init__(self, tally, side: str, min_s: float, bridge_s: float) -> None:
        self.tally = tally
        self.side = side if side != "none" else "both"
        self.min_s = min_s
        self.bridge_s = bridge_s
        self.start: float | None = None  #: when the open hold began
        self.pause: float | None = None  #: when the open hold was interrupted (None: not interrupted)

    def _close(self, end: float, out: list) -> None:
        self.pause = None
        if self.start is None:
            return
        dur = end - self.start
        if dur >= self.min_s and dur > 0:
            self.tally.holds.append(HoldRecord(self.start, end, self.side))
            self.tally.held_s += dur
            out.append(HoldProgress(end, self.tally.held_s, False))
        self.start = None

    def interrupted(self, since: float, t: float, out: list) -> None:
        """Out of the hold (or unmeasurable) since `since`, still at `t`: end the hold once past the bridge."""
        if self.start is None:
            return
        if self.pause is None:
            self.pause = since
        if t - self.pause > self.bridge_s:
            self._close(self.pause, out)

    def holding(self, t: float, began: float, out: list) -> None:
        """In the hold at `t`; `began` is when a new hold starts (the phase's entry on its first frame)."""
        if self.start is None:
            self.start = began
            out.append(HoldProgress(t, self.tally.held_s, True))
        elif self.pause is not None:
            if t - self.pause <= self.bridge_s:
                self.pause = None
            else:
                self._close(self.pause, out)
                self.start = t
                out.append(HoldProgress(t, self.tally.held_s, True))

    def open_s(self, last_t: float | None) -> float:
        """Seconds of the hold still open at `last_t` (0 when none)."""
        if self.start is None or last_t is None:
            return 0.0
        end = self.pause if self.pause is not None else last_t
        return max(0.0, end - self.start)

    def finish(self, end: float, out: list) -> None:
        """The set ends at `end`: close the open hold (at its interruption, if interrupted)."""
        if self.start is not None:
            self._close(self.pause if self.pause is not None else end, out)
