"""Pose model provisioning: find, verify, download or build MediaPipe's PoseLandmarker bundle.

A PoseLandmarker model is a `.task` file: a zip holding `pose_detector.tflite` and
`pose_landmarks_detector.tflite`. `resolve_model` finds one in this order:

1. an explicit path (the `path` argument, else the environment variable `COACH_MODEL`). It must be a
   valid `.task`; it is the user's responsibility, so its sha256 is computed and reported but need not
   match a pin. A bad explicit path is an error: we never silently fall back to another model.
2. the user cache, `cache_dir()/pose_landmarker_{variant}.task`, verified against the hashes pinned below.
   A cached file that fails its check is reported and replaced, never used.
3. the official download from Google's model storage (rich progress bar, short timeouts), verified
   against a pinned sha256 (see `OFFICIAL_SHA256`: none is pinned yet, so by default this step is
   skipped; `install_model(..., allow_unpinned=True)` accepts an official file after a structure check).
4. an offline build from the package indexes, for every variant. The `mediapipe==0.10.21` wheel (PyPI)
   carries the pose detector and the full landmark model; the `@mediapipe/pose@0.5.1675469404` package
   (npm, Google's legacy web solution) carries the lite, full and heavy landmark models (its full model
   is byte-identical to the wheel's, which ties the two sources together). These raw .tflite files lack
   the TFLite metadata the Tasks API needs; we verify each against a pinned sha256, add image-input
   metadata with mediapipe's own `MetadataWriter` and bundle them into a byte-for-byte deterministic
   `.task` whose sha256 is pinned (`OFFLINE_BUILD_SHA256`).
5. otherwise a `ModelError` that says what was tried, why each step failed, and how to supply a model.

This module imports mediapipe only inside the offline build, so resolving a cached model stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir
from rich.console import Console

from coach.errors import ModelError
from coach.pose.model_build import (_INDEX_NAMES, OFFLINE_BUILD_SHA256, OFFLINE_SOURCES, BuildFailed,
                                    build_bundle, offline_packages)

VARIANTS = ("lite", "full", "heavy")

#: Environment variables: an explicit model file, and the directory where models are cached.
ENV_MODEL = "COACH_MODEL"
ENV_CACHE_DIR = "COACH_CACHE_DIR"

#: Entries a PoseLandmarker `.task` bundle must hold.
BUNDLE_ENTRIES = ("pose_detector.tflite", "pose_landmarks_detector.tflite")

OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{variant}/float16/latest/pose_landmarker_{variant}.task"
)

#: sha256 of the official bundles, by variant. Deliberately empty. Google publishes no checksums for
#: these files, the URL is a moving `latest`, and this project's build machine has no access to
#: storage.googleapis.com to compute them; a search of public code, issues and pages (2026-11) found
#: many projects downloading these bundles but none pinning a hash we could trust. We pin nothing we
#: have not verified ourselves. Consequence: `resolve_model` does not download (it says why and goes on
#: to the offline build), and `coach models install --allow-unpinned` downloads an official bundle,
#: accepts it only if it is a well-formed PoseLandmarker bundle, records its sha256 next to it and
#: labels it "unpinned" everywhere. To pin a variant, download it on a trusted machine, check it, and
#: add its sha256 here; downloads of that variant are then verified and need no flag.
OFFICIAL_SHA256: dict[str, str] = {}

DOWNLOAD_TIMEOUT_S = 5.0  #: connect/read timeout for the official download; this must fail fast offline
_console = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True)
class ModelInfo:
    """A verified model file and where it came from."""

    path: Path
    variant: str
    sha256: str
    origin: str  #: "explicit" | "cache" | "download" | "offline-build"
    pinned: bool = False  #: sha256 equals a hash pinned in this module (an accepted unpinned download: False)


class _StepFailed(Exception):
    """One provisioning step did not work; the message is the short reason for the final error."""


def _offline_build(variant: str, *, progress: bool) -> ModelInfo:
    """Build `variant` offline (`coach.pose.model_build`) into the user cache."""
    with _console.status("", spinner="dots") if progress else contextlib.nullcontext() as status:
        def step(text: str) -> None:
            if status is not None:
                status.update(f"Building the {variant} model offline: {text}")

        try:
            data = build_bundle(variant, step)
        except BuildFailed as exc:
            raise _StepFailed(str(exc)) from None
    sha = hashlib.sha256(data).hexdigest()
    dest = cache_path(variant)
    _write_atomically(dest, data)
    if progress:
        _console.print(f"Built the {variant} pose model offline: {dest} (sha256 {sha[:12]}…, pinned)",
                       highlight=False)
    return ModelInfo(dest, variant, sha, "offline-build", pinned=True)


# --------------------------------------------------------------------------------------------- public API


def cache_dir() -> Path:
    """Directory of cached models: `$COACH_CACHE_DIR` if set, else the platform user cache `coach/models`."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser()
    return Path(user_cache_dir("coach", appauthor=False)) / "models"


