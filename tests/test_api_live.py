"""Live coaching over the WebSocket: the protocol, refusals, counting at a reduced frame rate, and the
session kept like the CLI keeps it. The pose engine is replaced by a synthetic recording (exact answers);
one test uses the real model on real footage when ../shared is present."""

from __future__ import annotations

import dataclasses
import json
import struct

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from coach.api import create_app  # noqa: E402
from coach.api.users import add_user, issue_token  # noqa: E402
from db.engine import close_database, open_database, write_session  # noqa: E402

JPEG = cv2.imencode(".jpg", np.zeros((36, 64, 3), np.uint8))[1].tobytes()


class ReplayEngine:
    """Stands in for PoseEngine: answers each frame with the recording's frame nearest in time."""

    def __init__(self, series):
        self.frames = list(series.frames())
        self.times = np.array([f.timestamp_s for f in self.frames])
        self.closed = False

    def detect(self, image_bgr, timestamp_s, frame_index):
        f = self.frames[int(np.argmin(np.abs(self.times - timestamp_s)))]
        return dataclasses.replace(f, timestamp_s=timestamp_s, frame_index=frame_index)

    def close(self):
        self.closed = True


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=4, rep_s=2.0, fps=30.0)
    db_path = tmp_path_factory.mktemp("live") / "coach.sqlite"
    sm = open_database(db_path)
    tokens = {}
    with write_session(sm) as s:
        tokens["dr"] = issue_token(s, add_user(s, "dr", "therapist"))
        tokens["dr2"] = issue_token(s, add_user(s, "dr2", "therapist"))
        tokens["ana"] = issue_token(s, add_user(s, "ana", "patient", "dr"))
        tokens["bob"] = issue_token(s, add_user(s, "bob", "patient", "dr2"))
    close_database(sm)
    engines = []

    def factory():
        engines.append(ReplayEngine(clip.series))
        return engines[-1]

    app = create_app(db_path, pose_engine_factory=factory)
    with TestClient(app) as client:
        yield client, tokens, clip, engines


def frame_msg(t: float, jpeg: bytes = JPEG) -> bytes:
    return struct.pack("<d", t) + jpeg


def _start(ws, **kw):
    ws.send_text(json.dumps({"type": "start", **kw}))
    return ws.receive_json()


def test_live_counts_reps_at_a_reduced_frame_rate_and_keeps_the_session(live_api):
    client, tokens, clip, engines = live_api
    with client.websocket_connect("/api/live") as ws:
        ready = _start(ws, token=tokens["ana"], exercise_id="squat", reps=20, ready_s=0)
        assert ready["type"] == "ready" and ready["plan"]["reps"] == 20 and ready["patient"] == "ana"
        kinds, last = set(), None
        times = clip.series.timestamps_s[::3]  # 10 frames/s of a 30 frames/s movement
        for t in times:
            ws.send_bytes(frame_msg(float(t)))
            last = ws.receive_json()
            assert last["type"] == "frame" and last["t"] == pytest.approx(float(t))
            kinds |= {e["type"] for e in last["events"]}
        assert last["reps"] == clip.reps == 4
        assert {"phase", "rep"} <= kinds
        kp = last["keypoints"]
        assert len(kp["points"]) == 33 and all(0 <= v <= 1.5 for p in kp["points"] for v in p[:2])
        ws.send_text(json.dumps({"type": "stop"}))
        summary = ws.receive_json()
    assert summary["type"] == "summary" and summary["result"]["reps"] == 4
    assert summary["result"]["ended_reason"] == "quit"
    assert engines[-1].closed
    sid = summary["session_id"]
    stored = client.get(f"/api/sessions/{sid}", headers={"Authorization": f"Bearer {tokens['dr']}"}).json()
    assert stored["totals"]["reps"] == 4 and stored["end_reason"] == "quit" and stored["patient"] == "ana"
    assert stored["source"] == "live (browser camera)"


