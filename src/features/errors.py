"""Errors of the features room."""


class FeatureError(ValueError):
    """Features cannot be computed from these candles; the message names the problem and the fix."""