def cache_path(variant: str) -> Path:
    """Where the cached model of `variant` lives (it may not exist)."""
    return cache_dir() / f"pose_landmarker_{variant}.task"


def resolve_model(
    variant: str = "full",
    path: str | Path | None = None,
    *,
    allow_download: bool = True,
    progress: bool = True,
) -> ModelInfo:
    """Find a usable pose model: explicit path or `$COACH_MODEL` → cache → download → offline build.

    Raises `ModelError` with what was tried and how to supply a model when nothing works.
    """
    _check_variant(variant)
    if path is not None and str(path) != "":
        return _explicit(Path(path), variant, "--model")
    env = os.environ.get(ENV_MODEL)
    if env:
        return _explicit(Path(env), variant, ENV_MODEL)
    attempts: list[str] = []
    cached = _from_cache(variant, attempts)
    if cached is not None:
        return cached
    return _provision(variant, attempts, allow_download=allow_download, progress=progress)


def install_model(
    variant: str = "full",
    *,
    allow_download: bool = True,
    progress: bool = True,
    allow_unpinned: bool = False,
) -> ModelInfo:
    """Make sure the cache holds a verified model of `variant` (explicit paths play no part here).

    `allow_unpinned` lets the official download through although no sha256 is pinned for it (see
    `OFFICIAL_SHA256`); the file must still be a well-formed bundle, and its hash is recorded.
    """
    _check_variant(variant)
    attempts: list[str] = []
    cached = _from_cache(variant, attempts)
    if cached is not None:
        return cached
    return _provision(variant, attempts, allow_download=allow_download, progress=progress,
                      allow_unpinned=allow_unpinned)


def installed_models() -> list[ModelInfo]:
    """The verified models in the cache (origin "cache"), in `VARIANTS` order. Bad files are left out."""
    found = []
    for variant in VARIANTS:
        info = inspect_cached(variant)
        if isinstance(info, ModelInfo):
            found.append(info)
    return found


def inspect_cached(variant: str) -> ModelInfo | str | None:
    """The cached model of `variant`: its `ModelInfo` if it verifies, why not if it does not, None if absent."""
    _check_variant(variant)
    path = cache_path(variant)
    if not path.is_file():
        return None
    sha = sha256_file(path)
    expected = _trusted_hashes(variant)
    if sha in expected:
        return ModelInfo(path, variant, sha, "cache", pinned=expected[sha])
    if not expected:
        return f"has no pinned or recorded sha256 to be checked against (it has {sha[:12]}…)"
    return f"fails its sha256 check (got {sha[:12]}…, expected {' or '.join(h[:12] + '…' for h in expected)})"


