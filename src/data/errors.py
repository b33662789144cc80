"""Errors of the market-data room."""


class CandleValidationError(ValueError):
    """Candles break the OHLCV schema; the message names the row and the problem."""


class DataSourceError(RuntimeError):
    """A candle source could not deliver data (file, exchange or cache)."""
