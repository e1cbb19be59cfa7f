"""`coach eval reps`: clips counted in parallel give what a serial run gives, with each count's caveats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from coach.devtools.rep_eval import ClipResult, Label, score_clip, summarise

ROOT = Path(__file__).resolve().parents[1]


def _eval(labels: Path, videos: Path, rec: Path, model: Path, *extra: str) -> dict:
    result = subprocess.run([sys.executable, str(ROOT / "coach.py"), "eval", "reps", str(labels), "--videos",
                             str(videos), "--recordings", str(rec), "--model", str(model), "--json", *extra],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_clips_in_parallel_count_what_one_at_a_time_counts(shared_data, pose_model, tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("file\texercise\treps\n"
                      "squat_bw_side_rokfit.mp4\tsquat\t4\n"
                      "lateral_raise_oblique_gym_noorashraf.mp4\tlateral_raise\t4\n"
                      "pushup_side_badform_kaiakol.mp4\tpush_up\t2\n")
    rec = tmp_path / "rec"
    parallel = _eval(labels, shared_data / "videos", rec, pose_model, "--jobs", "2")  # extracts, in 2 workers
    serial = _eval(labels, shared_data / "videos", rec, pose_model, "--jobs", "1")  # from the cache
    assert parallel == serial
    assert [c["file"] for c in serial["clips"]] == [ln.split("\t")[0] for ln in labels.read_text().splitlines()[1:]]
    assert all(c["error"] is None for c in serial["clips"])
    # the clip with a camera cut (waist-up to a wide shot at 6.45 s) says so
    raise_clip = serial["clips"][1]
    assert any(w["code"] == "cut" and 6.3 < w["time_s"] < 6.6 for w in raise_clip["warnings"])
    assert 0.0 < serial["summary"]["warned_rate"] <= 1.0


def test_warned_rate_is_the_share_of_clips_with_a_caveat():
    label = Label("a.mp4", "squat", 3)
    plain = score_clip(label, 3, 0.0, 0, 0, 1.5)
    warned = score_clip(label, 3, 0.0, 0, 0, 1.5, warnings=[{"code": "cut", "message": "m", "time_s": 1.0}])
    failed = ClipResult("b.mp4", "squat", 3, None, False, None, error="clip not found")
    assert summarise([plain, warned, failed])["warned_rate"] == 1 / 3