def describe_hash(variant: str, sha256: str) -> str:
    """Where a file with this hash comes from, in words: for `models list` and messages."""
    if sha256 == OFFLINE_BUILD_SHA256.get(variant):
        return "offline build, pinned sha256"
    if sha256 == OFFICIAL_SHA256.get(variant):
        return "official download, pinned sha256"
    if sha256 == _recorded_hash(variant):
        return "official download, UNPINNED (accepted with --allow-unpinned)"
    for other in VARIANTS:
        if sha256 in (OFFLINE_BUILD_SHA256.get(other), OFFICIAL_SHA256.get(other)):
            return f"pinned {other} model"
    return "not pinned"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_task_file(path: Path) -> None:
    """Raise `ModelError` unless `path` is a zip holding the two PoseLandmarker TFLite models."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [n for n in BUNDLE_ENTRIES if n not in names]
            if missing:
                raise ModelError(f"{path} is not a PoseLandmarker bundle: it lacks {', '.join(missing)}")
            for name in BUNDLE_ENTRIES:
                with zf.open(name) as entry:
                    head = entry.read(8)
                if head[4:8] != b"TFL3":
                    raise ModelError(f"{path} is not a PoseLandmarker bundle: {name} is not a TFLite model")
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path} is not a .task model bundle (not a readable zip file: {exc})") from None


# ------------------------------------------------------------------------------------------- resolution


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ModelError(f"unknown model variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def _explicit(path: Path, variant: str, source: str) -> ModelInfo:
    path = path.expanduser()
    if not path.exists():
        raise ModelError(f"the model file given by {source} does not exist: {path}")
    if not path.is_file():
        raise ModelError(f"the model path given by {source} is not a file: {path}")
    try:
        check_task_file(path)
    except ModelError as exc:
        raise ModelError(f"{exc} (the model file given by {source})") from None
    sha = sha256_file(path)
    pinned_variant = next(
        (v for v in VARIANTS if sha in (OFFLINE_BUILD_SHA256.get(v), OFFICIAL_SHA256.get(v))), None)
    # The user vouches for an explicit file; if it happens to be a pinned model, report its real variant.
    return ModelInfo(path.resolve(), pinned_variant or variant, sha, "explicit", pinned=pinned_variant is not None)


def _trusted_hashes(variant: str) -> dict[str, bool]:
    """Hashes a cached file of `variant` may have → whether that hash is pinned in this module."""
    trusted = {h: True for h in (OFFLINE_BUILD_SHA256.get(variant), OFFICIAL_SHA256.get(variant)) if h}
    recorded = _recorded_hash(variant)
    if recorded and recorded not in trusted:
        trusted[recorded] = False
    return trusted


def _record_path(variant: str) -> Path:
    return cache_path(variant).with_suffix(".task.sha256")


def _recorded_hash(variant: str) -> str | None:
    """The hash recorded when the user accepted an unpinned official download of `variant`."""
    try:
        text = _record_path(variant).read_text().split()
    except OSError:
        return None
    return text[0] if text and len(text[0]) == 64 else None


def _from_cache(variant: str, attempts: list[str]) -> ModelInfo | None:
    found = inspect_cached(variant)
    if isinstance(found, ModelInfo):
        return found
    if found is None:
        attempts.append(f"the user cache (no {cache_path(variant)})")
    else:
        path = cache_path(variant)
        _console.print(f"[yellow]warning:[/] the cached model {path} {found}; not using it", highlight=False)
        attempts.append(f"the user cache (rejected {path}: it {found})")
    return None


def _provision(
    variant: str, attempts: list[str], *, allow_download: bool, progress: bool, allow_unpinned: bool = False
) -> ModelInfo:
    url = OFFICIAL_URL.format(variant=variant)
    if not allow_download:
        attempts.append("the official download (skipped: offline)")
    elif variant not in OFFICIAL_SHA256 and not allow_unpinned:
        attempts.append(f"the official download (not attempted: no verified sha256 is pinned for the official "
                        f"{variant} bundle; `python coach.py models install --variant {variant} --allow-unpinned` "
                        f"accepts it unpinned)")
    else:
        try:
            return _download(variant, url, progress=progress)
        except _StepFailed as exc:
            attempts.append(f"the official download from {url} (failed: {exc})")
    if variant not in OFFLINE_BUILD_SHA256:
        attempts.append(f"an offline build (not possible: no package carries the {variant} model)")
    else:
        try:
            return _offline_build(variant, progress=progress)
        except _StepFailed as exc:
            attempts.append(f"an offline build from {offline_packages(variant)} (failed: {exc})")
    if variant in OFFLINE_BUILD_SHA256:
        indexes = " and ".join(sorted({_INDEX_NAMES[src.package] for src in OFFLINE_SOURCES[variant].values()}))
        how = f"`python coach.py models install --variant {variant}` where {indexes} can be reached"
    else:
        flag = "" if variant in OFFICIAL_SHA256 else " --allow-unpinned"
        how = f"`python coach.py models install --variant {variant}{flag}` where storage.googleapis.com is reachable"
    raise ModelError(
        f"no {variant} pose model is available: tried " + "; ".join(attempts)
        + f"; supply one with --model PATH or {ENV_MODEL}=PATH, or run {how}"
    )


def _write_atomically(dest: Path, data: bytes | None = None, src: Path | None = None) -> None:
    """Put `data` (or move the file `src`) at `dest` so that readers never see a partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src is None:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data or b"")
        src = Path(tmp)
    os.chmod(src, 0o644)  # mkstemp makes 0600; a model file is not a secret
    os.replace(src, dest)


