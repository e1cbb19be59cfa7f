"""Keypoint recordings: a `PoseSeries` saved once and replayed without the model.

File format (``.npz``, numpy's zip of arrays, never pickles; format name ``coach-keypoints``). T frames,
P person slots (the largest number of people seen in one frame, at least 1), 33 landmarks:

| array          | shape          | dtype   | meaning                                                 |
|----------------|----------------|---------|---------------------------------------------------------|
| timestamps_s   | (T,)           | float64 | source timestamp of each frame, seconds, increasing     |
| frame_index    | (T,)           | int64   | index of the frame in the source                        |
| n_people       | (T,)           | int16   | people found in the frame (0 = nobody)                  |
| image_xy_px    | (T, P, 33, 2)  | float32 | image coordinates, pixels; NaN = missing                |
| visibility     | (T, P, 33)     | float32 | landmark visibility in [0, 1]; 0 where missing          |
| world_xyz_m    | (T, P, 33, 3)  | float32 | world coordinates, metres (absent for a 2-D model)      |
| camera_cuts    | (T,)           | uint8   | 1 where the picture changed abruptly since the previous |
|                |                |         | frame (a camera cut or zoom); absent when unknown       |
| meta_json      | ()             | str     | a JSON object: format, format_version, source, fps,     |
|                |                |         | width_px, height_px, and what made it (model, program)  |

Version 2 (written now) made `world_xyz_m` optional and dropped `presence`; version 1 files (which have
``presence`` and always ``world_xyz_m``) are read as well. Everything is checked on load: a file that is not
a recording, or whose arrays or metadata do not fit together, is refused with one sentence saying what is
wrong (`coach.errors.SourceError`).
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np

from coach.errors import SourceError
from coach.pose.landmarks import N_LANDMARKS
from coach.pose.series import PoseSeries

FORMAT_NAME = "coach-keypoints"
FORMAT_VERSION = 2
#: Metadata keys the format itself defines (everything else in `PoseSeries.meta` is kept as given).
_FRAME_KEYS = ("format", "format_version", "fps", "width_px", "height_px")


def save_recording(path: str | Path, series: PoseSeries) -> Path:
    """Write `series` to `path` (``.npz`` is appended when missing). Returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in series.meta.items() if k not in _FRAME_KEYS}
    meta.update(format=FORMAT_NAME, format_version=FORMAT_VERSION, fps=float(series.fps),
                width_px=int(series.width_px), height_px=int(series.height_px))
    arrays = dict(timestamps_s=series.timestamps_s.astype(np.float64),
                  frame_index=series.frame_index.astype(np.int64), n_people=series.n_people.astype(np.int16),
                  image_xy_px=series.xy_px.astype(np.float32), visibility=series.visibility.astype(np.float32),
                  meta_json=np.array(json.dumps(meta)))
    if series.world_m is not None:
        arrays["world_xyz_m"] = series.world_m.astype(np.float32)
    if series.cuts is not None:
        arrays["camera_cuts"] = np.asarray(series.cuts, bool).astype(np.uint8)
    np.savez_compressed(path, **arrays)
    return path


def is_recording(path: str | Path) -> bool:
    """True when `path` looks like a keypoint recording (by name; contents are checked on load)."""
    return str(path).endswith(".npz")


