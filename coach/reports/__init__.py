"""Progress reports and exports: query layer → report model (`model`) → renderers (`render`, `exports`).

`write_report` is what the `coach report` command does: build the model for a patient and period and write
one format. Nothing here recomputes from video; everything comes from the recorded history.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

FORMATS = ("html", "pdf", "md", "json", "csv", "fhir")
SUFFIXES = {"html": ".html", "pdf": ".pdf", "md": ".md", "json": ".json", "csv": ".csv", "fhir": ".json"}


def write_report(sm, patient: str, fmt: str, output: Path | None, *, period_from: date | None = None,
                 period_to: date | None = None):
    """Build the report and write it as ``fmt`` to ``output`` (None: build only). Returns (report, paths).

    CSV writes two files beside ``output``: ``<stem>_reps.csv`` and ``<stem>_sessions.csv``.
    """
    from coach.errors import CoachError
    from coach.reports import exports, render
    from coach.reports.model import build_report

    if fmt not in FORMATS:
        raise CoachError(f"Unknown report format {fmt!r}; use one of {', '.join(FORMATS)}.")
    with sm() as db:
        report = build_report(db, patient, period_from=period_from, period_to=period_to)
        payload: dict[Path | None, str | bytes] = {}
        if fmt == "html":
            payload[output] = render.render_html(report)
        elif fmt == "pdf":
            payload[output] = render.render_pdf(report)
        elif fmt == "md":
            payload[output] = render.render_markdown(report)
        elif fmt == "json":
            payload[output] = render.render_json(report)
        elif fmt == "fhir":
            payload[output] = json.dumps(exports.fhir_bundle(db, report), indent=1)
        elif fmt == "csv":
            base = None if output is None else output.with_suffix("")
            payload[None if base is None else base.with_name(base.name + "_reps.csv")] = exports.reps_csv(db, report)
            payload[None if base is None else base.with_name(base.name + "_sessions.csv")] = exports.sessions_csv(report)
    written = []
    for path, data in payload.items():
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
        except OSError as exc:
            raise CoachError(f"Cannot write the report to {path}: {exc.strerror}.") from exc
        written.append(path)
    return report, written
