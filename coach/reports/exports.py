"""Exports for other systems: CSV (one row per rep, one per session) and a FHIR R4 Bundle of Observations.

Both read through the query layer (``db.report_queries.rep_rows``) and the report model; nothing is re-measured.

CSV: comma-separated, UTF-8, a header row, units in column names (``rom_deg``, ``duration_s``), ISO 8601
times in UTC, empty cells for missing values, ``;``-separated lists. Degrees columns are filled for measures
in degrees; measures in body-relative lengths (e.g. a wrist height in torso lengths) fill the ``*_len``
columns instead, with their unit in ``length_unit``.

FHIR R4 (``Bundle`` of type ``collection``): the ``Patient``; a ``BodyStructure`` per joint and side (SNOMED CT
joint structure with the laterality qualifier); per session an Observation of the repetitions done
(``valueInteger``, the target as a component, ``effectivePeriod`` = the session) and one of the mean range of
motion (UCUM ``deg``) whose ``hasMember`` are the per-rep range-of-motion Observations; reported pain
(LOINC 72514-3, 0–10) and effort where recorded. Observation codes without a standard code carry a coding
in :data:`CODE_SYSTEM` and a text.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from coach.reports.budget import checkpoint
from coach.reports.joints import JOINT_CODES, LATERALITY_CODES, SNOMED, measure_info
from coach.reports.model import Report, period_bounds
from db.report_queries import rep_rows

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: coach's own codes for what has no standard code
CODE_SYSTEM = "urn:coach:observation-code"
BODY_SITE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"

REP_COLUMNS = [
    "patient", "session_id", "session_started_at", "session_date", "exercise_id", "definition_version",
    "set_index", "rep_index", "side", "measure", "joint", "start_s", "end_s", "duration_s", "eccentric_s",
    "concentric_s", "min_deg", "max_deg", "rom_deg", "min_len", "max_len", "rom_len", "length_unit",
    "n_faults", "fault_codes",
]
SESSION_COLUMNS = [
    "patient", "session_id", "started_at", "ended_at", "date", "exercise_id", "side", "end_reason", "sets", "reps",
    "target_reps", "reps_pct_of_target", "mean_rom", "max_rom", "rom_unit", "mean_eccentric_s",
    "mean_concentric_s", "n_faults", "fault_codes", "hold_s", "holds", "longest_hold_s", "not_measurable_s",
    "not_measurable_reasons", "pain_0_10", "effort_rpe_0_10", "note",
]


def _iso(dt: datetime | None) -> str:
    return "" if dt is None else dt.isoformat(timespec="seconds")


def _cell(value) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def reps_csv(db: Session, report: Report) -> str:
    """One row per rep of the report's patient and period."""
    since, until = period_bounds(report.period_from, report.period_to)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(REP_COLUMNS)
    for i, r in enumerate(rep_rows(db, report.patient, since=since, until=until)):
        if i % 1000 == 0:
            checkpoint()  # a server's render budget (coach.reports.budget)
        info = measure_info(r.exercise_id, r.measure)
        deg = info.is_degrees
        w.writerow([_cell(v) for v in (
            r.patient, r.session_id, _iso(r.started_at), r.started_at.date().isoformat(), r.exercise_id,
            r.definition_version, r.set_index, r.rep_index, r.side, r.measure, info.joint or "", r.start_s,
            r.end_s, r.duration_s, r.eccentric_s, r.concentric_s,
            r.min_value if deg else None, r.max_value if deg else None, r.range_of_motion if deg else None,
            None if deg else r.min_value, None if deg else r.max_value, None if deg else r.range_of_motion,
            "" if deg else info.unit, len(r.fault_codes), ";".join(r.fault_codes),
        )])
    return out.getvalue()


