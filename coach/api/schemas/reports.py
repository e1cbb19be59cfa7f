"""The progress report as the API shows it: the summary table a physiotherapist reads first
(``GET /api/patients/{name}/summary``, ``coach.reports.summary``) and the whole report as JSON
(``GET /api/patients/{name}/report?format=json``, what ``coach report --format json`` writes:
``coach.reports.model.Report.to_dict``).

The summary is built from ``Summary`` directly; the JSON report is written by ``coach.reports.render`` and
documented here (tests check real reports against these models). Moments are UTC, days YYYY-MM-DD (UTC);
ranges of motion are in the primary measure's unit (degrees for angles); ``_s`` fields are seconds.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from coach.api.schemas.patients import PrescriptionInfoOut
from coach.api.schemas.timestamps import Timestamp


class TrendOut(BaseModel):
    """The first third of the period's sessions against the last third."""

    model_config = ConfigDict(from_attributes=True)
    first: float = Field(..., description="Mean over the first third of the sessions.")
    last: float = Field(..., description="Mean over the last third of the sessions.")
    direction: Literal["up", "down", "steady"] = Field(..., description="`steady`: a change under the "
                                                     "threshold of coach/reports/review.yaml.")
    good: bool | None = Field(..., description="Whether the direction is good news; null when steady.")
    arrow: str = Field("", description="↑, ↓ or →, as `direction` says (left out of the JSON report).")


class SideReachedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    side: str = Field(..., description="left, right or both.")
    reached: float = Field(..., description="Mean range of motion of the latest third of this side's "
                                            "sessions, in the measure's unit (degrees for angles).")


class FaultLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str = Field(..., description="The fault code of the exercise definition.")
    words: str = Field(..., description="The fault in a physiotherapist's words.")
    count: int = Field(..., description="Times it was flagged in the period.")
    trend: TrendOut | None = Field(..., description="Faults per rep, first third against last third.")


class ExerciseSummaryOut(BaseModel):
    """One row of the summary table (``coach.reports.summary.ExerciseLine``)."""

    model_config = ConfigDict(from_attributes=True)
    exercise_id: str = Field(..., description="Exercise id.")
    name: str = Field(..., description="Exercise name.")
    prescription: str | None = Field(..., description="The prescription in force at the end of the period, "
                                                      "in words; null if none.")
    notes: str = Field(..., description="The prescription's note for the patient (\"\" if none).")
    reps_per_session: int | None = Field(..., description="Reps one session is prescribed today (at the end "
                                                          "of the period): sets × reps; null if none.")
    sessions_done: int = Field(..., description="Days on which the exercise was done.")
    sessions_prescribed: int | None = Field(..., description="Sessions prescribed: per week, pro-rated to "
                                                             "the days a prescription was in force.")
    sessions_counted: int = Field(..., description="Sessions done that count towards adherence.")
    adherence_percent: int | None = Field(..., description="sessions_counted / sessions_prescribed, %.")
    reps_done: int = Field(..., description="Reps of the sessions that had a prescription in force.")
    reps_prescribed: int | None = Field(..., description="Their sets × reps; null if none had one.")
    reps_outside_plan: int = Field(..., description="Reps of sessions on days without a prescription.")
    reps_percent: int | None = Field(..., description="reps_done / reps_prescribed, %.")
    unit: str = Field(..., description="Unit label of the range of motion: ° or e.g. ' torso lengths'.")
    rom_target: float | None = Field(..., description="Target range of motion.")
    rom_reached: list[SideReachedOut] = Field(..., description="Range of motion reached, per side.")
    rom_met: bool | None = Field(..., description="Every side reached the target; null without a target.")
    rom_trend: TrendOut | None = Field(..., description="Mean range of motion per session.")
    asymmetry_lsi_percent: int | None = Field(..., description="Smaller side over larger side, %.")
    asymmetry_flag: bool = Field(..., description="The symmetry is under the review threshold.")
    pain_max: int | None = Field(..., description="Highest pain reported (0–10).")
    pain_mean: float | None = Field(..., description="Mean pain (0–10), rounded half up to 0.1.")
    pain_trend: TrendOut | None = Field(..., description="Pain per session.")
    pain_limit: float | None = Field(..., description="The pain not to exceed (0–10).")
    pain_limit_source: str = Field(..., description="`prescription` (its notes) or `default` (review.yaml).")
    pain_over_limit: int = Field(..., description="Sessions whose pain was over the limit of their day.")
    pain_flag: bool = Field(False, description="Some session was over the pain limit (left out of the JSON report, "
                                               "where `pain_over_limit` says it).")
    faults: list[FaultLineOut] = Field(..., description="Form faults, most frequent first.")
    not_measurable_percent: int | None = Field(..., description="Share of the set time not measurable, %.")
    not_measurable_flag: bool = Field(..., description="That share is over the review threshold.")


