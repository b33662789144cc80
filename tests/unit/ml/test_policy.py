"""The trading policy: hysteresis, the bot's one-bar call, and the choice on out-of-fold rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.ml.backtest import next_bars
from src.ml.policy import TradingPolicy, choose_policy

COST = 0.0014  # bitbank's taker fee plus an assumed slippage, per side


def _walk(p_up: np.ndarray, policy: TradingPolicy, starts: np.ndarray) -> np.ndarray:
    held, path = 0, []
    for p, start in zip(p_up, starts, strict=True):
        held = policy.next_position(p, 0 if start else held)
        path.append(held)
    return np.array(path, dtype="float64")


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_the_series_rule_is_the_bots_one_bar_rule_applied_bar_by_bar(allow_short, seed):
    rng = np.random.default_rng(seed)
    p_up = np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, 500)) % 0.4 - 0.2, 0, 1)
    starts = rng.random(500) < 0.02
    starts[0] = True
    policy = TradingPolicy(entry=0.58, exit=0.52, allow_short=allow_short)

    np.testing.assert_array_equal(policy.positions(p_up, starts), _walk(p_up, policy, starts))


def test_hysteresis_holds_through_a_dip_between_the_thresholds():
    p_up = np.array([0.50, 0.61, 0.57, 0.59, 0.54, 0.49, 0.62])
    starts = np.r_[True, np.zeros(6, dtype=bool)]

    with_hysteresis = TradingPolicy(entry=0.60, exit=0.55).positions(p_up, starts)
    without = TradingPolicy(entry=0.60, exit=0.60).positions(p_up, starts)

    np.testing.assert_array_equal(with_hysteresis, [0, 1, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(without, [0, 1, 0, 0, 0, 0, 1])


def test_short_is_the_mirror_rule():
    p_up = np.array([0.30, 0.43, 0.47, 0.70, 0.50])
    starts = np.r_[True, np.zeros(4, dtype=bool)]

    positions = TradingPolicy(entry=0.6, exit=0.55, allow_short=True).positions(p_up, starts)

    # short below 0.4, covered above 0.45; long above 0.6, closed below 0.55
    np.testing.assert_array_equal(positions, [-1, -1, 0, 1, 0])


def test_a_segment_start_resets_to_flat():
    p_up = np.array([0.7, 0.58, 0.58, 0.58])

    positions = TradingPolicy(entry=0.6, exit=0.5).positions(p_up, np.array([1, 0, 1, 0], bool))

    np.testing.assert_array_equal(positions, [1, 1, 0, 0])


def test_the_flat_policy_never_trades():
    policy = TradingPolicy()

    assert policy.flat and policy.next_position(0.99, held=0) == 0
    assert not policy.positions(np.full(5, 0.99), np.ones(5, bool)).any()


@pytest.mark.parametrize(
    ("entry", "exit_", "allow_short"),
    [(0.4, 0.3, False), (0.6, 0.7, False), (0.6, 0.45, True), (0.6, None, False)],
)
def test_thresholds_that_make_no_sense_are_refused(entry, exit_, allow_short):
    with pytest.raises(ValueError, match="entry"):
        TradingPolicy(entry, exit_, allow_short)


def _oof(n_rows: int, skill: float, seed: int):
    """P(up) that knows the next move with `skill`, over candles of 15-minute bars."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0, 0.004, n_rows + 1)
    close = 10_000_000 * np.exp(np.cumsum(moves))
    index = pd.date_range("2025-01-01", periods=n_rows + 1, freq="15min", tz="UTC")
    candles = pd.DataFrame({"close": close}, index=index)
    p_up = np.clip(0.5 + skill * np.sign(moves[1:]) + rng.normal(0, 0.1, n_rows), 0.01, 0.99)
    return p_up, next_bars(candles, index[:-1])


def test_a_policy_is_chosen_where_the_out_of_fold_rows_show_an_edge_after_costs():
    p_up, bars = _oof(3_000, skill=0.15, seed=1)

    choice = choose_policy(p_up, bars, COST, False, min_trades=20, chosen_on="test rows")

    assert not choice.policy.flat
    assert choice.record.out_of_fold.net_return > 0
    assert choice.record.out_of_fold.trades >= 20
    best = choice.sweep.loc[choice.sweep["trades"] >= 20, "net_return"].max()
    assert choice.record.out_of_fold.net_return == pytest.approx(best)
    assert choice.record.chosen_on == "test rows" and choice.record.cost_per_side == COST


def test_without_an_edge_the_policy_is_flat_and_says_why():
    p_up, bars = _oof(3_000, skill=0.0, seed=2)

    choice = choose_policy(p_up, bars, COST, False, min_trades=20, chosen_on="test rows")

    assert choice.policy.flat and choice.record.entry is None
    assert choice.record.out_of_fold.trades == 0
    assert choice.record.reason.startswith("no tradeable edge after costs")


def test_a_threshold_that_trades_too_rarely_is_not_picked():
    p_up, bars = _oof(3_000, skill=0.15, seed=1)
    rare = choose_policy(p_up, bars, COST, False, min_trades=20, chosen_on="rows").sweep
    rare_and_best = rare.sort_values("net_return").iloc[-1]

    choice = choose_policy(
        p_up, bars, COST, False, min_trades=int(rare_and_best.trades) + 1, chosen_on="rows"
    )

    assert (choice.record.entry, choice.record.exit) != (rare_and_best.entry, rare_and_best.exit)
    assert choice.policy.flat or choice.record.out_of_fold.trades > rare_and_best.trades
