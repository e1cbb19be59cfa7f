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
wrong (`coach.errors.SourceError`). What a recording may be, beyond the table above:

- at least one frame and one person slot, at most :data:`MAX_PEOPLE` slots; numbers are integers or real
  floating point (not complex, not booleans); whole-number arrays hold whole numbers;
- timestamps finite, strictly increasing, within ±:data:`MAX_ABS_TIME_S` s; fps above 0 and at most
  :data:`MAX_FPS`; width and height whole numbers of pixels up to :data:`MAX_SIDE_PX`;
- coordinates finite or NaN (missing), never infinite;
- at most :data:`MAX_MEMBERS` arrays and :data:`MAX_RECORDING_BYTES` once decompressed, checked from the
  archive's directory and each array's header before anything is decompressed (a small file may not
  stand for gigabytes of zeros).
"""

from __future__ import annotations

import json
import math
import struct
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

#: Limits of what a recording may be (see the module documentation).
MAX_PEOPLE = 64
MAX_FPS = 1000.0
MAX_SIDE_PX = 100_000
MAX_ABS_TIME_S = 1e10  #: about 300 years: any clock's seconds, epoch times included
MAX_MEMBERS = 64
#: Decompressed size of all arrays together: about 3 hours of one person at 30 frames/s.
MAX_RECORDING_BYTES = 256 * 1024 * 1024


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
    _check_archive_size(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise SourceError(f"{path} holds Python objects, which a keypoint recording never does") from None
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, NotImplementedError) as exc:
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None
    return _series_from_arrays(path, arrays)


def _zip_member_count(path: Path) -> int | None:
    """The number of files the zip's end record declares (None if it cannot be found), read before
    `zipfile` builds an object for every member."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    return struct.unpack("<H", tail[at + 10:at + 12])[0]  # total entries (0xFFFF: a ZIP64 archive)


def _check_archive_size(path: Path) -> None:
    """Refuse an archive with too many members or too many bytes once decompressed, from its directory
    and the arrays' headers alone."""
    members = _zip_member_count(path)
    if members is not None and members > MAX_MEMBERS:
        raise SourceError(f"{path} is not a keypoint recording: it holds {members if members < 0xFFFF else 'too many'} "
                          f"files, a recording at most {MAX_MEMBERS} arrays")
    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.endswith(".npy"):
                    with z.open(info) as f:
                        version = np.lib.format.read_magic(f)
                        if version == (1, 0):
                            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f)
                        else:
                            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    total += int(np.prod(shape, dtype=object)) * max(1, dtype.itemsize)
                else:
                    total += info.file_size
                if total > MAX_RECORDING_BYTES:
                    raise SourceError(f"{path} is too large to be a keypoint recording: its arrays hold more than "
                                      f"{MAX_RECORDING_BYTES // 2**20} MB once decompressed (about 3 hours of one "
                                      f"person at 30 frames/s)")
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise SourceError(f"{path} is not a readable keypoint recording ({exc})") from None


