"""What a recorded measure is about: its unit and the joint it moves, for report labels and FHIR body sites.

The exercise definition (YAML) says what each measure is; a definition that has since disappeared falls
back to the measure's name. SNOMED CT codes (body structure hierarchy) for the joints, and the laterality
qualifiers, as used by FHIR ``Observation.bodySite`` / ``BodyStructure``:

- 49076000 Knee joint structure · 24136001 Hip joint structure · 16953009 Elbow joint structure ·
  85537004 Glenohumeral joint structure (the shoulder joint) · 70258002 Ankle joint structure
- 7771000 Left · 24028007 Right · 51440002 Right and left
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

SNOMED = "http://snomed.info/sct"

#: joint name -> (SNOMED CT code, display)
JOINT_CODES: dict[str, tuple[str, str]] = {
    "knee": ("49076000", "Knee joint structure"),
    "hip": ("24136001", "Hip joint structure"),
    "elbow": ("16953009", "Elbow joint structure"),
    "shoulder": ("85537004", "Glenohumeral joint structure"),
    "ankle": ("70258002", "Ankle joint structure"),
}

#: rep side -> (SNOMED CT qualifier code, display)
LATERALITY_CODES: dict[str, tuple[str, str]] = {
    "left": ("7771000", "Left"),
    "right": ("24028007", "Right"),
    "both": ("51440002", "Right and left"),
}


@dataclass(frozen=True)
class MeasureInfo:
    measure: str
    unit: str  #: "deg" for angles and inclinations, else e.g. "torso lengths"
    joint: str | None  #: "knee", "hip", "elbow", "shoulder", "ankle" or None (trunk, heights, distances)
    label: str  #: for people: "knee angle", "arm elevation"…

    @property
    def is_degrees(self) -> bool:
        return self.unit == "deg"

    @property
    def unit_label(self) -> str:
        return "°" if self.is_degrees else f" {self.unit}"


def _joint_of(kind: str, parts: tuple[str, ...]) -> str | None:
    if kind == "angle":
        vertex = parts[1]
        return vertex if vertex in JOINT_CODES else None
    if kind == "inclination" and parts[0] == "shoulder" and parts[1] in ("elbow", "wrist"):
        return "shoulder"  # the upper arm or whole arm against vertical: shoulder elevation
    return None


@lru_cache(maxsize=256)
def measure_info(exercise_id: str, measure: str) -> MeasureInfo:
    """Unit and joint of ``measure`` of exercise ``exercise_id`` (from its definition, else its name)."""
    from coach.errors import CoachError

    try:
        from coach.exercise.library import get_definition

        spec = get_definition(exercise_id).measures.get(measure)
    except CoachError:
        spec = None
    if spec is not None:
        parts = tuple(getattr(spec, spec.kind))
        joint = _joint_of(spec.kind, parts)
        unit = spec.unit
        what = {"angle": "angle", "inclination": "inclination", "distance": "distance", "height": "height"}[
            spec.kind]
        label = f"{measure.replace('_', ' ')} {what}" if what not in measure else measure.replace("_", " ")
        if joint == "shoulder" and spec.kind == "inclination":
            label = "shoulder elevation"
        return MeasureInfo(measure, unit, joint, label)
    joint = measure if measure in JOINT_CODES else None
    return MeasureInfo(measure, "deg", joint, measure.replace("_", " "))


@lru_cache(maxsize=256)
def exercise_name(exercise_id: str) -> str:
    from coach.errors import CoachError

    try:
        from coach.exercise.library import get_definition

        return get_definition(exercise_id).name
    except CoachError:
        return exercise_id
