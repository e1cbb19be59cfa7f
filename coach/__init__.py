"""coach: an exercise-coaching engine for fitness and physical rehabilitation."""

__version__ = "0.1.0"