class PatientSummaryOut(BaseModel):
    """What a physiotherapist reads first (``coach.reports.summary.Summary``): the same figures as the
    report's summary table in every format."""

    model_config = ConfigDict(from_attributes=True)
    patient: str = Field(..., description="Patient name.")
    period_from: date = Field(..., description="First day (UTC).")
    period_to: date = Field(..., description="Last day, inclusive (UTC).")
    counted_to: date = Field(..., description="Prescribed sessions are counted up to this day.")
    sessions_done: int = Field(..., description="Sessions done (days per exercise), all exercises.")
    sessions_prescribed: int | None = Field(..., description="Sessions prescribed, all exercises.")
    sessions_counted: int = Field(..., description="Sessions that count towards adherence.")
    adherence_percent: int | None = Field(..., description="sessions_counted / sessions_prescribed, %.")
    pain_mean: float | None = Field(..., description="Mean pain over the sessions (0–10, to 0.1).")
    pain_max: int | None = Field(..., description="Highest pain (0–10).")
    pain_over_limit: int = Field(..., description="Sessions over their pain limit.")
    effort_mean: float | None = Field(..., description="Mean effort (RPE 0–10, to 0.1).")
    exercises: list[ExerciseSummaryOut] = Field(..., description="One line per exercise done or prescribed.")
    alerts: list[str] = Field(..., description="What needs attention, one sentence each.")


# ----------------------------------------------------------------------------- the whole report (JSON)


class WeekAdherenceOut(BaseModel):
    """One week of the period (``coach.reports.model.WeekAdherence``): a session is a day on which the exercise
    was done."""

    week_start: date = Field(..., description="The week's Monday.")
    done: int = Field(..., description="Sessions done, all exercises.")
    prescribed: int | None = Field(..., description="Sessions prescribed that week (the days in the period, up to "
                                                    "the report's day); null if no prescription was in force.")
    by_exercise: dict[str, int] = Field(..., description="Sessions done per exercise id.")
    prescribed_by_exercise: dict[str, int] = Field(..., description="Sessions prescribed per exercise id.")
    done_prescribed: int = Field(..., description="Sessions done that count towards the prescription (on days one "
                                                  "was in force, at most the prescribed number).")
    done_prescribed_by_exercise: dict[str, int] = Field(..., description="The same per exercise id.")


