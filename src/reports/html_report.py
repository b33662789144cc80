"""One self-contained HTML report of a training run: tables plus inline PNG plots, no URLs.

The page is laid out by the Jinja2 template templates/report.html.j2 (autoescaped, so every
value from the run or its metadata is shown as text, never as markup). This module computes what
the template shows but does not hold: the plots (src/reports/plots.py) and the rows derived from
the run itself rather than read off the metadata record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from src.config import DegradationConfig
from src.ml.backtest import position_before
from src.ml.costs import describe_costs
from src.ml.policy import TradingPolicy
from src.reports import plots
from src.reports.figures import format_metric, gate_verdict
from src.reports.templating import TEMPLATES, when
from src.reports.verdict import verdict_sentences

if TYPE_CHECKING:
    from src.ml.monitoring import HealthReport
    from src.ml.training import TrainingRun
    from src.registry.metadata import TrainingMetadata

_DEFAULT_DEGRADATION = DegradationConfig()
_HOLDOUT_COLUMNS = {"f1_score": "F1 (weighted)", "f1_up": "F1 up", "mcc": "MCC"}
_HOLDOUT_COLUMNS |= {"balanced_accuracy": "bal. acc."}
_HOLDOUT_COLUMNS |= {"roc_auc": "ROC-AUC", "log_loss": "log loss", "accuracy": "accuracy"}
_HOLDOUT_COLUMNS |= {"precision": "precision", "recall": "recall"}
_CV_COLUMNS = {"cv_f1": "F1", "cv_mcc": "MCC", "cv_roc_auc": "ROC-AUC"}
_FOLD_METRICS = {"f1_score": "F1", "mcc": "MCC", "roc_auc": "ROC-AUC"}




@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[list[str]]
    groups: list[tuple[str, int]] | None = None


@dataclass(frozen=True)
class _PlotsAndTable:
    plots: list[plots.Plot]
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class _Confusion:
    plot: plots.Plot
    tn: int
    fp: int
    fn: int
    tp: int


def _holdout(run: TrainingRun) -> tuple[np.ndarray, pd.DataFrame]:
    return run.labels.iloc[run.split.holdout_start :].to_numpy(), run.holdout_p_up


def _cv_cell(metrics, key: str) -> str:
    if not hasattr(metrics, f"{key}_mean"):  # baselines are not cross-validated
        return "n/a"
    mean, std = getattr(metrics, f"{key}_mean"), getattr(metrics, f"{key}_std")
    return f"{format_metric(mean)} ± {format_metric(std)}"


def _metrics(metadata: TrainingMetadata) -> _Table:
    named = [*metadata.model_metrics.items(), ("ensemble", metadata.ensemble_metrics)]
    named += [(f"baseline: {name}", m) for name, m in metadata.baseline_metrics.items()]
    rows = [
        [name, *(format_metric(getattr(m, key)) for key in _HOLDOUT_COLUMNS)]
        + [_cv_cell(m, key) for key in _CV_COLUMNS]
        for name, m in named
    ]
    groups = [
        ("", 1),
        ("holdout", len(_HOLDOUT_COLUMNS)),
        ("CV (purged folds of the training window), mean ± std", len(_CV_COLUMNS)),
    ]
    header = ["", *_HOLDOUT_COLUMNS.values(), *_CV_COLUMNS.values()]
    return _Table(header, rows, groups)


def _cv_folds(run: TrainingRun, metadata: TrainingMetadata) -> _PlotsAndTable:
    folds, scores = metadata.evaluation.cv.folds, run.cv.fold_metrics
    header = ["fold", "test rows from (UTC)", "to", *(f"{n}: F1 · MCC · AUC" for n in scores)]
    rows = [
        [str(i), when(fold.test_start), when(fold.test_end)]
        + [
            " · ".join(format_metric(per_fold[i - 1][key]) for key in _FOLD_METRICS)
            for per_fold in scores.values()
        ]
        for i, fold in enumerate(folds, start=1)
    ]
    return _PlotsAndTable(plots.cv_folds(scores, _FOLD_METRICS), header, rows)


def _confusion(y_true: np.ndarray, p_up: pd.DataFrame) -> _Confusion:
    predicted = (p_up["ensemble"] > 0.5).astype("int64")
    matrix = confusion_matrix(y_true, predicted, labels=[0, 1])
    (tn, fp), (fn, tp) = matrix.tolist()
    return _Confusion(plots.confusion(matrix), tn, fp, fn, tp)


def _importance(run: TrainingRun) -> plots.Plot | None:
    raw = {name: getattr(model, "feature_importances_", None) for name, model in run.models.items()}
    shares = {
        name: np.asarray(v) / np.sum(v)
        for name, v in raw.items()
        if v is not None and np.sum(v) > 0
    }
    return plots.importance(np.asarray(run.features.columns), shares) if shares else None


_STRATEGY_ROWS = (  # label, StrategyStats field, format
    ("net return (after costs)", "net_return", "+.2%"),
    ("gross return (before costs)", "gross_return", "+.2%"),
    ("fee drag (gross - net)", "fee_drag", ".2%"),
    ("trades", "trades", "d"),
    ("time in market", "time_in_market", ".1%"),
    ("average net return per trade", "avg_trade_net_return", "+.3%"),
    ("average gross return per trade (before costs)", "avg_trade_gross_return", "+.3%"),
    ("round-trip cost", "round_trip_cost", ".3%"),
    ("hit rate (winning trades)", "hit_rate", ".1%"),
    ("profit factor", "profit_factor", ".2f"),
    ("max drawdown", "max_drawdown", ".2%"),
    ("Sharpe (annualised)", "sharpe", ".2f"),
    ("Sortino (annualised)", "sortino", ".2f"),
    ("decisions flat at a gap (next candle missing)", "skipped_at_gaps", "d"),
)
_SIDES = {"policy": "saved policy", "buy_and_hold": "buy and hold", "flat": "flat"}
_IN_SAMPLE_COLUMNS = {"f1_score": "F1", "mcc": "MCC", "roc_auc": "ROC-AUC"}


def _trading(run: TrainingRun, metadata: TrainingMetadata) -> _PlotsAndTable:
    """The saved policy's equity before and after costs (plotted where each result is
    realised, with its trades) and its figures beside buy-and-hold and flat."""
    policy, held = run.trading.policy, run.trading.buy_and_hold
    positions = policy.simulation.positions
    before = position_before(positions, policy.bars.continues)
    curves = plots.EquityCurves(
        settled_at=policy.bars.settled_at,
        gross=np.cumprod(1.0 + policy.simulation.gross),
        net=np.cumprod(1.0 + policy.simulation.net),
        held_at=held.bars.settled_at,
        buy_and_hold=np.cumprod(1.0 + held.simulation.net),
        entries=np.flatnonzero((positions != 0) & (positions != before)),
        exits=np.flatnonzero((before != 0) & (positions != before)) - 1,
    )
    name = "flat policy" if run.policy.policy.flat else "saved policy"
    trading = metadata.trading_check
    rows = [
        [label, *(format_metric(getattr(getattr(trading, side), key), spec) for side in _SIDES)]
        for label, key, spec in _STRATEGY_ROWS
    ]
    return _PlotsAndTable([plots.equity(curves, name)], ["", *_SIDES.values()], rows)


def _sweeps(run: TrainingRun, metadata: TrainingMetadata) -> list[plots.Plot]:
    policy = metadata.policy
    offset = 0.0 if policy.entry is None else round(policy.entry - policy.exit, 2)
    return [
        plots.threshold_sweep(sweep, offset, policy.entry, policy.min_trades, title)
        for sweep, title in (
            (run.policy.sweep, "out-of-fold rows (chosen here)"),
            (run.trading.sweep, "holdout (NOT used for the choice)"),
        )
    ]


def _in_sample(metadata: TrainingMetadata) -> _Table:
    """Scores on the rows each model was fitted on beside the holdout: overfitting at a glance."""
    holdout = {**metadata.model_metrics, "ensemble": metadata.ensemble_metrics}
    fitted = metadata.in_sample_train_metrics
    rows = [
        [name]
        + [format_metric(getattr(fitted[name], key)) for key in _IN_SAMPLE_COLUMNS]
        + [format_metric(getattr(holdout[name], key)) for key in _IN_SAMPLE_COLUMNS]
        for name in holdout
    ]
    groups = [("", 1), ("fitted rows (in-sample)", 3), ("holdout", 3)]
    return _Table(["", *_IN_SAMPLE_COLUMNS.values(), *_IN_SAMPLE_COLUMNS.values()], rows, groups)


def _params_text(params: dict) -> str:
    shown = (
        f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in sorted(params.items())
    )
    return ", ".join(shown) or "untuned (no trial completed)"


def _tuning(metadata: TrainingMetadata) -> _PlotsAndTable | None:
    """Per model: each trial's CV score, what the search moved, and which parameters mattered."""
    tuning = metadata.tuning
    if tuning is None or not tuning.enabled:
        return None
    figures, rows = [], []
    for name, model in tuning.models.items():
        figures.append(plots.tuning_history(name, model.history, model.default_cv_log_loss))
        if model.param_importances:
            figures.append(plots.param_importances(name, model.param_importances))
        change = (
            model.best_cv_log_loss - model.default_cv_log_loss
            if model.best_cv_log_loss is not None and model.default_cv_log_loss is not None
            else None
        )
        rows.append([
            name, f"{model.trials} ({model.pruned} pruned, {model.failed} failed)",
            format_metric(model.default_cv_log_loss, ".4f"),
            format_metric(model.best_cv_log_loss, ".4f"), format_metric(change, "+.4f"),
            model.stopped_by, f"{model.trial_seconds:.0f} s", _params_text(model.chosen_params),
        ])  # fmt: skip
    header = ["model", "trials", "untuned CV log loss", "best", "change", "stopped by"]
    header.append("trial time")
    header.append("chosen parameters")
    return _PlotsAndTable(figures, header, rows)


