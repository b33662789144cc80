"""Is the sweep's best setup better than buy-and-hold, or only the luckiest of all it tried?

`excess[t, k]` is setup k's week-t net return after costs relative to buy-and-hold,
(1 + net) / (1 + buy_and_hold) - 1. Both answers pay for every setup tried:
- Hansen's SPA (2005) and White's Reality Check (2000), on arch's stationary bootstrap over the
  weeks: their null is that no setup beats buy-and-hold on mean weekly excess;
- Bailey & López de Prado's Deflated Sharpe Ratio (2014): the probability that the best setup's
  true Sharpe exceeds the Sharpe the best of that many trials reaches by luck.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from arch.bootstrap import SPA
from scipy.stats import kurtosis, norm, skew

# The verdict's level: when no setup beats buy-and-hold, one sweep in twenty still proposes a
# config diff. The field's usual level will do, since the diff is read by a person and never
# applied automatically (SPEC §18).
SIGNIFICANCE = 0.05
# Hansen's re-centring rule compares each mean with sqrt(2 log log T) standard errors: below 3
# weeks log log T < 0, and arch warns and re-centres nothing, which is no longer his test.
MIN_WEEKS = 3
# Excess returns are fractions: a weekly spread below this is a constant column (a setup that is
# buy-and-hold itself earns exactly 0 each week), studentized as if it had this spread.
_MIN_SPREAD = 1e-12


@dataclass(frozen=True)
class SearchVerdict:
    """The best setup of a sweep and whether it survives the search that found it."""

    best: int  # column with the highest compounded excess; ties -> the lowest index
    # Hansen's SPA, consistent p-value, studentized; 1.0 when no setup is ahead on average
    spa_p_value: float
    reality_check_p_value: float  # White's Reality Check: the same resamples, not studentized
    sharpe: float | None  # the best's per-week Sharpe of its excess; None if constant
    expected_max_sharpe: float  # SR_0: the Sharpe the best of `setups` trials reaches by luck
    deflated_sharpe: float | None  # P(the best's true Sharpe > SR_0); None when undefined
    setups: int
    weeks: int
    survives: bool  # spa_p_value < SIGNIFICANCE

    def to_dict(self) -> dict:
        return asdict(self)


def judge_search(excess: np.ndarray, samples: int, seed: int) -> SearchVerdict:
    """Judge the search behind `excess` (weeks x setups) with `samples` bootstrap resamples of
    the weeks drawn from `seed`; the same inputs give the same verdict."""
    excess = _checked(excess, samples)
    weeks, setups = excess.shape
    best = int(np.argmax(np.prod(1 + excess, axis=0)))  # argmax: the first of equal maxima
    spa_p_value, reality_check_p_value = _bootstrap_p_values(excess, samples, seed)
    sharpes = _sharpes(excess)
    expected_max_sharpe, deflated_sharpe = deflated_sharpe_ratio(excess[:, best], sharpes)
    return SearchVerdict(
        best=best,
        spa_p_value=spa_p_value,
        reality_check_p_value=reality_check_p_value,
        sharpe=float(sharpes[best]) if np.isfinite(sharpes[best]) else None,
        expected_max_sharpe=expected_max_sharpe,
        deflated_sharpe=deflated_sharpe,
        setups=setups,
        weeks=weeks,
        survives=spa_p_value < SIGNIFICANCE,
    )


def deflated_sharpe_ratio(
    excess_of_best: np.ndarray, trial_sharpes: np.ndarray
) -> tuple[float, float | None]:
    """(SR_0, DSR) of Bailey & López de Prado (2014) for the best setup's weekly excess.

    `trial_sharpes` holds every setup tried, NaN where its Sharpe is undefined: all count in N,
    the defined ones make the variance V. DSR is None when the best's Sharpe is undefined or the
    term under the root is not positive.
    """
    excess_of_best = np.asarray(excess_of_best, dtype=float)
    expected_max = _expected_max_sharpe(np.asarray(trial_sharpes, dtype=float))
    sharpe = float(_sharpes(excess_of_best[:, None])[0])
    if not np.isfinite(sharpe):
        return expected_max, None
    # bias=True: the plain sample moments the paper writes its formula with, defined from 2 weeks
    # on; the bias-corrected ones need 3 (skew) and 4 (kurtosis) and differ most just there.
    skewness = float(skew(excess_of_best, bias=True))
    pearson_kurtosis = float(kurtosis(excess_of_best, fisher=False, bias=True))
    # At least (1 - skew * sharpe / 2)^2 as kurtosis >= 1 + skew^2: 0 only for two-point series.
    under_root = 1 - skewness * sharpe + (pearson_kurtosis - 1) / 4 * sharpe**2
    if under_root <= 0:
        return expected_max, None
    z = (sharpe - expected_max) * math.sqrt(len(excess_of_best) - 1) / math.sqrt(under_root)
    return expected_max, float(norm.cdf(z))


def _checked(excess: np.ndarray, samples: int) -> np.ndarray:
    excess = np.asarray(excess, dtype=float)
    if excess.ndim != 2:
        raise ValueError(f"excess must be 2-D, weeks x setups; got shape {excess.shape}")
    weeks, setups = excess.shape
    if weeks < MIN_WEEKS or setups < 1:
        raise ValueError(
            f"excess needs at least {MIN_WEEKS} weeks and 1 setup; got {weeks} week(s) x "
            f"{setups} setup(s)"
        )
    bad = np.argwhere(~np.isfinite(excess))
    if len(bad):
        raise ValueError(
            f"excess must be finite; {len(bad)} NaN or infinite value(s), the first at week "
            f"{bad[0][0]} of setup {bad[0][1]}"
        )
    if samples < 1:
        raise ValueError(f"samples must be at least 1; got {samples}")
    return excess


def _bootstrap_p_values(excess: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """(SPA consistent p-value, Reality Check p-value), both on the same resamples.

    arch's SPA (arch/bootstrap/multiple_comparison.py, SPA.compute; read in 8.0) takes losses:
    buy-and-hold loses 0 and a setup -excess, so the loss differential is the excess. Its p-value
    is the share of resamples whose largest re-centred mean differential exceeds the largest
    mean; "upper" re-centres every setup (White's Reality Check), "consistent" only those within
    sqrt(2 log log T) standard errors below 0 (Hansen's SPA_c). But its `studentize` only labels
    the result, dividing nothing, so each column is divided here by its fixed long-run spread:
    Hansen's statistic, with the re-centring unchanged (each mean against its own spread), and
    idempotent should arch one day divide by the same estimator.
    """
    if excess.mean(axis=0).max() <= 0:
        # No setup beat buy-and-hold on average, so there is no luck to explain (Hansen's statistic
        # max(0, ...) is at its floor). arch counts only resamples strictly above the observed
        # maximum and would give 0 when every setup is buy-and-hold itself.
        return 1.0, 1.0
    block_size = math.isqrt(len(excess))  # arch's default, passed so the spread uses it too
    resampling = dict(block_size=block_size, reps=samples, bootstrap="stationary", seed=seed)

    def p_value(differential: np.ndarray, studentize: bool, kind: str) -> float:
        spa = SPA(np.zeros(len(differential)), -differential, studentize=studentize, **resampling)
        spa.compute()
        return float(spa.pvalues[kind])

    studentized = excess / np.maximum(_long_run_spread(excess, block_size), _MIN_SPREAD)
    return p_value(studentized, True, "consistent"), p_value(excess, False, "upper")


def _long_run_spread(excess: np.ndarray, block_size: int) -> np.ndarray:
    """Each column's omega of Hansen (2005): the stationary bootstrap's standard deviation of
    sqrt(T) x mean in closed form, autocovariances weighted by kappa(T, lag) with q = 1/block."""
    weeks, keep = len(excess), 1 - 1 / block_size
    demeaned = excess - excess.mean(axis=0)
    lags = np.arange(1, weeks)
    kappa = (1 - lags / weeks) * keep**lags + lags / weeks * keep ** (weeks - lags)
    # lag x setup; judge_search's weeks >= MIN_WEEKS keep it non-empty
    autocovariances = np.array([(demeaned[:-lag] * demeaned[lag:]).sum(axis=0) for lag in lags])
    variance = ((demeaned**2).sum(axis=0) + 2 * kappa @ autocovariances) / weeks
    return np.sqrt(np.maximum(variance, 0.0))


def _sharpes(excess: np.ndarray) -> np.ndarray:
    """Each column's per-week Sharpe, mean / std (ddof=1); NaN for a constant column."""
    if len(excess) < 2:
        return np.full(excess.shape[1], np.nan)
    constant = np.ptp(excess, axis=0) == 0
    spread = np.where(constant, 1.0, excess.std(axis=0, ddof=1))
    return np.where(constant, np.nan, excess.mean(axis=0) / spread)


def _expected_max_sharpe(trial_sharpes: np.ndarray) -> float:
    """SR_0: sqrt(V) times the expected maximum of N standard normals (the paper's Gumbel
    approximation); 0 with one trial or fewer than 2 defined Sharpes to measure V."""
    trials, defined = len(trial_sharpes), trial_sharpes[np.isfinite(trial_sharpes)]
    if trials < 2 or len(defined) < 2:
        return 0.0
    gamma = np.euler_gamma
    max_of_normals = (1 - gamma) * norm.ppf(1 - 1 / trials)
    max_of_normals += gamma * norm.ppf(1 - 1 / (trials * math.e))
    return float(math.sqrt(np.var(defined, ddof=1)) * max_of_normals)