# ------------------------------------------------------------------------------------ official download


def _open_url(url: str, timeout: float):
    """`urlopen` with a hard deadline: socket timeouts do not bound DNS resolution, a thread does."""
    result: dict[str, object] = {}

    def work() -> None:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "coach-model-fetch"})
            result["response"] = urllib.request.urlopen(request, timeout=timeout)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    worker = threading.Thread(target=work, name="coach-model-download", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    if worker.is_alive():
        raise _StepFailed(f"no answer within {timeout:.0f} s")
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, urllib.error.HTTPError):
            raise _StepFailed(f"HTTP {exc.code} {exc.reason}")
        raise _StepFailed(f"{getattr(exc, 'reason', None) or exc}")
    return result["response"]


def _download(variant: str, url: str, *, progress: bool) -> ModelInfo:
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    dest = cache_path(variant)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        response = _open_url(url, DOWNLOAD_TIMEOUT_S)
        with response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            columns = (TextColumn("downloading {task.description}"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn())
            with Progress(*columns, console=_console, transient=True, disable=not progress) as bar:
                task = bar.add_task(f"pose_landmarker_{variant}.task", total=total)
                while True:
                    try:
                        block = response.read(1 << 16)
                    except OSError as exc:
                        raise _StepFailed(f"the transfer broke off: {exc}") from None
                    if not block:
                        break
                    out.write(block)
                    bar.advance(task, len(block))
        sha = sha256_file(tmp)
        pinned = OFFICIAL_SHA256.get(variant)
        if pinned is not None and sha != pinned:
            raise _StepFailed(f"the file's sha256 {sha[:12]}… does not match the pinned {pinned[:12]}…")
        try:
            check_task_file(tmp)
        except ModelError as exc:
            raise _StepFailed(str(exc)) from None
        if pinned is None:
            _console.print(f"[yellow]warning:[/] no sha256 is pinned for the official {variant} bundle; "
                           f"accepted it because you asked (--allow-unpinned), recording sha256 {sha}",
                           highlight=False)
            _write_atomically(_record_path(variant), f"{sha}  {dest.name}  unpinned download of {url}\n".encode())
        else:
            _record_path(variant).unlink(missing_ok=True)
        _write_atomically(dest, src=tmp)
        return ModelInfo(dest, variant, sha, "download", pinned=pinned is not None)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------- offline build
