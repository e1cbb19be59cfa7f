"""Frames where the whole skeleton jumps between consecutive frames (a camera cut, the model switching to
someone else) are not a body moving: they are "not measurable", never a made-up position.

The gate is causal: `coach.engine.torso` gives each frame's torso centre and length; `JumpGate.update`
compares one frame with the previous one, whoever was in it.
"""

from __future__ import annotations

import math

#: A torso centre moving more than this many torso lengths between consecutive frames is not a body.
JUMP_TORSO_LENGTHS = 1.5

class JumpGate:
    """`update(cx, cy, torso)` per frame -> True when the body jumped since the previous frame."""

    __slots__ = ("prev",)

    def __init__(self) -> None:
        self.prev: tuple[float, float, float] | None = None

    def update(self, cx: float, cy: float, torso: float) -> bool:
        prev = self.prev
        self.prev = (cx, cy, torso)
        if prev is None:
            return False
        dx, dy = cx - prev[0], cy - prev[1]
        step = math.sqrt(dx * dx + dy * dy)
        return bool(step > JUMP_TORSO_LENGTHS * max(torso, prev[2]))
