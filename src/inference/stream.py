"""FeatureManager's 12 features, one closed candle at a time, in constant time per candle.

`FeatureStream` keeps what the next bar needs (the EMA and Wilder averages, the last 20 closes
and volumes, the previous close) instead of recomputing hundreds of bars per candle. Its rows
equal `FeatureManager().generate_features` on the same history (tests hold them to 1e-9
relative at every bar of the shipped sample): the averages are seeded as FeatureManager seeds
them (TA-Lib's seeding), from the same bars, so a stream seeded on a history gives the rows
FeatureManager gives on that history. The first `WARMUP_BARS` candles only warm it up.

Candles must arrive in order, one bar apart: an older or repeated candle is refused, and so is a
gap (the averages would silently mix bars of two periods): after a gap, reseed with
`FeatureStream.from_candles` on the latest history. The seeding history itself may hold gaps,
as FeatureManager's input may. State is saved as JSON (plain numbers, never pickle) so a
restarted bot resumes without recomputing its history.

Dependency-free on purpose (the standard library only): the live bot imports it without pandas.
"""

from __future__ import annotations

import json
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from src.atomic import atomic_write_bytes
from src.data.bounds import MAX_MAGNITUDE, MIN_PRICE
from src.data.errors import CandleValidationError
from src.features.contract import FEATURE_MANAGER_VERSION, FEATURE_NAMES, WARMUP_BARS
from src.features.errors import FeatureError
from src.inference.errors import CandleGapError, CandleOrderError, StreamStateError

_STATE_FORMAT = "feature-stream/1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_WILDER_PERIOD = 14
_MACD_FAST, _MACD_SLOW, _MACD_SIGNAL = 12, 26, 9
_BAND_WINDOW, _BAND_SIGMAS = 20, 2.0
_AVERAGES = {  # name -> (period, alpha), as FeatureManager's EMAs and Wilder averages
    "ema_20": (20, 2.0 / 21),
    "ema_50": (50, 2.0 / 51),
    "macd_fast": (_MACD_FAST, 2.0 / (_MACD_FAST + 1)),
    "macd_slow": (_MACD_SLOW, 2.0 / (_MACD_SLOW + 1)),
    "macd_signal": (_MACD_SIGNAL, 2.0 / (_MACD_SIGNAL + 1)),
    "rsi_gain": (_WILDER_PERIOD, 1.0 / _WILDER_PERIOD),
    "rsi_loss": (_WILDER_PERIOD, 1.0 / _WILDER_PERIOD),
    "atr": (_WILDER_PERIOD, 1.0 / _WILDER_PERIOD),
}


@dataclass(frozen=True)
class FeatureRow:
    """The 12 features of one bar, in `FEATURE_NAMES` order, and who made them."""

    timestamp: datetime  # the bar's open time, UTC
    values: tuple[float, ...]
    feature_manager_version: str = FEATURE_MANAGER_VERSION

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.values, strict=True))


class _SeededAverage:
    """y = alpha * x + (1 - alpha) * y_prev, seeded with the mean of its first `period` inputs
    (TA-Lib's seeding, as FeatureManager's recursions)."""

    __slots__ = ("period", "alpha", "decay", "seed_values", "value")

    def __init__(self, period: int, alpha: float, seed_values=(), value=None) -> None:
        self.period, self.alpha = period, alpha
        self.decay = -(alpha - 1.0)  # the coefficient scipy's lfilter applies, bit for bit
        self.seed_values, self.value = list(seed_values), value

    def push(self, x: float) -> float | None:
        if self.value is not None:
            self.value = self.alpha * x + self.decay * self.value
        else:
            self.seed_values.append(x)
            if len(self.seed_values) == self.period:
                self.value = math.fsum(self.seed_values) / self.period
                self.seed_values = []
        return self.value


def _epoch_us(timestamp) -> int:
    """Microseconds since the epoch: a datetime (naive means UTC, as in the candle schema, and a
    pandas Timestamp is one), an ISO 8601 string, or integer epoch milliseconds (ccxt's)."""
    if isinstance(timestamp, str):
        try:
            timestamp = datetime.fromisoformat(timestamp)
        except ValueError as exc:
            raise CandleValidationError(f"candle timestamp {timestamp!r} is not ISO 8601") from exc
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return (timestamp - _EPOCH) // _MICROSECOND
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        return timestamp * 1000
    raise CandleValidationError(
        f"candle timestamp {timestamp!r} ({type(timestamp).__name__}): pass a datetime, an ISO "
        "8601 string or epoch milliseconds"
    )


