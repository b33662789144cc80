"""Degradation, drift and age of the production models, for `dev_check.py ml-models --dry-run`.

The training run stores, per feature, decile edges and bin shares of its training window
(`feature_reference`), so drift is measured later without keeping the old candles around.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from src.config import DegradationConfig
from src.ml.backtest import buy_and_hold, hold_log_growth, next_bars, simulate, strategy_stats
from src.ml.bootstrap import two_standard_errors
from src.ml.costs import abdi_ranaldo_spread
from src.ml.evaluation import probability_metrics
from src.ml.labels import build_dataset
from src.ml.live_health import TradedBars
from src.position_rule import TradingPolicy

N_BINS = 10
_EPSILON = 1e-4  # keeps an empty bin from making PSI infinite
# Price-level features (in price units) drift whenever the market trends, so their PSI would
# alarm most weeks; it is reported as a note. Drift alerts come from the scale-free features.
PRICE_LEVEL_FEATURES = frozenset({"close", "ema_20", "ema_50", "atr_14", "macd", "macd_signal"})


def feature_reference(features: pd.DataFrame) -> dict[str, dict[str, list[float]]]:
    """Inner decile edges and the share of rows in each bin, per feature."""
    reference = {}
    for name, values in features.items():
        edges = np.unique(np.quantile(values, np.linspace(0, 1, N_BINS + 1)[1:-1]))
        shares = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        reference[name] = {"edges": edges.tolist(), "shares": (shares / len(values)).tolist()}
    return reference


def population_stability_index(edges, shares, values: np.ndarray) -> float:
    """PSI of `values` against a reference binning (inner `edges`, expected `shares` per bin):
    sum((a - e) * ln(a / e))."""
    edges, expected = np.asarray(edges), np.asarray(shares)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    actual = np.clip(counts / max(len(values), 1), _EPSILON, None)
    expected = np.clip(expected, _EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class NewestTrading:
    """The set's saved policy on the newest rows, settled at the cost per side the set was
    chosen with, beside buy-and-hold at the same cost."""

    cost_per_side: float
    net_return: float
    trades: int
    buy_and_hold: float
    spread_now: float | None  # Abdi-Ranaldo's estimate on the newest candles, for comparison


@dataclass
class HealthReport:
    """What the dry-run found; `problems` empty means healthy."""

    age_days: float
    newest_rows: int
    newest_metrics: dict[str, float] | None
    psi: dict[str, float]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    newest_trading: NewestTrading | None = None

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def measured(self) -> bool:
        """Whether skill and drift were measured on newer candles (not only the age)."""
        return self.newest_metrics is not None

    @property
    def verdict(self) -> str:
        if not self.healthy:
            return "DEGRADED"
        return "OK" if self.measured else "NOT MEASURED (age only)"


def _newest_rows(metadata, candles: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    label = metadata.evaluation.label
    X, y = build_dataset(candles, label.horizon, label.threshold)
    after_training = X.index > pd.Timestamp(metadata.data.end)
    return X.loc[after_training], y.loc[after_training]


def traded_bars(
    metadata, ensemble, candles: pd.DataFrame, since: pd.Timestamp | None = None
) -> TradedBars | None:
    """What the set would have traded on the candles after its training window (and after
    `since`), settled as the holdout check settles; None when there is no such labelled row."""
    X_new, y_new = _newest_rows(metadata, candles)
    if since is not None:
        X_new, y_new = X_new.loc[X_new.index > since], y_new.loc[y_new.index > since]
    if y_new.empty:
        return None
    cost = metadata.policy.cost_per_side
    p_up = ensemble.predict_proba(X_new)[:, 1]
    bars = next_bars(candles, X_new.index)
    positions = TradingPolicy.from_record(metadata.policy).positions(p_up, bars.segment_starts)
    net = simulate(positions, bars, cost).net
    return TradedBars(p_up, y_new.to_numpy(), net, hold_log_growth(candles, bars, cost))


def assess_health(
    metadata, ensemble, candles: pd.DataFrame | None, config: DegradationConfig,
    now: datetime,
) -> HealthReport:
    """Age, skill on candles newer than the training data, and PSI drift per feature."""
    age_days = (pd.Timestamp(now) - pd.Timestamp(metadata.created_at)) / pd.Timedelta(days=1)
    report = HealthReport(age_days=age_days, newest_rows=0, newest_metrics=None, psi={})
    if age_days > config.max_model_age_days:
        report.problems.append(
            f"model is stale: trained {age_days:.1f} days ago (max {config.max_model_age_days})"
        )
    if candles is None:
        report.notes.append("no newer candles available: degradation and drift not measured")
        return report
    X_new, y_new = _newest_rows(metadata, candles)
    report.newest_rows = len(y_new)
    if len(y_new) < config.min_samples:
        report.notes.append(
            f"only {len(y_new)} labelled rows after the training data (ends "
            f"{metadata.data.end}); need {config.min_samples} to judge degradation and drift"
        )
        return report
    p_up = ensemble.predict_proba(X_new)[:, 1]
    _check_degradation(report, metadata, p_up, y_new, config)
    _check_drift(report, metadata, X_new, config)
    report.newest_trading = _newest_trading(metadata, p_up, X_new.index, candles)
    return report


def _newest_trading(metadata, p_up: np.ndarray, rows: pd.Index, candles) -> NewestTrading:
    cost = metadata.policy.cost_per_side
    bars = next_bars(candles, rows)
    policy = TradingPolicy.from_record(metadata.policy)
    result = strategy_stats(
        simulate(policy.positions(p_up, bars.segment_starts), bars, cost), bars, cost
    )
    held = buy_and_hold(candles, rows[0], bars.settled_at[-1])
    held_result = strategy_stats(simulate(np.ones(len(held.index)), held, cost), held, cost)
    newest_candles = candles.loc[rows[0] :]
    return NewestTrading(
        cost_per_side=cost,
        net_return=result.net_return,
        trades=result.trades,
        buy_and_hold=held_result.net_return,
        spread_now=abdi_ranaldo_spread(newest_candles).spread,
    )


def _check_degradation(report, metadata, p_up, y_new, config) -> None:
    skill = metadata.evaluation.skill_metric
    report.newest_metrics = probability_metrics(y_new, p_up)
    recorded = getattr(metadata.ensemble_metrics, skill)
    drop = recorded - report.newest_metrics[skill]
    limit = max(config.max_metric_drop, two_standard_errors(skill, len(y_new)))
    if drop > limit:
        report.problems.append(
            f"degraded: ensemble {skill} {report.newest_metrics[skill]:.3f} on the {len(y_new)} "
            f"newest rows vs {recorded:.3f} on its holdout (drop {drop:.3f} > {limit:.3f}, the "
            f"larger of max_metric_drop {config.max_metric_drop} and 2 standard errors)"
        )


def _check_drift(report, metadata, X_new, config) -> None:
    reference = metadata.feature_reference
    report.psi = {
        name: population_stability_index(bins.edges, bins.shares, X_new[name].to_numpy())
        for name, bins in reference.items()
    }
    drifted = {name: value for name, value in report.psi.items() if value > config.psi_alert}
    alerting = {n: v for n, v in drifted.items() if n not in PRICE_LEVEL_FEATURES}
    moved = {n: v for n, v in drifted.items() if n in PRICE_LEVEL_FEATURES}
    if alerting:
        listed = ", ".join(f"{name} {value:.2f}" for name, value in sorted(alerting.items()))
        report.problems.append(f"feature drift: PSI > {config.psi_alert} for {listed}")
    if moved:
        listed = ", ".join(f"{name} {value:.2f}" for name, value in sorted(moved.items()))
        report.notes.append(
            f"price-level features left their training distribution (PSI > {config.psi_alert}): "
            f"{listed}; expected when the market trends, but the trees never saw these levels"
        )
    warned = [n for n, v in report.psi.items() if config.psi_warning < v <= config.psi_alert]
    if warned:
        report.notes.append(f"PSI above {config.psi_warning} (watch): {', '.join(sorted(warned))}")
