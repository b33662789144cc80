"""Plain-text tables of a model set's metadata, for the CLIs."""

from __future__ import annotations

import math

from src.config import MODEL_NAMES

COLUMNS = ("f1_score", "mcc", "balanced_accuracy", "roc_auc", "log_loss", "accuracy")


def format_metric(value, spec: str = ".3f") -> str:
    """A number for display; None and NaN (a metric undefined on these rows) become "n/a"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec) if isinstance(value, float) else str(value)


def gate_verdict(passed: bool, forced: bool) -> str:
    if passed:
        return "PASSED"
    return "FORCED" if forced else "REJECTED"


def metrics_table(metadata) -> str:
    """Holdout metrics of models, ensemble and baselines, plus CV F1 and fit time."""
    holdout = metadata.evaluation.holdout
    header = f"{'':32}" + "".join(f"{name:>18}" for name in COLUMNS)
    header += f"{'cv_f1 mean±std':>18}{'fit s':>8}"
    lines = [
        f"Holdout {holdout.start} .. {holdout.end} ({holdout.samples} rows); "
        "CV = purged TimeSeriesSplit folds of the training window",
        header,
    ]
    # The seed's model order, whatever order the JSON keys were stored in.
    rows = [(name, metadata.model_metrics[name]) for name in MODEL_NAMES]
    rows.append(("ENSEMBLE", metadata.ensemble_metrics))
    rows += [(f"baseline:{name}", m) for name, m in metadata.baseline_metrics.items()]
    for name, metrics in rows:
        line = f"{name:32}" + "".join(f"{format_metric(getattr(metrics, c)):>18}" for c in COLUMNS)
        if hasattr(metrics, "cv_f1_mean"):
            line += f"{metrics.cv_f1_mean:>11.3f}±{metrics.cv_f1_std:.3f}"
            line += f"{metrics.fit_seconds:>8.1f}"
        lines.append(line)
    return "\n".join(lines)


def gate_summary(gate) -> str:
    lines = [f"Quality gate: {gate_verdict(gate.passed, gate.forced)}"]
    lines += [f"  {'ok ' if c.passed else 'FAIL'} {c.reason}" for c in gate.checks]
    return "\n".join(lines)


def trading_summary(trading: dict) -> str:
    return (
        f"Trading check on the holdout (long when P(up) > {trading['entry_probability']}, "
        f"fee {trading['fee_rate']:.4%}/side): signal {trading['signal_total_return']:+.2%} "
        f"(max drawdown {trading['signal_max_drawdown']:.2%}, {trading['signal_trades']} trades, "
        f"hit rate {format_metric(trading['signal_hit_rate'])}) vs buy-and-hold "
        f"{trading['buy_and_hold_return']:+.2%}"
    )


def run_summary(metadata) -> str:
    data = metadata.data
    return "\n".join(
        [
            f"Data: {data.source} {data.symbol} {data.timeframe}, "
            f"{data.candles} candles {data.start} .. {data.end} ({data.gaps} gaps)",
            f"FeatureManager {metadata.feature_manager_version}; "
            f"trained {metadata.created_at}; "
            f"next retrain {metadata.training_info.next_retrain}",
            metrics_table(metadata),
            "Ensemble weights (from out-of-fold log loss): "
            + ", ".join(
                f"{name} {metadata.ensemble_metrics.weights[name]:.2f}"
                for name in MODEL_NAMES
            ),
            trading_summary(metadata.trading_check),
            gate_summary(metadata.gate),
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
    """One archived set, for `dev_check.py history`."""
    marker = "* " if version.live else "  "
    if version.metadata is None:
        return f"{marker}{version.name}  NOT RESTORABLE: {version.problem}"
    metadata = version.metadata
    ensemble, data = metadata.ensemble_metrics, metadata.data
    return (
        f"{marker}{version.name}  trained {metadata.created_at[:19]}  "
        f"{data.source} {data.symbol} {data.timeframe}  "
        f"holdout F1 {format_metric(ensemble.f1_score)} MCC {format_metric(ensemble.mcc)}  "
        f"gate {gate_verdict(metadata.gate.passed, metadata.gate.forced)}"
    )
