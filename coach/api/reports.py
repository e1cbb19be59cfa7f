"""Reports for the API, rendered by ``coach.reports`` (what ``coach report`` writes)."""

from __future__ import annotations

import json
from datetime import date

from fastapi import Response
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


def render(db: Session, patient: str, fmt: str, *, period_from: date | None = None,
           period_to: date | None = None) -> Response:
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
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in patient)[:80] or "patient"
        stem = f"{safe}_sessions" if fmt == "sessions_csv" else f"{safe}_report"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.{suffix}"'
    return Response(body, media_type=media, headers=headers)
