"""The workout window under a real X server (Xvfb): it opens, and its keys q, space and n do what they say.

Needs Xvfb and xdotool (Debian packages `xvfb`, `xdotool`; .ci/run installs them) and the real clips; skips
cleanly without them. Each run presses its key as soon as the window is there, well before the clip's
first squat is complete (about 2 s into the clip), and the clip then plays to its end on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIP = "squat_bw_side_rokfit.mp4"  #: 4 squats, labelled
WINDOW_WAIT_S = 60.0

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="Xvfb and xdotool are needed for a real window")


@pytest.fixture(scope="module")
def display():
    """A private X server; its display name (":N")."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten",
                               "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as announced:
        number = announced.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def run_with_keys(display: str, pose_model: Path, clip: Path, keys: list[str], *args: str) -> dict:
    """Run a workout in a window, press `keys` once it is open, return the --json result."""
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    workout = subprocess.Popen(
        [sys.executable, str(ROOT / "coach.py"), "workout", "-e", "squat", "--source", str(clip), "--show",
         "--no-db", "--json", "--model", str(pose_model), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = ""
        deadline = time.monotonic() + WINDOW_WAIT_S
        while not window and time.monotonic() < deadline and workout.poll() is None:
            found = subprocess.run(["xdotool", "search", "--name", "^coach$"], env=env, capture_output=True,
                                   text=True)
            window = found.stdout.split()[0] if found.stdout.split() else ""
            time.sleep(0.05)
        assert window, f"no window appeared: {workout.stderr.read() if workout.poll() is not None else ''}"
        for key in keys:
            subprocess.run(["xdotool", "key", "--window", window, key], env=env, check=True, capture_output=True)
            time.sleep(0.15)
        out, err = workout.communicate(timeout=300)
    finally:
        if workout.poll() is None:
            workout.kill()
    assert workout.returncode == 0, err
    assert "Traceback" not in err and "QFontDatabase" not in err, err
    return json.loads(out)


def test_q_quits_and_keeps_what_was_counted(display, pose_model, shared_data):
    result = run_with_keys(display, pose_model, shared_data / "videos" / CLIP, ["q"])
    assert result["ended_reason"] == "quit"
    assert result["reps"] == 0  # quit before the first squat was complete


def test_space_pauses_counting(display, pose_model, shared_data):
    result = run_with_keys(display, pose_model, shared_data / "videos" / CLIP, ["space"])
    assert result["ended_reason"] == "source ended"
    assert result["reps"] == 0, "paused from the start: the clip's four squats are not counted"


def test_n_ends_the_set_and_the_next_one_counts(display, pose_model, shared_data):
    result = run_with_keys(display, pose_model, shared_data / "videos" / CLIP, ["n"], "--sets", "2")
    sets = result["sets"]
    assert [s["ended_reason"] for s in sets] == ["skipped", "source ended"]
    assert [s["reps"] for s in sets] == [0, 4]
