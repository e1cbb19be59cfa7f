"""The physiotherapist's view and the patient's page (issue 13), in headless Chromium (Debian's
/usr/bin/chromium through playwright, as tests/test_api_browser.py): skips cleanly without them.

One seeded synthetic history (the real pipeline on synthetic recordings, coach.devtools.synthetic_history)
must give the same done/prescribed/adherence/pain figures in `report -f json`, the HTML, the PDF's text,
`GET /api/patients/{name}/summary` and the page; a one-day report's summary table must be in the first
screen (1280×800); the patient's page signs in first, shows today's plan with the therapist's note, picks
a prescribed exercise, signs out, and does not scroll sideways at 375 px.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian package `chromium`)")

NOTE = "stop if knee pain > 4"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Three weeks of sessions for ana (squats with the note, both elbows), a therapist and ana as users."""
    from coach.api.users import add_user, issue_token
    from coach.app import prescriptions
    from coach.devtools.synthetic_history import generate_history
    from db.engine import close_database, open_database, write_session

    db = tmp_path_factory.mktemp("page") / "coach.sqlite"
    h = generate_history(db, "ana", weeks=3)
    sm = open_database(db)
    with write_session(sm) as s:
        prescriptions.assign(s, "ana", "squat", notes=NOTE, start=h.first_day)
        therapist = issue_token(s, add_user(s, "drsmith", "therapist"))
        patient = issue_token(s, add_user(s, "ana", "patient", "drsmith"))
    close_database(sm)
    return db, h, therapist, patient


@pytest.fixture(scope="module")
def server(seeded):
    uvicorn = pytest.importorskip("uvicorn")
    from coach.api import create_app

    db, _, therapist, patient = seeded
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", therapist, patient
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


#: The words of the elements matching a selector that the browser broke across two lines.
_WORDS_SPLIT_ACROSS_LINES = """(selector) => {
  const split = [];
  for (const el of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


def _sign_in(page, base, token):
    page.goto(base + "/")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#today-list li, #today-msg:not(:empty)")


def _figures(summary: dict) -> list[str]:
    """The figures every format must show, as they are written (coach/reports/render.py, app.js)."""
    out = [f"Adherence {summary['adherence_percent']}% ({summary['sessions_counted']} of "
           f"{summary['sessions_prescribed']} prescribed sessions)",
           f"Pain mean {summary['pain_mean']:.1f}, max {summary['pain_max']}"]
    for x in summary["exercises"]:
        out += [f"{x['sessions_done']} / {x['sessions_prescribed']}", f"{x['reps_done']} / {x['reps_prescribed']}",
                f"max {x['pain_max']}"]
    return out


def test_the_same_figures_in_json_html_pdf_api_and_page(seeded, server, browser, tmp_path):
    from pypdf import PdfReader

    from coach.cli.main import app

    db, h, therapist, _ = seeded
    base = server[0]
    runner = CliRunner()
    paths = {}
    for fmt in ("json", "html", "pdf"):
        paths[fmt] = tmp_path / f"r.{fmt}"
        result = runner.invoke(app, ["report", "ana", "--db", str(db), "-f", fmt, "-o", str(paths[fmt])])
        assert result.exit_code == 0, result.output
    summary = json.loads(paths["json"].read_text())["summary"]
    assert summary["sessions_prescribed"] and summary["pain_max"] is not None
    # the history generator's own counts: what was done is what the report says was done
    squats = {s.started_at.date() for s in h.sessions if s.exercise_id == "squat"}
    assert next(x for x in summary["exercises"] if x["exercise_id"] == "squat")["sessions_done"] == len(squats)
    expected = _figures(summary)

    from urllib.request import Request, urlopen

    req = Request(f"{base}/api/patients/ana/summary", headers={"Authorization": f"Bearer {therapist}"})
    with urlopen(req, timeout=60) as r:
        api = json.loads(r.read())
    assert {k: api[k] for k in ("sessions_done", "sessions_prescribed", "sessions_counted", "adherence_percent",
                                "pain_mean", "pain_max", "pain_over_limit")} == {
        k: summary[k] for k in ("sessions_done", "sessions_prescribed", "sessions_counted", "adherence_percent",
                                "pain_mean", "pain_max", "pain_over_limit")}
    for a, b in zip(api["exercises"], summary["exercises"]):
        for k in ("sessions_done", "sessions_prescribed", "reps_done", "reps_prescribed", "pain_max",
                  "pain_mean", "pain_over_limit", "adherence_percent"):
            assert a[k] == b[k], (a["exercise_id"], k)

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(paths["html"].as_uri())
        html_text = page.locator("body").inner_text()
        _sign_in(page, base, therapist)
        page.locator("#rep-patient").select_option("ana")
        page.get_by_role("button", name="Show report").click()
        page.wait_for_selector("#summary-table")
        page_text = page.locator("#report-out").inner_text()
        # at 1280 px the summary's column names are whole words too ("not measurable", not "measura" "ble")
        assert page.evaluate(_WORDS_SPLIT_ACROSS_LINES, "#report-out th") == []
    finally:
        page.close()
    pdf_text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(paths["pdf"]).pages[:2]))
    for text, where in ((html_text, "html"), (page_text, "page"), (pdf_text, "pdf")):
        flat = re.sub(r"\s+", " ", text)
        for figure in expected:
            assert figure in flat, (where, figure)


def test_a_one_day_reports_summary_table_is_on_the_first_screen(tmp_path, browser):
    from coach.devtools.synthetic_history import generate_history
    from coach.reports import write_report
    from db.engine import close_database, open_database

    db = tmp_path / "day.sqlite"
    from datetime import date

    generate_history(db, "ana", days=1, today=date(2026, 3, 3))  # a Tuesday: squats and both elbows
    sm = open_database(db)
    try:
        write_report(sm, "ana", "html", tmp_path / "day.html", period_from=date(2026, 3, 3),
                     period_to=date(2026, 3, 3))
    finally:
        close_database(sm)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto((tmp_path / "day.html").as_uri())
        box = page.locator("#summary").bounding_box()
        rows = page.locator("#summary tr").count()
        page.screenshot(path=str(tmp_path / "day_1280.png"))
    finally:
        page.close()
    print(f"\nscreenshot: {tmp_path / 'day_1280.png'}")
    assert rows == 3  # the header and both exercises
    assert box["y"] + box["height"] <= 800, box


def test_the_reports_summary_reads_right_at_phone_width(seeded, browser, tmp_path):
    """At 375 px each exercise is a card with its figures in a line: a percentage must not run into the
    figure before it ("4 / 5" then "80%" must not read "4 / 580%"), nor the note into the exercise's name."""
    from coach.reports import write_report
    from db.engine import close_database, open_database

    sm = open_database(seeded[0])
    try:
        for fmt in ("json", "html"):
            write_report(sm, "ana", fmt, tmp_path / f"r.{fmt}")
    finally:
        close_database(sm)
    exercises = json.loads((tmp_path / "r.json").read_text())["summary"]["exercises"]
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        page.goto((tmp_path / "r.html").as_uri())
        cards = page.locator("#summary tr").all_inner_texts()[1:]
    finally:
        page.close()
    assert len(cards) == len(exercises) and any(x["notes"] for x in exercises)
    for card, x in zip(cards, exercises):
        flat = re.sub(r"\s+", " ", card)
        assert f"{x['sessions_done']} / {x['sessions_prescribed']} {x['adherence_percent']}%" in flat, flat
        assert f"{x['reps_done']} / {x['reps_prescribed']} {x['reps_percent']}%" in flat, flat
        if x["notes"]:
            assert f"{x['name']} Note: {x['notes']}" in flat, flat


