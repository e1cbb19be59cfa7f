"""Live coaching over a WebSocket: the client sends camera frames, the server answers with what the
coach sees (phase, count, cue, hold, not measurable, the keypoints to draw) and keeps the session.

Protocol (``/api/live``; JSON text messages and binary frame messages):

1. Client -> ``{"type": "start", "token": "...", "exercise_id": "squat", "patient": "ana",
   "sets": 1, "reps": 10, "hold_s": null, "rest_s": 60, "ready_s": 1.0, "side": null}``.
   ``token`` may instead come as an ``Authorization: Bearer`` header (non-browser clients). ``patient`` is
   for therapists (a patient is always themself). Omitted targets come from the patient's active
   prescription of that exercise, else from the definition. ``ready_s``: seconds the person must be
   measurable before the first set starts (0 starts at once).
2. Server -> ``{"type": "ready", "session_id": 7, "exercise": {...}, "plan": {...}}``, or
   ``{"type": "error", "status": 401|403|404|422, "detail": "..."}`` and the socket closes (code 1008).
3. Client -> binary messages, one per frame: **8 bytes little-endian float64, the frame's capture time in
   seconds** (any clock, strictly increasing), then the **JPEG** bytes. Send the next frame when the
   previous answer arrives (at most one in flight) and downscale (e.g. 640 px wide): a frame that arrives
   while the server is still busy replaces the one waiting, and the older one is dropped (counted in
   ``dropped``). The engine runs on the client's timestamps, so a lower frame rate still counts right.
4. Server -> for each processed frame ``{"type": "frame", "t": ..., "reps": 3, "target_reps": 10,
   "set": 1, "sets": 1, "phase": "down", "measure": "knee", "value": 87.5, "held_s": null, "cue": "Chest up",
   "not_measurable": null, "resting_s": null, "done": false, "dropped": 0,
   "keypoints": {"width": 640, "height": 360, "points": [[x, y, visibility] * 33 in 0..1]} | null,
   "events": [{"type": "phase" | "rep" | "cue" | "hold" | "measurability", ...}]}``.
5. Client -> ``{"type": "stop"}`` (or ``"next_set"``, ``"pause"``). On stop or disconnect the session is
   finished (every completed rep was already committed as it happened); after a stop the server sends
   ``{"type": "summary", "session_id": 7, "result": <the workout --json object>}`` and closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from coach.engine.events import FaultRaised, HoldProgress, MeasurabilityChanged, PhaseChanged, RepCompleted

log = logging.getLogger(__name__)
router = APIRouter()

MAX_FRAME_BYTES = 4 * 1024 * 1024
#: Largest width or height of a frame, pixels (a 4K camera's 3840 × 2160 fits).
MAX_FRAME_SIDE_PX = 4096
START_TIMEOUT_S = 30.0
#: Seconds a refused connection (no live slot free) waits for the client's start message before closing.
BUSY_WAIT_S = 5.0


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header or a PNG's IHDR, without decoding; None for anything else
    (or a JPEG whose header cannot be found)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def event_dict(ev) -> dict:
    if isinstance(ev, PhaseChanged):
        return {"type": "phase", "time_s": ev.time_s, "phase": ev.phase, "side": ev.side}
    if isinstance(ev, RepCompleted):
        return {"type": "rep", "time_s": ev.time_s, "rep": ev.rep.to_dict()}
    if isinstance(ev, FaultRaised):
        return {"type": "cue", "time_s": ev.time_s, "cue": ev.fault.cue, "fault": ev.fault.to_dict()}
    if isinstance(ev, HoldProgress):
        return {"type": "hold", "time_s": ev.time_s, "held_s": ev.held_s, "holding": ev.holding}
    if isinstance(ev, MeasurabilityChanged):
        return {"type": "measurability", "time_s": ev.time_s, "measurable": ev.measurable, "reason": ev.reason}
    return {"type": type(ev).__name__}


class _Collector:
    """A workout sink that keeps the events and the overlay of the last frame for the answer."""

    def __init__(self) -> None:
        self.events: list = []
        self.overlay = None

    def on_set_started(self, set_index, target_reps) -> None:
        return None

    def on_events(self, events) -> None:
        self.events.extend(events)

    def on_frame(self, frame, pose, overlay) -> None:
        self.overlay = overlay

    def on_set_ended(self, set_result) -> None:
        return None


class LiveCoach:
    """One connection's coach: a pose engine (VIDEO mode, the client's timestamps), a workout (sets, the
    exercise engine) and the session recorder. Not thread-safe: use it from one thread."""

    def __init__(self, definition, plan, *, pose_engine, sessionmaker, patient: str, source: str,
                 prescription_id: int | None = None, ready_s: float = 1.0, side: str | None = None) -> None:
        from coach.app.recorded_workout import RecordedWorkout

        self.definition = definition
        self.pose = pose_engine
        self.source = source
        self.collector = _Collector()
        self.session = RecordedWorkout(definition, plan, history=sessionmaker, patient=patient, source=source,
                                       prescription_id=prescription_id, sinks=[self.collector], live=True,
                                       side=side, ready_s=ready_s)
        self.recorder = self.session.recorder
        self.workout = self.session.workout
        self.index = 0
        self.last_t: float | None = None
        self.finished = False

    def process(self, t: float, jpeg: bytes) -> dict:
        import cv2

        if not math.isfinite(t) or (self.last_t is not None and t <= self.last_t):
            return {"type": "error", "status": 422, "detail": f"timestamp {t} does not increase; frame skipped"}
        size = image_size(jpeg)
        if size is None:
            return {"type": "error", "status": 415, "detail": "the frame is not a JPEG (or PNG) image; skipped"}
        if size[0] > MAX_FRAME_SIDE_PX or size[1] > MAX_FRAME_SIDE_PX:
            # decoded, a 600-byte JPEG that says 30000 × 30000 takes 2.7 GB: refuse it by its header
            return {"type": "error", "status": 413, "detail": f"a frame is at most {MAX_FRAME_SIDE_PX} pixels wide "
                    f"and high, this one says {size[0]} × {size[1]}; skipped (send about 640 px wide)"}
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return {"type": "error", "status": 415, "detail": "the frame is not a JPEG (or PNG) image; skipped"}
        self.last_t = t
        pose = self.pose.detect(image, t, self.index)
        self.index += 1
        self.collector.events = []
        self.workout.process(None, pose)
        return self._answer(t, pose)

    def _answer(self, t: float, pose) -> dict:
        o = self.collector.overlay
        kp = None
        if pose.n_people:
            xy, vis = pose.xy_px[0], pose.visibility[0]
            w, h = max(pose.width_px, 1), max(pose.height_px, 1)
            pts = np.column_stack([xy[:, 0] / w, xy[:, 1] / h, vis])
            kp = {"width": pose.width_px, "height": pose.height_px, "points": np.round(pts, 4).tolist()}
        return {
            "type": "frame", "t": t, "frame": self.index - 1,
            "reps": o.reps if o else 0, "reps_left": o.reps_left if o else None,
            "reps_right": o.reps_right if o else None, "target_reps": o.target_reps if o else None,
            "set": o.set_index if o else 1, "sets": o.sets if o else 1, "phase": (o.phase or None) if o else None,
            "measure": o.measure_name if o else None, "value": o.measure_value if o else None,
            "held_s": o.held_s if o else None, "target_hold_s": o.target_hold_s if o else None,
            "cue": o.cue if o else None, "not_measurable": o.not_measurable if o else None,
            "resting_s": o.resting_s if o else None, "paused": bool(o.paused) if o else False,
            "done": self.workout.done, "keypoints": kp,
            "events": [event_dict(e) for e in self.collector.events],
        }

    def control(self, kind: str) -> None:
        if kind == "next_set":
            self.workout.next_set()
        elif kind == "pause":
            self.workout.paused = not self.workout.paused

    def finish(self, reason: str) -> dict:
        if self.finished:
            return self.summary
        self.finished = True
        try:
            self.collector.events = []
            self.summary = self.session.finish(reason)
        finally:
            close = getattr(self.pose, "close", None)
            if close:
                close()
        return self.summary


async def _finish(executor, coach: LiveCoach, reason: str) -> dict:
    """End the session in the connection's thread. Submitted at once and shielded: a cancelled
    connection (client gone, server stopping) must not cancel the queued finish with it."""
    future = executor.submit(coach.finish, reason)
    return await asyncio.shield(asyncio.wrap_future(future))


async def _send(ws: WebSocket, msg: dict) -> None:
    await ws.send_text(json.dumps(clean(msg), allow_nan=False))


def _bearer(ws: WebSocket) -> str | None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def _num(start: dict, key: str, lo: float, hi: float, integer: bool = False):
    v = start.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi \
            or (integer and int(v) != v):
        raise HTTPException(422, detail=f"{key} must be a {'whole ' if integer else ''}number from {lo} to {hi}")
    return int(v) if integer else float(v)


def _open_coach(app, start: dict) -> tuple[LiveCoach, dict]:
    """Check the start message and build the coach (runs in the connection's worker thread)."""
    from coach.api.deps import principal_for_token, visible_patient
    from coach.errors import CoachError
    from coach.exercise.library import get_definition
    from coach.app.workout import WorkoutPlan
    from db.models import Patient

    token = start.get("token") or start.get("_header_token")
    if not isinstance(token, str) or not token:
        raise HTTPException(401, detail="no token: put it in the start message ('token') or an Authorization header")
    user = principal_for_token(app, token)
    exercise_id = start.get("exercise_id")
    if not isinstance(exercise_id, str) or not exercise_id:
        raise HTTPException(422, detail="the start message needs exercise_id")
    settings = app.state.settings
    try:
        definition = get_definition(exercise_id, settings.exercise_dirs)
    except CoachError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    sets = _num(start, "sets", 1, 100, True)
    reps = _num(start, "reps", 1, 10_000, True)
    hold_s = _num(start, "hold_s", 0.1, 86_400)
    rest_s = _num(start, "rest_s", 0, 3_600)
    ready_s = _num(start, "ready_s", 0, 60)
    side = start.get("side")
    if side not in (None, "left", "right", "both"):
        raise HTTPException(422, detail="side must be left, right, both or null")
    with app.state.sessionmaker() as db:
        if user.role == "patient":
            patient = db.get(Patient, user.patient_id)
            asked = start.get("patient")
            if asked not in (None, "", patient.name):
                raise HTTPException(403, detail="a patient may coach only their own sessions")
        else:
            asked = start.get("patient")
            if not isinstance(asked, str) or not asked.strip():
                raise HTTPException(422, detail="a therapist must name the patient ('patient')")
            patient = visible_patient(db, user, asked)
        from coach.app.prescriptions import targets_for_workout

        patient_name = patient.name
        rx, targets = targets_for_workout(db, patient_name, definition.id)  # as `coach workout` does
        rx_id = rx.id if rx else None
        rx_t = (targets.sets, targets.reps, targets.hold_s) if targets else (None, None, None)
    t = definition.targets
    plan = WorkoutPlan(sets=sets or rx_t[0] or t.sets or 1, reps=reps or rx_t[1] or t.reps or None,
                       hold_s=hold_s or rx_t[2] or t.hold_s or None, rest_s=60.0 if rest_s is None else rest_s)
    engine = settings.pose_engine_factory()
    try:
        coach = LiveCoach(definition, plan, pose_engine=engine, sessionmaker=app.state.sessionmaker,
                          patient=patient_name, source="live (browser camera)", prescription_id=rx_id,
                          ready_s=1.0 if ready_s is None else ready_s, side=side)
    except BaseException:
        getattr(engine, "close", lambda: None)()
        raise
    info = {"type": "ready", "session_id": coach.recorder.session_id, "patient": patient_name,
            "exercise": {"id": definition.id, "name": definition.name, "view": definition.view,
                         "setup": definition.setup, "measure": definition.movement.measure},
            "plan": {"sets": plan.sets, "reps": plan.reps, "hold_s": plan.hold_s, "rest_s": plan.rest_s,
                     "ready_s": 1.0 if ready_s is None else ready_s}}
    return coach, info


@router.websocket("/api/live")
async def live(ws: WebSocket) -> None:
    app = ws.app
    await ws.accept()
    loop = asyncio.get_running_loop()
    limiter: asyncio.Semaphore = app.state.live_slots
    if limiter.locked():
        await _send(ws, {"type": "error", "status": 503, "detail": "too many live sessions; try again later"})
        # Close only after the client's start message (or a short wait): a client that sends it and then
        # reads must find the answer, not a connection already closed under its send.
        try:
            msg = await asyncio.wait_for(ws.receive(), BUSY_WAIT_S)
        except (asyncio.TimeoutError, WebSocketDisconnect):
            msg = {}
        if msg.get("type") != "websocket.disconnect":
            await ws.close(1013)
        return
    async with limiter:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coach-live")
        coach: LiveCoach | None = None
        try:
            try:
                start = json.loads(await asyncio.wait_for(ws.receive_text(), START_TIMEOUT_S))
                if not isinstance(start, dict) or start.get("type") != "start":
                    raise HTTPException(422, detail="the first message must be {\"type\": \"start\", ...}")
            except (asyncio.TimeoutError, json.JSONDecodeError, KeyError, TypeError) as exc:
                raise HTTPException(422, detail=f"expected a JSON start message first ({type(exc).__name__})")
            header = _bearer(ws)
            if header:
                start["_header_token"] = header
            opening = executor.submit(_open_coach, app, start)
            try:
                coach, info = await asyncio.shield(asyncio.wrap_future(opening))
            except asyncio.CancelledError:  # gone while the coach was being built: end its session anyway
                opening.add_done_callback(
                    lambda f: f.exception() is None and f.result()[0].finish("camera lost"))
                raise
            await _send(ws, info)
            await _serve(ws, coach, executor, loop)
        except HTTPException as exc:
            await _send(ws, {"type": "error", "status": exc.status_code, "detail": exc.detail})
            await ws.close(1008)
        except WebSocketDisconnect:
            pass
        finally:
            if coach is not None and not coach.finished:
                await _finish(executor, coach, "camera lost")
            executor.shutdown(wait=False)


async def _serve(ws: WebSocket, coach: LiveCoach, executor, loop) -> None:
    latest: list = [None]  # the newest frame not yet processed: (t, jpeg)
    have = asyncio.Event()
    state = {"stop": None, "dropped": 0, "closed": False}
    controls: list[str] = []

    async def receive() -> None:
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    state["closed"] = True
                    break
                data = msg.get("bytes")
                if data is not None:
                    if len(data) < 9 or len(data) > MAX_FRAME_BYTES:
                        await _send(ws, {"type": "error", "status": 413 if len(data) > 9 else 422,
                                         "detail": "a frame is 8 bytes of float64 time then a JPEG of at most "
                                                   f"{MAX_FRAME_BYTES} bytes"})
                        continue
                    (t,) = struct.unpack("<d", data[:8])
                    if latest[0] is not None:
                        state["dropped"] += 1
                    latest[0] = (t, data[8:])
                    have.set()
                    continue
                try:
                    ctl = json.loads(msg.get("text") or "")
                    kind = ctl.get("type")
                except (json.JSONDecodeError, AttributeError):
                    kind = None
                if kind == "stop":
                    state["stop"] = "quit"
                    break
                if kind in ("next_set", "pause"):
                    controls.append(kind)
                    have.set()
                else:
                    await _send(ws, {"type": "error", "status": 422,
                                     "detail": "text messages are {\"type\": \"stop\" | \"next_set\" | \"pause\"}"})
        except WebSocketDisconnect:
            state["closed"] = True
        finally:
            have.set()

    receiver = asyncio.create_task(receive())
    try:
        while True:
            await have.wait()
            have.clear()
            while controls:
                await loop.run_in_executor(executor, coach.control, controls.pop(0))
            if state["stop"] or state["closed"]:
                break
            item, latest[0] = latest[0], None
            if item is None:
                continue
            answer = await loop.run_in_executor(executor, coach.process, *item)
            answer["dropped"] = state["dropped"]
            await _send(ws, answer)
            if answer.get("done"):
                state["stop"] = "completed"
                break
    finally:
        if not receiver.done():
            receiver.cancel()
    if state["closed"]:
        await _finish(executor, coach, "camera lost")
        return
    reason = state["stop"] or "quit"
    summary = await _finish(executor, coach, reason)
    await _send(ws, {"type": "summary", "session_id": coach.recorder.session_id, "result": summary})
    await ws.close(1000)