class SessionPointOut(BaseModel):
    """One session of one exercise as the report shows it (``coach.reports.model.SessionPoint``)."""

    session_id: int = Field(..., description="Session id.")
    started_at: Timestamp = Field(..., description="When it started (UTC).")
    ended_at: Timestamp | None = Field(..., description="When it ended; null if it never did.")
    end_reason: str | None = Field(..., description="Why it ended.")
    sets: int = Field(..., description="Sets.")
    reps: int = Field(..., description="Reps counted.")
    target_reps: int | None = Field(..., description="Prescribed for the session: sets × reps of the prescription "
                                                     "in force on its day; null if none was.")
    mean_rom: float | None = Field(..., description="Mean range of motion of the reps.")
    max_rom: float | None = Field(..., description="Best range of motion of a rep.")
    mean_eccentric_s: float | None = Field(..., description="Mean seconds moving away from the start position.")
    mean_concentric_s: float | None = Field(..., description="Mean seconds moving back.")
    faults: dict[str, int] = Field(..., description="Form faults flagged, per fault code.")
    hold_s: float = Field(..., description="Seconds held.")
    holds: int = Field(..., description="Intervals held.")
    longest_hold_s: float = Field(..., description="Longest interval held, seconds.")
    not_measurable_s: float = Field(..., description="Seconds not measurable.")
    not_measurable_reasons: dict[str, float] = Field(..., description="Seconds not measurable, per reason.")
    pain_0_10: int | None = Field(..., description="Pain reported (0–10).")
    effort_rpe_0_10: int | None = Field(..., description="Effort reported (RPE 0–10).")
    note: str = Field(..., description="What the patient wrote (\"\" if nothing).")
    side: str = Field(..., description="The side(s) of its reps: `left`, `right`, `both`, `left+right`; \"\" "
                                       "without reps.")
    prescription_id: int | None = Field(..., description="The prescription in force on its day.")
    active_s: float = Field(..., description="Seconds the sets ran (what the time not measurable is a share of).")


class RomPointOut(BaseModel):
    session_id: int = Field(..., description="Session id.")
    started_at: Timestamp = Field(..., description="When the session started (UTC).")
    mean: float = Field(..., description="Mean range of motion of its reps on this side.")
    max: float = Field(..., description="Best range of motion of a rep.")
    min: float = Field(..., description="Least range of motion of a rep.")
    reps: int = Field(..., description="Reps on this side.")


class RomSeriesOut(BaseModel):
    """Range of motion of one measure on one side, per session (``coach.reports.model.RomSeries``)."""

    measure: str = Field(..., description="The measure, e.g. `knee`.")
    side: str = Field(..., description="`left`, `right` or `both`.")
    joint: str | None = Field(..., description="The joint it concerns, if any.")
    unit: str = Field(..., description="Its unit, e.g. `deg`.")
    label: str = Field(..., description="The measure in words.")
    points: list[RomPointOut] = Field(..., description="One per session, oldest first.")


class ExerciseTotalsOut(BaseModel):
    reps: int = Field(..., description="Reps counted in the period.")
    target_reps: int | None = Field(..., description="Reps prescribed for the sessions that had a prescription.")
    reps_percent_of_target: float | None = Field(..., description="Reps of those sessions against their target, %.")
    mean_eccentric_s: float | None = Field(..., description="Mean seconds moving away from the start position.")
    mean_concentric_s: float | None = Field(..., description="Mean seconds moving back.")
    hold_s: float = Field(..., description="Seconds held.")
    holds: int = Field(..., description="Intervals held.")
    longest_hold_s: float = Field(..., description="Longest interval held, seconds.")
    not_measurable_s: float = Field(..., description="Seconds not measurable.")


class FaultTrendOut(BaseModel):
    code: str = Field(..., description="Fault code.")
    total: int = Field(..., description="Times flagged in the period.")
    per_rep_first_half: float | None = Field(..., description="Per rep over the first half of the weeks; null "
                                                              "without reps.")
    per_rep_second_half: float | None = Field(..., description="Per rep over the second half of the weeks.")


class ComparisonRowOut(BaseModel):
    what: str = Field(..., description="What is compared, e.g. `reps`, `mean range of motion`, `date`.")
    first: str | float | None = Field(..., description="In the first session (a date for `date`).")
    latest: str | float | None = Field(..., description="In the latest session.")
    change: float | None = Field(..., description="latest - first, where it means something.")


class ComparisonOut(BaseModel):
    side: str | None = Field(..., description="The side, when each side is trained in sessions of its own; else "
                                              "null.")
    rows: list[ComparisonRowOut] = Field(..., description="The first session of the period against the latest.")


