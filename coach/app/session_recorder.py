"""The session recorder: a sink that writes a workout into the history database as it happens.

Never lose a rep:

- every completed rep is one transaction (the rep and its faults together), committed before
  :meth:`SessionRecorder.on_event` returns; so is every fault as it is raised (linked to its rep when
  the rep completes) and each closed hold or not-measurable interval. After a SIGKILL every completed rep is in the file (WAL, fsync per commit,
  see ``db/engine.py``) and the file is valid.
- the session row and each set row are committed when they start, so a killed session is visible
  (``ended_at`` NULL) with everything it had committed.
- used as a context manager, an exception or Ctrl-C still ends the open set and the session, with the
  reason ("interrupted", "error"), and the exception goes on.
- idempotent by job: a recorder given a ``job_id`` (an upload analysed by a worker) first deletes the
  session an earlier attempt of that job left, in the transaction that creates its own; with the unique
  ``sessions.job_id`` a retried job is never counted twice.

Times inside a set are source seconds from the events; ``started_at`` / ``ended_at`` of the session are
wall-clock UTC (a session is a real-world event; this is the database edge, not the engine).

Typical use::

    with SessionRecorder(db_path, "ana", "squat", spec_hash, spec_version, "clip.mp4") as rec:
        rec.start_set(1, target_reps=10)
        for event in events:
            rec.on_event(event)
        rec.add_holds(result.holds)                 # the engine's final records, when it has them
        rec.add_not_measurable(result.not_measurable)
        rec.add_angle_series("knee", times_s, knee_deg)
        rec.end_set("source ended")
"""

from __future__ import annotations

import logging
import math
import os
from datetime import datetime
from typing import Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from coach.errors import CoachError
from coach.engine.events import (
    FaultRaised,
    FormFault,
    HoldProgress,
    HoldRecord,
    MeasurabilityChanged,
    NotMeasurable,
    PhaseChanged,
    RepCompleted,
    RepRecord,
)
from db.engine import close_database, open_database, write_session
from db.models import (
    AngleSeries,
    FormEvent,
    Hold,
    NotMeasurableInterval,
    Rep,
    WorkoutSession,
    WorkoutSet,
    utc_now,
)
from db.notes import add_session_note
from db.patients import get_or_create_patient

log = logging.getLogger(__name__)

#: Reasons a set or a session ends (free text is accepted; these are the ones the program uses).
COMPLETED = "completed"
SOURCE_ENDED = "source ended"
CAMERA_LOST = "camera lost"
INTERRUPTED = "interrupted"
ERROR = "error"

#: Angle series are thinned to at most this many samples per second of source time.
ANGLE_SERIES_MAX_HZ = 10.0


