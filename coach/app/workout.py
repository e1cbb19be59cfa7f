"""A workout: frames → pose → the exercise engine → sinks (overlay, terminal, database, JSON), in sets.

The workout owns set and rest logic and nothing else: counting is the engine's, drawing the renderer's,
storage the recorder's. Sinks receive the engine's events and a per-frame `OverlayModel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Protocol


from coach.engine.events import Event, FaultRaised
from coach.engine.counter import Counter
from coach.engine.result import CountResult
from coach.pose.recording import is_recording, load_recording
from coach.pose.series import PoseFrame
from coach.app.renderer import OverlayModel
from coach.app.sources import Frame

#: seconds a cue stays on screen after its fault
CUE_SHOW_S = 2.5


@dataclass(frozen=True)
class WorkoutPlan:
    """Targets for the session: sets, reps per set (None = until the source ends), hold, rest."""

    sets: int = 1
    reps: int | None = None
    hold_s: float | None = None
    rest_s: float = 60.0


@dataclass
class SetResult:
    """What one set produced (the engine's result for the frames of that set)."""

    index: int
    target_reps: int | None
    ended_reason: str
    result: CountResult


@dataclass
class WorkoutSummary:
    exercise: str
    sets: list[SetResult] = field(default_factory=list)
    source: str = ""
    ended_reason: str = ""
    session_id: int | None = None
    people: list | None = None  #: group mode (`everyone`): one dict per tracked person, see `Workout`

    @property
    def reps(self) -> int:
        return sum(s.result.reps for s in self.sets)

    def to_dict(self) -> dict:
        """The machine-readable result (`workout --json`): totals over sets, then each set."""
        sets = [dict(index=s.index, target_reps=s.target_reps, ended_reason=s.ended_reason,
                     **s.result.to_dict()) for s in self.sets]
        reps_records = [r for s in sets for r in s.get("reps_records", [])]
        faults = [f for s in sets for f in s.get("faults", [])]
        nm = [i for s in sets for i in s.get("not_measurable", [])]
        holds = [h for s in sets for h in s.get("holds", [])]
        return {
            "exercise": self.exercise,
            "source": self.source,
            "session_id": self.session_id,
            "reps": self.reps,
            "reps_per_side": {
                "left": sum(s.result.reps_left for s in self.sets),
                "right": sum(s.result.reps_right for s in self.sets),
            },
            "hold_s": sum(s.result.hold_s for s in self.sets),
            "reps_records": reps_records,
            "faults": faults,
            "holds": holds,
            "not_measurable_s": sum(s.result.not_measurable_s for s in self.sets),
            "not_measurable": nm,
            "ended_reason": self.ended_reason,
            "sets": sets,
            **({"people": self.people} if self.people is not None else {}),
        }


class WorkoutSink(Protocol):
    """Something that watches a workout: overlay window, video file, terminal panel, database."""

    def on_set_started(self, set_index: int, target_reps: int | None) -> None: ...
    def on_events(self, events: list[Event]) -> None: ...
    def on_frame(self, frame: Frame | None, pose: PoseFrame, overlay: OverlayModel) -> None: ...
    def on_set_ended(self, set_result: SetResult) -> None: ...


class Workout:
    """Feeds frames to a fresh engine per set, ends sets at the target, rests between them."""

    def __init__(self, definition, plan: WorkoutPlan, sinks: Iterable[WorkoutSink] = (), *,
                 live: bool = False, side: str | None = None, ready_s: float = 0.0,
                 choose: str | int = "auto", everyone: bool = False, fps: float | None = None) -> None:
        """fps: the source's frame rate (frames/s) when it can be trusted — a file or a recording — so the
        engines size their windows from the first frame; None (a camera, whose nominal rate often is not
        what it delivers): each engine measures it from the first two frames' timestamps.

        ready_s > 0: before the first set, wait until the engine has measured the person (in view, at
        the needed angle) for this many seconds; the overlay says what is missing meanwhile.

        choose: whom the sets follow when several people are in view (`coach.engine.tracking.
        ExerciserChooser`: "auto" = the one exercising, "largest", "center", or a track id).
        everyone: group mode: besides the sets, every tracked person gets their own engine for the whole
        workout; their counts are drawn over their heads and listed in `summary.people`."""
        self.definition = definition
        self.plan = plan
        self.sinks = list(sinks)
        self.live = live
        self.side = side
        self.choose = choose
        self.everyone = everyone
        self.fps = fps if fps and fps > 0 else None
        self._group_tracker = None
        self._group: dict[int, dict] = {}
        if everyone:
            from coach.engine.tracking import PeopleTracker

            self._group_tracker = PeopleTracker()
            self._group_ids: list[int] = []
        self.summary = WorkoutSummary(exercise=definition.id)
        self.set_index = 0
        self.engine = None
        self.rest_until_s: float | None = None
        self.paused = False
        self._cue: tuple[str, float] | None = None
        self._last_t = 0.0
        self.primary: str = definition.movement.measure
        self.sided_reps = definition.movement.sides == "each" or definition.movement.credit_side is not None
        self.is_hold = definition.movement.hold is not None
        self.ready_s = ready_s
        self._ready_since: float | None = None
        self._readiness = None
        if ready_s > 0:
            self._readiness = Counter(definition, side=side, choose=choose, fps=self.fps)  # "can you measure?"
        else:
            self._start_set()

    # -- sets --------------------------------------------------------------------------------------
    def _start_set(self) -> None:
        self.set_index += 1
        self.engine = Counter(self.definition, side=self.side, choose=self.choose, fps=self.fps, keep_trace=True)
        self.rest_until_s = None
        for sink in self.sinks:
            sink.on_set_started(self.set_index, self.plan.reps)

    def end_set(self, reason: str) -> None:
        """Close the running set (its engine's open holds/intervals) and tell the sinks."""
        if self.engine is None:
            return
        events = self.engine.finish(self._last_t)
        if events:
            for sink in self.sinks:
                sink.on_events(events)
        result = SetResult(self.set_index, self.plan.reps, reason, self.engine.result())
        self.summary.sets.append(result)
        self.engine = None
        for sink in self.sinks:
            sink.on_set_ended(result)

    def next_set(self) -> None:
        """Key 'n': end the current set now, or skip the rest."""
        if self.engine is not None:
            self.end_set("skipped")
            if self.set_index < self.plan.sets:
                self.rest_until_s = self._last_t + (self.plan.rest_s if self.live else 0.0)
        elif self.set_index < self.plan.sets:
            self._start_set()

    @property
    def done(self) -> bool:
        """True when every planned set has ended."""
        return self.engine is None and self._readiness is None and self.set_index >= self.plan.sets

    # -- frames ------------------------------------------------------------------------------------
    def _check_ready(self, pose: PoseFrame) -> OverlayModel:
        """Before the first set: is the person measurable? Start the set after `ready_s` of it."""
        self._readiness.update(pose)
        st = self._readiness.state
        if st.measurable and pose.n_people:
            self._ready_since = pose.timestamp_s if self._ready_since is None else self._ready_since
        else:
            self._ready_since = None
        model = OverlayModel(exercise_name=self.definition.name, target_reps=self.plan.reps, set_index=1,
                             sets=self.plan.sets, person_index=st.slot)
        self._label(model, self._readiness)
        if self._ready_since is not None and pose.timestamp_s - self._ready_since >= self.ready_s:
            self._readiness = None
            self._start_set()
        else:
            view = self.definition.view
            model.not_measurable = (st.reason or "step into view") if self._ready_since is None else None
            model.cue = "Get ready" + (f": {view} view, whole body in the picture" if view != "any" else "")
        return model

    def process(self, frame: Frame | None, pose: PoseFrame) -> list[Event]:
        """Feed one frame; returns the engine's events for it."""
        self._last_t = pose.timestamp_s
        events: list[Event] = []
        if self.everyone:
            self._feed_group(pose)
        if self._readiness is not None:
            overlay = self._check_ready(pose)
            for sink in self.sinks:
                sink.on_frame(frame, pose, overlay)
            return events
        if self.engine is None and self.rest_until_s is not None and pose.timestamp_s >= self.rest_until_s:
            self._start_set()
        if self.engine is not None and not self.paused:
            events = self.engine.update(pose)
            for ev in events:
                if isinstance(ev, FaultRaised):
                    self._cue = (ev.fault.cue, ev.time_s)
            if events:
                for sink in self.sinks:
                    sink.on_events(events)
        overlay = self.overlay_model(pose.timestamp_s)
        for sink in self.sinks:
            sink.on_frame(frame, pose, overlay)
        if self.engine is not None and self._set_target_reached():
            self.end_set("completed")
            if self.set_index < self.plan.sets:
                self.rest_until_s = pose.timestamp_s + (self.plan.rest_s if self.live else 0.0)
        return events

    def _set_target_reached(self) -> bool:
        st = self.engine.state
        if self.plan.reps and st.reps >= self.plan.reps:
            return True
        return bool(self.plan.hold_s and st.held_s >= self.plan.hold_s)

    def finish(self, reason: str) -> WorkoutSummary:
        """End the workout (source ended, camera lost, quit, interrupted) keeping everything counted."""
        if self.engine is not None:
            self.end_set(reason)
        if self.everyone:
            self.summary.people = self._group_results()
        self.summary.ended_reason = reason
        return self.summary

    # -- group mode --------------------------------------------------------------------------------
    #: a track seen for less than this and counting nothing is left out of the results (a glitch)
    GROUP_MIN_SEEN_S = 1.0

    def _feed_group(self, pose: PoseFrame) -> None:
        """Group mode: one engine per tracked person, each fed only that person's keypoints."""
        t = pose.timestamp_s
        ids = self._group_tracker.step(t, pose.xy_px)
        self._group_ids = ids
        alive = set(self._group_tracker.tracks)
        for tid, slot in [(tid, k) for k, tid in enumerate(ids) if tid > 0]:
            g = self._group.get(tid)
            if g is None:
                g = self._group[tid] = dict(engine=Counter(self.definition, side=self.side, fps=self.fps),
                                            first_s=t, last_s=t, seen=0, ended=False)
            g["last_s"] = t
            g["seen"] += 1
            if not self.paused:
                g["engine"].update(pose.person(slot))
        for tid, g in self._group.items():
            if g["ended"] or tid in ids:
                continue
            if tid in alive:  # unseen for now (occluded): the engine is told nobody is there
                if not self.paused:
                    g["engine"].update(pose.person(-1))
            else:  # track ended: close its holds and intervals
                g["engine"].finish(g["last_s"])
                g["ended"] = True

    def _group_results(self) -> list[dict]:
        out = []
        for tid, g in sorted(self._group.items()):
            eng = g["engine"]
            if not g["ended"]:
                eng.finish(g["last_s"])
                g["ended"] = True
            r = eng.result()
            if g["last_s"] - g["first_s"] < self.GROUP_MIN_SEEN_S and r.reps == 0:
                continue
            d = r.to_dict()
            out.append({"track_id": tid, "first_seen_s": round(g["first_s"], 3),
                        "last_seen_s": round(g["last_s"], 3), "reps": d["reps"],
                        "reps_per_side": d["reps_per_side"], "hold_s": d["hold_s"], "side": d["side"],
                        "reps_records": d["reps_records"], "holds": d["holds"], "faults": d["faults"],
                        "not_measurable_s": d["not_measurable_s"]})
        return out

    def _label(self, model: OverlayModel, engine) -> None:
        """Labels over people's heads: group counts, or which person the set follows."""
        if self.everyone:
            labels = []
            for slot, tid in enumerate(self._group_ids):
                g = self._group.get(tid)
                if tid > 0 and g is not None:
                    st = g["engine"].state
                    text = f"#{tid}: {st.held_s:.0f}s" if self.is_hold else f"#{tid}: {st.reps}"
                    labels.append((slot, text))
            model.labels, model.group = tuple(labels), True
            return
        if engine is None:
            return
        st = engine.state
        if st.several_seen or not isinstance(self.choose, str) or self.choose != "auto":
            model.labels = tuple((slot, f"#{tid} exercising" if slot == st.slot else f"#{tid}")
                                 for slot, tid in enumerate(st.track_ids) if tid > 0)

    def overlay_model(self, time_s: float) -> OverlayModel:
        """What the overlay shows now, read from the engine's state (the overlay never counts)."""
        d = self.definition
        model = OverlayModel(exercise_name=d.name, target_reps=self.plan.reps, set_index=self.set_index,
                             sets=self.plan.sets, paused=self.paused, target_hold_s=self.plan.hold_s,
                             person_index=self.engine.state.slot if self.engine is not None else -1)
        self._label(model, self.engine)
        if self.engine is None:
            last = self.summary.sets[-1].result if self.summary.sets else None
            model.reps = last.reps if last else 0
            if self.rest_until_s is not None:
                model.resting_s = max(0.0, self.rest_until_s - time_s)
            return model
        st = self.engine.state
        model.reps = st.reps
        if self.sided_reps:
            model.reps_left, model.reps_right = st.reps_left, st.reps_right
        model.phase = st.phase or ""
        model.measure_name = self.primary
        model.measure_value = st.values.get(self.primary) if st.values else None
        model.arc_landmarks = primary_angle_landmarks(d, st.side)
        if self.is_hold:
            model.held_s = st.held_s
        if not st.measurable:
            model.not_measurable = st.reason or "cannot see the body"
        if self._cue and time_s - self._cue[1] <= CUE_SHOW_S:
            model.cue = self._cue[0]
        return model


def primary_angle_landmarks(definition, side: str) -> tuple[str, str, str] | None:
    """Landmark names (a, vertex, c) of the primary measure when it is a joint angle, for the overlay's arc."""
    from coach.pose.landmarks import is_landmark

    spec = definition.measures[definition.movement.measure]
    if not spec.angle:
        return None
    side = side if side in ("left", "right") else "left"
    names = tuple(p if is_landmark(p) else f"{side}_{p}" for p in spec.angle)
    return names if all(is_landmark(n) for n in names) else None


def pose_stream(source: str | Path, *, model_path: Path | None = None, num_poses: "int | str" = "auto"
                ) -> tuple[Iterator[tuple[Frame | None, PoseFrame]], dict]:
    """Frames and their keypoints from a camera, a video, an image or a keypoint recording.

    num_poses: the people setting of `coach.pose.engine.open_video_engine` ("auto": up to two, paying for
    the second only while they are in view; or a number).

    Returns (iterator, info) where info has: description, fps, width_px, height_px, is_live,
    frame_count, and callables `ended_reason()` and `dropped_frames()` (camera frames replaced by a newer
    one while the model was busy; 0 for files). A recording is replayed without the model (frame None).
    Video and camera frames go through `coach.app.pipeline`: decoding (or capture) and the model run on
    their own threads, so the consumer's work on one frame overlaps the model's on the next.
    """
    if is_recording(source):
        from coach.app.sources import shown

        series = load_recording(source)
        info = dict(description=shown(source), fps=series.fps, width_px=series.width_px,
                    height_px=series.height_px, is_live=False, frame_count=len(series),
                    ended_reason=lambda: "end of recording", dropped_frames=lambda: 0)
        return ((None, pf) for pf in series.frames()), info

    from coach.app.pipeline import LatestFrames, frames_of, posed_frames
    from coach.app.sources import open_source
    from coach.pose.engine import open_video_engine

    src = open_source(source)
    if model_path is None:
        src.close()
        raise ValueError("a model path is needed for video and camera sources")
    delivered = frames_of(src)
    info = dict(description=src.description, fps=src.fps, width_px=src.width_px, height_px=src.height_px,
                is_live=src.is_live, frame_count=src.frame_count, ended_reason=lambda: src.ended_reason,
                dropped_frames=lambda: delivered.dropped if isinstance(delivered, LatestFrames) else 0)

    def frames() -> Iterator[tuple[Frame | None, PoseFrame]]:
        # A camera: no queue after the model either (latency); a file: a few frames of slack.
        with src, open_video_engine(model_path, num_poses) as engine:
            yield from posed_frames(delivered, lambda f: engine.detect(f.image_bgr, f.timestamp_s, f.index),
                                    depth=1 if src.is_live else 3)

    return frames(), info