def test_live_ends_at_the_target_and_sends_the_summary(live_api):
    client, tokens, clip, _ = live_api
    with client.websocket_connect("/api/live", headers={"Authorization": f"Bearer {tokens['dr']}"}) as ws:
        assert _start(ws, exercise_id="squat", patient="ana", reps=2, sets=1, ready_s=0)["type"] == "ready"
        msg = None
        for t in clip.series.timestamps_s[::2]:
            ws.send_bytes(frame_msg(float(t)))
            msg = ws.receive_json()
            if msg.get("done"):
                break
        assert msg["done"] and msg["reps"] == 2
        summary = ws.receive_json()
        assert summary["type"] == "summary" and summary["result"]["reps"] == 2
        assert summary["result"]["ended_reason"] == "completed"


def test_live_disconnect_keeps_completed_reps(live_api):
    client, tokens, clip, _ = live_api
    with client.websocket_connect("/api/live") as ws:
        sid = _start(ws, token=tokens["ana"], exercise_id="squat", ready_s=0, reps=50)["session_id"]
        for t in clip.series.timestamps_s[: len(clip.series) // 2: 2]:
            ws.send_bytes(frame_msg(float(t)))
            ws.receive_json()
    import time

    for _ in range(600):  # the server finishes the session after the socket closed (slow under load)
        d = client.get(f"/api/sessions/{sid}", headers={"Authorization": f"Bearer {tokens['ana']}"}).json()
        if d["ended_at"]:
            break
        time.sleep(0.05)
    assert d["end_reason"] == "camera lost" and d["totals"]["reps"] >= 1


def test_live_targets_come_from_the_prescription(live_api):
    client, tokens, clip, _ = live_api
    r = client.post("/api/patients/ana/prescriptions", json={"exercise_id": "squat", "reps": 3, "sets": 2},
                    headers={"Authorization": f"Bearer {tokens['dr']}"})
    assert r.status_code == 201, r.text
    rx = r.json()["id"]
    try:
        with client.websocket_connect("/api/live") as ws:
            ready = _start(ws, token=tokens["ana"], exercise_id="squat", ready_s=0)
            assert ready["plan"]["reps"] == 3 and ready["plan"]["sets"] == 2
            ws.send_text(json.dumps({"type": "stop"}))
            sid = ws.receive_json()["session_id"]
        import sqlite3

        db = client.app.state.settings.db_path
        assert sqlite3.connect(db).execute("SELECT prescription_id FROM sessions WHERE id = ?", (sid,)).fetchone() == (rx,)
    finally:
        client.post(f"/api/prescriptions/{rx}/end", headers={"Authorization": f"Bearer {tokens['dr']}"})


def test_live_bad_frames_are_answered_not_fatal(live_api):
    client, tokens, _, _ = live_api
    with client.websocket_connect("/api/live") as ws:
        _start(ws, token=tokens["ana"], exercise_id="squat", ready_s=0)
        ws.send_bytes(frame_msg(1.0, b"not a jpeg"))
        assert ws.receive_json()["status"] == 415
        ws.send_bytes(b"\0\0")
        assert ws.receive_json()["status"] == 422
        ws.send_bytes(frame_msg(2.0))
        assert ws.receive_json()["type"] == "frame"
        ws.send_bytes(frame_msg(1.5))  # time going backwards
        assert ws.receive_json()["status"] == 422
        ws.send_text("hello")
        assert ws.receive_json()["status"] == 422
        ws.send_text(json.dumps({"type": "pause"}))
        ws.send_bytes(frame_msg(3.0))
        assert ws.receive_json()["paused"] is True
        ws.send_text(json.dumps({"type": "stop"}))
        assert ws.receive_json()["type"] == "summary"


@pytest.mark.parametrize("start,status", [
    ({"exercise_id": "squat"}, 401),
    ({"exercise_id": "squat", "token": "coach_wrong"}, 401),
    ({"exercise_id": "nope", "token": "ana"}, 422),
    ({"token": "ana"}, 422),
    ({"exercise_id": "squat", "token": "ana", "patient": "bob"}, 403),
    ({"exercise_id": "squat", "token": "dr", "patient": "bob"}, 404),
    ({"exercise_id": "squat", "token": "dr"}, 422),
    ({"exercise_id": "squat", "token": "ana", "reps": -1}, 422),
    ({"exercise_id": "squat", "token": "ana", "side": "up"}, 422),
])
def test_live_refusals(live_api, start, status):
    client, tokens, _, _ = live_api
    if start.get("token") in tokens:
        start = {**start, "token": tokens[start["token"]]}
    with client.websocket_connect("/api/live") as ws:
        msg = _start(ws, **start)
        assert msg["type"] == "error" and msg["status"] == status, msg
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 1008


def test_live_first_message_must_be_start(live_api):
    client, _, _, _ = live_api
    with client.websocket_connect("/api/live") as ws:
        ws.send_bytes(frame_msg(0.0))
        msg = ws.receive_json()
        assert msg["status"] == 422


def test_live_with_the_real_model_on_real_footage(tmp_path, shared_data, pose_model):
    """squat_bw_side_rokfit.mp4 deserves 4 reps; frames downscaled to 640 px and sent at 15 frames/s."""
    video = shared_data / "videos" / "squat_bw_side_rokfit.mp4"
    db_path = tmp_path / "c.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        issue_token(s, add_user(s, "dr", "therapist"))
        tok = issue_token(s, add_user(s, "ana", "patient", "dr"))
    close_database(sm)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    step = max(1, int(round(fps / 15)))
    with TestClient(create_app(db_path, model_path=pose_model)) as client:
        with client.websocket_connect("/api/live") as ws:
            assert _start(ws, token=tok, exercise_id="squat", reps=20, ready_s=0)["type"] == "ready"
            i = 0
            last = None
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                if i % step == 0:
                    h, w = img.shape[:2]
                    small = cv2.resize(img, (640, int(round(h * 640 / w))))
                    ws.send_bytes(frame_msg(i / fps, cv2.imencode(".jpg", small)[1].tobytes()))
                    last = ws.receive_json()
                i += 1
            ws.send_text(json.dumps({"type": "stop"}))
            summary = ws.receive_json()
    assert last["keypoints"] is not None
    assert summary["result"]["reps"] == 4


def test_live_connections_are_limited(tmp_path):
    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=1, fps=30.0)
    db_path = tmp_path / "c.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        issue_token(s, add_user(s, "dr", "therapist"))
        tok = issue_token(s, add_user(s, "ana", "patient", "dr"))
    close_database(sm)
    app = create_app(db_path, max_live=1, pose_engine_factory=lambda: ReplayEngine(clip.series))
    with TestClient(app) as client:
        with client.websocket_connect("/api/live") as first:
            assert _start(first, token=tok, exercise_id="squat")["type"] == "ready"
            with client.websocket_connect("/api/live") as second:
                msg = second.receive_json()
                assert msg["status"] == 503
            first.send_text(json.dumps({"type": "stop"}))
            assert first.receive_json()["type"] == "summary"


