"""Each person once (`coach.pose.people`): a skeleton fitted again over part of someone is not a second person."""

from __future__ import annotations

import numpy as np

from coach.devtools.synthetic import synthesize
from coach.pose.people import distinct_people
from coach.pose.series import PoseFrame


def _frame(*people: np.ndarray) -> PoseFrame:
    xy = np.stack(people).astype(np.float32)
    return PoseFrame(0, 0.0, 1280, 720, xy, np.full(xy.shape[:2], 0.9, np.float32), None)


def test_a_skeleton_over_part_of_someone_is_dropped_and_a_second_person_kept():
    body = synthesize("squat", reps=1, view="front").series.xy_px[0, 0].astype(np.float64)
    centre = np.nanmean(body, axis=0)
    legs_only = centre + 0.45 * (body - centre) + np.array([0.0, 0.25 * np.ptp(body[:, 1])])  # inside, smaller
    again = body + 6.0  # the same person fitted twice
    neighbour = body + np.array([0.8 * np.ptp(body[:, 0]) + 200.0, 0.0])  # someone beside them
    assert distinct_people(_frame(body, legs_only)).n_people == 1
    assert distinct_people(_frame(legs_only, body)).n_people == 1  # whichever slot the model put it in
    kept = distinct_people(_frame(legs_only, body))
    np.testing.assert_allclose(kept.xy_px[0], body.astype(np.float32))
    assert distinct_people(_frame(body, again)).n_people == 1
    assert distinct_people(_frame(body, neighbour)).n_people == 2
    assert distinct_people(_frame(body, neighbour, legs_only)).n_people == 2
