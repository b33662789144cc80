"""The sweep's verdict: a planted edge survives the search, noise does not, and the Deflated
Sharpe Ratio is the paper's formula."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from arch.bootstrap import SPA
from scipy.stats import norm

from src.sweep.selection import (
    SIGNIFICANCE,
    _long_run_spread,
    deflated_sharpe_ratio,
    judge_search,
)

SAMPLES = 1_000
SWING = np.array([1, -1, 0.5, -0.5, 1, -1, 0.5, -0.5])  # symmetric: no skew, mean exactly 0
PLANTED = 0.03 + 0.005 * SWING  # 8 weeks beating buy-and-hold by 3% +- 0.5%


def _symmetric_noise(weeks: int, setups: int, seed: int) -> np.ndarray:
    """Columns whose weeks come in pairs +a, -a: every observed mean is exactly 0."""
    half = np.random.default_rng(seed).normal(0, 0.02, (weeks // 2, setups))
    return np.stack([half, -half], axis=1).reshape(weeks, setups)


def _sharpes_with_variance(trials: int, variance: float) -> np.ndarray:
    """`trials` Sharpes, half +c and half -c, whose sample variance (ddof=1) is `variance`."""
    c = math.sqrt(variance * (trials - 1) / trials)
    return np.resize([c, -c], trials)


def test_a_planted_edge_is_found_and_survives():
    noise = _symmetric_noise(8, 2, seed=0)
    excess = np.column_stack([noise[:, 0], PLANTED, noise[:, 1]])

    verdict = judge_search(excess, samples=SAMPLES, seed=0)

    assert verdict.best == 1 and verdict.sharpe > 0
    assert verdict.spa_p_value < SIGNIFICANCE and verdict.reality_check_p_value < SIGNIFICANCE
    assert verdict.deflated_sharpe > 0.95
    assert verdict.survives and (verdict.setups, verdict.weeks) == (3, 8)


@pytest.mark.parametrize("seed", range(5))
def test_noise_with_a_slight_edge_does_not_survive(seed):
    # Every setup is ahead by 0.1% a week, a twentieth of its weekly spread: no search could
    # tell that from luck in half a year.
    excess = 0.001 + _symmetric_noise(26, 5, seed)

    verdict = judge_search(excess, samples=SAMPLES, seed=seed)

    assert 0.1 <= verdict.spa_p_value < 1 and 0.1 <= verdict.reality_check_p_value < 1
    assert not verdict.survives


@pytest.mark.parametrize(
    "excess",
    [np.zeros((8, 3)), _symmetric_noise(26, 5, seed=0), -0.001 + _symmetric_noise(26, 5, seed=1)],
    ids=["every-setup-is-buy-and-hold", "zero-mean-noise", "all-behind"],
)
def test_no_setup_ahead_of_buy_and_hold_has_nothing_to_survive(excess):
    verdict = judge_search(excess, samples=SAMPLES, seed=0)

    assert verdict.spa_p_value == verdict.reality_check_p_value == 1.0
    assert not verdict.survives


def test_the_spa_is_studentized_and_the_reality_check_is_not():
    # A noise setup a hundred times as volatile: the raw Reality Check sees its wide resampled
    # means beat the edge; the studentized SPA sees the same setup as before.
    noise = _symmetric_noise(8, 1, seed=0)[:, 0]
    calm = judge_search(np.column_stack([PLANTED, noise]), samples=SAMPLES, seed=1)
    wild = judge_search(np.column_stack([PLANTED, 100 * noise]), samples=SAMPLES, seed=1)

    assert wild.spa_p_value == pytest.approx(calm.spa_p_value, abs=1 / SAMPLES)
    assert calm.reality_check_p_value < SIGNIFICANCE < 0.1 <= wild.reality_check_p_value


def test_the_long_run_spread_is_the_one_arch_recentres_with():
    # The same estimator as arch's own, so dividing by it first is idempotent if arch ever
    # studentizes with it.
    excess = np.random.default_rng(2).normal(0.001, [0.01, 0.05, 0.002], (30, 3))
    spa = SPA(np.zeros(30), -excess, block_size=5)
    spa._compute_variance()

    np.testing.assert_allclose(_long_run_spread(excess, 5) ** 2, spa._loss_diff_var, rtol=1e-12)


def test_more_trials_raise_the_luck_bar_and_deflate_the_same_best():
    results = [deflated_sharpe_ratio(PLANTED, _sharpes_with_variance(n, 4.0)) for n in (2, 4, 10)]
    results += [deflated_sharpe_ratio(PLANTED, _sharpes_with_variance(100, 4.0))]
    expected_max, deflated = zip(*results, strict=True)

    assert all(np.diff(expected_max) > 0) and all(np.diff(deflated) < 0)


def test_the_deflated_sharpe_ratio_is_the_papers_formula_by_hand():
    excess = np.array([3, 0, 0, 1]) / 100  # mean 1%, deviations 2, -1, -1, 0 (in %)
    sharpe = 1 / math.sqrt(2)  # sum of squared deviations 6 / 3 -> std sqrt(2)
    skewness = math.sqrt(2 / 3)  # m2 = 6/4, m3 = 6/4 -> m3 / m2^1.5
    kurtosis = 2.0  # m4 = 18/4 -> m4 / m2^2
    # Four setups tried, one with no Sharpe: N = 4, V = var(0.1, 0.3, 0.5) = 0.04.
    trials = np.array([0.1, 0.3, 0.5, np.nan])
    gamma = 0.5772156649015329
    expected_max = 0.2 * ((1 - gamma) * norm.ppf(3 / 4) + gamma * norm.ppf(1 - 1 / (4 * math.e)))
    under_root = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2  # 9/8 - 1/sqrt(3)
    deflated = norm.cdf((sharpe - expected_max) * math.sqrt(4 - 1) / math.sqrt(under_root))

    assert deflated_sharpe_ratio(excess, trials) == pytest.approx((expected_max, deflated))
    assert deflated == pytest.approx(0.8775, abs=1e-3)


def test_one_trial_sets_no_luck_bar_and_a_constant_best_has_no_sharpe():
    assert deflated_sharpe_ratio(PLANTED, np.array([2.0]))[0] == 0.0
    assert deflated_sharpe_ratio(np.full(8, 0.01), np.array([0.5, 1.0])) == (
        pytest.approx(deflated_sharpe_ratio(PLANTED, np.array([0.5, 1.0]))[0]),
        None,
    )


@pytest.mark.parametrize(
    ("columns", "best"),
    [
        ([PLANTED, PLANTED, PLANTED], 0),
        ([PLANTED - 0.01, PLANTED, PLANTED], 1),
    ],
)
def test_ties_go_to_the_lowest_index(columns, best):
    assert judge_search(np.column_stack(columns), samples=50, seed=0).best == best


_WITH_NAN = np.zeros((8, 3))
_WITH_NAN[2, 1] = np.nan


@pytest.mark.parametrize(
    ("excess", "samples", "message"),
    [
        (PLANTED, SAMPLES, r"2-D, weeks x setups; got shape \(8,\)"),
        (np.zeros((1, 3)), SAMPLES, r"at least 3 weeks and 1 setup; got 1 week\(s\) x 3"),
        (np.zeros((2, 3)), SAMPLES, r"at least 3 weeks"),
        (np.zeros((8, 0)), SAMPLES, r"x 0 setup\(s\)"),
        (
            _WITH_NAN,
            SAMPLES,
            r"finite; 1 NaN or infinite value\(s\), the first at week 2 of setup 1",
        ),
        (np.zeros((8, 3)), 0, r"samples must be at least 1; got 0"),
    ],
)
def test_bad_input_is_refused_with_what_was_wrong(excess, samples, message):
    with pytest.raises(ValueError, match=message):
        judge_search(excess, samples=samples, seed=0)


def test_the_same_seed_gives_the_same_verdict_in_plain_json_values():
    excess = np.column_stack([PLANTED, _symmetric_noise(8, 2, seed=3)])

    first = judge_search(excess, samples=SAMPLES, seed=7).to_dict()
    again = judge_search(excess.copy(), samples=SAMPLES, seed=7).to_dict()

    assert first == again
    assert json.loads(json.dumps(first)) == first
    assert all(type(value) in (bool, int, float, type(None)) for value in first.values())
