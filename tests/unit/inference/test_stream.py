"""FeatureStream: one candle at a time equals FeatureManager; order, gaps, saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from src.data.errors import CandleValidationError
from src.data.sources import load_sample_candles
from src.data.synthetic import generate_sample_market_data
from src.features.contract import FEATURE_NAMES, WARMUP_BARS
from src.features.errors import FeatureError
from src.features.feature_manager import FeatureManager
from src.inference import FeatureStream
from src.inference.errors import CandleGapError, CandleOrderError, StreamStateError


def _flat_stretches() -> pd.DataFrame:
    """Generated candles with a flat stretch (zero Bollinger width, no gain nor loss) and zero
    volumes: FeatureManager's degenerate cases."""
    candles = generate_sample_market_data(n_bars=400, seed=5)
    flat = candles.index[150:190]
    candles.loc[flat, ["open", "high", "low", "close"]] = candles["close"].iloc[149]
    candles.loc[flat, "volume"] = 0.0
    return candles


CANDLE_SETS = {
    "shipped_sample": lambda: load_sample_candles(None, None).candles,
    "generated_btc_jpy": lambda: generate_sample_market_data(n_bars=2000, seed=11),
    "flat_stretches": _flat_stretches,
}


def _records(candles: pd.DataFrame) -> list[dict]:
    return candles.rename_axis("timestamp").reset_index().to_dict("records")


@pytest.mark.parametrize("name", CANDLE_SETS)
def test_fed_one_candle_at_a_time_it_equals_the_batch_features_at_every_bar(name):
    candles = CANDLE_SETS[name]()
    batch = FeatureManager().generate_features(candles)
    records = _records(candles)

    stream = FeatureStream.from_candles(records[: WARMUP_BARS + 1])
    rows = [stream.latest] + [stream.update(candle) for candle in records[WARMUP_BARS + 1 :]]

    assert [row.timestamp for row in rows] == list(batch.index)
    np.testing.assert_allclose(
        np.array([row.values for row in rows]), batch.to_numpy(), rtol=1e-9, atol=0.0
    )


def test_a_stream_seeded_on_a_history_equals_the_batch_features_of_that_history():
    candles = load_sample_candles(None, None).candles
    batch = FeatureManager().generate_features(candles)

    stream = FeatureStream.from_candles(candles.iloc[:3000])  # a DataFrame, DatetimeIndex
    row = stream.update(_records(candles.iloc[3000:3001])[0])

    assert row.timestamp == batch.index[3000 - WARMUP_BARS]
    np.testing.assert_allclose(row.values, batch.iloc[3000 - WARMUP_BARS], rtol=1e-9, atol=0.0)
    assert list(row.as_dict()) == list(FEATURE_NAMES)


def test_a_restored_stream_continues_exactly_as_the_saved_one(tmp_path):
    records = _records(generate_sample_market_data(n_bars=300, seed=3))
    stream = FeatureStream.from_candles(records[:200])
    stream.save(tmp_path / "stream.json")

    restored = FeatureStream.restore(tmp_path / "stream.json")

    json.loads((tmp_path / "stream.json").read_text())  # plain JSON, not pickle
    assert restored.latest == stream.latest
    for candle in records[200:]:
        assert restored.update(candle) == stream.update(candle)


def test_timestamps_may_be_epoch_milliseconds_or_iso_strings():
    records = _records(generate_sample_market_data(n_bars=80, seed=4))
    as_ms = [{**r, "timestamp": int(r["timestamp"].timestamp() * 1000)} for r in records]
    as_iso = [{**r, "timestamp": r["timestamp"].isoformat()} for r in records]

    rows = [FeatureStream.from_candles(form).latest for form in (records, as_ms, as_iso)]

    assert rows[0] == rows[1] == rows[2]


@pytest.fixture
def seeded():
    records = _records(generate_sample_market_data(n_bars=120, seed=6))
    return FeatureStream.from_candles(records[:100]), records


