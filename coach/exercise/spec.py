"""The exercise language: the pydantic models of a definition, each field documented.

A definition is data: it is parsed and checked (`coach.exercise.loader`) before use and its conditions are
parsed by `coach.exercise.expressions` (never executed as Python). The reference of every field is
`exercises/README.md`; the descriptions here are what editors show (`coach.exercise.schema`).
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from coach.exercise.expressions import Condition
from coach.pose.landmarks import LANDMARK_NAMES, SIDED_PARTS

_PART_NAMES = tuple(SIDED_PARTS) + tuple(LANDMARK_NAMES)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def closest_name(name: str, choices: Iterable[str], cutoff: float = 0.5) -> str | None:
    m = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=cutoff)
    return m[0] if m else None


def valid_part(name: str) -> bool:
    """True for a landmark name ("nose", "left_knee") or a sided part ("knee")."""
    return name in SIDED_PARTS or name in LANDMARK_NAMES


def _check_part(name: str) -> str:
    if not isinstance(name, str) or not valid_part(name):
        hint = closest_name(str(name), _PART_NAMES, 0.6)
        suffix = f"; did you mean '{hint}'?" if hint else ""
        raise ValueError(
            f"unknown landmark '{name}'{suffix} (a landmark such as 'nose' or "
            f"'left_knee', or a sided part such as 'knee')"
        )
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


MEASURE_KINDS = ("angle", "inclination", "distance", "height")


class MeasureSpec(_Model):
    """One measure: exactly one of angle / inclination / distance / height."""

    angle: list[str] | None = Field(
        None,
        min_length=3,
        max_length=3,
        description="[a, b, c]: angle at b between b->a and b->c, degrees 0-180 (180 = straight).",
    )
    inclination: list[str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="[a, b]: angle of the segment a->b; from vertical (0 = b straight above a) or horizontal "
                    "(elevation of b over a, -90..90).",
    )
    distance: list[str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="[a, b]: axis y: height of b above a; axis x: horizontal gap; xy: straight-line distance; divided"
                    " by the body length 'per'.",
    )
    height: list[str] | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="a: how high a landmark is in the picture, in body lengths ('per'); use with a range.",
    )
    from_: Literal["vertical", "horizontal"] = Field(
        "vertical", alias="from", description="For inclination: vertical (default) or horizontal."
    )
    axis: Literal["x", "y", "xy"] = Field("xy", description="For distance: x, y or xy (default).")
    per: Literal["torso", "shoulder_width", "hip_width", "thigh", "shin", "upper_arm", "forearm", "none"] = Field(
        "torso", description="Body length distances and heights are divided by (none = pixels, or metres in 3d)."
    )
    space: Literal["2d", "3d", "auto"] = Field(
        "2d",
        description="2d: image pixels; 3d: the model's metric world landmarks (angles change less with "
        "the camera angle; refused on 2-D keypoints); auto: 3d when the keypoints have world "
        "landmarks (MediaPipe), else 2d (a COCO-17 model).",
    )
    side: Literal["left", "right", "both", "auto"] = Field(
        "auto",
        description="For sided parts (knee, wrist...): left, right, both (average) or auto (the side that moves).",
    )
    min_visibility: float | None = Field(
        None, ge=0.0, le=1.0, description="Per-measure visibility threshold (default: the definition's)."
    )

    @field_validator("height", mode="before")
    @classmethod
    def _one_part(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("angle", "inclination", "distance", "height")
    @classmethod
    def _parts(cls, v):
        if v is not None:
            for p in v:
                _check_part(p)
        return v

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in MEASURE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none of them"
            raise ValueError(f"a measure needs exactly one of {', '.join(MEASURE_KINDS)}; found {found}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in MEASURE_KINDS if getattr(self, k) is not None)

    @property
    def parts(self) -> tuple[str, ...]:
        """The landmarks (or sided parts) the measure is taken between."""
        return tuple(getattr(self, self.kind))

    @property
    def sided(self) -> bool:
        """True when the measure is taken on a side of the body (it names a sided part or a sided length)."""
        return any(p in SIDED_PARTS for p in self.parts) or self.per in ("thigh", "shin", "upper_arm", "forearm")

    @property
    def unit(self) -> str:
        if self.kind in ("distance", "height"):
            return (
                ""
                if self.per == "none" and self.space == "3d"
                else ("px" if self.per == "none" else self.per + " lengths")
            )
        return "deg"


class PhaseSpec(_Model):
    when: str = Field(description='Condition to enter the phase, e.g. "knee < 35%" or "knee < 100".')
    until: str | None = Field(
        None,
        description="Condition to leave it, the opposite comparison a little apart (hysteresis), e.g. \"knee > 50%\"."
                    " Default: when 'when' stops holding.",
    )


class RangeSpec(_Model):
    """Adaptive range: percentages in conditions are relative to the person's own recent range."""

    rest: Literal["high", "low"] = Field(description="The end of the range where reps start: high or low.")
    min_span: float = Field(gt=0, description="The range is never narrower than this (in the measure's unit).")
    window_s: float = Field(
        10.0, gt=0, description="Seconds of movement the range is learned over (at least one slow rep)."
    )
    quantile: float = Field(
        0.02, ge=0.0, lt=0.25, description="Fraction ignored at each end of the window (brief outliers)."
    )
    outlier_span: float | None = Field(
        None, gt=0, description="Values this far beyond the window's quartiles are implausible (not measurable)."
    )
    reset_after_gap_s: float = Field(
        1.0, ge=0.0, description="After this long without a value the range is learned afresh (0 = never)."
    )
    settle_s: float = Field(0.3, ge=0.0, description="After such a gap, the first seconds of values are not trusted.")


