"""Keypoint recordings: every frame's keypoints of a source, saved once and replayed without the model.

File format (``.npz``, numpy's zip of arrays; format name ``coach-keypoints``, version 1). T frames,
P person slots (the largest number of people seen in one frame, at least 1), 33 landmarks:

| array          | shape          | dtype   | meaning                                                 |
|----------------|----------------|---------|---------------------------------------------------------|
| timestamps_s   | (T,)           | float64 | source timestamp of each frame, seconds                 |
| frame_index    | (T,)           | int64   | index of the frame in the source                        |
| n_people       | (T,)           | int16   | people found in the frame (0 = nobody)                  |
| image_xy_px    | (T, P, 33, 2)  | float32 | image coordinates, pixels; NaN in empty slots           |
| visibility     | (T, P, 33)     | float32 | landmark visibility in [0, 1]; 0 in empty slots         |
| presence       | (T, P, 33)     | float32 | landmark presence in [0, 1]; 0 in empty slots           |
| world_xyz_m    | (T, P, 33, 3)  | float32 | world coordinates, metres; NaN in empty slots           |
| meta_json      | ()             | str     | `RecordingMeta` as JSON                                 |

Slot p of frame t holds the p-th person the engine returned for that frame.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from coach.errors import SourceError
from coach.pose.keypoints import Keypoints, PoseFrame
from coach.pose.landmarks import N_LANDMARKS

FORMAT_NAME = "coach-keypoints"
FORMAT_VERSION = 1


@dataclass
class RecordingMeta:
    """What a recording came from and how it was made."""

    source: str  #: path or description of the source
    fps: float  #: nominal frames per second of the source
    width_px: int
    height_px: int
    model_variant: str = ""  #: lite / full / heavy, or "" for synthetic data
    model_sha256: str = ""
    program_version: str = ""
    num_poses: int = 1
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)


@dataclass
class KeypointSeries:
    """A whole recording as arrays (see the module docstring for shapes and units)."""

    timestamps_s: np.ndarray
    frame_index: np.ndarray
    n_people: np.ndarray
    image_xy_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_xyz_m: np.ndarray
    meta: RecordingMeta

    def __len__(self) -> int:
        return int(self.timestamps_s.shape[0])

    @property
    def n_slots(self) -> int:
        """Number of person slots P."""
        return int(self.image_xy_px.shape[1])

    def person(self, slot: int = 0) -> "KeypointSeries":
        """This recording restricted to one person slot (P = 1)."""
        s = slice(slot, slot + 1)
        return KeypointSeries(
            self.timestamps_s, self.frame_index, np.minimum(self.n_people, 1) * (self.n_people > slot),
            self.image_xy_px[:, s], self.visibility[:, s], self.presence[:, s], self.world_xyz_m[:, s],
            self.meta,
        )

    def frames(self) -> Iterator[PoseFrame]:
        """Replay the recording frame by frame."""
        for t in range(len(self)):
            people = tuple(
                Keypoints(
                    image_xy_px=self.image_xy_px[t, p],
                    visibility=self.visibility[t, p],
                    presence=self.presence[t, p],
                    world_xyz_m=self.world_xyz_m[t, p],
                    timestamp_s=float(self.timestamps_s[t]),
                    frame_index=int(self.frame_index[t]),
                    person_index=p,
                )
                for p in range(int(self.n_people[t]))
            )
            yield PoseFrame(int(self.frame_index[t]), float(self.timestamps_s[t]),
                            self.meta.width_px, self.meta.height_px, people)

    @classmethod
    def from_frames(cls, frames: Iterable[PoseFrame], meta: RecordingMeta) -> "KeypointSeries":
        """Pack frames into arrays. Empty slots get NaN coordinates and zero visibility."""
        frames = list(frames)
        n_slots = max([len(f.people) for f in frames] + [1])
        t_count = len(frames)
        xy = np.full((t_count, n_slots, N_LANDMARKS, 2), np.nan, np.float32)
        world = np.full((t_count, n_slots, N_LANDMARKS, 3), np.nan, np.float32)
        vis = np.zeros((t_count, n_slots, N_LANDMARKS), np.float32)
        pres = np.zeros((t_count, n_slots, N_LANDMARKS), np.float32)
        for t, f in enumerate(frames):
            for p, kp in enumerate(f.people):
                xy[t, p] = kp.image_xy_px
                world[t, p] = kp.world_xyz_m
                vis[t, p] = kp.visibility
                pres[t, p] = kp.presence
        return cls(
            timestamps_s=np.array([f.timestamp_s for f in frames], np.float64),
            frame_index=np.array([f.frame_index for f in frames], np.int64),
            n_people=np.array([len(f.people) for f in frames], np.int16),
            image_xy_px=xy, visibility=vis, presence=pres, world_xyz_m=world, meta=meta,
        )


def save_recording(path: str | Path, series: KeypointSeries) -> Path:
    """Write `series` to `path` (``.npz`` is appended when missing). Returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        timestamps_s=series.timestamps_s, frame_index=series.frame_index, n_people=series.n_people,
        image_xy_px=series.image_xy_px, visibility=series.visibility, presence=series.presence,
        world_xyz_m=series.world_xyz_m, meta_json=np.array(json.dumps(asdict(series.meta))),
    )
    return path


def is_recording(path: str | Path) -> bool:
    """True when `path` looks like a keypoint recording (by name; contents are checked on load)."""
    return str(path).endswith(".npz")


def load_recording(path: str | Path) -> KeypointSeries:
    """Read a recording written by `save_recording`. Raises `SourceError` with a clear reason."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"Recording not found: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a keypoint recording")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None
    try:
        meta_dict = json.loads(str(arrays.pop("meta_json")))
    except (KeyError, json.JSONDecodeError):
        raise SourceError(f"{path} has no recording metadata; is it a coach recording?") from None
    if meta_dict.get("format") != FORMAT_NAME:
        raise SourceError(f"{path} is not a {FORMAT_NAME} recording")
    if int(meta_dict.get("format_version", 0)) > FORMAT_VERSION:
        raise SourceError(
            f"{path} is format version {meta_dict['format_version']}; this program reads up to "
            f"{FORMAT_VERSION}. Upgrade coach to read it."
        )
    missing = {"timestamps_s", "frame_index", "n_people", "image_xy_px", "visibility", "presence",
               "world_xyz_m"} - set(arrays)
    if missing:
        raise SourceError(f"{path} lacks arrays: {', '.join(sorted(missing))}")
    known = {f for f in RecordingMeta.__dataclass_fields__}
    meta = RecordingMeta(**{k: v for k, v in meta_dict.items() if k in known})
    return KeypointSeries(meta=meta, **arrays)