def downsample(times_s: np.ndarray, values: np.ndarray, max_hz: float = ANGLE_SERIES_MAX_HZ):
    """Keep the first sample of every ``1/max_hz`` bucket of source time (NaN values are kept as NaN)."""
    times_s = np.asarray(times_s, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if times_s.ndim != 1 or values.shape != times_s.shape:
        raise ValueError(
            f"angle series needs two 1-D arrays of the same length, got shapes {times_s.shape} and "
            f"{values.shape}"
        )
    if times_s.size == 0:
        return times_s, values
    if max_hz <= 0:
        raise ValueError(f"max_hz must be positive, got {max_hz}")
    order = np.argsort(times_s, kind="stable")
    times_s, values = times_s[order], values[order]
    buckets = np.floor((times_s - times_s[0]) * max_hz).astype(np.int64)
    _, first = np.unique(buckets, return_index=True)
    return times_s[first], values[first]


class SessionRecorder:
    """Records one workout session (one patient, one exercise, one source) into the history database.

    ``db`` is a database path (opened, migrated, and closed again by :meth:`finish`) or a
    ``sessionmaker`` from :func:`db.engine.open_database` (left open for its owner); SQLite or
    PostgreSQL alike. The session row is written by the constructor. ``job_id``: the analysis job this
    session records (see the module notes: a retry replaces the earlier attempt's session).
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | sessionmaker[Session],
        patient: str,
        exercise_id: str,
        definition_hash: str,
        definition_version: str,
        source: str,
        *,
        prescription_id: int | None = None,
        started_at: datetime | None = None,
        job_id: str | None = None,
    ) -> None:
        patient = patient.strip()
        if not patient:
            raise CoachError("The patient name is empty; give one with --patient NAME.")
        if isinstance(db, sessionmaker):
            self._sm, self._owns_db = db, False
        else:
            self._sm, self._owns_db = open_database(db), True
        self.patient = patient
        self.exercise_id = exercise_id
        self._set_id: int | None = None  # the open set
        self._set_index: int | None = None
        self._last_set_id: int | None = None
        self._last_set_index = 0
        self._finished = False
        #: ("hold" | "nm", set id) -> ids of intervals derived from events, until the engine's own arrive
        self._provisional: dict[tuple[str, int], list[int]] = {}
        #: ("hold" | "nm", set id) of sets that got the engine's records: events no longer add to them
        self._final: set[tuple[str, int]] = set()
        self._reset_set_state()
        try:
            with write_session(self._sm) as s:
                if job_id is not None:  # an earlier attempt of this job: its partial session goes
                    s.execute(delete(WorkoutSession).where(WorkoutSession.job_id == job_id)
                              .execution_options(synchronize_session=False))
                row = get_or_create_patient(s, patient)
                session = WorkoutSession(
                    patient_id=row.id,
                    prescription_id=prescription_id,
                    exercise_id=exercise_id,
                    definition_hash=definition_hash,
                    definition_version=definition_version,
                    source=source,
                    started_at=started_at or utc_now(),
                    job_id=job_id,
                )
                s.add(session)
                s.flush()
                self.session_id: int = session.id
        except BaseException:
            if self._owns_db:
                close_database(self._sm)
            raise

    # ----------------------------------------------------------------------------------------- sets

    def _reset_set_state(self) -> None:
        self._first_time_s: float | None = None
        self._last_time_s: float | None = None
        self._rep_ids: dict[int, int] = {}
        #: (rep_index, code, time_s) -> form_events.id of every fault stored in this set
        self._fault_rows: dict[tuple[int | None, str, float], int] = {}
        self._hold_start_s: float | None = None
        self._nm_start: tuple[float, str] | None = None

    @property
    def set_id(self) -> int | None:
        """Database id of the open set, None between sets."""
        return self._set_id

    def start_set(
        self,
        index: int | None = None,
        target_reps: int | None = None,
        *,
        target_hold_s: float | None = None,
        started_s: float | None = None,
    ) -> int:
        """Open set ``index`` (1-based; default: the next one) and commit it. Returns the set's id.

        A set still open is ended first as "completed".
        """
        self._check_open()
        if self._set_id is not None:
            self.end_set(COMPLETED)
        if index is None:
            index = self._last_set_index + 1
        with write_session(self._sm) as s:
            row = WorkoutSet(
                session_id=self.session_id,
                index=index,
                target_reps=target_reps,
                target_hold_s=target_hold_s,
                started_s=started_s,
            )
            s.add(row)
            s.flush()
            self._set_id = row.id
        self._set_index = index
        self._last_set_id, self._last_set_index = self._set_id, index
        self._reset_set_state()
        self._first_time_s = started_s
        return self._set_id

    def end_set(self, reason: str = COMPLETED, *, ended_s: float | None = None) -> None:
        """Close the open set: pending hold / not-measurable intervals end at the last event time."""
        if self._set_id is None:
            return
        end_s = ended_s if ended_s is not None else self._last_time_s
        set_id = self._set_id
        with write_session(self._sm) as s:
            if self._hold_start_s is not None and end_s is not None:
                self._add_provisional(s, "hold", _hold_row(set_id, self._hold_start_s, end_s, "both"))
            if self._nm_start is not None and end_s is not None:
                start_s, why = self._nm_start
                self._add_provisional(s, "nm", _nm_row(set_id, start_s, end_s, why))
            row = s.get(WorkoutSet, set_id)
            if row.started_s is None:
                row.started_s = self._first_time_s
            row.ended_s = end_s
            row.ended_reason = reason
        self._set_id = None
        self._set_index = None
        self._reset_set_state()

    def _ensure_set(self) -> int:
        if self._set_id is None:
            self.start_set()
        return self._set_id

    def _target_set(self) -> int:
        """The set that records given after the fact belong to: the open one, else the last one."""
        if self._set_id is not None:
            return self._set_id
        if self._last_set_id is not None:
            return self._last_set_id
        return self._ensure_set()

    # --------------------------------------------------------------------------------------- events

    def _saw_time(self, time_s: float) -> None:
        if self._first_time_s is None or time_s < self._first_time_s:
            self._first_time_s = time_s
        if self._last_time_s is None or time_s > self._last_time_s:
            self._last_time_s = time_s

    def on_event(self, event) -> None:
        """Record one engine event (see ``coach/events.py``); what completes is committed at once."""
        self._check_open()
        if isinstance(event, RepCompleted):
            self.add_rep(event.rep)
        elif isinstance(event, FaultRaised):
            self._saw_time(event.time_s)
            self.add_fault(event.fault)
        elif isinstance(event, HoldProgress):
            self._ensure_set()
            self._saw_time(event.time_s)
            if event.holding:
                # A second start without an end: the engine dropped the first one (too short).
                self._hold_start_s = event.time_s
            elif self._hold_start_s is not None:
                start_s, self._hold_start_s = self._hold_start_s, None
                with write_session(self._sm) as s:
                    self._add_provisional(s, "hold", _hold_row(self._set_id, start_s, event.time_s, "both"))
        elif isinstance(event, MeasurabilityChanged):
            self._ensure_set()
            self._saw_time(event.time_s)
            if not event.measurable and self._nm_start is None:
                self._nm_start = (event.time_s, event.reason)
            elif event.measurable and self._nm_start is not None:
                (start_s, why), self._nm_start = self._nm_start, None
                with write_session(self._sm) as s:
                    self._add_provisional(s, "nm", _nm_row(self._set_id, start_s, event.time_s, why))
        elif isinstance(event, PhaseChanged):
            if self._set_id is not None:
                self._saw_time(event.time_s)
        else:
            raise TypeError(f"SessionRecorder.on_event got {type(event).__name__}, not an engine event")

    def add_rep(self, rep: RepRecord) -> int:
        """Insert one completed rep with its faults, in one committed transaction. Returns its id.

        The rep's faults are exactly ``rep.faults``. Those already stored from a ``FaultRaised``
        during the rep are linked to it (taking the rep's copy: its side is the credited one); faults
        raised for an attempt at this index that did not count stay in the set without a rep.
        """
        self._check_open()
        set_id = self._ensure_set()
        if rep.index in self._rep_ids:
            raise ValueError(f"rep {rep.index} of set {self._set_index} was already recorded")
        self._saw_time(rep.start_s)
        self._saw_time(rep.end_s)
        new_keys: dict[tuple[int | None, str, float], FormEvent] = {}
        with write_session(self._sm) as s:
            row = Rep(
                set_id=set_id,
                index=rep.index,
                side=rep.side,
                start_s=rep.start_s,
                end_s=rep.end_s,
                duration_s=rep.duration_s,
                eccentric_s=rep.eccentric_s,
                concentric_s=rep.concentric_s,
                measure=rep.measure,
                min_value=_finite(rep.min_value),
                max_value=_finite(rep.max_value),
                range_of_motion=_finite(rep.range_of_motion),
                ended_early=rep.ended_early,
            )
            s.add(row)
            s.flush()
            for fault in rep.faults:
                key = (rep.index, fault.code, fault.time_s)
                if key in new_keys:
                    continue
                stored = self._fault_rows.get(key)
                event = s.get(FormEvent, stored) if stored is not None else None
                if event is None:
                    event = _fault_row(set_id, row.id, fault, rep.index)
                    s.add(event)
                else:
                    event.rep_id, event.side, event.severity = row.id, fault.side, fault.severity
                    event.cue, event.value = fault.cue, _finite(fault.value)
                new_keys[key] = event
            s.flush()
            rep_id = row.id
        self._fault_rows.update({k: e.id for k, e in new_keys.items()})
        self._rep_ids[rep.index] = rep_id
        return rep_id

    def add_fault(self, fault: FormFault) -> None:
        """Commit one fault now, without a rep; :meth:`add_rep` links it when its rep completes.

        A fault already stored (the same rep index, code and time: e.g. the cue of an at-turn fault
        that arrives after its ``RepCompleted``) is not stored twice.
        """
        self._check_open()
        set_id = self._ensure_set()
        self._saw_time(fault.time_s)
        key = (fault.rep_index, fault.code, fault.time_s)
        if key in self._fault_rows:
            return
        with write_session(self._sm) as s:
            row = _fault_row(set_id, None, fault, fault.rep_index)
            s.add(row)
            s.flush()
            self._fault_rows[key] = row.id

    # --------------------------------------------------------------------------- records, after the fact

    def _add_provisional(self, s: Session, kind: str, row: Hold | NotMeasurableInterval) -> None:
        key = (kind, row.set_id)
        if key in self._final:
            return
        s.add(row)
        s.flush()
        self._provisional.setdefault(key, []).append(row.id)

    def _replace_provisional(self, kind: str, model, make_rows: Callable[[int], list]) -> None:
        """Store the engine's records for the current (or last) set instead of the event-derived ones."""
        self._check_open()
        set_id = self._target_set()
        key = (kind, set_id)
        with write_session(self._sm) as s:
            ids = self._provisional.get(key, [])
            if ids:
                s.execute(delete(model).where(model.id.in_(ids)))
            s.add_all(make_rows(set_id))
        self._provisional.pop(key, None)
        self._final.add(key)
        if set_id == self._set_id:  # an interval still open is the engine's business now
            if kind == "hold":
                self._hold_start_s = None
            else:
                self._nm_start = None

    def add_holds(self, holds: Iterable[HoldRecord]) -> None:
        """The engine's hold intervals for the current (or last) set. They replace the intervals derived
        from ``HoldProgress`` events, and later ``HoldProgress`` events of that set are ignored."""
        holds = list(holds)
        self._replace_provisional(
            "hold", Hold, lambda set_id: [_hold_row(set_id, h.start_s, h.end_s, h.side) for h in holds]
        )

    def add_not_measurable(self, intervals: Iterable[NotMeasurable]) -> None:
        """The engine's not-measurable intervals for the current (or last) set; they replace those
        derived from ``MeasurabilityChanged`` events, as :meth:`add_holds` does for holds."""
        intervals = list(intervals)
        self._replace_provisional(
            "nm", NotMeasurableInterval,
            lambda set_id: [_nm_row(set_id, i.start_s, i.end_s, i.reason) for i in intervals],
        )

    def add_angle_series(
        self,
        measure: str,
        times_s: Sequence[float] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        *,
        max_hz: float = ANGLE_SERIES_MAX_HZ,
    ) -> int:
        """Store a measure's trace for the current (or last) set, thinned to ``max_hz``, as float32."""
        self._check_open()
        set_id = self._target_set()
        t, v = downsample(times_s, values, max_hz)
        with write_session(self._sm) as s:
            row = AngleSeries(
                set_id=set_id,
                measure=measure,
                n_samples=int(t.size),
                times_s_f32=t.astype("<f4").tobytes(),
                values_f32=v.astype("<f4").tobytes(),
            )
            s.add(row)
            s.flush()
            return row.id

    def add_note(
        self, pain_0_10: int | None = None, effort_rpe_0_10: int | None = None, text: str = ""
    ) -> int:
        """What the person reports after the workout: pain and effort (0–10) and free text."""
        with write_session(self._sm) as s:
            return add_session_note(s, self.session_id, pain_0_10, effort_rpe_0_10, text).id

    # ------------------------------------------------------------------------------------- the end

    @property
    def finished(self) -> bool:
        return self._finished

    def finish(self, reason: str = COMPLETED) -> None:
        """End the open set (with ``reason``) and the session (``ended_at`` now). Safe to call twice."""
        if self._finished:
            return
        try:
            if self._set_id is not None:
                self.end_set(reason)
            with write_session(self._sm) as s:
                row = s.get(WorkoutSession, self.session_id)
                row.ended_at = utc_now()
                row.end_reason = reason
            self._finished = True
        finally:
            if self._owns_db:
                close_database(self._sm)
                self._owns_db = False
            self._finished = True

    def _check_open(self) -> None:
        if self._finished:
            raise RuntimeError(f"session {self.session_id} is already finished")

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish(COMPLETED)
            return False
        reason = INTERRUPTED if issubclass(exc_type, KeyboardInterrupt) else ERROR
        try:
            self.finish(reason)
        except Exception:  # do not hide the exception that ended the workout
            log.exception("could not close session %s after %s", self.session_id, exc_type.__name__)
        return False


def _hold_row(set_id: int, start_s: float, end_s: float, side: str) -> Hold:
    return Hold(set_id=set_id, start_s=start_s, end_s=end_s, duration_s=end_s - start_s, side=side)


def _nm_row(set_id: int, start_s: float, end_s: float, reason: str) -> NotMeasurableInterval:
    return NotMeasurableInterval(
        set_id=set_id, start_s=start_s, end_s=end_s, duration_s=end_s - start_s, reason=reason
    )


def _fault_row(set_id: int, rep_id: int | None, fault: FormFault, rep_index: int | None) -> FormEvent:
    return FormEvent(
        set_id=set_id,
        rep_id=rep_id,
        rep_index=rep_index,
        code=fault.code,
        cue=fault.cue,
        severity=fault.severity,
        time_s=fault.time_s,
        side=fault.side,
        value=_finite(fault.value),
    )


def _finite(value: float | None) -> float | None:
    """SQLite turns NaN into NULL anyway; say so explicitly (and treat infinities the same way)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
