"""The web page in headless Chromium with a fake camera fed from a real clip: it must show the count the
clip deserves. Skips cleanly without the `chromium` Debian package, the playwright package or ../shared.

The clip is converted to .y4m (640 px wide) in a temporary folder; footage never enters the project.
The page sends at most 15 frames/s, one in flight; the set ends after the clip's length of camera time
("Stop after"), because Chromium's file camera loops the clip. A screenshot is left in the temporary
folder (its path is printed) for a person to look at.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CLIP = "squat_bw_side_rokfit.mp4"
EXPECTED_REPS = 4  # labels.tsv


def to_y4m(src: Path, dst: Path, width: int = 640) -> float:
    """Write the clip as an uncompressed 4:2:0 .y4m; returns its duration in seconds."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = 0
    with open(dst, "wb") as out:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            h, w = img.shape[:2]
            size = (width, int(round(h * width / w / 2)) * 2)
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            if n == 0:
                out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{int(round(fps * 1000))}:1000 Ip A1:1 C420jpeg\n"
                          .encode())
            out.write(b"FRAME\n" + cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    cap.release()
    return n / fps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, pose_model):
    uvicorn = pytest.importorskip("uvicorn")
    from coach.api import create_app
    from coach.api.users import add_user, issue_token
    from db.engine import close_database, open_database, write_session

    db_path = tmp_path / "coach.sqlite"
    sm = open_database(db_path)
    with write_session(sm) as s:
        therapist = issue_token(s, add_user(s, "drsmith", "therapist"))
        token = issue_token(s, add_user(s, "ana", "patient", "drsmith"))
    close_database(sm)
    port = _free_port()
    app = create_app(db_path, model_path=pose_model)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", token, therapist
    srv.should_exit = True
    thread.join(10)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian package `chromium`)")
def test_the_page_counts_the_reps_of_a_clip_from_a_fake_camera(tmp_path, shared_data, server):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, token, therapist = server
    y4m = tmp_path / "camera.y4m"
    duration_s = to_y4m(shared_data / "videos" / CLIP, y4m)
    profile = tmp_path / "profile"
    args = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                   args=args, viewport={"width": 1200, "height": 900})
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            console = []
            page.on("console", lambda m: console.append(m.text))
            page.on("pageerror", lambda e: console.append(f"page error: {e}"))
            page.goto(base + "/")
            page.get_by_label("Access token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_function("document.getElementById('who').textContent.includes('Signed in as ana')")
            page.get_by_label("Exercise").select_option("squat")
            page.get_by_label("Reps per set").fill("20")
            page.get_by_label("Get ready (s)").fill("0")
            page.get_by_label("Stop after (s)").fill(f"{duration_s + 0.5:.1f}")
            page.get_by_role("button", name="Start camera").click()
            try:
                page.wait_for_function("parseInt(document.getElementById('count').textContent) >= 2",
                                       timeout=60_000)
            except sync_api.TimeoutError:
                page.screenshot(path=str(shots / "stuck.png"))
                raise AssertionError(f"no count after 60 s: status {page.locator('#status').text_content()!r}, "
                                     f"{page.locator('#stats').text_content()!r}, console {console[-5:]}, "
                                     f"screenshot {shots / 'stuck.png'}") from None
            page.screenshot(path=str(shots / "live.png"))
            page.wait_for_function("document.getElementById('summary').textContent.includes('saved')",
                                   timeout=90_000)
            page.screenshot(path=str(shots / "summary.png"), full_page=True)
            page.get_by_label("Pain (0–10)").fill("2")
            page.get_by_label("Effort (0–10)").fill("6")
            page.get_by_role("button", name="Save note").click()
            page.wait_for_function("document.getElementById('note-msg').textContent.includes('Saved')")
            status_after = page.locator("#status").text_content()  # no "Rest: 59 s" left behind
            count = page.locator("#count").text_content()
            summary = page.locator("#summary").text_content()
            stats = page.locator("#stats").text_content()
            # the therapist's view of the same patient's report, in a fresh tab
            page = ctx.new_page()
            page.goto(base + "/#report")
            page.get_by_label("Access token").fill(therapist)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_function("document.getElementById('who').textContent.includes('drsmith')")
            page.locator("#rep-patient").select_option("ana")
            page.get_by_role("button", name="Show report").click()
            page.wait_for_selector("#sessions-out table")
            page.get_by_role("button", name="Reps of session 1").click()
            page.wait_for_selector("#session-out table")
            report_text = page.locator("#report-out").text_content()
            rep_rows = page.locator("#session-out tbody tr").count()
            page.get_by_role("button", name="Full report (HTML)").click()
            frame = page.wait_for_selector("#report-full iframe").content_frame()
            frame.wait_for_selector("h1")
            full_report = frame.locator("body").text_content()
            page.locator("#report").screenshot(path=str(shots / "report.png"))
        finally:
            ctx.close()
    print(f"\nscreenshots: {shots}  ({summary}; {stats})")
    assert int(count) == EXPECTED_REPS, (count, summary, stats)
    assert f"{EXPECTED_REPS} reps" in summary
    assert status_after == ""
    assert "Pain mean 2.0, max 2 · effort mean 6.0" in report_text and "Bodyweight squat" in report_text
    assert rep_rows == EXPECTED_REPS
    assert "ana" in full_report