class HoldSpec(_Model):
    phase: str = Field(description="The phase whose time is the hold.")
    min_s: float = Field(1.0, ge=0, description="A stretch shorter than this is not a hold.")
    bridge_gap_s: float = Field(0.0, ge=0, description="Interruptions shorter than this do not end the hold.")
    tolerance: float | None = Field(
        None, gt=0, description="Time counts only while the measure stays this close to the level held (its unit; "
                                "default 8 for degrees): the way into the pose and out of it is not held time.")


class CreditSide(_Model):
    measure: str = Field(description="A sided measure compared at each rep's turning point.")
    pick: Literal["min", "max"] = Field(description="min or max: the side credited with the rep.")


class Smoothing(_Model):
    cutoff_hz: float = Field(3.0, gt=0, description="Offline zero-phase low-pass cut-off.")
    min_cutoff_hz: float = Field(
        1.0, gt=0, description="Live One-Euro minimum cut-off (lag about 1/(2*pi*min_cutoff_hz) s when still)."
    )
    beta: float = Field(0.05, ge=0, description="Live One-Euro speed coefficient.")
    despike_frames: int = Field(5, ge=1, le=31, description="Running median window, frames.")


class FallbackSpec(_Model):
    """A second measure counted when the primary one cannot be measured (ankles out of the picture)."""

    measure: str = Field(description="A measure of the definition that moves with the primary one.")
    rest: Literal["high", "low"] | None = Field(
        None, description="Where reps start on this measure (default: the range's rest)."
    )
    min_span: float = Field(gt=0, description="Its range is never narrower than this (in its unit).")


