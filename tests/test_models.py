"""Model provisioning: the offline build (what CI has), verification and the resolution order.

Everything here runs with a temporary COACH_CACHE_DIR. The offline build really runs pip against the
configured package index, once per module (a few seconds), exactly as on a fresh CI machine.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import struct
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from coach.pose import model_build, models
from coach.cli import models_cmd
from coach.errors import ModelError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PERSON_IMAGE = SHARED / "data" / "ground_truth" / "tf_examples_pose_truth" / "image1.png"


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(models.ENV_CACHE_DIR, str(cache))
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    return cache


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> models.ModelInfo:
    """One real offline build (pip → extract → verify → metadata → bundle) into a private cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(models.ENV_CACHE_DIR, str(tmp_path_factory.mktemp("built-cache")))
        mp.delenv(models.ENV_MODEL, raising=False)
        return models.resolve_model("full", allow_download=False, progress=False)


def no_build(*_args, **_kwargs):
    raise model_build.BuildFailed("pip download failed: No matching distribution found (simulated: no package index)")


@pytest.fixture
def no_offline_build(monkeypatch):
    """No package index: neither pip nor npm can fetch anything (simulated), so only downloads are left."""
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    monkeypatch.setattr(model_build, "_npm_pack", no_build)


def custom_bundle(built: models.ModelInfo, path: Path) -> Path:
    """A valid bundle whose hash is pinned nowhere: the built one plus a harmless extra entry."""
    with zipfile.ZipFile(built.path) as zf:
        entries = {name: zf.read(name) for name in models.BUNDLE_ENTRIES}
    entries["README.txt"] = b"a user's own model\n"
    path.write_bytes(model_build.deterministic_bundle(entries))
    return path


# ------------------------------------------------------------------------------------------ offline build


def test_offline_build_matches_its_pin(built):
    assert built.origin == "offline-build"
    assert built.pinned
    assert built.sha256 == models.OFFLINE_BUILD_SHA256["full"]
    assert models.sha256_file(built.path) == models.OFFLINE_BUILD_SHA256["full"]
    assert built.path.name == "pose_landmarker_full.task"


def test_offline_bundle_is_a_deterministic_aligned_zip(built):
    data = built.path.read_bytes()
    with zipfile.ZipFile(built.path) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(models.BUNDLE_ENTRIES)
        entries = {i.filename: zf.read(i) for i in infos}
    for info in infos:
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
        assert (info.header_offset + 30 + name_len + extra_len) % 4 == 0, "stored data must be 4-byte aligned"
    # Same input, same bytes, whatever the order the entries come in.
    assert model_build.deterministic_bundle(dict(reversed(entries.items()))) == data


def test_offline_build_leaves_no_metadata_stub_behind(built):
    assert not [name for name in sys.modules if name.startswith("mediapipe.tasks.cc")]


def test_built_bundle_runs_in_pose_landmarker(built):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(built.path)),
                                           running_mode=vision.RunningMode.IMAGE, num_poses=1)
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        blank = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((256, 256, 3), np.uint8))
        assert landmarker.detect(blank).pose_landmarks == []
        if not PERSON_IMAGE.is_file():
            pytest.skip(f"{PERSON_IMAGE} is absent (../shared not checked out): model loads, not run on a person")
        result = landmarker.detect(mp.Image.create_from_file(str(PERSON_IMAGE)))
    assert len(result.pose_landmarks) == 1
    landmarks = result.pose_landmarks[0]
    assert len(landmarks) == 33
    inside = [0 <= lm.x <= 1 and 0 <= lm.y <= 1 for lm in landmarks]
    assert sum(inside) >= 25, "most landmarks of a visible person should fall inside the image"
    assert len(result.pose_world_landmarks[0]) == 33


# ------------------------------------------------------------------------------------- resolution order


def test_explicit_path_wins_over_env_and_cache(built, tmp_path, tmp_cache, monkeypatch):
    tmp_cache.mkdir()
    shutil.copy(built.path, models.cache_path("full"))
    mine = custom_bundle(built, tmp_path / "mine.task")
    other = custom_bundle(built, tmp_path / "other.task")
    monkeypatch.setenv(models.ENV_MODEL, str(other))
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)

    info = models.resolve_model("full", mine)
    assert (info.path, info.origin, info.pinned) == (mine.resolve(), "explicit", False)
    assert info.sha256 == hashlib.sha256(mine.read_bytes()).hexdigest() != built.sha256