def _outcome(metadata: TrainingMetadata) -> str:
    gate = metadata.gate
    if gate.passed:
        return "promoted: installed as the live set of the models directory (models/training)"
    failed = ", ".join(check.name for check in gate.checks if not check.passed)
    if gate.forced:
        return f"FORCED: promoted despite failing: {failed}"
    return f"not promoted (failed: {failed}): kept as a candidate under models/candidates/"


def _psi_status(value: float, degradation: DegradationConfig) -> str:
    if value > degradation.psi_alert:
        return "alert"
    return "watch" if value > degradation.psi_warning else "ok"


def _drift(health: HealthReport | None, degradation: DegradationConfig) -> _PlotsAndTable | None:
    if health is None or not health.psi:
        return None
    ranked = sorted(health.psi.items(), key=lambda item: item[1])
    statuses = [_psi_status(value, degradation) for _, value in ranked]
    limits = {"warning": degradation.psi_warning, "alert": degradation.psi_alert}
    rows = [[n, format_metric(v), s] for (n, v), s in zip(ranked, statuses, strict=True)][::-1]
    plot = plots.drift(ranked, statuses, limits)
    return _PlotsAndTable([plot], ["feature", "PSI", "status"], rows)


def render_report(
    run: TrainingRun,
    metadata: TrainingMetadata,
    health: HealthReport | None = None,
    *,
    degradation: DegradationConfig = _DEFAULT_DEGRADATION,
) -> str:
    """One self-contained HTML document (inline CSS, PNGs as data: URIs) describing `run`.

    `metadata` is `build_metadata`'s record of the same run; `health` the dry-run's findings,
    whose PSI per feature (judged by `degradation`'s thresholds) fills the drift section.
    """
    y_true, p_up = _holdout(run)
    two_classes = len(np.unique(y_true)) > 1
    return TEMPLATES.get_template("report.html.j2").render(
        metadata=metadata,
        verdict=gate_verdict(metadata.gate.passed, metadata.gate.forced),
        labelled_rows=len(run.labels),
        feature_count=run.features.shape[1],
        metrics=_metrics(metadata),
        folds=_cv_folds(run, metadata),
        confusion=_confusion(y_true, p_up),
        roc_plot=plots.roc(y_true, p_up) if two_classes else None,
        calibration_plots=plots.calibration(y_true, p_up),
        importance_plot=_importance(run),
        trading=_trading(run, metadata),
        sweep_plots=_sweeps(run, metadata),
        in_sample=_in_sample(metadata),
        tuning=_tuning(metadata),
        sentences=verdict_sentences(metadata),
        costs_text=describe_costs(metadata.costs) if metadata.costs else None,
        outcome=_outcome(metadata),
        policy=TradingPolicy.from_record(metadata.policy),
        up_share=float(y_true.mean()),
        health=health,
        drift=_drift(health, degradation),
    )


