"""Errors of the ML room."""


class TrainingDataError(ValueError):
    """The labelled data cannot support an honest evaluation (too few rows, one class)."""
