"""The offline build of MediaPipe's pose models from the package indexes (see `coach.pose.models` for where
it fits): the raw .tflite files in the `mediapipe==0.10.21` wheel (PyPI) and the `@mediapipe/pose` package
(npm), verified against pinned hashes, given the TFLite input metadata the Tasks API needs, and bundled
into a byte-for-byte deterministic `.task` whose sha256 is pinned.

It imports mediapipe only while it builds, so resolving a cached model stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import types
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


class BuildFailed(Exception):
    """The build did not work; the message is the short reason for the final error."""


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

PIP_TIMEOUT_S = 30  #: pip's socket timeout for the wheel download
PIP_DEADLINE_S = 600  #: hard limit for the whole pip run
NPM_DEADLINE_S = 600  #: hard limit for the whole npm run

_INDEX_NAMES = {"wheel": "PyPI", "npm": "npm"}


def offline_packages(variant: str) -> str:
    """The packages the offline build of `variant` reads, in words: for messages."""
    names = {"wheel": f"{OFFLINE_WHEEL} (PyPI)", "npm": f"{OFFLINE_NPM} (npm)"}
    return " and ".join(names[p] for p in ("wheel", "npm")
                        if any(src.package == p for src in OFFLINE_SOURCES[variant].values()))


def build_bundle(variant: str, step: Callable[[str], None] = lambda text: None) -> bytes:
    """The `.task` bundle of `variant`, built from the packages that carry its raw .tflite files: fetched,
    verified against their pins, given input metadata, bundled deterministically and checked against
    `OFFLINE_BUILD_SHA256`. `step(text)` is told what is being done. Raises `BuildFailed` saying why."""
    sources = OFFLINE_SOURCES[variant]
    with tempfile.TemporaryDirectory(prefix="coach-model-build-") as tmp:
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
        raise BuildFailed(
            f"the built bundle's sha256 {sha} is not the pinned {pinned} (the installed mediapipe "
            f"{_mediapipe_version()} writes different metadata than the version the pin was made with)")
    return data


def _pip_command(dest: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "download", OFFLINE_WHEEL,
        "--no-deps", "--only-binary=:all:", *OFFLINE_WHEEL_TAGS,
        "--dest", str(dest),
        "--disable-pip-version-check", "--no-input", "--quiet",
        "--retries", "2", "--timeout", str(PIP_TIMEOUT_S),
    ]


def _run_client(name: str, command: list[str], deadline_s: float) -> subprocess.CompletedProcess:
    """Run a package client (pip, npm) without input, capturing its output; `BuildFailed` if it cannot run
    or does not finish within `deadline_s` seconds. Its exit status is for the caller to judge."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=deadline_s,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"{name} did not finish within {deadline_s:g} s") from None
    except OSError as exc:
        raise BuildFailed(f"could not run {name}: {exc}") from None


def _pip_download_wheel(dest: Path) -> Path:
    """Download the wheel with pip (so the user's index, mirror and proxy settings apply); return its path."""
    run = _run_client("pip", _pip_command(dest), PIP_DEADLINE_S)
    if run.returncode != 0:
        raise BuildFailed(f"pip download failed: {_pip_reason(run.stderr or run.stdout)}")
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        raise BuildFailed("pip reported success but left no mediapipe 0.10.21 wheel")
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
        raise BuildFailed(f"npm is not installed (it fetches {OFFLINE_NPM}, which carries the lite and heavy "
                          "models; install Node.js, or supply a model with --model)")
    command = _npm_command(dest)
    command[0] = shutil.which("npm") or "npm"  # npm.cmd on Windows
    run = _run_client("npm", command, NPM_DEADLINE_S)
    if run.returncode != 0:
        raise BuildFailed(f"npm pack failed: {_npm_reason(run.stdout, run.stderr)}")
    tarballs = sorted(dest.glob("mediapipe-pose-*.tgz"))
    if not tarballs:
        raise BuildFailed(f"npm reported success but left no {OFFLINE_NPM} tarball")
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
            raise BuildFailed(f"{archive.name} has no {src.member}") from None
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise BuildFailed(f"cannot read {archive.name}: {exc}") from None
        sha = hashlib.sha256(data).hexdigest()
        if sha != src.sha256:
            raise BuildFailed(f"{src.member} in {archive.name} has sha256 {sha[:12]}…, "
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
        raise BuildFailed(f"mediapipe's metadata writer cannot be imported ({exc})") from None
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
