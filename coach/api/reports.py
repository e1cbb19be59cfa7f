"""Report rendering for the API: JSON from ``db.queries.patient_summary``; HTML, CSV and FHIR from
``coach.reports`` when that package is present (501 Not Implemented until then)."""

from __future__ import annotations

from fastapi import HTTPException, Response, status
from sqlalchemy.orm import Session


def render(db: Session, patient: str, fmt: str, *, since=None, until=None) -> Response:
    import json

    from coach.api.routes_patients import summary_json

    if fmt == "json":
        body = summary_json(db, patient, since, until)
        return Response(json.dumps(body), media_type="application/json")
    raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED,
                        detail=f"{fmt} reports need the coach.reports package, which is not installed yet; "
                               f"format=json works")