def test_the_patients_page_at_phone_width(server, browser, tmp_path):
    base, _, patient = server
    page = browser.new_page(viewport={"width": 375, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(base + "/")
        # sign-in first: nothing else to fill in before it
        assert page.locator("#signin-card").is_visible() and not page.locator("#live-form").is_visible()
        assert "coach users" not in page.locator("body").inner_text()  # no CLI command for a patient
        _sign_in(page, base, patient)
        assert not page.locator("#signin-card").is_visible()
        plan = page.locator("#today-list").inner_text()
        assert "Bodyweight squat" in plan and f"Note from your therapist: {NOTE}" in plan
        assert "Done today:" in plan
        prescribed = page.locator("#today-list li").evaluate_all("els => els.map(e => e.dataset.exercise)")
        assert page.locator("#exercise").input_value() in prescribed  # not the alphabetically first
        page.locator("#exercise").select_option("squat")
        assert NOTE in page.locator("#live-note").inner_text()
        page.get_by_role("button", name="Show report").click()
        page.wait_for_selector("#summary-table")
        page.wait_for_selector("#sessions-out table")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert widths[0] <= widths[1] == 375, widths  # no sideways scrolling
        # the wide tables scroll in their own box; their column names stay whole words ("reps", not "re" "ps")
        assert page.locator("#report-out table:not(.overview) th, #sessions-out th").count() >= 10
        assert page.evaluate(_WORDS_SPLIT_ACROSS_LINES, "#report-out table:not(.overview) th, #sessions-out th") == []
        page.get_by_role("button", name="Sign out").click()
        assert page.locator("#signin-card").is_visible() and not page.locator("#app").is_visible()
        assert page.evaluate("sessionStorage.getItem('coach-token')") is None
    finally:
        page.close()
    print(f"\nscreenshot: {tmp_path / 'phone.png'}")
    assert not errors, errors
