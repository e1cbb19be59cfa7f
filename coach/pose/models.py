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
import importlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import types
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir
from rich.console import Console

from coach.errors import ModelError

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

#: The offline build's sources, fetched with the ordinary package clients (so the user's index, mirror
#: and proxy settings apply): a wheel from PyPI with pip, a package tarball from npm with npm.
OFFLINE_WHEEL = "mediapipe==0.10.21"
OFFLINE_NPM = "@mediapipe/pose@0.5.1675469404"
#: Wheel tags to fetch. The .tflite files are platform-independent and identical in every wheel of
#: 0.10.21, so one fixed wheel is chosen whatever the host: pip then fetches the same file on Linux,
#: macOS, Windows or a Python for which 0.10.21 has no wheel at all (0.10.21 stops at CPython 3.12).
OFFLINE_WHEEL_TAGS = ("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                      "--platform", "manylinux_2_28_x86_64")


@dataclass(frozen=True)
class _RawModel:
    package: str  #: "wheel" (OFFLINE_WHEEL) or "npm" (OFFLINE_NPM)
    member: str  #: path of the .tflite inside that package's archive
    sha256: str  #: pinned hash of that raw file
    norm_mean: float  #: input normalisation: (pixel - mean) / std
    norm_std: float


# Input normalisation per ../shared/DESIGN.md "Pose engine facts": detector [-1, 1], landmarks [0, 1], RGB.
_DETECTOR = _RawModel("wheel", "mediapipe/modules/pose_detection/pose_detection.tflite",
                      "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 127.5, 127.5)


def _landmarks(package: str, member: str, sha256: str) -> _RawModel:
    return _RawModel(package, member, sha256, 0.0, 255.0)


#: Variant → bundle entry name → where its raw .tflite comes from. Every variant uses the wheel's pinned
#: detector; the npm package holds a detector too, but a different build of it (2,962,288 bytes against
#: 2,959,046), which we have not checked against DESIGN.md's facts, so it is not used.
OFFLINE_SOURCES: dict[str, dict[str, _RawModel]] = {
    "full": {
        "pose_detector.tflite": _DETECTOR,
        "pose_landmarks_detector.tflite": _landmarks(
            "wheel", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    },
    "lite": {
        "pose_detector.tflite": _DETECTOR,
        "pose_landmarks_detector.tflite": _landmarks(
            "npm", "package/pose_landmark_lite.tflite",
            "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"),
    },
    "heavy": {
        "pose_detector.tflite": _DETECTOR,
        "pose_landmarks_detector.tflite": _landmarks(
            "npm", "package/pose_landmark_heavy.tflite",
            "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"),
    },
}

#: sha256 of the bundle the offline build produces, by variant. The build is deterministic (fixed zip
#: timestamps and attributes, our own writer), so this holds on every machine as long as mediapipe's
#: metadata writer writes the same bytes: it was computed with mediapipe 1.2.2 and flatbuffers
#: 25.12.19 (requirements.txt). If an upgrade changes it, the build refuses its output and
#: tests/test_models.py fails: check the new bundle, then update the pin.
OFFLINE_BUILD_SHA256: dict[str, str] = {
    "lite": "2bf95584f1e1ea731a0800a10f4afc93347624e40153f420dceb1d2f1338fb80",
    "full": "d8fed8429d04d4e99b3c682bc2d9b6a6922ce2220359d89cdc6437d771440a6d",
    "heavy": "2af642a306f2f291056109b96e495bb8716b213db50f9e15838c26a57b9de8aa",
}

DOWNLOAD_TIMEOUT_S = 5.0  #: connect/read timeout for the official download; this must fail fast offline
PIP_TIMEOUT_S = 30  #: pip's socket timeout for the wheel download
PIP_DEADLINE_S = 600  #: hard limit for the whole pip run
NPM_DEADLINE_S = 600  #: hard limit for the whole npm run

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
            attempts.append(f"an offline build from {_offline_packages(variant)} (failed: {exc})")
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


_INDEX_NAMES = {"wheel": "PyPI", "npm": "npm"}


def _offline_packages(variant: str) -> str:
    """The packages the offline build of `variant` reads, in words: for messages."""
    names = {"wheel": f"{OFFLINE_WHEEL} (PyPI)", "npm": f"{OFFLINE_NPM} (npm)"}
    return " and ".join(names[p] for p in ("wheel", "npm")
                        if any(src.package == p for src in OFFLINE_SOURCES[variant].values()))


def _offline_build(variant: str, *, progress: bool) -> ModelInfo:
    """Fetch the packages that carry `variant`'s raw .tflite files, verify them, add metadata, bundle, pin-check."""
    sources = OFFLINE_SOURCES[variant]
    with tempfile.TemporaryDirectory(prefix="coach-model-build-") as tmp:
        with _console.status("", spinner="dots") if progress else contextlib.nullcontext() as status:
            def step(text: str) -> None:
                if status is not None:
                    status.update(f"Building the {variant} model offline: {text}")

            archives: dict[str, Path] = {}
            if any(src.package == "npm" for src in sources.values()):  # first: without npm, fail at once
                step(f"npm pack {OFFLINE_NPM} (≈41 MB)")
                archives["npm"] = _npm_pack(Path(tmp))
            if any(src.package == "wheel" for src in sources.values()):
                step(f"pip download {OFFLINE_WHEEL} (≈36 MB)")
                archives["wheel"] = _pip_download_wheel(Path(tmp))
            step("extracting, verifying the .tflite files")
            raw = _extract_raw_models(sources, archives)
            step("adding TFLite input metadata")
            entries = {name: _add_image_metadata(raw[name], src.norm_mean, src.norm_std)
                       for name, src in sources.items()}
            step("bundling")
            data = deterministic_bundle(entries)
    sha = hashlib.sha256(data).hexdigest()
    pinned = OFFLINE_BUILD_SHA256[variant]
    if sha != pinned:
        raise _StepFailed(
            f"the built bundle's sha256 {sha} is not the pinned {pinned} (the installed mediapipe "
            f"{_mediapipe_version()} writes different metadata than the version the pin was made with)")
    dest = cache_path(variant)
    _write_atomically(dest, data)
    if progress:
        _console.print(f"Built the {variant} pose model offline: {dest} (sha256 {sha[:12]}…, pinned)",
                       highlight=False)
    return ModelInfo(dest, variant, sha, "offline-build", pinned=True)


def _pip_command(dest: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "download", OFFLINE_WHEEL,
        "--no-deps", "--only-binary=:all:", *OFFLINE_WHEEL_TAGS,
        "--dest", str(dest),
        "--disable-pip-version-check", "--no-input", "--quiet",
        "--retries", "2", "--timeout", str(PIP_TIMEOUT_S),
    ]


def _run_client(name: str, command: list[str], deadline_s: float) -> subprocess.CompletedProcess:
    """Run a package client (pip, npm) without input, capturing its output; `_StepFailed` if it cannot run
    or does not finish within `deadline_s` seconds. Its exit status is for the caller to judge."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=deadline_s,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise _StepFailed(f"{name} did not finish within {deadline_s:g} s") from None
    except OSError as exc:
        raise _StepFailed(f"could not run {name}: {exc}") from None


def _pip_download_wheel(dest: Path) -> Path:
    """Download the wheel with pip (so the user's index, mirror and proxy settings apply); return its path."""
    run = _run_client("pip", _pip_command(dest), PIP_DEADLINE_S)
    if run.returncode != 0:
        raise _StepFailed(f"pip download failed: {_pip_reason(run.stderr or run.stdout)}")
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        raise _StepFailed("pip reported success but left no mediapipe 0.10.21 wheel")
    return wheels[0]


def _pip_reason(output: str) -> str:
    """The most telling line of pip's error output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return "no output from pip"
    if any("No module named pip" in line for line in lines):
        return "pip is not installed in this Python"
    errors = [line for line in lines if line.startswith("ERROR:")]
    line = errors[-1] if errors else lines[-1]
    return line.removeprefix("ERROR:").strip()


def _npm_command(dest: Path) -> list[str]:
    return ["npm", "pack", OFFLINE_NPM, "--pack-destination", str(dest), "--json",
            "--no-fund", "--no-audit", "--loglevel=error"]


def _npm_pack(dest: Path) -> Path:
    """Download the npm package's tarball with npm (the user's registry and proxy settings apply); return it."""
    if shutil.which("npm") is None:
        raise _StepFailed(f"npm is not installed (it fetches {OFFLINE_NPM}, which carries the lite and heavy "
                          "models; install Node.js, or supply a model with --model)")
    command = _npm_command(dest)
    command[0] = shutil.which("npm") or "npm"  # npm.cmd on Windows
    run = _run_client("npm", command, NPM_DEADLINE_S)
    if run.returncode != 0:
        raise _StepFailed(f"npm pack failed: {_npm_reason(run.stdout, run.stderr)}")
    tarballs = sorted(dest.glob("mediapipe-pose-*.tgz"))
    if not tarballs:
        raise _StepFailed(f"npm reported success but left no {OFFLINE_NPM} tarball")
    return tarballs[0]


def _npm_reason(stdout: str, stderr: str) -> str:
    """The most telling part of npm's error output (its --json summary, else its last error line)."""
    try:
        summary = json.loads(stdout)["error"]["summary"]
        if summary:
            return " ".join(str(summary).split())
    except (ValueError, KeyError, TypeError):
        pass
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("npm error")]
    lines = [line for line in lines if not line.startswith(("npm error code", "npm error A complete log"))]
    return lines[-1].removeprefix("npm error").strip() if lines else "no output from npm"


def _read_member(archive: Path, member: str) -> bytes:
    """One file out of a wheel (zip) or an npm tarball (.tgz); `KeyError` if it is not there."""
    if archive.name.endswith(".tgz"):
        with tarfile.open(archive, "r:gz") as tf:
            f = tf.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def _extract_raw_models(sources: dict[str, _RawModel], archives: dict[str, Path]) -> dict[str, bytes]:
    """Bundle entry name → the verified raw .tflite bytes, read from the downloaded `archives`."""
    raw = {}
    for name, src in sources.items():
        archive = archives[src.package]
        try:
            data = _read_member(archive, src.member)
        except KeyError:
            raise _StepFailed(f"{archive.name} has no {src.member}") from None
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise _StepFailed(f"cannot read {archive.name}: {exc}") from None
        sha = hashlib.sha256(data).hexdigest()
        if sha != src.sha256:
            raise _StepFailed(f"{src.member} in {archive.name} has sha256 {sha[:12]}…, "
                              f"not the pinned {src.sha256[:12]}…")
        raw[name] = data
    return raw


def _mediapipe_version() -> str:
    try:
        from importlib.metadata import version

        return version("mediapipe")
    except Exception:  # noqa: BLE001 - only used in a message
        return "(unknown version)"


# mediapipe 1.x's metadata writer does `from mediapipe.tasks.cc.metadata.python import
# _pywrap_metadata_version`, a compiled module the 1.x wheels do not ship. Its only use
# (MetadataPopulator.load_metadata_buffer) is `GetMinimumMetadataParserVersion(buf)`, which computes the
# oldest metadata-parser version that understands the fields `buf` uses, to store in `min_parser_version`.
# While building, and only then, we provide a stand-in (unless a real one is importable): it returns
# "1.0.0", the base version, and checks that this is true: the metadata we write (general info, an image
# input with normalisation, feature outputs) uses none of the fields that need a newer parser
# (associated files, subgraph process units, tensor groups, value ranges, audio, custom metadata,
# tokenizer process units). The stand-in and every module imported through it are removed afterwards,
# so the rest of the process never sees them.
_PYWRAP = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
_STUBBED_PREFIXES = ("mediapipe.tasks.cc", "mediapipe.tasks.python.metadata")


def _minimum_parser_version(metadata_buf: bytes) -> str:
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    md = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(bytearray(metadata_buf), 0))
    newer = []
    if md.associatedFiles:
        newer.append("associated files")
    for sg in md.subgraphMetadata or []:
        if sg.associatedFiles:
            newer.append("associated files")
        if sg.inputProcessUnits or sg.outputProcessUnits:
            newer.append("subgraph process units")
        if sg.inputTensorGroups or sg.outputTensorGroups:
            newer.append("tensor groups")
        if sg.customMetadata:
            newer.append("custom metadata")
        for tensor in (sg.inputTensorMetadata or []) + (sg.outputTensorMetadata or []):
            if tensor.associatedFiles:
                newer.append("associated files")
            content = tensor.content
            if content is not None and content.range is not None:
                newer.append("value ranges")
            if content is not None and content.contentPropertiesType == fb.ContentProperties.AudioProperties:
                newer.append("audio properties")
            for unit in tensor.processUnits or []:
                if unit.optionsType != fb.ProcessUnitOptions.NormalizationOptions:
                    newer.append("non-normalisation process units")
    if newer:
        raise RuntimeError(f"the model metadata uses {', '.join(sorted(set(newer)))}, which need a metadata "
                           f"parser newer than 1.0.0; the stand-in for {_PYWRAP} cannot compute its version")
    return "1.0.0"


@contextlib.contextmanager
def _metadata_writer_modules() -> Iterator[tuple[types.ModuleType, types.ModuleType]]:
    """Import mediapipe's `metadata_writer` and `writer_utils`, with the stand-in described above if needed."""
    before = set(sys.modules)
    stubbed = False
    try:
        importlib.import_module(_PYWRAP)
    except ImportError:
        stubbed = True
        parts = _PYWRAP.split(".")
        for i in range(3, len(parts)):  # mediapipe.tasks.cc, .metadata, .python: empty packages
            name = ".".join(parts[:i])
            if name not in sys.modules:
                package = types.ModuleType(name)
                package.__path__ = []
                sys.modules[name] = package
        stub = types.ModuleType(_PYWRAP, "Stand-in made by coach.pose.models while building a model bundle.")
        stub.GetMinimumMetadataParserVersion = _minimum_parser_version
        sys.modules[_PYWRAP] = stub
        setattr(sys.modules[_PYWRAP.rpartition(".")[0]], parts[-1], stub)
    try:
        from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

        yield metadata_writer, writer_utils
    finally:
        if stubbed:
            for name in set(sys.modules) - before:
                if name.startswith(_STUBBED_PREFIXES):
                    del sys.modules[name]


def _add_image_metadata(model: bytes, norm_mean: float, norm_std: float) -> bytes:
    """`model` with TFLite metadata: one RGB image input normalised as (x - mean) / std, feature outputs."""
    try:
        with _metadata_writer_modules() as (metadata_writer, writer_utils):
            writer = metadata_writer.MetadataWriter.create(bytearray(model))
            writer.add_general_info("pose", "pose")
            writer.add_image_input(norm_mean=[norm_mean], norm_std=[norm_std])
            for _ in writer_utils.get_output_tensor_types(bytearray(model)):
                writer.add_feature_output()
            with_metadata, _json = writer.populate()
    except ImportError as exc:
        raise _StepFailed(f"mediapipe's metadata writer cannot be imported ({exc})") from None
    return bytes(with_metadata)


# A `.task` bundle is a zip of uncompressed entries whose data start on a 4-byte boundary, so that
# MediaPipe can mmap them (its `create_model_asset_bundle` does the same). That helper stamps entries
# with the current time, so its output differs on every run and could not be pinned. This writer is
# deterministic: entries sorted by name, DOS time 1980-01-01 00:00, fixed attributes, no extra fields,
# no comment; alignment comes from zero padding before each local header, as in MediaPipe's writer
# (readers locate entries through the central directory).
_ALIGNMENT = 4
_DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
_DOS_TIME_MIDNIGHT = 0
_VERSION = 20  # 2.0: the version the zip spec asks for plain stored files
_MADE_BY_UNIX = (3 << 8) | _VERSION
_EXTERNAL_ATTR = (0o100644 << 16)  # regular file, rw-r--r--


def deterministic_bundle(entries: dict[str, bytes]) -> bytes:
    """Bytes of a zip holding `entries` uncompressed, 4-byte aligned, identical for identical input."""
    out = bytearray()
    central = bytearray()
    names = sorted(entries)
    for name in names:
        data = entries[name]
        encoded = name.encode("ascii")
        header_len = 30 + len(encoded)
        out += b"\0" * ((-(len(out) + header_len)) % _ALIGNMENT)
        offset = len(out)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        fields = (_VERSION, 0, zipfile.ZIP_STORED, _DOS_TIME_MIDNIGHT, _DOS_DATE_1980_01_01, crc, len(data),
                  len(data), len(encoded))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + encoded
        assert len(out) % _ALIGNMENT == 0
        out += data
        central += struct.pack("<IH", 0x02014B50, _MADE_BY_UNIX) + struct.pack(
            "<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, _EXTERNAL_ATTR, offset) + encoded
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(names), len(names), len(central), cd_offset, 0)
    return bytes(out)