def _iso(epoch_us: int) -> str:
    return (_EPOCH + epoch_us * _MICROSECOND).isoformat()


def _checked_candle(candle: Mapping) -> tuple[int, float, float, float, float, float]:
    """(epoch µs, open, high, low, close, volume), refused on the candle schema's rules."""
    try:
        fields = [candle[name] for name in ("timestamp", "open", "high", "low", "close", "volume")]
    except (KeyError, TypeError, IndexError) as exc:
        raise CandleValidationError(
            f"a candle needs timestamp, open, high, low, close and volume; got {candle!r}"
        ) from exc
    epoch_us = _epoch_us(fields[0])
    try:
        open_, high, low, close, volume = (float(value) for value in fields[1:])
    except (TypeError, ValueError) as exc:
        raise CandleValidationError(f"candle at {_iso(epoch_us)}: non-numeric value") from exc
    for name, price in (("open", open_), ("high", high), ("low", low), ("close", close)):
        if not MIN_PRICE <= price <= MAX_MAGNITUDE:  # NaN fails this too
            raise CandleValidationError(
                f"candle at {_iso(epoch_us)}: {name} price {price} is outside "
                f"[{MIN_PRICE:g}, {MAX_MAGNITUDE:g}]"
            )
    if not 0.0 <= volume <= MAX_MAGNITUDE:
        raise CandleValidationError(
            f"candle at {_iso(epoch_us)}: volume {volume} is outside [0, {MAX_MAGNITUDE:g}]"
        )
    if not (low <= high and low <= close <= high and low <= open_ <= high):
        raise CandleValidationError(
            f"candle at {_iso(epoch_us)}: needs low <= open, close <= high; got open {open_}, "
            f"high {high}, low {low}, close {close}"
        )
    return epoch_us, open_, high, low, close, volume


def _frame_candles(history) -> Iterable[Mapping]:
    """Candle mappings from a DataFrame (a DatetimeIndex or a `timestamp` column) or from an
    iterable of mappings, without importing pandas."""
    columns = getattr(history, "columns", None)
    if columns is None:
        return history
    times = history["timestamp"] if "timestamp" in columns else history.index
    names = ("open", "high", "low", "close", "volume")
    missing = [name for name in names if name not in columns]
    if missing:
        raise CandleValidationError(f"candles miss column(s) {missing}; need {list(names)}")
    rows = zip(list(times), *(history[name].tolist() for name in names), strict=True)
    return (dict(zip(("timestamp", *names), row, strict=True)) for row in rows)


def _inconsistent(problem: str) -> StreamStateError:
    return StreamStateError(
        f"the saved stream state is inconsistent ({problem}), so its next rows would be wrong; "
        "reseed with FeatureStream.from_candles"
    )