def sessions_csv(report: Report) -> str:
    """One row per session of the report (all of them, every exercise)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(SESSION_COLUMNS)
    rows = []
    for ex in report.exercises:
        for s in ex.sessions:
            pct = None if not s.target_reps else 100.0 * s.reps / s.target_reps
            rows.append((s.started_at, s.session_id, [
                report.patient, s.session_id, _iso(s.started_at), _iso(s.ended_at), s.started_at.date().isoformat(),
                ex.exercise_id, s.side, s.end_reason or "", s.sets, s.reps, s.target_reps, pct, s.mean_rom, s.max_rom,
                ex.unit, s.mean_eccentric_s, s.mean_concentric_s, s.n_faults,
                ";".join(f"{c}:{n}" for c, n in sorted(s.faults.items())), s.hold_s, s.holds, s.longest_hold_s,
                s.not_measurable_s, ";".join(f"{k}:{v:.1f}" for k, v in sorted(s.not_measurable_reasons.items())),
                s.pain_0_10, s.effort_rpe_0_10, s.note,
            ]))
    for _, _, row in sorted(rows, key=lambda t: (t[0], t[1])):
        w.writerow([_cell(v) for v in row])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- FHIR


def _uid(*parts) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "coach:" + ":".join(str(p) for p in parts)))


def _ref(uid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{uid}"}


def _code(code: str, display: str, system: str = CODE_SYSTEM) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY, "code": code, "display": display}]}]


def _deg(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 2), "unit": "deg", "system": UCUM, "code": "deg"}


def _instant(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


def fhir_bundle(db: Session, report: Report) -> dict[str, Any]:
    """The report's sessions as a FHIR R4 Bundle (type collection), as JSON-ready data."""
    since, until = period_bounds(report.period_from, report.period_to)
    patient_uid = _uid(report.patient, "patient")
    entries: list[dict[str, Any]] = [{
        "fullUrl": f"urn:uuid:{patient_uid}",
        "resource": {
            "resourceType": "Patient", "id": patient_uid,
            "identifier": [{"system": "urn:coach:patient-name", "value": report.patient}],
            "name": [{"text": report.patient}],
        },
    }]
    subject = _ref(patient_uid)
    body_structures: dict[tuple[str, str], str] = {}

    def body_site(joint: str | None, side: str) -> dict[str, Any] | None:
        if joint is None or joint not in JOINT_CODES:
            return None
        code, display = JOINT_CODES[joint]
        lat = LATERALITY_CODES.get(side)
        key = (joint, side)
        if key not in body_structures and lat is not None:
            uid = _uid(report.patient, "body", joint, side)
            body_structures[key] = uid
            entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": {
                "resourceType": "BodyStructure", "id": uid, "patient": subject,
                "description": f"{lat[1].lower()} {joint} joint",
                "location": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
                "locationQualifier": [{"coding": [{"system": SNOMED, "code": lat[0], "display": lat[1]}]}],
            }})
        site: dict[str, Any] = {"coding": [{"system": SNOMED, "code": code, "display": display}],
                                "text": f"{side} {joint} joint" if side in ("left", "right") else f"{joint} joints"}
        if key in body_structures:
            site["extension"] = [{"url": BODY_SITE_EXTENSION,
                                  "valueReference": _ref(body_structures[key])}]
        return site

    sessions = {s.session_id: (ex, s) for ex in report.exercises for s in ex.sessions}
    reps_by_session: dict[int, list] = {}
    for r in rep_rows(db, report.patient, since=since, until=until):
        reps_by_session.setdefault(r.session_id, []).append(r)

    for sid, (ex, s) in sorted(sessions.items(), key=lambda kv: (kv[1][1].started_at, kv[0])):
        checkpoint()  # a server's render budget (coach.reports.budget)
        end = s.ended_at or s.started_at
        period = {"start": _instant(s.started_at), "end": _instant(max(end, s.started_at))}
        ident = [{"system": "urn:coach:session", "value": str(sid)}]
        count_uid = _uid(report.patient, "session", sid, "reps")
        count: dict[str, Any] = {
            "resourceType": "Observation", "id": count_uid, "status": "final", "identifier": ident,
            "category": _category("activity", "Activity"),
            "code": _code("repetitions", f"Repetitions of {ex.name}"),
            "subject": subject, "effectivePeriod": period, "valueInteger": int(s.reps),
        }
        if s.target_reps:
            count["component"] = [{"code": _code("target-repetitions", "Target repetitions"),
                                   "valueInteger": int(s.target_reps)}]
        entries.append({"fullUrl": f"urn:uuid:{count_uid}", "resource": count})

        # range of motion: one Observation per rep, grouped per measure and side under a session mean
        groups: dict[tuple[str, str], list] = {}
        for r in reps_by_session.get(sid, []):
            if r.range_of_motion is not None and measure_info(r.exercise_id, r.measure).is_degrees:
                groups.setdefault((r.measure, r.side), []).append(r)
        for (measure, side), reps in groups.items():
            info = measure_info(ex.exercise_id, measure)
            site = body_site(info.joint, side)
            members = []
            for r in reps:
                uid = _uid(report.patient, "session", sid, "rep", r.set_index, r.rep_index, measure)
                start = s.started_at + timedelta(seconds=max(0.0, r.start_s))
                rep_obs: dict[str, Any] = {
                    "resourceType": "Observation", "id": uid, "status": "final",
                    "identifier": [{"system": "urn:coach:rep", "value": f"{sid}-{r.set_index}-{r.rep_index}"}],
                    "category": _category("exam", "Exam"),
                    "code": _code("range-of-motion-rep", f"Range of motion of one repetition ({info.label})"),
                    "subject": subject,
                    "effectivePeriod": {"start": _instant(start),
                                        "end": _instant(start + timedelta(seconds=max(0.0, r.duration_s)))},
                    "valueQuantity": _deg(r.range_of_motion),
                }
                comps = [(n, v) for n, v in (("minimum", r.min_value), ("maximum", r.max_value)) if v is not None]
                if comps:
                    rep_obs["component"] = [{"code": _code(f"{n}-angle", f"{n.capitalize()} angle"),
                                             "valueQuantity": _deg(v)} for n, v in comps]
                if site:
                    rep_obs["bodySite"] = site
                entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": rep_obs})
                members.append(_ref(uid))
            mean = sum(r.range_of_motion for r in reps) / len(reps)
            uid = _uid(report.patient, "session", sid, "rom", measure, side)
            obs: dict[str, Any] = {
                "resourceType": "Observation", "id": uid, "status": "final", "identifier": ident,
                "category": _category("exam", "Exam"),
                "code": _code("range-of-motion-session-mean",
                              f"Mean range of motion over a session of {ex.name} ({info.label})"),
                "subject": subject, "effectivePeriod": period, "valueQuantity": _deg(mean),
                "component": [{"code": _code("best-repetition", "Largest range of motion of a repetition"),
                               "valueQuantity": _deg(max(r.range_of_motion for r in reps))}],
                "hasMember": members,
            }
            if site:
                obs["bodySite"] = site
            entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": obs})

        if s.pain_0_10 is not None:
            uid = _uid(report.patient, "session", sid, "pain")
            entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": {
                "resourceType": "Observation", "id": uid, "status": "final", "identifier": ident,
                "category": _category("survey", "Survey"),
                "code": {"coding": [{"system": LOINC, "code": "72514-3",
                                     "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
                         "text": "Pain during the exercise session (0-10)"},
                "subject": subject, "effectivePeriod": period,
                "valueQuantity": {"value": s.pain_0_10, "unit": "score", "system": UCUM, "code": "{score}"},
            }})
        if s.effort_rpe_0_10 is not None:
            uid = _uid(report.patient, "session", sid, "effort")
            entries.append({"fullUrl": f"urn:uuid:{uid}", "resource": {
                "resourceType": "Observation", "id": uid, "status": "final", "identifier": ident,
                "category": _category("survey", "Survey"),
                "code": _code("perceived-exertion-0-10", "Rating of perceived exertion (0-10)"),
                "subject": subject, "effectivePeriod": period,
                "valueQuantity": {"value": s.effort_rpe_0_10, "unit": "score", "system": UCUM, "code": "{score}"},
            }})
    return {
        "resourceType": "Bundle",
        "id": _uid(report.patient, "bundle", report.period_from, report.period_to),
        "type": "collection",
        "timestamp": _instant(report.generated_at),
        "entry": entries,
    }
