"""Several people in view: stable track ids, and single-person sessions follow the one who exercises."""

from __future__ import annotations

import numpy as np
import pytest

from coach.engine.counter import Counter, count, followed_slots
from coach.exercise.library import get_definition
from coach.engine.tracking import ExerciserChooser, PeopleTracker, track_people
from coach.devtools.synthetic import group_scene, synthesize


def ids_of(ids: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Track id of one person per frame (-1 where not detected), from their slot per frame."""
    rows = np.arange(len(slots))
    return np.where(slots >= 0, ids[rows, np.maximum(slots, 0)], -1)


def one_id(per_frame: np.ndarray) -> set:
    return set(per_frame[per_frame > 0].tolist())


def live_result(d, series, choose="auto"):
    eng = Counter(d, fps=series.fps, choose=choose)
    chosen = []
    for f in series.frames():
        eng.update(f)
        chosen.append(eng.state.track_id)
    eng.finish(float(series.timestamps_s[-1]))
    return eng.result(), chosen


# ---------------------------------------------------------------------------- the tracker alone


def skeleton(cx: float, cy: float, size: float = 200.0) -> np.ndarray:
    """A crude standing skeleton (33, 2) centred at (cx, cy)."""
    from coach.pose.landmarks import landmark_index

    xy = np.full((33, 2), np.nan)
    for side, sx in (("left", 1), ("right", -1)):
        xy[landmark_index(f"{side}_shoulder")] = (cx + 0.12 * size * sx, cy - 0.25 * size)
        xy[landmark_index(f"{side}_hip")] = (cx + 0.08 * size * sx, cy + 0.25 * size)
        xy[landmark_index(f"{side}_knee")] = (cx + 0.08 * size * sx, cy + 0.5 * size)
        xy[landmark_index(f"{side}_ankle")] = (cx + 0.08 * size * sx, cy + 0.75 * size)
    return xy


def test_ids_stay_with_people_whatever_the_slot_order():
    tr = PeopleTracker()
    seen = []
    for i in range(60):
        a, b = skeleton(300 + i, 300), skeleton(900 - i, 320, 180)
        swapped = i % 3 == 1
        ids = tr.step(i / 30, [b, a] if swapped else [a, b])
        seen.append(ids[::-1] if swapped else ids)
    assert all(s == [1, 2] for s in seen)


def test_a_duplicate_detection_of_one_body_is_one_person():
    tr = PeopleTracker()
    a = skeleton(300, 300)
    ids = tr.step(0.0, [a, a + 3.0])
    assert ids[0] == 1 and ids[1] == -1
    assert list(tr.tracks) == [1]


def test_a_lost_track_is_kept_for_a_while_then_dropped():
    tr = PeopleTracker(keep_s=1.5)
    tr.step(0.0, [skeleton(300, 300), skeleton(900, 300)])
    for k in range(1, 30):  # person 2 unseen for 1 s
        tr.step(k / 30, [skeleton(300, 300)])
    assert tr.step(1.0, [skeleton(300, 300), skeleton(905, 300)]) == [1, 2]
    for k in range(31, 100):  # unseen for 2.3 s: gone; coming back is a new person
        tr.step(k / 30, [skeleton(300, 300)])
    assert tr.step(100 / 30, [skeleton(300, 300), skeleton(905, 300)]) == [1, 3]


def test_a_jump_to_another_body_is_not_the_same_track():
    tr = PeopleTracker()
    assert tr.step(0.0, [skeleton(300, 300)]) == [1]
    assert tr.step(1 / 30, [skeleton(520, 300)]) == [2]  # a body 1.1 sizes away in one frame: someone else


# ---------------------------------------------------------------------------- synthetic scenes


@pytest.mark.parametrize("kind", ["crossing", "crossing_behind"])
def test_two_people_crossing_keep_their_ids(kind):
    clip = synthesize("squat", reps=5, view="front", second_person=kind)
    ids = track_people(clip.series)
    main = ids_of(ids, clip.main_slot)
    assert one_id(main) == {1}
    walker_slot = np.where(clip.series.n_people > 1, 1 - np.maximum(clip.main_slot, 0), -1)
    walker = ids_of(ids, walker_slot)
    assert len(one_id(walker)) == 1 and 1 not in one_id(walker)
    d = get_definition("squat")
    for offline in (True, False):
        assert count(d, clip.series, offline=offline).reps == clip.reps


@pytest.mark.parametrize("exercise", ["squat", "lunge", "bicep_curl"])
def test_a_still_bystander_is_never_followed(exercise):
    clip = synthesize(exercise, reps=5, view="front", second_person="still", seed=3)
    d = get_definition(exercise)
    ids = track_people(clip.series)
    main = one_id(ids_of(ids, clip.main_slot))
    assert main == {1}
    slots = followed_slots(d, clip.series)
    both = clip.series.n_people == 2
    assert np.array_equal(slots[both], clip.main_slot[both])
    r, chosen = live_result(d, clip.series)
    assert r.reps == clip.reps
    assert set(chosen[len(chosen) // 4:]) == main
    assert count(d, clip.series).reps == clip.reps


def test_the_exerciser_is_found_even_when_the_bystander_is_larger_and_central():
    ex = synthesize("squat", reps=5, view="front", lead_in_s=3.0)
    by = synthesize("squat", reps=0, view="front", lead_in_s=10.0, tail_s=8.0, seed=1)
    scene = group_scene([ex, by], x_frac=[0.22, 0.55], scale=[0.7, 1.0])
    d = get_definition("squat")
    ids = track_people(scene.series)
    ex_id = one_id(ids_of(ids, scene.slots[:, 0]))
    by_id = one_id(ids_of(ids, scene.slots[:, 1]))
    assert len(ex_id) == 1 and len(by_id) == 1 and ex_id != by_id
    # auto: the bystander is taken while nobody moves, the exerciser as soon as they squat
    r, chosen = live_result(d, scene.series)
    assert chosen[0] in by_id and chosen[-1] in ex_id
    assert r.reps == ex.reps
    assert count(d, scene.series).reps == ex.reps
    assert count(d, scene.series, offline=False).reps == r.reps
    # a fixed choice is kept: largest is the bystander, who counts nothing; a track id is that person
    assert count(d, scene.series, choose="largest").reps == 0
    assert count(d, scene.series, choose=next(iter(ex_id))).reps == ex.reps
    assert count(d, scene.series, choose=next(iter(by_id))).reps == 0


@pytest.mark.parametrize("away_s", [1.0, 4.0])
def test_the_exerciser_leaving_and_coming_back_is_followed_again(away_s):
    # away during a rest between reps 3 and 4, while a bystander stays in view
    ex = synthesize("squat", reps=6, view="front", pause=(7.5, away_s + 2.0))
    by = synthesize("squat", reps=0, view="front", lead_in_s=30.0, seed=2)
    a = ex.pause_span_s[0] + 1.0
    scene = group_scene([ex, by], x_frac=[0.35, 0.72], scale=[0.8, 0.75], absent=[(0, a, a + away_s)])
    ids = track_people(scene.series)
    ex_ids = one_id(ids_of(ids, scene.slots[:, 0]))
    assert len(ex_ids) == (1 if away_s < 1.5 else 2)  # kept through a short absence, a new id after a long one
    assert len(one_id(ids_of(ids, scene.slots[:, 1]))) == 1
    d = get_definition("squat")
    r, chosen = live_result(d, scene.series)
    assert r.reps == ex.reps
    assert set(c for c in chosen[-30:]) <= ex_ids
    assert count(d, scene.series).reps == ex.reps


def test_two_people_exercising_alike_do_not_make_the_choice_flip():
    a = synthesize("squat", reps=6, view="front", rep_s=2.0)
    b = synthesize("squat", reps=6, view="front", rep_s=1.9, seed=4)
    scene = group_scene([a, b], x_frac=[0.3, 0.7], scale=[0.8, 0.8], seed=5)
    r, chosen = live_result(get_definition("squat"), scene.series)
    changes = sum(1 for x, y in zip(chosen, chosen[1:]) if x != y)
    assert changes == 0
    assert r.reps == 6


def test_single_pose_recordings_are_counted_as_before():
    clip = synthesize("squat", reps=5, view="side", dropouts=[(4.0, 4.5)])
    d = get_definition("squat")
    assert np.array_equal(followed_slots(d, clip.series), np.where(clip.series.n_people > 0, 0, -1))
    r, _ = live_result(d, clip.series)
    assert r.reps == count(d, clip.series, offline=False).reps == clip.reps


def test_bad_choice_is_refused():
    with pytest.raises(ValueError):
        ExerciserChooser("tallest")


@pytest.mark.parametrize("choose", ["auto", "largest", "center", 2])
def test_live_engine_equals_causal_analysis_with_several_people(choose):
    ex = synthesize("squat", reps=4, view="front", lead_in_s=3.0, noise_px=2.0, seed=6)
    by = synthesize("squat", reps=0, view="front", lead_in_s=12.0, seed=7, noise_px=2.0)
    scene = group_scene([ex, by], x_frac=[0.3, 0.62], scale=[0.75, 0.9],
                        absent=[(0, 8.0, 8.6), (1, 2.0, 5.0)], seed=8)
    d = get_definition("squat")
    batch = count(d, scene.series, offline=False, choose=choose)
    live, _ = live_result(d, scene.series, choose=choose)
    assert live.reps == batch.reps
    assert [r.end_s for r in live.rep_records] == [r.end_s for r in batch.rep_records]
    assert [(n.start_s, n.end_s) for n in live.not_measurable] == [(n.start_s, n.end_s) for n in batch.not_measurable]