@pytest.mark.parametrize(
    ("position", "error", "message"),
    [
        (99, CandleOrderError, "repeats the newest one seen"),
        (90, CandleOrderError, "is older than the newest one seen"),
        (102, CandleGapError, r"\(2 bar\(s\) missing\).*reseed with FeatureStream.from_candles"),
    ],
)
def test_repeated_older_or_gapped_candles_are_refused_and_change_nothing(
    seeded, position, error, message
):
    stream, records = seeded
    reference = FeatureStream.from_candles(records[:100])

    with pytest.raises(error, match=message):
        stream.update(records[position])

    assert stream.update(records[100]) == reference.update(records[100])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"close": float("nan")}, r"close price nan is outside"),
        ({"high": 1.0, "low": 2.0}, "needs low <= open, close <= high"),
        ({"volume": -1.0}, "volume -1.0 is outside"),
        ({"close": "abc"}, "non-numeric value"),
        ({"timestamp": 1.5}, "pass a datetime, an ISO 8601 string or epoch milliseconds"),
    ],
)
def test_a_bad_candle_is_refused_with_what_is_wrong(seeded, change, message):
    stream, records = seeded
    with pytest.raises(CandleValidationError, match=message):
        stream.update({**records[100], **change})


def test_too_short_a_history_is_refused():
    records = _records(generate_sample_market_data(n_bars=WARMUP_BARS, seed=7))
    with pytest.raises(FeatureError, match=f"need at least {WARMUP_BARS + 1} candles"):
        FeatureStream.from_candles(records)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda state: {**state, "feature_manager_version": "v0"}, "made by FeatureManager v0"),
        (lambda state: {**state, "format": "pickle"}, "not in format"),
        (lambda state: {k: v for k, v in state.items() if k != "closes"}, "incomplete"),
    ],
)
def test_a_state_of_another_version_or_format_is_refused(seeded, edit, message):
    stream, _ = seeded
    state = edit(json.loads(stream.to_json()))
    with pytest.raises(StreamStateError, match=message):
        FeatureStream.from_json(json.dumps(state))


def test_a_history_bar_off_the_grid_does_not_make_later_candles_gaps():
    candles = generate_sample_market_data(n_bars=300, seed=8)
    late = candles.index[100] + pd.Timedelta(minutes=1)  # one bar a minute off the 15m grid
    candles.index = candles.index.where(candles.index != candles.index[100], late)
    records = _records(candles)

    stream = FeatureStream.from_candles(records[:250])

    assert stream.step_us == 15 * 60 * 1_000_000  # the most common step, as infer_timeframe
    rows = [stream.update(candle) for candle in records[250:]]
    assert [row.timestamp for row in rows] == list(candles.index[250:])


def _state_edit(**changes):
    return lambda state: {**state, **changes}


def _unseeded_ema_50(state: dict) -> dict:
    averages = {**state["averages"], "ema_50": {"seed_values": [1.0], "value": None}}
    return {**state, "averages": averages}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_state_edit(step_us=0), "step_us 0 is not a positive bar length"),
        (lambda state: {**state, "closes": state["closes"][-5:]}, "5 closes, not the last 20"),
        (lambda state: {**state, "volumes": state["volumes"] * 2}, "40 volumes, not the last 20"),
        (_state_edit(previous_close=1.0), "previous_close is not the newest of the closes"),
        (_unseeded_ema_50, r"the averages \['ema_50'\] are not seeded after 100 bars"),
        (_state_edit(latest=[float("nan")] * 12), "the latest row is not finite"),
    ],
    ids=["step 0", "5 closes", "40 volumes", "previous close", "unseeded", "nan row"],
)
def test_an_inconsistent_state_is_refused_at_restore(seeded, tmp_path, edit, message):
    stream, _ = seeded
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(edit(json.loads(stream.to_json()))))

    with pytest.raises(StreamStateError, match=rf"inconsistent \({message}.*reseed"):
        FeatureStream.restore(path)
