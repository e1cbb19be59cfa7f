"""Camera cuts found in the picture (`coach.pose.camera_cuts`), on drawn scenes and on real footage."""

from __future__ import annotations

import cv2
import numpy as np

from coach.pose.camera_cuts import CutDetector


def _scene(seed: int, size=(360, 640)) -> np.ndarray:
    """A room: a colour gradient with furniture-like blocks, different for each seed."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    base = rng.integers(30, 220, 3)
    img[:] = base
    img += np.linspace(0, 35, w, dtype=np.uint8)[None, :, None]
    for _ in range(12):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 160)), y + int(rng.integers(20, 140))),
                      tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


def _person(img: np.ndarray, x: int, arm_deg: float) -> np.ndarray:
    """A figure at x whose arm is raised by arm_deg (someone moving in front of the camera)."""
    out = img.copy()
    cv2.ellipse(out, (x, 120), (30, 90), 0, 0, 360, (40, 40, 40), -1)
    cv2.circle(out, (x, 20), 18, (60, 60, 60), -1)
    a = np.radians(arm_deg)
    cv2.line(out, (x, 60), (int(x + 110 * np.sin(a)), int(60 + 110 * np.cos(a))), (40, 40, 40), 14)
    return out


def _zoom(img: np.ndarray, k: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0, k)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_a_person_moving_is_no_cut_and_a_new_shot_or_a_zoom_is():
    room, other = _scene(1), _scene(2)
    frames = [_person(room, 300 + 3 * i, 10 * i) for i in range(15)]  # walking and raising an arm
    frames += [_person(other, 250, 60)]  # cut to another camera
    frames += [_person(other, 250 + 2 * i, 60 + 5 * i) for i in range(1, 10)]
    frames += [_zoom(frames[-1], 1.8)]  # a phone zooms in
    frames += [_zoom(_person(other, 270 + i, 110), 1.8) for i in range(1, 5)]
    det = CutDetector()
    cuts = [i for i, f in enumerate(frames) if det.update(f)]
    assert cuts == [15, 25]


def test_cuts_in_real_footage(shared_data):
    """An edited clip's cut is found where it is, and a continuous clip has none."""
    def cuts_of(name: str, until_s: float) -> list[float]:
        cap = cv2.VideoCapture(str(shared_data / "videos" / name))
        fps = cap.get(cv2.CAP_PROP_FPS)
        det, found, i = CutDetector(), [], 0
        while i < until_s * fps:
            ok, frame = cap.read()
            if not ok:
                break
            if det.update(frame):
                found.append(i / fps)
            i += 1
        cap.release()
        return found

    assert cuts_of("curl_side_formfit.mp4", 12.0) == []
    assert cuts_of("squat_bw_side_rokfit.mp4", 7.0) == []
    # the cut from the waist-up shot to a wide shot at 6.45-6.5 s (labels.tsv)
    assert [round(t, 1) for t in cuts_of("lateral_raise_oblique_gym_noorashraf.mp4", 7.0)] == [6.5]
    # the cut from the side view to a low angle from the head end, at 24.9 s
    found = cuts_of("glute_bridge_three_angles_malik.mp4", 30.0)
    assert any(24.7 <= t <= 25.0 for t in found) and not [t for t in found if 3.0 < t < 24.7]
