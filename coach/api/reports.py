"""Reports for the API, rendered by ``coach.reports`` (what ``coach report`` writes).

Making a report is CPU work (charts, the PDF layout): it runs on a worker thread, never in the event
loop, at most :data:`RENDERS_AT_ONCE` at a time (a request waits up to :data:`SLOT_WAIT_S` for a turn,
then gets 503 with ``Retry-After``), each within :data:`RENDER_BUDGET_S` (then 503: ask for a shorter
period), and stops at its next step when the server shuts down. The period itself is bounded by
``coach.reports.model`` (2000–2099, at most 10 years).
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from datetime import date
from urllib.parse import quote

from fastapi import HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

#: API format -> (media type, file suffix)
FORMATS = {
    "json": ("application/json", "json"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "csv": ("text/csv; charset=utf-8", "csv"),  # one row per rep
    "sessions_csv": ("text/csv; charset=utf-8", "csv"),  # one row per session
    "fhir": ("application/fhir+json", "json"),  # an R4 Bundle of Observations
}

#: Reports made at once (each takes a worker thread and up to a core); more wait for a turn.
RENDERS_AT_ONCE = 2
#: Seconds a request waits for a turn before it is answered 503.
SLOT_WAIT_S = 20.0
#: Seconds one report may take (a 10-year PDF takes about 10 s on 2 cores).
RENDER_BUDGET_S = 60.0


def attachment(stem: str, suffix: str) -> str:
    """A ``Content-Disposition`` value for downloading ``stem.suffix`` (RFC 6266): an ASCII ``filename``
    for old clients and the name itself as ``filename*=UTF-8''…`` (a header must be Latin-1; a patient
    may be called Łukasz)."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80] or "report"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_"
                         for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return (f'attachment; filename="{ascii_name}.{suffix}"; '
            f"filename*=UTF-8''{quote(name, safe='')}.{suffix}")


def render(db: Session, patient: str, fmt: str, *, period_from: date | None = None,
           period_to: date | None = None) -> Response:
    """The report of ``patient`` as a response in ``fmt`` (blocking: call it on a worker thread)."""
    from coach.reports import exports, render as r
    from coach.reports.model import build_report

    report = build_report(db, patient, period_from=period_from, period_to=period_to)
    if fmt == "json":
        body: str | bytes = r.render_json(report)
    elif fmt == "html":
        body = r.render_html(report)
    elif fmt == "pdf":
        body = r.render_pdf(report)
    elif fmt == "md":
        body = r.render_markdown(report)
    elif fmt == "csv":
        body = exports.reps_csv(db, report)
    elif fmt == "sessions_csv":
        body = exports.sessions_csv(report)
    elif fmt == "fhir":
        body = json.dumps(exports.fhir_bundle(db, report), indent=1)
    else:  # the endpoint's Literal already refused it
        raise ValueError(fmt)
    media, suffix = FORMATS[fmt]
    headers = {}
    if fmt not in ("json", "html"):
        stem = f"{report.patient}_sessions" if fmt == "sessions_csv" else f"{report.patient}_report"
        headers["Content-Disposition"] = attachment(stem, suffix)
    return Response(body, media_type=media, headers=headers)


async def in_budget(app, work, *args):
    """Run ``work(*args)`` on a worker thread within a render turn and the time budget (see above)."""
    from coach.reports.budget import render_budget

    slots: asyncio.Semaphore = app.state.render_slots
    try:
        await asyncio.wait_for(slots.acquire(), SLOT_WAIT_S)
    except asyncio.TimeoutError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"},
                            detail="the server is busy making other reports; try again in half a minute") from None

    def run():
        with render_budget(RENDER_BUDGET_S, app.state.stopping):
            return work(*args)

    task = asyncio.ensure_future(run_in_threadpool(run))
    task.add_done_callback(lambda _t: slots.release())  # when the thread is done, even if the client left
    return await asyncio.shield(task)
