"""The candles each setup trades: one load per market, each timeframe resampled from it."""

from __future__ import annotations

from collections.abc import Callable

from src.data.resample import resample_candles
from src.data.schema import timeframe_step
from src.data.sources import CandleSet
from src.sweep.grid import GridError, Setup

SYMBOL, TIMEFRAME = "data.symbol", "data.timeframe"
# load(symbol, timeframe): the source's candles of that market (None: the source's own).
Load = Callable[[str | None, str | None], CandleSet]


def finest_timeframe(setups: list[Setup]) -> str | None:
    """The shortest timeframe the grid sweeps (the one to load), None when it sweeps none."""
    swept = {setup.values[TIMEFRAME] for setup in setups if TIMEFRAME in setup.values}
    return min(swept, key=timeframe_step) if swept else None


def check_markets(setups: list[Setup], source: str) -> None:
    """A file or the sample holds one market: the grid may sweep its timeframe, not its symbol."""
    if source != "bitbank" and any(SYMBOL in setup.values for setup in setups):
        raise GridError(
            f"--grid {SYMBOL} needs --source bitbank: {source} holds one market's candles"
        )


def setup_candles(setups: list[Setup], load: Load) -> list[CandleSet]:
    """Each setup's candles, in the setups' order; setups of one market share one CandleSet."""
    finest = finest_timeframe(setups)
    loaded: dict[str | None, CandleSet] = {}
    made: dict[tuple[str | None, str | None], CandleSet] = {}
    for setup in setups:
        symbol, timeframe = setup.values.get(SYMBOL), setup.values.get(TIMEFRAME)
        if symbol not in loaded:
            loaded[symbol] = load(symbol, finest)
        if (symbol, timeframe) not in made:
            base = loaded[symbol]
            made[symbol, timeframe] = resample_candles(base, timeframe) if timeframe else base
    return [made[setup.values.get(SYMBOL), setup.values.get(TIMEFRAME)] for setup in setups]
