"""Group mode (`workout --everyone`): everyone in view counted separately, on the overlay and in the JSON."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from coach.exercise.library import get_definition
from coach.engine.tracking import track_people
from coach.pose.recording import save_recording
from coach.app.renderer import OverlayModel, blank_canvas, draw_workout_overlay
from coach.devtools.synthetic import group_scene, synthesize
from coach.app.workout import Workout, WorkoutPlan


def three_people():
    a = synthesize("squat", reps=5, view="front", rep_s=2.0)
    b = synthesize("squat", reps=3, view="front", rep_s=3.0, lead_in_s=2.0, seed=1)
    c = synthesize("squat", reps=0, view="front", lead_in_s=14.0, seed=2)  # watches
    return group_scene([a, b, c], x_frac=[0.2, 0.5, 0.8], scale=[0.55, 0.6, 0.5], seed=3)


def run_group(series, **kw) -> tuple[Workout, list[OverlayModel]]:
    overlays = []

    class Keep:
        def on_set_started(self, *a): ...
        def on_events(self, *a): ...
        def on_set_ended(self, *a): ...

        def on_frame(self, frame, pose, overlay):
            overlays.append((pose, overlay))

    w = Workout(get_definition("squat"), WorkoutPlan(), [Keep()], everyone=True, **kw)
    for pf in series.frames():
        w.process(None, pf)
    w.finish("source ended")
    return w, overlays


def test_everyone_is_counted_separately():
    scene = three_people()
    w, overlays = run_group(scene.series)
    people = w.summary.people
    ids = track_people(scene.series)
    rows = np.arange(len(scene.series))
    truth = {}
    for k, clip in enumerate(scene.clips):
        tid = set(ids[rows, np.maximum(scene.slots[:, k], 0)][scene.slots[:, k] >= 0].tolist())
        assert len(tid) == 1
        truth[tid.pop()] = clip.reps
    assert {p["track_id"]: p["reps"] for p in people} == truth
    out = w.summary.to_dict()
    assert [p["track_id"] for p in out["people"]] == sorted(truth)
    for p in out["people"]:
        assert {"reps_per_side", "hold_s", "reps_records", "first_seen_s", "last_seen_s"} <= set(p)
        assert len(p["reps_records"]) == p["reps"]
    # the overlay shows each person's running count over their head
    pose, last = overlays[-1]
    assert last.group and len(last.labels) == 3
    texts = sorted(text for _, text in last.labels)
    assert texts == sorted(f"#{tid}: {n}" for tid, n in truth.items())


def test_group_overlay_draws_a_label_above_each_head():
    scene = three_people()
    _, overlays = run_group(scene.series)
    pose, model = overlays[-1]
    img = draw_workout_overlay(blank_canvas(pose.width_px, pose.height_px), pose, model)
    for xy in pose.xy_px:
        top = int(np.nanmin(xy[:, 1]))
        x = int(np.nanmedian(xy[:, 0]))
        patch = img[max(0, top - 60):top - 5, max(0, x - 20):x + 20]
        assert (patch != 32).any()  # something drawn above the head


def test_a_person_leaving_for_a_moment_keeps_their_count():
    a = synthesize("squat", reps=6, view="front", pause=(7.5, 3.0))
    b = synthesize("squat", reps=4, view="front", rep_s=2.5, tail_s=8.0, seed=1)
    assert len(b.series) >= len(a.series)
    t0 = a.pause_span_s[0] + 1.0
    scene = group_scene([a, b], x_frac=[0.3, 0.7], scale=[0.7, 0.7], absent=[(0, t0, t0 + 1.0)])
    w, _ = run_group(scene.series)
    assert sorted(p["reps"] for p in w.summary.people) == [4, 6]


def test_single_person_overlay_labels_who_is_followed():
    clip = synthesize("squat", reps=3, view="front", second_person="still", seed=3)

    seen = []

    class Keep:
        def on_set_started(self, *a): ...
        def on_events(self, *a): ...
        def on_set_ended(self, *a): ...

        def on_frame(self, frame, pose, overlay):
            seen.append(overlay)

    w = Workout(get_definition("squat"), WorkoutPlan(), [Keep()])
    for pf in clip.series.frames():
        w.process(None, pf)
    w.finish("source ended")
    assert w.summary.reps == 3 and w.summary.people is None
    both = np.flatnonzero(clip.series.n_people == 2)
    i = int(both[-1])
    model = seen[i]
    assert model.person_index == clip.main_slot[i]
    labels = dict(model.labels)
    assert labels[model.person_index].endswith("exercising")
    assert not labels[1 - model.person_index].endswith("exercising")


def test_cli_everyone_json_lists_people_and_saves_no_session(tmp_path):
    from coach.cli.main import app

    scene = three_people()
    rec = save_recording(tmp_path / "group.npz", scene.series)
    db = tmp_path / "h.sqlite"
    res = CliRunner().invoke(app, ["workout", "-e", "squat", "--source", str(rec), "--no-show", "--json",
                                   "--everyone", "--db", str(db)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert sorted(p["reps"] for p in out["people"]) == [0, 3, 5]
    assert out["session_id"] is None
    assert not db.exists()


def test_cli_person_option(tmp_path):
    from coach.cli.main import app

    scene = three_people()
    rec = save_recording(tmp_path / "group.npz", scene.series)
    runner = CliRunner()
    res = runner.invoke(app, ["workout", "-e", "squat", "--source", str(rec), "--no-show", "--json", "--no-db"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["reps"] in (3, 5)  # one of the two exercising, whole
    res = runner.invoke(app, ["workout", "-e", "squat", "--source", str(rec), "--no-show", "--no-db",
                              "--person", "tallest"])
    assert res.exit_code != 0
    assert "--person" in str(res.exception or "") + res.output
