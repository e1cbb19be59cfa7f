"""Synthetic skeletons performing exercises, with known answers.

`synthesize("squat", reps=5)` returns a `SyntheticClip`: a `PoseSeries` shaped exactly like a pose-engine
recording (33 MediaPipe landmarks, image pixels, world metres, visibility) plus the truth the
counting engine should find: the number of repetitions (per side for alternating or one-sided exercises),
the time of each turning point, the seconds actually held, and the joint angles used, frame by frame.

How it is built
---------------
A body model with realistic segment lengths (stature about 1.72 m) is posed frame by frame from joint angles
(trunk inclination, hip flexion/abduction, knee flexion, ankle plantarflexion, shoulder elevation and its
plane, elbow flexion) by forward kinematics. Closed chains (hands or forearms on the floor in push-ups and
planks, feet and shoulders on the floor in glute bridges, heel on the floor in heel slides) are solved by
two-link inverse kinematics first, so the planted points really stay put. The whole body is then placed so
that what touches the ground stays still (toes, the standing foot, hips, shoulders...).

Coordinates follow `coach.pose.keypoints`: world metres with the origin between the hips, y down, z away from the
camera (MediaPipe's world landmarks); image pixels from an orthographic camera, with the person about 60% of
the frame height. Views:

- ``"side"``: the camera looks at the person's sagittal plane with `side` ("left" or "right") towards it.
  With the left side towards the camera the person faces image-left. Joint angles in the sagittal plane
  (knee, hip, elbow in a curl...) are therefore exact in image coordinates. Far-side landmarks get a
  visibility of 0.3-0.5, near-side and midline ones 0.93-0.99, as MediaPipe does.
- ``"front"``: the camera faces the person standing upright (their left on image-right); all landmarks
  visible (0.9-0.99).
- ``"oblique"``: halfway (45°) between the two, `side` towards the camera; far-side visibility 0.6-0.8.
  Image angles are foreshortened here; world angles are not.

The camera is orthographic and fixed; a person lying down in a narrow (portrait) frame is framed smaller so
that they fit.

Timeline (seconds)
------------------
``lead_in_s`` still at the start position, then `reps` repetitions of ``rep_s`` each, then ``tail_s``
still. A repetition is a cosine from the start position to the turning point and back taking
``rep_s - rest`` (rest = min(0.4, 0.15 * rep_s)), followed by the rest at the start position; the turning
point is in the middle of the movement. ``depth`` in (0, 1] scales every joint's excursion (1 = textbook range,
the most the model allows: deeper would pass anatomical limits and make traces non-monotonic).

- ``pause=(at_s, duration_s)``: the person stands still at the start position for `duration_s`, inserted
  before the first repetition that would begin at or after `at_s` (after the last one if none does).
  Later repetitions shift by `duration_s`. It adds no repetition.
- ``jitter_at_deg``: after the repetitions, a stretch in which the primary angle (`SyntheticClip.primary`)
  moves smoothly from the start position to `jitter_at_deg` (1 s), hovers there for max(4 s, 2*rep_s)
  within ±3° (smooth wander plus noise, crossing the value many times), and returns to the start (1 s).
  It is not a repetition: **the true count is `reps`; the stretch adds 0** (with ``reps=0`` the clip
  contains the stretch only). That is the intended trap when `jitter_at_deg` is a threshold that does not,
  on its own, complete the rep cycle (e.g. the threshold at which the start phase is left). If you place it
  beyond the definition's turning threshold, a hysteresis engine may legitimately count the excursion once;
  `jitter_span_s` gives the stretch's time span so a test can tell.
- Holds (`plank`, `wall_sit`): lead-in in the start position, 1.5 s getting into the hold pose, `hold_s`
  (default 10 s) in it, 1.5 s getting out, tail. `reps` is ignored and the true count is 0. The true hold is
  the time in exactly the hold pose (`hold_spans_s`), to within one frame. With ``pause=(at_s, duration_s)``
  the hold is broken at `at_s` (which must fall inside it): 1.5 s out of the pose, `duration_s` at rest,
  1.5 s back in, then the rest of the hold; `hold_s` is still the time in the pose, in two stretches.
  ``hold_transition_s`` (default 1.5) is the time getting into and out of the pose (a slow descent into a
  wall sit); ``hold_drift`` the progress lost over the hold, linearly (0.1: a tiring person ends 10% of the
  way back towards the start position), which is still time in the pose.
- ``dropouts``: frames with ``a <= t < b`` have nobody detected (n_people = 0, NaN coordinates); the
  movement goes on underneath, so the truth (reps, turning points, angle traces) is unchanged.
- ``fade_out=(start_s, end_s)``: a fade to black: from `start_s` the exerciser's landmarks lose visibility
  linearly (0 at `end_s`) while their positions wander more and more (up to 0.1 m), and from `end_s` to the
  end of the clip nobody is detected. The truth is unchanged (reps are counted from the movement).
- ``camera_cuts=[(time_s, zoom[, refit_from_s]), ...]``: at `time_s` the picture cuts to a shot `zoom` times
  closer (or further: zoom < 1) around the exerciser's torso, and over the next 0.4 s (`REFIT_S`) the
  keypoints slide from the model's last fit before the cut to the true ones, as MediaPipe's tracker refits.
  With `refit_from_s`, that last fit shows the body as it was that many seconds before the cut (an edit that
  cut out that much of the movement, so the refit looks like movement). The series'
  `cuts` flags the cut frames, as `coach.pose.camera_cuts` would from the picture (without cuts, `cuts` is
  None: unknown). The truth is unchanged.
- ``cross_talk=True`` (side and oblique views): the far side's arm and leg landmarks copy the near side's
  movement (placed from the far shoulder and hip), as a pose model guesses a hidden limb from the visible
  one; they stay as poorly seen as the far side is. The truth is unchanged: the far limb did not move.
- ``approach=(start_s, end_s, zoom)``: the person comes towards the camera: from `start_s` to `end_s` the
  picture grows `zoom` times about the top of their head, so their feet (then knees) leave the bottom of
  the frame and are reported barely visible. World coordinates and the truth are unchanged.
- ``noise_px``: independent Gaussian noise of that standard deviation on every image coordinate, and the
  same in metres (noise_px / pixels-per-metre) on every world coordinate. Angle traces are noise-free.
- ``second_person``: "still" (a bystander standing beside the exerciser, slightly further away),
  "crossing" (someone walks across in front of the exerciser, hiding what they pass) or "crossing_behind".
  Slot order is not stable (the still bystander swaps with the exerciser now and then; the crosser is
  ordered left to right in the image), like a real detector; `main_slot` says where the exerciser is.

Which limbs move: ``limbs`` = "both", "left", "right" or "alternate" for exercises that can be done one side
at a time (curls, raises, presses, elbow flexion, heel slides, lunges, single-leg calf raises). Alternating
starts with `side`. `reps` always counts movements (an alternating set of 5 lunges is 5 reps: 3 left and
2 right when starting left).

Besides the counts, a clip carries what a counting test may need: `primary` (the key of the angle
trace the movement is about, on the side that moves or faces the camera), `rep_spans_s` and `rep_sides`,
`hold_span_s`, `pause_span_s`, `jitter_span_s`, `progress` (0 at the start position, 1 at the turning point)
and `main_slot`.

Approximations: the trunk is one rigid segment (a crunch tilts it rather than curling the spine); hands and
face are rigid offsets; feet point straight ahead and slide a few centimetres sideways when a flexed hip
abducts; the rear foot of a lunge may hover a few centimetres above the floor; the crossing walker's feet
slide. The camera is orthographic. None of this touches the angles of the moving joints, which are exact.

Everything is deterministic for a given `seed`.

Modules
-------
- `skeleton`: the body model, joint angles per frame (`Pose`), forward kinematics and the true angle traces.
- `closed_chains`: two-link inverse kinematics for the planted hands, forearms, feet and shoulders.
- `exercise_poses`: one pose function per exercise, the `SPECS` table (`EXERCISES`) and placement on the ground.
- `timeline`: lead-in, repetitions, holds, pauses and the jitter stretch as per-frame progress of each side.
- `camera`: the three views, framing, and the visibility a pose model would report.
- `bystanders`: a second person in the picture and the detector's unstable slot order.
- `clip`: `synthesize` and its result, `SyntheticClip`.
- `group`: `group_scene`, several clips' people in one recording (`GroupScene`).
- `arguments`: the checks that turn a bad option into a `ValueError`.
"""

from __future__ import annotations

from coach.devtools.synthetic.camera import PERSON_FRAME_FRACTION
from coach.devtools.synthetic.clip import SyntheticClip, synthesize
from coach.devtools.synthetic.exercise_poses import EXERCISES
from coach.devtools.synthetic.group import GroupScene, group_scene
from coach.devtools.synthetic.skeleton import (
    ANKLE_HEIGHT_M,
    FOREARM_M,
    HEEL_BACK_M,
    HIP_HALF_M,
    SHANK_M,
    SHOULDER_HALF_M,
    STATURE_M,
    THIGH_M,
    TOE_FORWARD_M,
    TRUNK_M,
    UPPER_ARM_M,
)

__all__ = [
    "ANKLE_HEIGHT_M", "EXERCISES", "FOREARM_M", "HEEL_BACK_M", "HIP_HALF_M", "PERSON_FRAME_FRACTION", "SHANK_M",
    "SHOULDER_HALF_M", "STATURE_M", "THIGH_M", "TOE_FORWARD_M", "TRUNK_M", "UPPER_ARM_M", "GroupScene",
    "SyntheticClip", "group_scene", "synthesize",
]
