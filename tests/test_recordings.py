"""Keypoint recordings: a round trip keeps everything, format 1 files still read, and every malformed file
is refused with one sentence saying what is wrong (never a traceback, never accepted silently)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coach.devtools.synthetic import synthesize
from coach.errors import SourceError
from coach.pose.recording import load_recording, save_recording
from coach.pose.series import PoseSeries


def arrays(series: PoseSeries, version: int = 2, **meta) -> dict:
    m = {"format": "coach-keypoints", "format_version": version, "fps": series.fps, "width_px": series.width_px,
         "height_px": series.height_px, "source": "test"}
    m.update(meta)
    out = dict(timestamps_s=series.timestamps_s, frame_index=series.frame_index, n_people=series.n_people,
               image_xy_px=series.xy_px, visibility=series.visibility, world_xyz_m=series.world_m,
               meta_json=np.array(json.dumps(m)))
    if version == 1:
        out["presence"] = np.ones_like(series.visibility)
    return out


@pytest.fixture(scope="module")
def series():
    return synthesize("squat", reps=1, seed=1).series


def write(tmp_path, name, data):
    path = tmp_path / name
    np.savez(path, **data)
    return path


def test_round_trip_and_a_2d_series(tmp_path, series):
    back = load_recording(save_recording(tmp_path / "a", series))
    for name in ("timestamps_s", "frame_index", "n_people", "xy_px", "visibility", "world_m"):
        assert np.array_equal(getattr(back, name), getattr(series, name), equal_nan=True), name
    assert (back.fps, back.width_px, back.height_px) == (series.fps, series.width_px, series.height_px)
    flat = PoseSeries(series.timestamps_s, series.frame_index, series.xy_px, series.visibility, None,
                      series.n_people, series.fps, series.width_px, series.height_px, {})
    assert not load_recording(save_recording(tmp_path / "b", flat)).has_world


def test_a_format_1_recording_still_reads(tmp_path, series):
    back = load_recording(write(tmp_path, "v1.npz", arrays(series, version=1)))
    assert np.array_equal(back.xy_px, series.xy_px, equal_nan=True) and back.has_world


def bad_cases(series):
    n = len(series)
    a = arrays(series)
    yield "format_version text", {**a, "meta_json": np.array(json.dumps({**json.loads(str(a["meta_json"])),
                                                                          "format_version": "abc"}))}, "format_version"
    yield "metadata a list", {**a, "meta_json": np.array(json.dumps([1, 2]))}, "JSON object"
    yield "metadata not JSON", {**a, "meta_json": np.array("{not json")}, "not JSON"
    yield "fps 0", arrays(series, fps=0), "fps must be a positive number"
    yield "fps text", arrays(series, fps="30"), "fps must be a positive number"
    yield "width negative", arrays(series, width_px=-3), "width_px"
    shorter = dict(a)
    shorter["visibility"] = a["visibility"][: n - 5]
    yield "arrays of unequal length", shorter, "visibility must have shape"
    back = dict(a)
    t = a["timestamps_s"].copy()
    t[10] = t[5]
    back["timestamps_s"] = t
    yield "decreasing timestamps", back, "timestamps must increase"
    nan_t = dict(a)
    t2 = a["timestamps_s"].copy()
    t2[3] = np.nan
    nan_t["timestamps_s"] = t2
    yield "a NaN timestamp", nan_t, "not a finite number"
    people = dict(a)
    people["n_people"] = a["n_people"] + 5
    yield "more people than slots", people, "n_people must be between"
    lacks = {k: v for k, v in a.items() if k != "visibility"}
    yield "an array missing", lacks, "lacks the arrays visibility"
    text = dict(a)
    text["visibility"] = np.array(["x"] * n)
    yield "text instead of numbers", text, "not numbers"
    other = {**a, "meta_json": np.array(json.dumps({"format": "something-else"}))}
    yield "another format", other, "is not a coach-keypoints recording"
    newer = arrays(series, version=99)
    yield "a newer version", newer, "Upgrade coach"


def test_every_malformed_recording_is_one_sentence(tmp_path, series):
    seen = 0
    for i, (what, data, message) in enumerate(bad_cases(series)):
        path = write(tmp_path, f"bad{i}.npz", data)
        with pytest.raises(SourceError, match=message) as exc:
            load_recording(path)
        assert "\n" not in str(exc.value), what
        seen += 1
    assert seen >= 14


def test_files_that_are_not_recordings(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, I am a text file")
    with pytest.raises(SourceError, match="not a keypoint recording"):
        load_recording(text)
    pickled = tmp_path / "pickle.npz"
    np.savez(pickled, meta_json=np.array([{"a": 1}], dtype=object))
    with pytest.raises(SourceError, match="Python objects"):
        load_recording(pickled)
    with pytest.raises(SourceError, match="not found"):
        load_recording(tmp_path / "missing.npz")
    with pytest.raises(SourceError, match="directory"):
        load_recording(tmp_path)