def test_a_busy_server_drops_frames_instead_of_queueing(tmp_path):
    """Frames sent faster than the engine works: the waiting one is replaced, answers stay few and fresh."""
    import time as _time

    from coach.devtools.synthetic import synthesize

    clip = synthesize("squat", reps=1, fps=30.0)

    class SlowEngine(ReplayEngine):
        def detect(self, image_bgr, timestamp_s, frame_index):
            _time.sleep(0.05)
            return super().detect(image_bgr, timestamp_s, frame_index)

    db_path = tmp_path / "c.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        issue_token(s, add_user(s, "dr", "therapist"))
        tok = issue_token(s, add_user(s, "ana", "patient", "dr"))
    close_database(sm)
    with TestClient(create_app(db_path, pose_engine_factory=lambda: SlowEngine(clip.series))) as client:
        with client.websocket_connect("/api/live") as ws:
            _start(ws, token=tok, exercise_id="squat", ready_s=0)
            for i in range(40):
                ws.send_bytes(frame_msg(i / 30))
            answers = []
            while True:
                m = ws.receive_json()
                answers.append(m)
                if m["t"] == pytest.approx(39 / 30):
                    break
            ws.send_text(json.dumps({"type": "stop"}))
            assert ws.receive_json()["type"] == "summary"
    assert len(answers) < 40 and answers[-1]["dropped"] == 40 - len(answers)
    assert [a["t"] for a in answers] == sorted(a["t"] for a in answers)
