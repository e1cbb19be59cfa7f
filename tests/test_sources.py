"""Frame sources: timestamps from the source, and one clear error for each kind of bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.errors import SourceError
from coach.app.sources import Frame, FrameSource, ImageSource, VideoFileSource, open_source

ROOT = Path(__file__).resolve().parents[1]


def write_video(path: Path, n_frames: int = 30, fps: float = 30.0, size=(160, 120)) -> Path:
    """A small synthetic clip: a square moving across a grey background."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n_frames):
        img = np.full((size[1], size[0], 3), 90, np.uint8)
        cv2.rectangle(img, (5 + 3 * i, 40), (25 + 3 * i, 60), (0, 200, 255), -1)
        writer.write(img)
    writer.release()
    return path


def test_video_frames_have_increasing_source_timestamps(tmp_path):
    path = write_video(tmp_path / "clip.mp4", n_frames=45, fps=15.0)
    with VideoFileSource(path) as src:
        frames = list(src)
        assert src.ended_reason == "end of file"
    assert len(frames) == 45
    t = np.array([f.timestamp_s for f in frames])
    assert np.all(np.diff(t) > 0)
    # 15 fps: the 45th frame is at 44/15 s, from the source, not the wall clock
    assert t[-1] == pytest.approx(44 / 15.0, abs=0.02)
    assert frames[0].image_bgr.shape == (120, 160, 3)


def test_image_source_is_one_frame(tmp_path):
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), np.zeros((50, 40, 3), np.uint8))
    with ImageSource(path) as src:
        frames = list(src)
    assert len(frames) == 1 and frames[0].timestamp_s == 0.0 and (src.width_px, src.height_px) == (40, 50)


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing.mp4", "not found"),
    (lambda d: d, "is a directory"),
    (lambda d: _file(d / "empty.mp4", b""), "empty"),
    (lambda d: _file(d / "notes.mp4", b"these are my notes\n" * 20), "not a video"),
])
def test_bad_video_inputs_raise_one_clear_error(tmp_path, make, expected):
    with pytest.raises(SourceError, match=expected):
        open_source(make(tmp_path))


def test_truncated_video_is_refused_or_ends_with_a_reason(tmp_path):
    path = write_video(tmp_path / "full.mp4", n_frames=60)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        src = open_source(cut)
    except SourceError as exc:  # MP4 keeps its index at the end: a cut file may not open at all
        assert "video" in str(exc)
        return
    with src:
        n = sum(1 for _ in src)
    assert n < 60 and src.ended_reason


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="Camera 57 could not be opened"):
        open_source("57")


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "coach.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("kind", ["missing", "text", "empty", "directory", "truncated", "camera"])
def test_pose_extract_bad_input_is_one_sentence_without_traceback(tmp_path, kind):
    if kind == "missing":
        src = str(tmp_path / "nope.mp4")
    elif kind == "text":
        src = str(tmp_path / "text.mp4")
        Path(src).write_text("not a video\n" * 50)
    elif kind == "empty":
        src = str(tmp_path / "empty.mp4")
        Path(src).write_bytes(b"")
    elif kind == "directory":
        src = str(tmp_path)
    elif kind == "truncated":
        full = write_video(tmp_path / "full.mp4", n_frames=60).read_bytes()
        src = str(tmp_path / "cut.mp4")
        Path(src).write_bytes(full[: len(full) // 3])
    else:
        src = "57"
    result = run_cli("pose", "extract", src, "-o", str(tmp_path / "out.npz"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr


def test_prefetched_frames_are_the_source_frames_in_order(tmp_path):
    from coach.app.sources import prefetched

    path = write_video(tmp_path / "clip.mp4", n_frames=40)
    with VideoFileSource(path) as src:
        direct = [(f.index, f.timestamp_s, int(f.image_bgr.sum())) for f in src]
    with VideoFileSource(path) as src:
        ahead = [(f.index, f.timestamp_s, int(f.image_bgr.sum())) for f in prefetched(src)]
        assert src.ended_reason == "end of file"
    assert ahead == direct


def test_prefetched_stops_its_reader_when_the_consumer_stops_early(tmp_path):
    import threading

    from coach.app.sources import prefetched

    path = write_video(tmp_path / "clip.mp4", n_frames=60)
    with VideoFileSource(path) as src:
        frames = prefetched(src)
        first = [next(frames) for _ in range(3)]
        frames.close()
    assert [f.index for f in first] == [0, 1, 2]
    assert not any(t.name == "frame-reader" for t in threading.enumerate())


def test_prefetched_passes_a_reading_error_to_the_consumer():
    from coach.app.sources import prefetched

    class Broken(FrameSource):
        def __iter__(self):
            yield Frame(0, 0.0, np.zeros((2, 2, 3), np.uint8))
            raise SourceError("the disk went away")

    frames = prefetched(Broken())
    assert next(frames).index == 0
    with pytest.raises(SourceError, match="disk went away"):
        next(frames)


def test_a_camera_that_stops_delivering_ends_the_stream_as_camera_lost(monkeypatch):
    """A camera unplugged mid-set: frames so far are delivered, then the source ends, saying why."""
    import coach.app.sources as sources

    class FakeCapture:
        def __init__(self, index):
            self.reads = 0

        def isOpened(self):
            return True

        def get(self, prop):
            return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 8, cv2.CAP_PROP_FRAME_HEIGHT: 6}.get(prop, 0)

        def read(self):
            self.reads += 1
            if self.reads <= 5:
                return True, np.zeros((6, 8, 3), np.uint8)
            return False, None  # unplugged

        def release(self):
            pass

    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    with sources.CameraSource(0, lost_after_s=0.2) as cam:
        frames = list(cam)
        assert cam.ended_reason == "camera lost"
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(b > a for a, b in zip([f.timestamp_s for f in frames], [f.timestamp_s for f in frames][1:]))