class MovementSpec(_Model):
    measure: str = Field(
        description="The primary measure: reps' min/max/range of motion and turning point are of this."
    )
    phases: dict[str, PhaseSpec] = Field(
        min_length=1, description="Named phases, each {when, until}. 'moving' and 'rest' are reserved."
    )
    rep: list[str] | None = Field(
        None, min_length=2, description="The phase order that makes one repetition, e.g. [up, down, up]."
    )
    hold: HoldSpec | None = Field(None, description="Time spent in a phase is the hold: {phase, min_s, bridge_gap_s}.")
    sides: Literal["together", "each"] = Field(
        "together", description="together (default): both sides move at once (squat, push-up); the primary measure's "
                                "side is followed. each: the limbs may also move one at a time (curls, raises): each "
                                "side's reps are counted, and reps of the two sides that overlap in time are one rep.",
    )
    count_visibility: float = Field(
        0.2, ge=0.0, le=1.0,
        description="sides: each: the primary measure counts a side's reps from landmarks seen at least this much (a "
                    "far limb is often seen at 0.2-0.45 while it clearly moves); min_visibility still applies to the "
                    "other measures.",
    )
    credit_side: CreditSide | None = Field(
        None, description="For sides: together, credit each rep to the side whose measure is smaller/larger."
    )
    min_phase_s: float = Field(
        0.1, ge=0, description="Dwell: a phase is entered only after its 'when' held this long (seconds)."
    )
    max_gap_s: float = Field(
        4.0, ge=0, description="A stretch not measurable for longer than this abandons the rep in progress."
    )
    min_rep_s: float = Field(0.0, ge=0, description="Reps shorter than this are not counted.")
    max_rep_s: float | None = Field(None, gt=0, description="Reps longer than this are not counted.")
    rest_s: float | None = Field(None, gt=0, description="No change of phase for this long outside a hold is a rest.")
    range: RangeSpec | None = Field(
        None, description="Adaptive range for '%' thresholds: {rest: high|low, min_span, ...}."
    )
    fallback: FallbackSpec | None = Field(
        None, description="A second measure, {measure, min_span[, rest]}, counted in its own adaptive range when the "
                          "primary one cannot be measured (needs a range: its '%' thresholds apply to it).",
    )
    smoothing: Smoothing = Field(default_factory=Smoothing, description="Filter settings.")


class FormRule(_Model):
    code: str = Field(description="Stable fault identifier, unique in the file.")
    check: str = Field("always", description="When it is checked: always, at_turn, over_rep, or 'during PHASE'.")
    fail_if: str = Field(description='Condition that means bad form, e.g. "trunk_lean > 45".')
    cue: str = Field(description="Short instruction shown to the person.")
    severity: Literal["info", "warning", "error"] = Field("warning", description="info, warning or error.")
    cooldown_s: float = Field(5.0, ge=0, description="The cue is not repeated within this time.")
    breaks_hold: bool = Field(False, description="While failing, hold time does not count.")


class Tempo(_Model):
    eccentric_s: float | None = Field(None, gt=0, description="Seconds moving away from the start.")
    concentric_s: float | None = Field(None, gt=0, description="Seconds moving back.")
    pause_s: float | None = Field(None, ge=0, description="Seconds paused at the turn.")


class Targets(_Model):
    reps: int | None = Field(None, ge=1, description="Reps per set.")
    sets: int | None = Field(None, ge=1, description="Sets.")
    hold_s: float | None = Field(None, gt=0, description="Seconds to hold.")
    rom_deg: float | None = Field(None, gt=0, description="Range of motion of the primary measure.")
    rest_between_sets_s: float | None = Field(None, ge=0, description="Rest between sets, seconds.")
    tempo: Tempo | None = Field(None, description="Tempo targets.")


