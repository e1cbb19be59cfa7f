"""Camera cuts and zooms, as counting sees them: where the picture jumped (flagged by the pose stage from
the picture, `coach.pose.camera_cuts`), or, for keypoints without pictures, where the body's size in the
image jumps by `ZOOM_CUT` times from one frame to the next.

After a cut the pose model's fits are poor for about `REFIT_S` seconds (MediaPipe's tracker starts from its
last fit before the cut), so those frames are not measurable; the counter also learns its range afresh and
forgets the phase it was in, keeping a rep that had already passed its turning point (see
`coach.engine.machine.Machine.cut`).
"""

from __future__ import annotations

import math

#: Seconds after a cut during which keypoints are not trusted (the pose model refits).
REFIT_S = 0.4
#: Without the picture: the body's size in the image changing this many times between consecutive frames.
ZOOM_CUT = 1.6
#: Reason given for the frames after a cut.
REFITTING = "camera cut: waiting for the pose model to refit"

class CutWatcher:
    """`update(t, cut, size, jumped, nobody)` per frame -> (a cut at this frame, keypoints not trusted yet).

    cut: the pose stage's flag for this frame (True/False), or None when no picture was seen; size: the
    followed body's size in this frame (`coach.engine.torso.body_sizes`) (NaN when nobody); jumped: the followed body jumped to
    elsewhere in the picture since the previous frame (`coach.engine.jump_gate`: another person is followed
    now), which is no zoom; nobody: nobody is followed in this frame. A cut matters only within the
    watching of someone: a cut to the first shot with a person in it (after a title card, nobody in view)
    is the start of watching, whose first fits the range's settling after a gap already leaves out."""

    __slots__ = ("refit_until", "last_size", "watching")

    def __init__(self) -> None:
        self.refit_until = -math.inf
        self.last_size = math.nan
        self.watching = False  #: someone was followed in the previous frame

    def update(self, t: float, cut: bool | None, size: float, jumped: bool = False,
               nobody: bool = False) -> tuple[bool, bool]:
        if cut is None:  # keypoints only: a sudden change of the same body's size in the picture
            prev = self.last_size
            cut = bool(not jumped and prev > 0 and size > 0 and max(size / prev, prev / size) >= ZOOM_CUT)
        cut = bool(cut) and self.watching
        self.watching = not nobody
        if size == size:
            self.last_size = size
        if cut:
            self.refit_until = t + REFIT_S
        return bool(cut), t < self.refit_until