class FeatureStream:
    """The 12 features of the newest closed candle, updated one candle at a time."""

    def __init__(self, step_us: int) -> None:
        self.step_us = step_us  # the timeframe: consecutive candles are this far apart
        self.bars = 0
        self.last_us: int | None = None
        self.previous_close: float | None = None
        self.averages = {name: _SeededAverage(*spec) for name, spec in _AVERAGES.items()}
        self.closes: deque[float] = deque(maxlen=_BAND_WINDOW)
        self.volumes: deque[float] = deque(maxlen=_BAND_WINDOW)
        self.latest: FeatureRow | None = None

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_candles(cls, history) -> FeatureStream:
        """A stream seeded on past closed candles, oldest first (at least WARMUP_BARS + 1).

        `history` is a DataFrame of open, high, low, close, volume with a DatetimeIndex or a
        `timestamp` column, or an iterable of such mappings. The timeframe is the most common
        step between them (as `infer_timeframe` reads a candle file's), so one bar off the grid
        does not make every later candle a gap; gaps inside the history are allowed
        (FeatureManager computes across them).
        """
        candles = [_checked_candle(candle) for candle in _frame_candles(history)]
        if len(candles) <= WARMUP_BARS:
            raise FeatureError(
                f"need at least {WARMUP_BARS + 1} candles to seed the stream, got {len(candles)}; "
                "pass a few hundred so the averages have converged"
            )
        steps = Counter(b[0] - a[0] for a, b in zip(candles, candles[1:], strict=False))
        most_common = min(steps, key=lambda step: (-steps[step], step))  # a tie: the shorter
        stream = cls(max(most_common, 1))  # an unsorted history is refused while advancing
        for candle in candles:
            stream._advance(candle, allow_gap=True)
        return stream

    def update(self, candle: Mapping) -> FeatureRow:
        """The features of `candle`, the next closed candle (timestamp, open, high, low, close,
        volume); refuses an older, repeated or non-adjacent one and leaves the state unchanged."""
        self._advance(_checked_candle(candle), allow_gap=False)
        return self.latest

    # -- the recursions -------------------------------------------------------------------------
    def _check_order(self, epoch_us: int, allow_gap: bool) -> None:
        if self.last_us is None:
            return
        if epoch_us <= self.last_us:
            kind = "repeats" if epoch_us == self.last_us else "is older than"
            raise CandleOrderError(
                f"candle at {_iso(epoch_us)} {kind} the newest one seen ({_iso(self.last_us)}); "
                "pass each closed candle once, oldest first"
            )
        missing = (epoch_us - self.last_us) // self.step_us - 1
        if epoch_us - self.last_us != self.step_us and not allow_gap:
            raise CandleGapError(
                f"candle at {_iso(epoch_us)} does not follow the newest one ({_iso(self.last_us)}) "
                f"by one bar of {self.step_us // 1_000_000} s ({missing} bar(s) missing): the "
                "averages would mix two periods; reseed with FeatureStream.from_candles on the "
                "latest history"
            )

    def _advance(self, candle: tuple, allow_gap: bool) -> None:
        epoch_us, _, high, low, close, volume = candle
        self._check_order(epoch_us, allow_gap)
        averages, previous = self.averages, self.previous_close
        self.closes.append(close)
        self.volumes.append(volume)
        ema_20, ema_50 = averages["ema_20"].push(close), averages["ema_50"].push(close)
        # TA-Lib's MACD starts both EMAs at the slow one's seed bar: the fast one is fed from
        # bar 26 - 12 = 14 on, and the signal from the first MACD value (bar 25) on.
        fast = averages["macd_fast"].push(close) if self.bars >= _MACD_SLOW - _MACD_FAST else None
        slow = averages["macd_slow"].push(close)
        macd = fast - slow if slow is not None else None
        signal = averages["macd_signal"].push(macd) if macd is not None else None
        if previous is not None:
            change = close - previous
            gain = max(change, 0.0)
            average_gain = averages["rsi_gain"].push(gain)
            average_loss = averages["rsi_loss"].push(gain - change)
            atr = averages["atr"].push(max(high, previous) - min(low, previous))
        self.bars += 1
        self.last_us, self.previous_close = epoch_us, close
        if self.bars <= WARMUP_BARS:
            return
        total = average_gain + average_loss
        rsi = 100.0 * (average_gain / total) if total != 0.0 else 50.0
        zscore, volume_ratio = self._band_features(close, volume)
        values = (
            close, volume, close / previous - 1.0, rsi, macd, signal, atr,
            0.5 + zscore / (2.0 * _BAND_SIGMAS), ema_20, ema_50, zscore, volume_ratio,
        )  # fmt: skip
        self._check_finite(values, epoch_us)
        self.latest = FeatureRow(_EPOCH + epoch_us * _MICROSECOND, values)

    def _band_features(self, close: float, volume: float) -> tuple[float, float]:
        # Deviations from the newest close, as FeatureManager measures each window from a close
        # inside it: a flat window gives exactly zero and no catastrophic cancellation.
        deviations = [value - close for value in self.closes]
        mean_deviation = math.fsum(deviations) / _BAND_WINDOW
        variance = math.fsum((d - mean_deviation) ** 2 for d in deviations) / _BAND_WINDOW
        std = math.sqrt(variance)
        zscore = -mean_deviation / std if std > 0.0 else 0.0
        mean_volume = math.fsum(self.volumes) / _BAND_WINDOW
        return zscore, (volume / mean_volume if mean_volume > 0.0 else 1.0)

    @staticmethod
    def _check_finite(values: tuple, epoch_us: int) -> None:
        if not all(map(math.isfinite, values)):
            pairs = zip(FEATURE_NAMES, values, strict=True)
            name = next(name for name, value in pairs if not math.isfinite(value))
            raise FeatureError(
                f"feature {name} is not finite at {_iso(epoch_us)}; the candles' magnitudes "
                "cannot be computed on safely: rescale the prices and volumes"
            )

    # -- saving ---------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The whole state as JSON: plain numbers, which round-trip exactly."""
        if self.latest is None:
            raise StreamStateError("the stream is still warming up; seed it before saving")
        state = {
            "format": _STATE_FORMAT,
            "feature_manager_version": FEATURE_MANAGER_VERSION,
            "step_us": self.step_us,
            "bars": self.bars,
            "last_us": self.last_us,
            "previous_close": self.previous_close,
            "averages": {
                name: {"seed_values": average.seed_values, "value": average.value}
                for name, average in self.averages.items()
            },
            "closes": list(self.closes),
            "volumes": list(self.volumes),
            "latest": list(self.latest.values),
        }
        return json.dumps(state)

    @classmethod
    def from_json(cls, text: str) -> FeatureStream:
        try:
            state = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise StreamStateError(f"the saved stream state is not JSON ({exc}); reseed") from exc
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise StreamStateError(
                f"the saved stream state is not in format {_STATE_FORMAT}; reseed with "
                "FeatureStream.from_candles"
            )
        if state.get("feature_manager_version") != FEATURE_MANAGER_VERSION:
            raise StreamStateError(
                f"the saved stream state was made by FeatureManager "
                f"{state.get('feature_manager_version')}, this code makes "
                f"{FEATURE_MANAGER_VERSION}; reseed with FeatureStream.from_candles"
            )
        try:
            return cls._from_state(state)
        except StreamStateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise StreamStateError(
                f"the saved stream state is incomplete ({exc!r}); reseed"
            ) from exc

    @classmethod
    def _from_state(cls, state: dict) -> FeatureStream:
        stream = cls(int(state["step_us"]))
        stream.bars, stream.last_us = int(state["bars"]), int(state["last_us"])
        stream.previous_close = float(state["previous_close"])
        for name, (period, alpha) in _AVERAGES.items():
            saved = state["averages"][name]
            value = None if saved["value"] is None else float(saved["value"])
            stream.averages[name] = _SeededAverage(period, alpha, saved["seed_values"], value)
        for name in ("closes", "volumes"):
            if len(state[name]) != _BAND_WINDOW:  # the window would silently drop or lack bars
                raise _inconsistent(f"{len(state[name])} {name}, not the last {_BAND_WINDOW}")
        stream.closes.extend(float(value) for value in state["closes"])
        stream.volumes.extend(float(value) for value in state["volumes"])
        values = tuple(float(value) for value in state["latest"])
        if len(values) != len(FEATURE_NAMES) or stream.bars <= WARMUP_BARS:
            raise ValueError("latest row or bar count")
        stream.latest = FeatureRow(_EPOCH + stream.last_us * _MICROSECOND, values)
        if problem := stream._inconsistency():
            raise _inconsistent(problem)
        return stream

    def _inconsistency(self) -> str | None:
        """What a warmed-up stream cannot hold, or None: every state `to_json` writes passes."""
        if self.step_us <= 0:
            return f"step_us {self.step_us} is not a positive bar length"
        for name, window in (("closes", self.closes), ("volumes", self.volumes)):
            if not all(map(math.isfinite, window)):
                return f"{name} holds a value that is not a finite number"
        if self.previous_close != self.closes[-1]:
            return "previous_close is not the newest of the closes"
        unseeded = [name for name, a in self.averages.items() if a.value is None or a.seed_values]
        if unseeded:
            return f"the averages {unseeded} are not seeded after {self.bars} bars"
        if not all(math.isfinite(a.value) for a in self.averages.values()):
            return "an average is not a finite number"
        close, volume = self.latest.values[:2]
        if not all(map(math.isfinite, self.latest.values)) or (close, volume) != (
            self.closes[-1],
            self.volumes[-1],
        ):
            return "the latest row is not finite or not the newest candle's"
        return None

    def save(self, path: Path | str) -> None:
        """Write the state to `path` atomically (a crash leaves the old state or the new)."""
        atomic_write_bytes(Path(path), self.to_json().encode("utf-8"))

    @classmethod
    def restore(cls, path: Path | str) -> FeatureStream:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StreamStateError(f"cannot read the stream state {path}: {exc}; reseed") from exc
        return cls.from_json(text)