def load_recording(path: str | Path) -> PoseSeries:
    """Read a recording written by `save_recording` (format 1 or 2), checking everything in it."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"Recording not found: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a keypoint recording")
    if not zipfile.is_zipfile(path):
        raise SourceError(f"{path} is not a keypoint recording (a recording is a .npz zip archive; this file "
                          f"is not one)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise SourceError(f"{path} holds Python objects, which a keypoint recording never does") from None
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None
    return _series_from_arrays(path, arrays)


def _series_from_arrays(path: Path, arrays: dict) -> PoseSeries:
    def bad(what: str) -> SourceError:
        return SourceError(f"{path} is not a valid keypoint recording: {what}")

    if "meta_json" not in arrays:
        raise SourceError(f"{path} has no recording metadata; is it a coach recording?")
    try:
        meta = json.loads(str(arrays.pop("meta_json")))
    except (json.JSONDecodeError, ValueError):
        raise bad("its metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise bad(f"its metadata must be a JSON object, found {type(meta).__name__}")
    if meta.get("format") != FORMAT_NAME:
        raise SourceError(f"{path} is not a {FORMAT_NAME} recording")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad(f"format_version must be a whole number from 1, found {version!r}")
    if version > FORMAT_VERSION:
        raise SourceError(f"{path} is format version {version}; this program reads up to {FORMAT_VERSION}. "
                          f"Upgrade coach to read it.")
    required = {"timestamps_s", "frame_index", "n_people", "image_xy_px", "visibility"}
    if version == 1:
        required |= {"world_xyz_m"}
    missing = required - set(arrays)
    if missing:
        raise bad(f"it lacks the arrays {', '.join(sorted(missing))}")
    for key, value in arrays.items():
        if not np.issubdtype(value.dtype, np.number):
            raise bad(f"{key} holds {value.dtype} values, not numbers")
    times = arrays["timestamps_s"]
    if times.ndim != 1:
        raise bad(f"timestamps_s must be one value per frame, found shape {times.shape}")
    n = len(times)
    xy = arrays["image_xy_px"]
    if xy.ndim != 4 or xy.shape[0] != n or xy.shape[2:] != (N_LANDMARKS, 2):
        raise bad(f"image_xy_px must be ({n}, P, 33, 2) for its {n} timestamps, found {xy.shape}")
    p = xy.shape[1]
    shapes = {"frame_index": (n,), "n_people": (n,), "visibility": (n, p, N_LANDMARKS),
              "world_xyz_m": (n, p, N_LANDMARKS, 3), "camera_cuts": (n,)}
    for key, shape in shapes.items():
        if key in arrays and arrays[key].shape != shape:
            raise bad(f"{key} must have shape {shape} to match image_xy_px {xy.shape}, found {arrays[key].shape}")
    if not np.all(np.isfinite(times)):
        raise bad("a timestamp is not a finite number")
    if n > 1 and not np.all(np.diff(times) > 0):
        k = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise bad(f"timestamps must increase, but frame {k + 1} is at {times[k + 1]:g} s after {times[k]:g} s")
    n_people = arrays["n_people"]
    if n and (n_people.min() < 0 or n_people.max() > p):
        raise bad(f"n_people must be between 0 and {p} (the person slots), found {int(n_people.min())}.."
                  f"{int(n_people.max())}")
    vis = arrays["visibility"].astype(np.float32)
    if np.any(vis[np.isfinite(vis)] < 0) or np.any(vis[np.isfinite(vis)] > 1):
        raise bad("visibility must be between 0 and 1")
    fps = meta.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise bad(f"fps must be a positive number, found {fps!r}")
    dims = []
    for key in ("width_px", "height_px"):
        v = meta.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise bad(f"{key} must be a whole number of pixels, found {v!r}")
        dims.append(v)
    xy = xy.astype(np.float32)
    missing_lm = np.isnan(xy).any(axis=-1)
    xy[missing_lm] = np.nan
    vis = np.where(missing_lm | ~np.isfinite(vis), 0.0, vis).astype(np.float32)
    world = arrays["world_xyz_m"].astype(np.float32) if "world_xyz_m" in arrays else None
    extra = {k: v for k, v in meta.items() if k not in _FRAME_KEYS}
    cuts = arrays["camera_cuts"].astype(bool) if "camera_cuts" in arrays else None
    return PoseSeries(times.astype(np.float64), arrays["frame_index"].astype(np.int64), xy, vis, world,
                      n_people.astype(np.int16), float(fps), dims[0], dims[1], extra, cuts)
