"""Why a frame cannot be measured, in a few words for the person and the therapist (written once; a
not-measurable interval is given the most frequent reason of its frames)."""

from __future__ import annotations

import numpy as np

from coach.engine.compiled import Compiled
from coach.engine.cuts import REFITTING
from coach.engine.measures import estimate_view, invisible_landmarks

NOBODY = "nobody in view"
JUMPED = "the body jumped between frames (a camera cut or another person)"
SETTLING = "just found again; waiting for steady keypoints"
LEARNING = "learning the range of the movement"


def frame_reason(comp: Compiled, *, nobody: bool, jumped: bool, xy: np.ndarray | None, vis: np.ndarray | None,
                 side: str, settling: bool = False, rejected: bool = False, learning: bool = False,
                 refitting: bool = False) -> str:
    """The reason one frame is not measurable. xy (33, 2) px and vis (33,) of the person followed."""
    if nobody:
        return NOBODY
    if jumped:
        return JUMPED
    if refitting:
        return REFITTING
    d = comp.definition
    missing: list[str] = []
    for name in comp.needed:
        m = d.measures[name]
        if not comp.sided[name]:
            sides = ("left",)
        else:
            sides = (m.side,) if m.side in ("left", "right") else (("left", "right") if m.side == "both" else (side,))
        for sd in sides:
            ch = comp.channels[comp.channel_of[(name, sd)]]
            for lm in invisible_landmarks(ch.geometry, vis, sd, ch.min_visibility):
                if lm not in missing:
                    missing.append(lm)
    if missing:
        text = f"{', '.join(missing[:4])} not visible"
    elif settling:
        text = SETTLING
    elif learning:
        text = LEARNING
    elif rejected:
        text = f"implausible jump of {comp.primary} (a glitch of the keypoints)"
    else:
        text = f"{comp.primary} cannot be computed from these keypoints"
    if d.view != "any" and xy is not None:
        seen = estimate_view(xy[None], vis[None])[0]
        if seen and seen != d.view:
            text += f"; needs a {d.view} view, the camera sees the {seen}"
    return text