def test_env_var_wins_over_cache(built, tmp_path, tmp_cache, monkeypatch):
    tmp_cache.mkdir()
    shutil.copy(built.path, models.cache_path("full"))
    mine = custom_bundle(built, tmp_path / "mine.task")
    monkeypatch.setenv(models.ENV_MODEL, str(mine))
    info = models.resolve_model("full")
    assert (info.path, info.origin) == (mine.resolve(), "explicit")


def test_explicit_pinned_file_is_reported_as_pinned(built):
    info = models.resolve_model("lite", built.path)  # the user may pass any file; this one is the pinned full
    assert (info.origin, info.variant, info.pinned) == ("explicit", "full", True)


@pytest.mark.parametrize("kind", ["missing", "directory", "text", "zip-without-models", "zip-not-tflite"])
def test_bad_explicit_path_is_an_error_not_a_fallback(kind, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_offline_build", lambda *a, **k: pytest.fail("must not fall back"))
    path = tmp_path / "model.task"
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("not a model")
    elif kind.startswith("zip"):
        names = ("a.tflite", "b.tflite") if kind == "zip-without-models" else models.BUNDLE_ENTRIES
        path.write_bytes(model_build.deterministic_bundle({n: b"\0" * 64 for n in names}))
    with pytest.raises(ModelError, match=str(path)):
        models.resolve_model("full", path)
    monkeypatch.setenv(models.ENV_MODEL, str(path))
    with pytest.raises(ModelError, match=models.ENV_MODEL):
        models.resolve_model("full")


def test_verified_cache_is_used_without_building(built, tmp_cache, monkeypatch):
    tmp_cache.mkdir()
    shutil.copy(built.path, models.cache_path("full"))
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    info = models.resolve_model("full", allow_download=False, progress=False)
    assert (info.origin, info.pinned, info.sha256) == ("cache", True, built.sha256)
    assert models.installed_models() == [info]


def test_corrupted_cache_file_is_rejected_and_rebuilt(built, tmp_cache, capsys):
    tmp_cache.mkdir()
    corrupt = bytearray(built.path.read_bytes())
    corrupt[len(corrupt) // 2] ^= 0xFF
    models.cache_path("full").write_bytes(corrupt)
    assert isinstance(models.inspect_cached("full"), str)
    assert models.installed_models() == []

    info = models.resolve_model("full", allow_download=False, progress=False)
    assert (info.origin, info.sha256) == ("offline-build", models.OFFLINE_BUILD_SHA256["full"])
    assert models.sha256_file(models.cache_path("full")) == models.OFFLINE_BUILD_SHA256["full"]
    assert "fails its sha256 check" in capsys.readouterr().err


def test_corrupted_cache_file_is_never_used_even_when_nothing_else_works(built, tmp_cache, monkeypatch):
    tmp_cache.mkdir()
    models.cache_path("full").write_bytes(built.path.read_bytes()[:-10])
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    with pytest.raises(ModelError, match="rejected .*fails its sha256 check"):
        models.resolve_model("full", allow_download=False, progress=False)


def test_no_download_and_no_build_lists_every_attempt(monkeypatch):
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    with pytest.raises(ModelError) as caught:
        models.resolve_model("full", allow_download=False, progress=False)
    message = str(caught.value)
    for expected in ("user cache", "official download (skipped: offline)", "offline build",
                     "simulated: no package index", "--model PATH", "COACH_MODEL=PATH", "models install"):
        assert expected in message
    assert "\n" not in message


def test_no_package_index_for_real(monkeypatch):
    """pip itself, with every index and link disabled, fails and the reason reaches the message."""
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    with pytest.raises(ModelError, match=r"offline build .*failed: pip download failed: .*mediapipe"):
        models.resolve_model("full", allow_download=False, progress=False)


def test_wrong_raw_model_in_wheel_is_refused(tmp_path, monkeypatch):
    wheel = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(model_build.deterministic_bundle({src.member: b"tampered" for src in
                                                   models.OFFLINE_SOURCES["full"].values()}))
    monkeypatch.setattr(model_build, "_pip_download_wheel", lambda dest: wheel)
    with pytest.raises(ModelError, match="pose_detection.tflite in .* has sha256 .*not the pinned"):
        models.resolve_model("full", allow_download=False, progress=False)
    assert not models.cache_path("full").exists()


def fake_npm_tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_wrong_raw_model_in_npm_package_is_refused(tmp_path, monkeypatch):
    tarball = fake_npm_tarball(tmp_path / "mediapipe-pose-0.5.1675469404.tgz",
                               {"package/pose_landmark_heavy.tflite": b"tampered"})
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    monkeypatch.setattr(model_build, "_npm_pack", lambda dest: tarball)
    only_npm = {k: v for k, v in models.OFFLINE_SOURCES["heavy"].items() if v.package == "npm"}
    monkeypatch.setitem(models.OFFLINE_SOURCES, "heavy", only_npm)
    with pytest.raises(ModelError, match=r"package/pose_landmark_heavy.tflite in .*tgz has sha256 .*not the pinned"):
        models.resolve_model("heavy", allow_download=False, progress=False)
    assert not models.cache_path("heavy").exists()


def test_npm_tarball_without_the_model_is_refused(tmp_path, monkeypatch):
    tarball = fake_npm_tarball(tmp_path / "mediapipe-pose-0.5.1675469404.tgz", {"package/README.md": b"hi"})
    monkeypatch.setattr(model_build, "_npm_pack", lambda dest: tarball)
    only_npm = {k: v for k, v in models.OFFLINE_SOURCES["lite"].items() if v.package == "npm"}
    monkeypatch.setitem(models.OFFLINE_SOURCES, "lite", only_npm)
    with pytest.raises(ModelError, match=r"mediapipe-pose-0.5.1675469404.tgz has no package/pose_landmark_lite"):
        models.resolve_model("lite", allow_download=False, progress=False)


def test_npm_missing_is_one_clear_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(model_build, "_pip_download_wheel", lambda dest: pytest.fail("npm is checked first"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on the PATH
    with pytest.raises(ModelError, match=r"offline build from mediapipe==0\.10\.21 \(PyPI\) and "
                                         r"@mediapipe/pose@.* \(npm\) \(failed: npm is not installed .*\); "
                                         r"supply one with --model PATH.* where PyPI and npm can be reached"):
        models.resolve_model("lite", allow_download=False, progress=False)


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed here")
def test_no_npm_registry_for_real(tmp_path, monkeypatch):
    """npm itself, offline with an empty cache, fails and its reason reaches the message."""
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))
    monkeypatch.setattr(model_build, "_pip_download_wheel", lambda dest: pytest.fail("npm is tried first"))
    sources = dict(models.OFFLINE_SOURCES["lite"])
    sources.pop("pose_detector.tflite")
    monkeypatch.setitem(models.OFFLINE_SOURCES, "lite", sources)
    with pytest.raises(ModelError, match=r"failed: npm pack failed: .*(cache|offline|ENOTCACHED)"):
        models.resolve_model("lite", allow_download=False, progress=False)


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed here: lite and heavy come from npm")
@pytest.mark.parametrize("variant", ["lite", "heavy"])
def test_lite_and_heavy_offline_builds_match_their_pins_and_run(variant):
    """The real offline build of the npm-sourced variants (pip + npm against the configured indexes)."""
    info = models.resolve_model(variant, allow_download=False, progress=False)
    assert (info.origin, info.variant, info.pinned) == ("offline-build", variant, True)
    assert info.sha256 == models.OFFLINE_BUILD_SHA256[variant] == models.sha256_file(info.path)
    assert models.inspect_cached(variant) == models.ModelInfo(info.path, variant, info.sha256, "cache", True)
    with zipfile.ZipFile(info.path) as zf:
        landmarks = zf.read("pose_landmarks_detector.tflite")
    assert landmarks[4:8] == b"TFL3"
    if not PERSON_IMAGE.is_file():
        pytest.skip(f"{PERSON_IMAGE} is absent (../shared not checked out): built and verified, not run")
    import cv2

    from coach.pose.engine import PoseEngine

    with PoseEngine(info.path, mode="image") as engine:
        frame = engine.detect(cv2.imread(str(PERSON_IMAGE)))
    assert frame.n_people == 1
    xy = frame.xy_px[0]
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= frame.width_px) & (xy[:, 1] >= 0) & (xy[:, 1] <= frame.height_px)
    assert inside.sum() >= 25, "most landmarks of a visible person should fall inside the image"


def test_unknown_variant():
    with pytest.raises(ModelError, match="unknown model variant"):
        models.resolve_model("huge")


# ----------------------------------------------------------------------------- download (local server)


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.startswith("/hang"):
            time.sleep(5)
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.files = {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setattr(models, "OFFICIAL_URL",
                        f"http://127.0.0.1:{httpd.server_address[1]}/pose_landmarker_{{variant}}.task")
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_pinned_download_is_verified_and_cached(built, server, tmp_path, monkeypatch):
    data = custom_bundle(built, tmp_path / "official.task").read_bytes()
    server.files["/pose_landmarker_lite.task"] = data
    monkeypatch.setattr(models, "OFFICIAL_SHA256", {"lite": hashlib.sha256(data).hexdigest()})
    info = models.install_model("lite", progress=True)
    assert (info.origin, info.pinned, info.path.read_bytes()) == ("download", True, data)
    again = models.resolve_model("lite", progress=False)
    assert (again.origin, again.pinned) == ("cache", True)


def test_download_with_wrong_hash_is_refused(built, server, monkeypatch, no_offline_build):
    server.files["/pose_landmarker_lite.task"] = built.path.read_bytes()
    monkeypatch.setattr(models, "OFFICIAL_SHA256", {"lite": "0" * 64})
    with pytest.raises(ModelError, match="official download .*does not match the pinned"):
        models.resolve_model("lite", progress=False)
    assert not models.cache_path("lite").exists()
    assert not list(models.cache_dir().glob("*.part"))


def test_unpinned_download_needs_consent_and_is_labelled(built, server, tmp_path, no_offline_build):
    data = custom_bundle(built, tmp_path / "official.task").read_bytes()
    server.files["/pose_landmarker_heavy.task"] = data
    with pytest.raises(ModelError, match="not attempted: no verified sha256 is pinned"):
        models.resolve_model("heavy", progress=False)

    info = models.install_model("heavy", progress=False, allow_unpinned=True)
    assert (info.origin, info.pinned) == ("download", False)
    cached = models.resolve_model("heavy", progress=False)
    assert (cached.origin, cached.pinned, cached.sha256) == ("cache", False, info.sha256)
    assert "UNPINNED" in models.describe_hash("heavy", info.sha256)

    models.cache_path("heavy").write_bytes(data[:-1])  # the recorded hash still protects it
    with pytest.raises(ModelError, match="fails its sha256 check"):
        models.resolve_model("heavy", allow_download=False, progress=False)


def test_unpinned_download_must_still_be_a_bundle(server, no_offline_build):
    server.files["/pose_landmarker_heavy.task"] = b"<html>captive portal</html>"
    with pytest.raises(ModelError, match="official download .*not a .task model bundle"):
        models.install_model("heavy", progress=False, allow_unpinned=True)
    assert not models.cache_path("heavy").exists()


def test_download_fails_fast(server, monkeypatch, no_offline_build):
    monkeypatch.setattr(models, "DOWNLOAD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(models, "OFFICIAL_URL", server.server_address and
                        f"http://127.0.0.1:{server.server_address[1]}/hang/{{variant}}")
    start = time.monotonic()
    with pytest.raises(ModelError, match="official download .*failed"):
        models.install_model("lite", progress=False, allow_unpinned=True)
    assert time.monotonic() - start < 3


# ------------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test harness."""

    models_cmd.register(app)
    return lambda *args: CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_models_list(cli, built, tmp_cache):
    result = cli("models", "list")
    assert result.exit_code == 0, result.output
    assert "full" in result.output and "yes" not in result.output

    tmp_cache.mkdir()
    shutil.copy(built.path, models.cache_path("full"))
    models.cache_path("lite").write_bytes(b"junk")
    result = cli("models", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "yes" in rows["full"] and built.sha256[:12] in rows["full"] and "offline build, pinned" in rows["full"]
    assert "rejected" in rows["lite"]
    assert " no " in rows["heavy"]


def test_models_install_offline(cli, built, tmp_cache, monkeypatch):
    tmp_cache.mkdir()
    shutil.copy(built.path, models.cache_path("full"))
    result = cli("models", "install", "--offline")
    assert result.exit_code == 0, result.output
    assert "Already installed" in result.output and built.sha256 in result.output

    models.cache_path("full").unlink()
    monkeypatch.setattr(model_build, "_pip_download_wheel", no_build)
    result = cli("models", "install", "--variant", "full", "--offline")
    assert isinstance(result.exception, ModelError)


def test_models_help(cli):
    result = cli("models", "install", "--help")
    assert result.exit_code == 0
    assert "--offline" in result.output and "--variant" in result.output
