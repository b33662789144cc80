"""Plain-text tables of a model set's metadata, for the CLIs: at most 100 columns wide."""

from __future__ import annotations

import textwrap

from src.config import MODEL_NAMES
from src.ml.costs import describe_costs
from src.ml.policy import TradingPolicy
from src.reports.figures import format_metric, gate_verdict
from src.reports.verdict import verdict_sentences

WIDTH = 100
COLUMNS = {  # metric -> header, 8 columns each
    "f1_score": "F1 w",
    "f1_up": "F1 up",
    "mcc": "MCC",
    "balanced_accuracy": "bal.acc",
    "roc_auc": "AUC",
    "log_loss": "logloss",
}
_STRATEGY_COLUMNS = {  # StrategyStats field -> (header, format)
    "net_return": ("net", "+.2%"),
    "gross_return": ("gross", "+.2%"),
    "trades": ("trades", "d"),
    "time_in_market": ("in mkt", ".0%"),
    "max_drawdown": ("max DD", ".1%"),
    "sharpe": ("Sharpe", ".2f"),
    "hit_rate": ("hit", ".0%"),
}


def _wrapped(text: str, first: str = "", indent: str = "  ") -> str:
    """`text` wrapped to the console width: `first` opens it, later lines are indented."""
    return textwrap.fill(text, WIDTH, initial_indent=first, subsequent_indent=indent)


def metrics_table(metadata) -> str:
    """Holdout metrics of models, ensemble and baselines, plus CV MCC and fit time."""
    holdout = metadata.evaluation.holdout
    header = f"{'':15}" + "".join(f"{name:>8}" for name in COLUMNS.values())
    lines = [
        _wrapped(
            f"Holdout {holdout.start} .. {holdout.end} ({holdout.samples} rows); CV = purged "
            "TimeSeriesSplit folds of the training window; F1 w = weighted over both classes"
        ),
        header + f"{'CV MCC':>15}{'fit s':>7}",
    ]
    # The seed's model order, whatever order the JSON keys were stored in.
    rows = [(name, metadata.model_metrics[name]) for name in MODEL_NAMES]
    rows.append(("ENSEMBLE", metadata.ensemble_metrics))
    rows += list(metadata.baseline_metrics.items())
    for name, metrics in rows:
        line = f"{name:15}" + "".join(f"{format_metric(getattr(metrics, c)):>8}" for c in COLUMNS)
        if hasattr(metrics, "cv_mcc_mean"):
            line += f"{metrics.cv_mcc_mean:>9.3f}±{metrics.cv_mcc_std:.3f}"
            line += f"{metrics.fit_seconds:>7.1f}"
        lines.append(line)
    return "\n".join(lines)


def gate_summary(gate) -> str:
    lines = [f"Quality gate: {gate_verdict(gate.passed, gate.forced)}"]
    lines += [
        _wrapped(c.reason, f"  {'ok  ' if c.passed else 'FAIL'} ", " " * 7) for c in gate.checks
    ]
    return "\n".join(lines)


def trading_table(metadata) -> str:
    """The saved policy on the holdout beside buy-and-hold and flat, after costs."""
    policy, trading = metadata.policy, metadata.trading_check
    lines = [
        _wrapped(
            f"Trading on the holdout, costs {policy.cost_per_side:.3%} per side; policy "
            f"({TradingPolicy.from_record(policy).describe()}) chosen on {policy.chosen_on}"
        ),
        f"{'':15}" + "".join(f"{header:>9}" for header, _ in _STRATEGY_COLUMNS.values()),
    ]
    for name in ("policy", "buy_and_hold", "flat"):
        stats = getattr(trading, name)
        cells = (
            format_metric(getattr(stats, field), spec)
            for field, (_, spec) in _STRATEGY_COLUMNS.items()
        )
        lines.append(f"{name:15}" + "".join(f"{cell:>9}" for cell in cells))
    skipped = trading.policy.skipped_at_gaps
    if skipped:
        lines.append(f"{skipped} decision(s) stayed flat: their next candle is missing (a gap)")
    return "\n".join(lines)


def costs_line(costs) -> str:
    """The spread the candles imply and what each side of a trade is charged."""
    if costs is None:
        return "Costs: fee and slippage only (a set from before the spread was estimated)"
    autocorrelation = format_metric(costs.return_autocorrelation_lag1, "+.3f")
    estimates = ", ".join(
        f"{name} {format_metric(estimate.spread, '.3%')} ({estimate.pairs} pairs)"
        for name, estimate in (("Abdi-Ranaldo", costs.abdi_ranaldo), ("Roll", costs.roll))
    )
    return _wrapped(
        f"Costs: spread the candles imply ({costs.window_start[:16]} .. {costs.window_end[:16]}):"
        f" {estimates}; lag-1 autocorrelation of returns {autocorrelation}; charged "
        f"{describe_costs(costs)}; round trip {2 * costs.cost_per_side:.3%}"
    )


def onnx_line(onnx) -> str:
    """Whether the set carries ONNX copies for the live bot, and how close they came."""
    if onnx is None:
        return "ONNX copies: none (a set from before ONNX export, pickle-only)"
    if onnx.status != "exported":
        return _wrapped(f"ONNX copies REFUSED, the set is pickle-only: {onnx.reason}")
    worst = max(onnx.max_abs_diff.values())
    return _wrapped(
        f"ONNX copies exported: max |P(up) ONNX - pickle| {worst:.1e} on {onnx.rows_compared} "
        f"holdout rows (bound {onnx.bound:g})"
    )


