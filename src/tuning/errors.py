"""Errors of the tuning room."""


class TuningError(RuntimeError):
    """A search that cannot give a result, e.g. every trial of a model failed; the message names
    the first failure and what to change."""
