"""Counting, pure: measures, filters, the adaptive range, people tracking and the exercise state machine.

Nothing here does I/O, draws, or reads the wall clock; times come from the source.
"""
