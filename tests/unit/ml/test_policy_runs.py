"""Whole training runs: the policy comes from out-of-fold rows only, earns money where there is a
planted signal, stays out (or near zero after fees) on a random walk, and the loaded set's
one-bar call reproduces the holdout's positions."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from src.data.synthetic import generate_sample_market_data
from src.ml.gate import evaluate_gate
from src.ml.run_metadata import build_metadata
from src.ml.training import train_models
from src.registry.store import Registry

pytestmark = pytest.mark.slow
QUIET = {"progress": lambda message: None}


@pytest.fixture(scope="module")
def planted(planted_candles):
    return planted_candles(4_000, seed=5)


@pytest.fixture(scope="module")
def planted_run(planted, small_settings, generated_set):
    return train_models(generated_set(planted), small_settings, **QUIET)


def _with_holdout_prices_changed(candles, run):
    """The same candles, bit for bit before the holdout's first bar; from there on every move
    is reversed and doubled."""
    start = candles.index.get_loc(run.features.index[run.split.holdout_start])
    close = candles["close"].to_numpy()
    moves = -2.0 * np.diff(np.log(close[start - 1 :]))
    new_close = close[start - 1] * np.exp(np.cumsum(moves))
    changed = candles.copy()
    ratio = new_close / close[start:]
    for column in ("open", "high", "low", "close"):
        changed.iloc[start:, changed.columns.get_loc(column)] = candles[column].iloc[start:] * ratio
    return changed, start


def test_a_planted_signal_gives_a_policy_that_earns_after_fees(planted_run):
    policy, trading = planted_run.policy, planted_run.trading.record

    assert not policy.policy.flat
    assert policy.record.out_of_fold.net_return > 0
    assert policy.record.out_of_fold.trades >= policy.record.min_trades
    assert trading.policy.net_return > trading.policy.fee_drag > 0  # it pays its fees and more
    assert trading.policy.net_return > trading.buy_and_hold.net_return
    assert trading.bootstrap.net_return.low > 0


def test_changing_holdout_prices_cannot_change_what_was_chosen(
    planted, planted_run, small_settings, generated_set
):
    changed, start = _with_holdout_prices_changed(planted, planted_run)
    assert changed.iloc[:start].equals(planted.iloc[:start])

    rerun = train_models(generated_set(changed), small_settings, **QUIET)

    assert rerun.policy.record == planted_run.policy.record  # thresholds and OOF figures
    assert rerun.ensemble.named_weights == planted_run.ensemble.named_weights
    assert rerun.trading.record.policy != planted_run.trading.record.policy  # the holdout moved


def test_a_random_walk_has_no_policy_worth_promoting(small_settings, generated_set):
    candles = generate_sample_market_data(4_000, seed=0)

    run = train_models(generated_set(candles), small_settings, **QUIET)

    trading = run.trading.record.policy
    assert run.policy.policy.flat or abs(trading.net_return) <= trading.costs_paid
    gate = evaluate_gate(
        run.skill, None, run.money, small_settings.quality_gate
    )
    assert not gate.passed
    assert not next(check for check in gate.checks if check.name == "money").passed


def test_the_loaded_sets_one_bar_call_replays_the_holdout_positions(
    tmp_path, planted, planted_run, small_settings, generated_set
):
    gate = evaluate_gate(
        planted_run.skill, None, planted_run.money,
        small_settings.quality_gate,
    )  # fmt: skip
    metadata = build_metadata(
        planted_run, generated_set(planted), small_settings, gate, datetime.now(UTC), 1.0, None,
        {"enabled": False},
    )  # fmt: skip
    registry = Registry(tmp_path / "models")
    registry.promote(planted_run.models, planted_run.ensemble, metadata, "<html></html>")
    model_set = registry.load()
    hold = planted_run.features.iloc[planted_run.split.holdout_start :].iloc[:120]

    held, replayed = 0, []
    for end in range(1, len(hold) + 1):  # one closed candle at a time, as the bot sees them
        held = model_set.position(hold.iloc[:end], held)
        replayed.append(held)

    recorded = planted_run.trading.policy.simulation.positions[: len(hold)]
    np.testing.assert_array_equal(replayed, recorded)
    assert set(replayed) == {0, 1}