class ExerciseReportOut(BaseModel):
    """One exercise over the period (``coach.reports.model.ExerciseReport``)."""

    exercise_id: str = Field(..., description="Exercise id.")
    name: str = Field(..., description="Exercise name.")
    measure: str = Field(..., description="Its primary measure.")
    unit: str = Field(..., description="The measure's unit, e.g. `deg`.")
    joint: str | None = Field(..., description="The joint it concerns, if any.")
    measure_label: str = Field(..., description="The measure in words.")
    prescription: PrescriptionInfoOut | None = Field(..., description="The latest prescription of the period.")
    target_rom: float | None = Field(..., description="Range of motion to reach: the prescription's, else the "
                                                      "definition's.")
    sessions: list[SessionPointOut] = Field(..., description="Its sessions, oldest first.")
    rom: list[RomSeriesOut] = Field(..., description="Range of motion per measure and side.")
    faults_total: dict[str, int] = Field(..., description="Form faults flagged, per code.")
    faults_per_week: dict[str, dict[str, int]] = Field(..., description="Per week (its Monday, YYYY-MM-DD): form "
                                                                        "faults per code.")
    reps_per_week: dict[str, int] = Field(..., description="Per week (its Monday): reps.")
    not_measurable_reasons: dict[str, float] = Field(..., description="Seconds not measurable, per reason.")
    totals: ExerciseTotalsOut = Field(..., description="Totals over the period.")
    fault_trend: list[FaultTrendOut] = Field(..., description="Each fault per rep, first half of the weeks "
                                                              "against the second, most frequent first.")
    first_vs_latest: list[ComparisonOut] = Field(..., description="The first session against the latest (one "
                                                                  "per side trained on its own).")


class NoteRowOut(BaseModel):
    """A note of the period (``db.notes.NoteRow``)."""

    session_id: int = Field(..., description="Session id.")
    exercise_id: str = Field(..., description="Exercise id.")
    started_at: Timestamp = Field(..., description="When the session started (UTC).")
    pain_0_10: int | None = Field(..., description="Pain (0–10).")
    effort_rpe_0_10: int | None = Field(..., description="Effort (RPE 0–10).")
    text: str = Field(..., description="What the patient wrote.")


class ReportOut(BaseModel):
    """The progress report (``format=json``): the summary first, then everything the other formats show."""

    summary: PatientSummaryOut = Field(..., description="The summary table (as `GET /api/patients/{name}/summary`, "
                                                        "without its `arrow` and `pain_flag`).")
    patient: str = Field(..., description="Patient name.")
    period_from: date = Field(..., description="First day.")
    period_to: date = Field(..., description="Last day, inclusive.")
    generated_at: Timestamp = Field(..., description="When the report was made (UTC).")
    sessions: int = Field(..., description="Sessions in the period, all exercises.")
    adherence: list[WeekAdherenceOut] = Field(..., description="Every week of the period.")
    exercises: list[ExerciseReportOut] = Field(..., description="Every exercise done or prescribed.")
    notes: list[NoteRowOut] = Field(..., description="Every note of the period, as recorded.")
    prescriptions: list[PrescriptionInfoOut] = Field(..., description="The prescriptions of the period.")
    message: str | None = Field(..., description="Why the report is empty, in one sentence; null otherwise.")
    counted_to: date | None = Field(..., description="The day the figures run to: the period's last day, or the "
                                                     "day the report was made if that is earlier.")


class FhirBundleOut(BaseModel):
    """The report's sessions as a FHIR R4 Bundle (``format=fhir``, ``application/fhir+json``; see
    https://hl7.org/fhir/R4/bundle.html), written by ``coach.reports.exports.fhir_bundle``."""

    resourceType: Literal["Bundle"] = Field(..., description="Always `Bundle`.")
    id: str = Field(..., description="Stable for the same patient and period.")
    type: Literal["collection"] = Field(..., description="Always `collection`.")
    timestamp: str = Field(..., description="When the report was made (FHIR instant).")
    entry: list[dict[str, Any]] = Field(..., description="`{fullUrl, resource}`: the Patient, a BodyStructure per "
                                                         "joint and side, and per session Observations (reps, range "
                                                         "of motion, holds, form faults, pain, effort).")