def tuning_summary(tuning) -> str:
    """What the hyperparameter search moved, on the CV of the training window (not the holdout)."""
    if tuning is None or not tuning.enabled:
        return "Tuning: off (base.yaml's hyperparameters)"
    parts = [
        f"{name} {format_metric(model.default_cv_log_loss, '.4f')} -> "
        f"{format_metric(model.best_cv_log_loss, '.4f')} ({model.trials} trials, "
        f"{model.pruned} pruned, {model.failed} failed"
        + (", stopped by the time budget)" if model.stopped_by == "timeout" else ")")
        for name, model in tuning.models.items()
    ]
    return _wrapped(
        "Tuning, CV log loss of the training window, untuned -> chosen: " + "; ".join(parts)
    )


def weights_line(ensemble) -> str:
    """The ensemble weights and the out-of-fold log loss they were chosen by (records of schema
    version 5 on), beside equal weights'."""
    weights = ", ".join(f"{name} {ensemble.weights[name]:.2f}" for name in MODEL_NAMES)
    choice = ensemble.weight_choice
    if choice is None:
        return f"Ensemble weights (from out-of-fold log loss): {weights}"
    failed = "" if choice.converged else "; the optimiser failed, so they are equal"
    return _wrapped(
        f"Ensemble weights: {weights}; log loss {choice.log_loss:.6f} (equal weights "
        f"{choice.equal_weights_log_loss:.6f}) on the {choice.rows} {choice.chosen_on}{failed}"
    )


def run_summary(metadata) -> str:
    data = metadata.data
    return "\n".join(
        [
            _wrapped(
                f"Data: {data.source} {data.symbol} {data.timeframe}, {data.candles} candles "
                f"{data.start} .. {data.end} ({data.gaps} gaps)"
            ),
            _wrapped(
                f"FeatureManager {metadata.feature_manager_version}; trained "
                f"{metadata.created_at}; next retrain {metadata.training_info.next_retrain}"
            ),
            metrics_table(metadata),
            tuning_summary(metadata.tuning),
            weights_line(metadata.ensemble_metrics),
            onnx_line(metadata.onnx),
            costs_line(metadata.costs),
            trading_table(metadata),
            gate_summary(metadata.gate),
            *(_wrapped(sentence) for sentence in verdict_sentences(metadata)),
        ]
    )


def health_summary(health) -> str:
    """The dry-run's degradation, drift and age findings."""
    lines = [f"Model age: {health.age_days:.1f} days; newest labelled rows: {health.newest_rows}"]
    if health.newest_metrics is not None:
        metrics = health.newest_metrics
        lines.append(
            "On candles newer than the training data: "
            + ", ".join(f"{name} {format_metric(metrics[name])}" for name in COLUMNS)
        )
    if (trading := health.newest_trading) is not None:
        spread_now = "n/a" if trading.spread_now is None else f"{trading.spread_now:.2%}"
        lines.append(
            f"The saved policy on those rows, at the set's {trading.cost_per_side:.3%} per side: "
            f"net {trading.net_return:+.2%} over {trading.trades} trades (buy-and-hold "
            f"{trading.buy_and_hold:+.2%}); the spread they imply: {spread_now}"
        )
    if health.psi:
        lines.append(
            "PSI vs training window: "
            + ", ".join(f"{name} {value:.3f}" for name, value in health.psi.items())
        )
    lines += [f"  note: {note}" for note in health.notes]
    lines += [f"  PROBLEM: {problem}" for problem in health.problems]
    lines.append(f"Health: {health.verdict}")
    return "\n".join(lines)


def status_table(metadata, health, report_path) -> str:
    """The dry-run's compact answer: what is live, how good it was, how it is doing now."""
    ensemble, gate, data = metadata.ensemble_metrics, metadata.gate, metadata.data
    newest = health.newest_metrics or {}
    rows = [
        ("model set", metadata.version_control.model_hash[:19]),
        ("trained", f"{metadata.created_at[:19]} ({health.age_days:.1f} days ago)"),
        ("data", f"{data.source} {data.symbol} {data.timeframe}"),
        ("files", "verified (sha256)"),
        ("gate", gate_verdict(gate.passed, gate.forced)),
        (
            "holdout F1 / MCC",
            f"{format_metric(ensemble.f1_score)} / {format_metric(ensemble.mcc)}",
        ),
        (
            "newest F1 / MCC",
            f"{format_metric(newest.get('f1_score'))} / "
            f"{format_metric(newest.get('mcc'))} on {health.newest_rows} rows",
        ),
        ("max PSI", format_metric(max(health.psi.values())) if health.psi else "n/a"),
        ("health", health.verdict),
        ("report", str(report_path)),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def version_line(version) -> str:
    """One archived set, for `dev_check.py history`: what it is, then what it was trained on and
    how it did on its own holdout (MCC, and its policy's net return after costs beside
    buy-and-hold's), so versions compare at a glance."""
    marker = "* " if version.live else "  "
    if version.metadata is None:
        return f"{marker}{version.name}  NOT RESTORABLE: {version.problem}"
    metadata = version.metadata
    ensemble, data = metadata.ensemble_metrics, metadata.data
    trading = metadata.trading_check
    return (
        f"{marker}{version.name}  trained {metadata.created_at[:19]}  "
        f"{data.source} {data.symbol} {data.timeframe}  "
        f"gate {gate_verdict(metadata.gate.passed, metadata.gate.forced)}\n"
        f"    window {data.start[:16]} .. {data.end[:16]} UTC; holdout MCC "
        f"{format_metric(ensemble.mcc)}, F1 {format_metric(ensemble.f1_score)}\n"
        f"    holdout net after costs {format_metric(trading.policy.net_return, '+.2%')} over "
        f"{trading.policy.trades} trades "
        f"(buy-and-hold {format_metric(trading.buy_and_hold.net_return, '+.2%')})"
        + (f"\n    {version.retirement.describe()}" if version.retirement else "")
    )
