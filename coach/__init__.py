"""coach: an exercise-coaching engine for fitness and physical rehabilitation.

The public surface::

    from coach import load_exercise, PoseSeries, count
    result = count(load_exercise("squat"), PoseSeries.load("clip.npz"))
    result.reps, result.rep_records

- `load_exercise(id_or_path)` -> `ExerciseDefinition` (the YAML language: `exercises/README.md`)
- `PoseSeries` (frames × people × 33 landmarks: `.load`, `.from_coco17`, `.mirrored()`, ...) and `PoseFrame`
- `count(definition, series)` -> `CountResult`; `Counter` counts frame by frame (live)
- the records in a result: `RepRecord`, `HoldRecord`, `FormFault`
- `CoachError`: every user-facing error (one sentence)

Names are loaded on first use, so ``import coach`` stays light.
"""

from importlib import import_module

__version__ = "0.1.0"

_NAMES = {
    "load_exercise": "coach.exercise.library",
    "ExerciseDefinition": "coach.exercise.spec",
    "PoseSeries": "coach.pose.series",
    "PoseFrame": "coach.pose.series",
    "count": "coach.engine.counter",
    "Counter": "coach.engine.counter",
    "CountResult": "coach.engine.result",
    "RepRecord": "coach.engine.events",
    "HoldRecord": "coach.engine.events",
    "FormFault": "coach.engine.events",
    "CoachError": "coach.errors",
}
__all__ = ["__version__", *_NAMES]


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'coach' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
