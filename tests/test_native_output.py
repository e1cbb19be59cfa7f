"""Native log lines are kept off the user's terminal; everything else written to stderr still gets there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coach.pose.native_output import LogLineFilter

ROOT = Path(__file__).resolve().parents[1]

ABSL_WARNING = (b"W0000 00:00:1795522697.449264    3163 landmark_projection_calculator.cc:81] Using NORM_RECT "
                b"without IMAGE_DIMENSIONS is only supported for the square ROI.\n")
GLOG_INFO = b"I1124 12:01:02.345678  4711 graph.cc:12] Graph started.\n"
NATIVE_ERROR = b"E1124 12:01:02.345678  4711 calculator.cc:99] Something really failed.\n"
KEPT = [b"\r\x1b[2Kextracting  10/100", b"\r\x1b[2Kextracting  20/100", b"\n", b"Warning: a Python warning\n",
        b"W0000 is how this sentence starts, and it is not a log line\n", NATIVE_ERROR, b"done\n"]


def run_filter(chunks: list[bytes]) -> bytes:
    out: list[bytes] = []
    f = LogLineFilter(out.append)
    for chunk in chunks:
        f.feed(chunk)
    f.flush()
    return b"".join(out)


def stream() -> bytes:
    return KEPT[0] + ABSL_WARNING + KEPT[1] + KEPT[2] + GLOG_INFO + b"".join(KEPT[3:]) + ABSL_WARNING


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 100_000])
def test_log_lines_are_dropped_and_the_rest_kept_in_order_however_the_bytes_arrive(chunk):
    data = stream()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    assert run_filter(pieces) == b"".join(KEPT)


def test_a_progress_bar_without_a_newline_is_passed_on_at_once():
    out: list[bytes] = []
    f = LogLineFilter(out.append)
    f.feed(b"\r\x1b[2Kextracting  50/100")
    assert b"".join(out) == b"\r\x1b[2Kextracting  50/100"
    f.feed(b"W00")  # may be a log line: held back until its end is seen
    assert b"".join(out).endswith(b"50/100")
    f.feed(b"00 00:00:17.5 1 x.cc:1] noise\nnext")
    assert b"".join(out) == b"\r\x1b[2Kextracting  50/100next"


SCRIPT = textwrap.dedent(r"""
    import os, sys, threading
    from coach.pose import native_output as no

    before = os.fstat(2).st_ino
    no.acquire_native_log_filter()
    assert sys.stderr.fileno() != 2, "Python's stderr goes straight to the terminal while filtering"
    # engines come and go on other threads (the API): one filter, counted
    threads = [threading.Thread(target=lambda: (no.acquire_native_log_filter(),
                                                os.write(2, WARNING), no.release_native_log_filter()))
               for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    os.write(2, b"native text\n" + WARNING)
    print("python text", file=sys.stderr)
    with no.native_stderr_silenced():
        os.write(2, b"silenced\n")
    os.write(2, ERROR)
    no.release_native_log_filter()
    assert sys.stderr.fileno() == 2 and os.fstat(2).st_ino == before, "fd 2 is put back"
    os.write(2, b"after\n")
    no.acquire_native_log_filter()
    os.write(2, WARNING + b"last words before exit\n")  # never released: taken down at exit, nothing lost
""")


def test_filter_on_the_real_file_descriptor(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(f"WARNING = {ABSL_WARNING!r}\nERROR = {NATIVE_ERROR!r}\n" + SCRIPT)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, cwd=ROOT, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stderr.decode().splitlines()
    assert sorted(lines) == sorted(["native text", "python text", NATIVE_ERROR.decode().strip(), "after",
                                    "last words before exit"])
    assert lines.index("native text") < lines.index(NATIVE_ERROR.decode().strip()) < lines.index("after")


def test_unfiltered_on_request(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(f"WARNING = {ABSL_WARNING!r}\nERROR = {NATIVE_ERROR!r}\n" + textwrap.dedent("""
        import os
        from coach.pose import native_output as no
        no.acquire_native_log_filter()
        os.write(2, WARNING)
        no.release_native_log_filter()
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, cwd=ROOT, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COACH_NATIVE_LOG": "1"})
    assert result.stderr == ABSL_WARNING


@pytest.fixture
def ten_real_frames(shared_data, tmp_path) -> Path:
    """The first ten frames of a real clip (written under tmp_path at test time, never kept)."""
    import cv2

    cap = cv2.VideoCapture(str(shared_data / "videos" / "squat_bw_side_rokfit.mp4"))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = [frame for ok, frame in (cap.read() for _ in range(10)) if ok]
    cap.release()
    clip = tmp_path / "ten_frames.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    return clip


@pytest.mark.parametrize("unfiltered", [False, True], ids=["filtered", "control: COACH_NATIVE_LOG=1"])
def test_mediapipe_warning_kept_off_the_terminal_on_real_frames(ten_real_frames, pose_model, tmp_path, unfiltered):
    """MediaPipe prints its "NORM_RECT without IMAGE_DIMENSIONS" warning when it projects a person's
    landmarks (first frame, and whenever the person is found again: it used to land in the middle of a
    workout's progress bar). The control shows the warning really is printed when not filtered."""
    env = {k: v for k, v in os.environ.items() if k != "COACH_NATIVE_LOG"}
    if unfiltered:
        env["COACH_NATIVE_LOG"] = "1"
    result = subprocess.run([sys.executable, str(ROOT / "coach.py"), "pose", "extract", str(ten_real_frames),
                             "-o", str(tmp_path / "rec.npz"), "--model", str(pose_model)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert ("NORM_RECT" in result.stderr) == unfiltered
    assert "wrote" in result.stdout + result.stderr
