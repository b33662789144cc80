"""Errors of the inference room; each names the problem and what the bot should do."""

from src.data.errors import CandleValidationError


class CandleOrderError(CandleValidationError):
    """A candle is older than, or as old as, the newest one the stream has seen."""


class CandleGapError(CandleOrderError):
    """Candles are missing between the stream's newest candle and this one: reseed."""


class StreamStateError(ValueError):
    """A saved stream state cannot be restored (unreadable, another format or feature version)."""


class FeatureRowError(ValueError):
    """A feature row cannot be predicted on: wrong length, or NaN or infinite values."""


class PositionError(ValueError):
    """The position said to be held now is none of short (-1), flat (0) or long (+1)."""


class OnnxUnavailableError(RuntimeError):
    """The live set has no ONNX models (a pickle-only set); the predictor cannot load it."""