_REPLAY_CURVES = {
    "weekly_job": "weekly job with the gate",
    "weekly_job_retirement": "weekly job with the gate and retirement",
    "never_retrain": "never retrain",
    "always_promote": "always promote",
    "buy_and_hold": "buy-and-hold",
}


def render_replay_report(weeks: list[dict], summary: dict, days: int, source: str) -> str:
    """One self-contained HTML document of a replay, from its per-week records and summary."""
    starts = pd.DatetimeIndex([week["outcome"]["following_week"]["start"] for week in weeks])
    ends = pd.DatetimeIndex([week["outcome"]["following_week"]["end"] for week in weeks])
    following = [week["outcome"]["following_week"] for week in weeks]
    curves = {
        label: np.array([f[name]["net_return"] for f in following])
        for name, label in _REPLAY_CURVES.items()
    }
    promoted = np.array([week["outcome"]["promoted"] for week in weeks])
    mcc = np.array([f["weekly_job"]["mcc"] for f in following], dtype="float64")
    noise = np.array([f["mcc_noise"] for f in following])
    return TEMPLATES.get_template("replay.html.j2").render(
        weeks=weeks,
        summary=summary,
        days=days,
        source=source,
        alternatives=dict(list(_REPLAY_CURVES.items())[1:]),
        equity_plot=plots.replay_equity(starts, ends, curves, promoted),
        skill_plot=plots.replay_skill(starts, mcc, noise),
    )