class ExerciseDefinition(_Model):
    id: str = Field(
        description="Identifier: lower-case letters, digits and _, starting with a letter. Name the file <id>.yaml."
    )
    name: str = Field(description="Name shown to people.")
    category: Literal["fitness", "rehab"] = Field("fitness", description="fitness or rehab.")
    description: str = Field("", description="One or two sentences about the exercise.")
    view: Literal["side", "front", "any"] = Field(
        "any", description="The camera view the exercise needs (side, front, any); used in 'not measurable' reasons."
    )
    posture: Literal["upright", "lying", "any"] = Field(
        "any", description="How the exerciser's trunk is during the set: upright (standing or sitting), lying (on the "
                           "floor, face up or down, at least part of the time) or any. With several people in view, "
                           "the one whose posture fits is followed (a partner sitting by a sit-up is not).",
    )
    setup: list[str] = Field(
        default_factory=list, description="Instructions shown before the set starts (text or a list of lines)."
    )
    version: int = Field(
        1, ge=1, description="Bump when you change the meaning; sessions also store the file's sha256."
    )
    min_visibility: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Landmarks seen less than this (0-1) give 'not measurable', never a guessed value.",
    )
    measures: dict[str, MeasureSpec] = Field(
        min_length=1,
        description="Named measures: joint angles, inclinations, distances, heights. Names are used in conditions.",
    )
    movement: MovementSpec = Field(
        description="The primary measure, phases with enter/exit conditions, and the phase order of one rep (or a "
                    "hold)."
    )
    form: list[FormRule] = Field(
        default_factory=list,
        description="Form rules: a condition meaning bad form, when it is checked, and a short cue.",
    )
    targets: Targets = Field(
        default_factory=Targets, description="Default targets (a therapist can override them per patient)."
    )

    _content_hash: str = PrivateAttr("")
    _source: str = PrivateAttr("")
    _conditions: dict = PrivateAttr(default_factory=dict)
    _warnings: list = PrivateAttr(default_factory=list)  #: (line, field, message) of each warning

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"an id is lower-case letters, digits and _ starting with a letter, found '{v}'")
        return v

    @field_validator("setup", mode="before")
    @classmethod
    def _setup(cls, v):
        return [v] if isinstance(v, str) else v

    @property
    def content_hash(self) -> str:
        """sha256 of the definition file's text (stored with sessions so old results stay interpretable)."""
        return self._content_hash

    @property
    def source(self) -> str:
        return self._source

    @property
    def warnings(self) -> tuple[tuple[int | None, str, str], ...]:
        """(line, field, message) of what is allowed but probably a mistake (an unused measure, phases
        that overlap), found when the definition was loaded; `exercises validate` prints them."""
        return tuple(self._warnings)

    @property
    def targets_dict(self) -> dict:
        return self.targets.model_dump(exclude_none=True)

    def condition(self, key: str) -> Condition:
        """Parsed condition by key: ``phase:NAME:when``, ``phase:NAME:until``, ``form:INDEX``."""
        return self._conditions[key]

    def measure_unit(self, name: str) -> str:
        return self.measures[name].unit

    def used_measures(self) -> set[str]:
        """Measures the counting uses: the primary one, its fallback, the one that credits sides, and every
        measure a phase or a form rule compares."""
        mv = self.movement
        out = {mv.measure} | ({mv.credit_side.measure} if mv.credit_side else set())
        if mv.fallback is not None:
            out.add(mv.fallback.measure)
        for c in self._conditions.values():
            out |= c.names
        return out

    def rest_from_phases(self) -> str | None:
        """Where reps start by the phases' thresholds: "low" when the values of the primary measure that
        enter the rep's first phase (its ``when``) lie below those of the other phases of the rep ("x < 140"
        then "x > 165"; "x < 60" then "x < 100"), "high" when above; None when the conditions do not say
        (no plain comparison of the primary measure with a number, or bands that overlap)."""
        mv = self.movement
        if not mv.rep:
            return None
        pct = mv.range is not None

        def band(phase: str):
            try:
                return self.condition(f"phase:{phase}:when").band(mv.measure, percent=pct)
            except KeyError:
                return None

        first = band(mv.rep[0])
        others = [band(p) for p in dict.fromkeys(mv.rep[1:]) if p != mv.rep[0]]
        if first is None or not others or None in others:
            return None
        if all(first[0] <= o[0] and first[1] <= o[1] and first != o for o in others):
            return "low"
        if all(first[0] >= o[0] and first[1] >= o[1] and first != o for o in others):
            return "high"
        return None