def _series_from_arrays(path: Path, arrays: dict) -> PoseSeries:
    def bad(what: str) -> SourceError:
        return SourceError(f"{path} is not a valid keypoint recording: {what}")

    if "meta_json" not in arrays:
        raise SourceError(f"{path} has no recording metadata; is it a coach recording?")
    meta_text = arrays.pop("meta_json")
    if meta_text.ndim != 0 or meta_text.dtype.kind not in "US":
        raise bad(f"its metadata must be one JSON text, found {meta_text.dtype} values of shape {meta_text.shape}")
    try:
        meta = json.loads(str(meta_text))
    except (json.JSONDecodeError, ValueError, RecursionError):
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
        if value.dtype.kind not in "iuf":
            raise bad(f"{key} holds {value.dtype} values, not numbers")
    times = arrays["timestamps_s"]
    if times.ndim != 1:
        raise bad(f"timestamps_s must be one value per frame, found shape {times.shape}")
    n = len(times)
    if n == 0:
        raise bad("it holds no frames")
    xy = arrays["image_xy_px"]
    if xy.ndim != 4 or xy.shape[0] != n or xy.shape[2:] != (N_LANDMARKS, 2):
        raise bad(f"image_xy_px must be ({n}, P, 33, 2) for its {n} timestamps, found {xy.shape}")
    p = xy.shape[1]
    if not 1 <= p <= MAX_PEOPLE:
        raise bad(f"it must have from 1 to {MAX_PEOPLE} person slots, found {p}")
    shapes = {"frame_index": (n,), "n_people": (n,), "visibility": (n, p, N_LANDMARKS),
              "world_xyz_m": (n, p, N_LANDMARKS, 3), "camera_cuts": (n,)}
    for key, shape in shapes.items():
        if key in arrays and arrays[key].shape != shape:
            raise bad(f"{key} must have shape {shape} to match image_xy_px {xy.shape}, found {arrays[key].shape}")
    times = times.astype(np.float64)
    if not np.all(np.isfinite(times)):
        raise bad("a timestamp is not a finite number")
    if np.abs(times).max() > MAX_ABS_TIME_S:
        raise bad(f"timestamps must be within ±{MAX_ABS_TIME_S:g} s, found {times[np.abs(times).argmax()]:g} s")
    if n > 1 and not np.all(np.diff(times) > 0):
        k = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise bad(f"timestamps must increase, but frame {k + 1} is at {times[k + 1]:g} s after {times[k]:g} s")
    frame_index = _whole(arrays["frame_index"], "frame_index", 0, np.iinfo(np.int64).max, bad)
    n_people = _whole(arrays["n_people"], "n_people", 0, p, bad, what=f"between 0 and {p} (the person slots)")
    vis = arrays["visibility"].astype(np.float32)
    if np.any(vis[np.isfinite(vis)] < 0) or np.any(vis[np.isfinite(vis)] > 1):
        raise bad("visibility must be between 0 and 1")
    for key in ("image_xy_px", "world_xyz_m"):
        if key in arrays and np.isinf(arrays[key]).any():
            raise bad(f"{key} holds an infinite coordinate (a missing landmark is NaN)")
    fps = meta.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise bad(f"fps must be a positive number, found {fps!r}")
    if fps > MAX_FPS:
        raise bad(f"fps must be at most {MAX_FPS:g} frames a second, found {fps:g}")
    dims = []
    for key in ("width_px", "height_px"):
        v = meta.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SIDE_PX:
            raise bad(f"{key} must be a whole number of pixels from 0 to {MAX_SIDE_PX}, found {v!r}")
        dims.append(v)
    xy = xy.astype(np.float32)
    missing_lm = np.isnan(xy).any(axis=-1)
    xy[missing_lm] = np.nan
    vis = np.where(missing_lm | ~np.isfinite(vis), 0.0, vis).astype(np.float32)
    world = arrays["world_xyz_m"].astype(np.float32) if "world_xyz_m" in arrays else None
    extra = {k: v for k, v in meta.items() if k not in _FRAME_KEYS}
    cuts = None
    if "camera_cuts" in arrays:
        cuts = _whole(arrays["camera_cuts"], "camera_cuts", 0, 1, bad, "0 or 1").astype(bool)
    return PoseSeries(times, frame_index.astype(np.int64), xy, vis, world, n_people.astype(np.int16), float(fps),
                      dims[0], dims[1], extra, cuts)


def _whole(values: np.ndarray, key: str, lo: int, hi: int, bad, what: str | None = None) -> np.ndarray:
    """``values`` checked to be whole numbers in lo..hi (an integer array, or floats that are whole)."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all() or not np.array_equal(values, np.round(values)):
            raise bad(f"{key} must hold whole numbers, found {float(values[~finite | (values != np.round(values))][0]):g}")
    if len(values) and (values.min() < lo or values.max() > hi):
        raise bad(f"{key} must be {what or f'from {lo}'}, found {values.min():g}..{values.max():g}")
    return values
