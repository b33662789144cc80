"""Errors of the ML room."""


class TrainingDataError(ValueError):
    """The labelled data cannot support an honest evaluation (too few rows, one class)."""


class MemoryBudgetError(ValueError):
    """The training window's estimated peak memory is above limits.max_rss_mib."""
