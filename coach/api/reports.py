"""Reports for the API, rendered by ``coach.reports`` (what ``coach report`` writes).

Making a report is CPU work: it runs on a worker thread, never in the event loop, at most
:data:`RENDERS_AT_ONCE` at a time (a request waits up to :data:`SLOT_WAIT_S` for a turn, then gets 503 with
``Retry-After``), each within :data:`RENDER_BUDGET_S` (then 503: ask for a shorter period), and stops when
the server shuts down. The charts and the PDF layout of the HTML and PDF formats are drawn in a child
process (:func:`render_page`): matplotlib and xhtml2pdf hold Python's interpreter lock for half a second
at a time, which in the server's own process would stall every other request; a child is killed when its
budget is spent or the server stops. The period itself is bounded by ``coach.reports.model`` (2000–2099,
at most 10 years).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import threading
import unicodedata
from datetime import date
from urllib.parse import quote

from fastapi import HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

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
    elif fmt in ("html", "pdf"):
        body = render_page(report, fmt)
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


# ------------------------------------------------------------------------------ the page in a child process

#: Modules the children start with already imported (the fork server imports them once; "__main__": the
#: program itself, which each child would import again otherwise).
_PRELOAD = ["__main__", "coach.reports.render", "coach.reports.charts", "matplotlib.backends.backend_agg",
            "xhtml2pdf.pisa"]
_context_lock = threading.Lock()
_context = None


def _forkserver():
    """The multiprocessing context of the render children: a fork server, started once (a clean
    process of its own, not a fork of this threaded server) with the report modules imported."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


def warm_up() -> None:
    """Start the fork server now (in the background), so that the first report does not wait for it
    (a few seconds: it imports matplotlib and xhtml2pdf)."""
    def start() -> None:
        try:
            from multiprocessing import forkserver

            _forkserver()
            forkserver.ensure_running()
        except Exception as exc:  # the first render will try again, and fall back to a thread
            log.warning("could not start the report drawing processes: %s", exc)

    threading.Thread(target=start, name="report-forkserver", daemon=True).start()


def _draw(conn, report, fmt: str) -> None:
    """In the child: the page as HTML text or PDF bytes, sent back as ("ok", body) or ("error", sentence)."""
    from coach.errors import CoachError
    from coach.reports import render as r

    try:
        conn.send(("ok", r.render_html(report) if fmt == "html" else r.render_pdf(report)))
    except CoachError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # reported to the parent, which answers with one sentence and logs it
        conn.send(("crash", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def render_page(report, fmt: str) -> str | bytes:
    """``report`` as HTML (text) or PDF (bytes), drawn in a child process that is killed when the
    current render budget is spent or the server stops (``coach.reports.budget``)."""
    from coach.errors import CoachError
    from coach.reports.budget import checkpoint

    try:
        ctx = _forkserver()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_draw, args=(child, report, fmt), name=f"coach-report-{fmt}", daemon=True)
        proc.start()
    except OSError as exc:  # no child processes here: draw in this thread, within the same budget
        log.warning("drawing the report in this process (%s)", exc)
        from coach.reports import render as r

        return r.render_html(report) if fmt == "html" else r.render_pdf(report)
    child.close()
    try:
        while not parent.poll(0.1):
            checkpoint()  # raises when the budget is spent or the server stops: the child is killed below
            if not proc.is_alive() and not parent.poll(0):
                raise CoachError(f"the {fmt.upper()} report could not be made (its drawing process ended with "
                                 f"code {proc.exitcode}); the JSON and Markdown formats work")
        kind, payload = parent.recv()
    except EOFError:
        raise CoachError(f"the {fmt.upper()} report could not be made (its drawing process ended early); the "
                         "JSON and Markdown formats work") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    if kind == "crash":
        log.error("drawing a %s report failed: %s", fmt, payload)
        raise CoachError(f"the {fmt.upper()} report could not be made ({payload}); the JSON and Markdown formats "
                         "work")
    if kind == "error":
        raise CoachError(payload)
    return payload
