"""The application around the engine: frame sources, workouts in sets, sinks (overlay, video, window,
the history database), prescriptions."""
