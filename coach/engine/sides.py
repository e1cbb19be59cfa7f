"""Which side of the body to follow for a sided measure with ``side: auto``.

Causal (`SideChooser`, live and causal analysis): the side whose measure moved most over the last window
(5th to 95th percentile), among sides measurable in at least half as many of those frames as the best-seen
one; the other side takes over only when it moves `SIDE_SWITCH_RATIO` times more (plus a margin), so the
choice does not flicker. Before anything moves, the better-seen side is used. Offline
(`choose_side_offline`): the same idea over the whole clip at once. Visibility alone is not enough: a
hidden limb can be reported visible while it stays still at a made-up place.
"""

from __future__ import annotations

import numpy as np

from coach.engine.filters import RollingCount, RollingQuantiles

SIDES = ("left", "right")
#: the other side must move this much more to take over (live)
SIDE_SWITCH_RATIO = 1.25


class SideChooser:
    """`update(left, right)` with the two sides' smoothed values of one frame -> "left" or "right"."""

    __slots__ = ("eps", "quantiles", "counts", "cur", "started")

    def __init__(self, window: int, eps: float = 0.0) -> None:
        self.eps = eps
        self.quantiles = [RollingQuantiles(window, (0.05, 0.95)) for _ in SIDES]
        self.counts = [RollingCount(window) for _ in SIDES]
        self.cur = 0
        self.started = False

    def update(self, left: float, right: float) -> str:
        spread, count = [], []
        for k, v in enumerate((left, right)):
            lo, hi = self.quantiles[k].update(v)
            spread.append(hi - lo if hi == hi and lo == lo else 0.0)
            count.append(self.counts[k].update(v))
        c0, c1 = count
        best = max(c0, c1)
        cur = self.cur
        if not self.started:
            if best > 0:
                cur = 0 if c0 >= c1 else 1
                self.started = True
        else:
            o = 1 - cur
            if count[o] >= 0.5 * best and (count[cur] < 0.5 * best
                                           or spread[o] > SIDE_SWITCH_RATIO * spread[cur] + self.eps):
                cur = o
        self.cur = cur
        return SIDES[cur]


def choose_side_offline(sides: dict[str, np.ndarray]) -> str:
    """The side to follow over a whole clip: of the sides measurable in at least half as many frames as the
    best-seen one, the one whose measure moves most (5th to 95th percentile)."""
    counts = {s: int(np.count_nonzero(~np.isnan(v))) for s, v in sides.items()}
    best = max(counts.values())
    if best == 0:
        return "left"
    spread = {}
    for s, v in sides.items():
        if counts[s] >= 0.5 * best and counts[s] >= 3:
            lo, hi = np.nanpercentile(v, [5, 95])
            spread[s] = hi - lo
    return max(spread, key=lambda s: (spread[s], counts[s]))
