"""Frames that cannot be measured: not-measurable intervals and the gaps that abandon a rep."""

from __future__ import annotations

from collections import Counter

#: Not-measurable intervals shorter than this are not reported (single dropped frames are bridged).
MIN_REPORTED_GAP_S = 0.2


class GapTracker:
    """Follows runs of unmeasurable frames. A run's reason is the most frequent reason of its frames."""

    __slots__ = ("gap_start", "last_ok_t", "measurable", "_reasons")

    def __init__(self) -> None:
        self.gap_start: float | None = None  #: where the current run began (the last measured frame's time)
        self.last_ok_t: float | None = None  #: time of the last measurable frame
        self.measurable = True  #: False once a run has lasted `MIN_REPORTED_GAP_S`
        self._reasons: Counter = Counter()

    @property
    def reason(self) -> str:
        """The most frequent reason of the current run ('' when none was given)."""
        if not self._reasons:
            return ""
        return max(self._reasons.items(), key=lambda kv: (kv[1], kv[0] != ""))[0]

    def missing(self, t: float, reason: str) -> bool:
        """A frame that cannot be measured. True when the run just became reportable (went unmeasurable)."""
        if self.gap_start is None:
            self.gap_start = t if self.last_ok_t is None else self.last_ok_t
            self._reasons = Counter()
        self._reasons[reason] += 1
        if self.measurable and t - self.gap_start >= MIN_REPORTED_GAP_S:
            self.measurable = False
            return True
        return False

    def seen(self, t: float) -> tuple[float | None, float]:
        """A measurable frame. Returns (start of the run that just ended or None, its length in seconds)."""
        start = self.gap_start
        self.gap_start = None
        self.last_ok_t = t
        if start is None:
            return None, 0.0
        return start, t - start
