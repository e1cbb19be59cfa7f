"""The set loop on synthetic keypoints: targets end sets, readiness gates the first set, sinks see it all."""

from __future__ import annotations

from coach.exercise.library import get_definition
from coach.devtools.synthetic import synthesize
from coach.app.workout import Workout, WorkoutPlan


class Collect:
    def __init__(self) -> None:
        self.started, self.ended, self.events, self.overlays = [], [], [], []

    def on_set_started(self, index, target) -> None:
        self.started.append((index, target))

    def on_events(self, events) -> None:
        self.events += events

    def on_frame(self, frame, pose, overlay) -> None:
        self.overlays.append(overlay)

    def on_set_ended(self, result) -> None:
        self.ended.append(result)


def run(workout: Workout, series) -> None:
    for pose in series.frames():
        workout.process(None, pose)
        if workout.done:
            return
    workout.finish("source ended")


def test_sets_end_at_the_target_and_the_next_starts():
    clip = synthesize("squat", reps=6, seed=3)
    sink = Collect()
    w = Workout(get_definition("squat"), WorkoutPlan(sets=2, reps=3, rest_s=0.0), [sink])
    run(w, clip.series)
    assert [s.result.reps for s in w.summary.sets] == [3, 3]
    assert [s.ended_reason for s in w.summary.sets] == ["completed", "completed"]
    assert sink.started == [(1, 3), (2, 3)]
    assert w.summary.to_dict()["reps"] == 6


def test_counting_to_the_end_of_the_source_without_a_target():
    clip = synthesize("squat", reps=4, seed=5)
    w = Workout(get_definition("squat"), WorkoutPlan(), [Collect()])
    run(w, clip.series)
    summary = w.summary.to_dict()
    assert summary["reps"] == clip.reps == len(summary["reps_records"])
    assert summary["ended_reason"] == "source ended"


def test_a_file_source_frame_rate_lets_the_first_frame_be_measured_at_once():
    """With the source's fps the engine answers frame 0 on frame 0; without it (a camera) it must wait for
    frame 1 to measure the rate, so frame 0 is answered one frame late."""
    clip = synthesize("squat", reps=2, seed=3)
    first, *rest = clip.series.frames()
    with_fps = Workout(get_definition("squat"), WorkoutPlan(), [Collect()], fps=clip.series.fps)
    with_fps.process(None, first)
    assert 150.0 < with_fps.engine.state.values["knee"] < 180.0
    without = Workout(get_definition("squat"), WorkoutPlan(), [Collect()], fps=None)
    without.process(None, first)
    assert not without.engine.state.values
    for pose in rest:
        with_fps.process(None, pose)
    assert with_fps.finish("source ended").to_dict()["reps"] == clip.reps


def test_first_set_waits_until_the_person_is_measurable():
    clip = synthesize("squat", reps=3, seed=1, dropouts=[(0.0, 1.0)], lead_in_s=3.0)
    sink = Collect()
    w = Workout(get_definition("squat"), WorkoutPlan(), [sink], live=True, ready_s=1.0)
    run(w, clip.series)
    assert w.summary.to_dict()["reps"] == 3
    first = sink.overlays[0]
    assert first.not_measurable and first.cue and first.cue.startswith("Get ready")
    assert sink.started and not sink.overlays[-1].not_measurable
