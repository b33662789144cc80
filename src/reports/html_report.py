"""One self-contained HTML report of a training run: tables plus inline PNG plots, no URLs.

Plots use matplotlib's object API (a `Figure` on its own Agg canvas), so no pyplot global state
or GUI backend is touched and a long-running process accumulates no open figures.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc, confusion_matrix, roc_curve

from src.config import DegradationConfig
from src.reports.console import format_metric, gate_verdict

if TYPE_CHECKING:
    from src.ml.monitoring import HealthReport
    from src.ml.training import TrainingRun
    from src.registry.metadata import TrainingMetadata

_DPI = 90  # small PNGs keep the whole document well under 1 MB
_DEFAULT_DEGRADATION = DegradationConfig()
_COLOURS = {"lightgbm": "#1f77b4", "xgboost": "#ff7f0e", "random_forest": "#2ca02c"}
_TITLES = {
    "summary": "Summary and quality gate",
    "metrics": "Metrics",
    "cv-folds": "Cross-validation folds",
    "confusion": "Confusion matrix (ensemble, holdout)",
    "roc": "ROC curves (holdout)",
    "calibration": "Calibration (holdout)",
    "importance": "Feature importance",
    "weights": "Ensemble weights",
    "equity": "Trading check (holdout)",
    "drift": "Feature drift",
}
_HOLDOUT_COLUMNS = {"f1_score": "F1", "mcc": "MCC", "balanced_accuracy": "bal. acc."}
_HOLDOUT_COLUMNS |= {"roc_auc": "ROC-AUC", "log_loss": "log loss", "accuracy": "accuracy"}
_HOLDOUT_COLUMNS |= {"precision": "precision", "recall": "recall"}
_CV_COLUMNS = {"cv_f1": "F1", "cv_mcc": "MCC", "cv_roc_auc": "ROC-AUC"}
_FOLD_METRICS = {"f1_score": "F1", "mcc": "MCC", "roc_auc": "ROC-AUC"}
_NO_SKILL = {"mcc": 0.0, "roc_auc": 0.5}
_PSI_COLOURS = {"ok": "#5c6bc0", "watch": "#ef6c00", "warning": "#ef6c00", "alert": "#c62828"}
_TRADING_ROWS = (  # label, StrategyStats key, format
    ("net return (after costs)", "net_return", "+.2%"),
    ("gross return (before costs)", "gross_return", "+.2%"),
    ("costs (fee drag)", "fee_drag", ".2%"),
    ("trades", "trades", ""),
    ("time in market", "time_in_market", ".1%"),
    ("average net return per trade", "avg_trade_net_return", "+.3%"),
    ("round-trip cost", "round_trip_cost", ".3%"),
    ("hit rate (winning trades)", "hit_rate", ".1%"),
    ("max drawdown", "max_drawdown", ".2%"),
    ("Sharpe (annualised)", "sharpe", ".2f"),
    ("Sortino (annualised)", "sortino", ".2f"),
    ("profit factor", "profit_factor", ".2f"),
)
_SIDES = ("policy", "buy_and_hold", "flat")
_HOW_TO_READ = (
    "How to read this: F1 alone proves nothing - always predicting 'up' scores F1 of about 0.67 "
    "on balanced classes. Skill shows in MCC (0 = no skill), balanced accuracy (0.5 = no skill), "
    "ROC-AUC (0.5 = no skill) and the gain over the best baseline on the same holdout; lower log "
    "loss is better (a constant 50% forecast scores 0.693). The holdout is the most recent part "
    "of the data, never used for fitting, tuning or weighting."
)
_DRIFT_NOT_MEASURED = (
    "<p>Drift is measured by <code>dev_check.py ml-models --dry-run</code> on newer candles.</p>"
)
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:1em 2em;color:#222;
line-height:1.45}h1{font-size:1.5em}h2{border-bottom:2px solid #ddd;margin-top:1.8em}
nav a{margin-right:1em;white-space:nowrap}table{border-collapse:collapse;margin:.6em 0;
font-size:.9em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f3f3f3;white-space:normal}td:first-child,th:first-child{text-align:left}
table.text td,table.text th{text-align:left;white-space:normal}
table.text td:first-child{font-weight:600;white-space:nowrap}img{max-width:100%;display:block}
.verdict{display:inline-block;font-weight:700;padding:.3em .9em;border-radius:4px;color:#fff}
.passed{background:#2e7d32}.rejected{background:#c62828}.forced{background:#ef6c00}
.how{background:#f6f8fa;border-left:4px solid #888;padding:.6em 1em}
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _when(iso: str) -> str:
    return pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M")


def _p(text: str, css_class: str = "") -> str:
    return f'<p class="{css_class}">{_esc(text)}</p>' if css_class else f"<p>{_esc(text)}</p>"


def _list(items) -> str:
    return "<ul>" + "".join(f"<li>{_esc(item)}</li>" for item in items) + "</ul>" if items else ""


def _table(header, rows, group_row: str = "", css_class: str = "") -> str:
    """Every cell is escaped; `group_row` is trusted HTML placed above the header row."""
    head = "<tr>" + "".join(f"<th>{_esc(cell)}</th>" for cell in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    table = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{table}<thead>{group_row}{head}</thead><tbody>{body}</tbody></table>"


def _section(anchor: str, *parts: str) -> str:
    return f'<section><h2 id="{anchor}">{_esc(_TITLES[anchor])}</h2>{"".join(parts)}</section>'


def _figure(width_in: float, height_in: float, ncols: int = 1):
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, ncols)


def _img(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{encoded}">'


def _style(name: str) -> dict:
    """The same colour per model in every plot; the ensemble drawn black and thicker."""
    return {"color": _COLOURS.get(name, "#222"), "linewidth": 2.2 if name == "ensemble" else 1.3}


def _holdout(run: TrainingRun) -> tuple[np.ndarray, pd.DataFrame]:
    return run.labels.iloc[run.split.holdout_start :].to_numpy(), run.holdout_p_up


def _summary(run: TrainingRun, metadata: dict) -> str:
    data, holdout, gate = metadata["data"], metadata["evaluation"]["holdout"], metadata["gate"]
    period = f"{_when(data['start'])} .. {_when(data['end'])} UTC"
    rows = f"{data['candles']} candles ({data['gaps']} gaps), {len(run.labels)} labelled"
    fitted = f"{metadata['training_samples']} used for fitting"
    features = f"FeatureManager {metadata['feature_manager_version']}, {run.features.shape[1]}"
    scored = f"{_when(holdout['start'])} .. {_when(holdout['end'])} UTC, {holdout['samples']} rows"
    facts = [
        ("created at", metadata["created_at"]),
        ("data", f"{data['source']} {data['symbol']} {data['timeframe']}, {period}"),
        ("rows", f"{rows}, {fitted}"),
        ("features", f"{features} features; random seed {metadata['random_seed']}"),
        ("holdout", scored),
        ("notes", metadata.get("notes", "")),
    ]
    verdict = gate_verdict(gate["passed"], gate["forced"])
    checks = [
        ("pass" if c["passed"] else "FAIL", c["name"], format_metric(c["value"]), c["reason"])
        for c in gate["checks"]
    ]
    return _section(
        "summary",
        _table([], facts, css_class="text"),
        f'<p class="verdict {verdict.lower()}">Quality gate: {verdict}</p>',
        _table(["", "check", "value", "reason"], checks, css_class="text"),
        _p(_HOW_TO_READ, "how"),
    )


def _cv_cell(metrics: dict, key: str) -> str:
    if f"{key}_mean" not in metrics:
        return "n/a"
    return f"{format_metric(metrics[f'{key}_mean'])} ± {format_metric(metrics[f'{key}_std'])}"


def _metrics(metadata: dict) -> str:
    named = [*metadata["model_metrics"].items(), ("ensemble", metadata["ensemble_metrics"])]
    named += [(f"baseline: {name}", m) for name, m in metadata["baseline_metrics"].items()]
    rows = [
        [name, *(format_metric(m.get(key)) for key in _HOLDOUT_COLUMNS)]
        + [_cv_cell(m, key) for key in _CV_COLUMNS]
        for name, m in named
    ]
    group = (
        f'<tr><th></th><th colspan="{len(_HOLDOUT_COLUMNS)}">holdout</th>'
        f'<th colspan="{len(_CV_COLUMNS)}">CV (purged folds of the training window), mean ± std'
        "</th></tr>"
    )
    header = ["", *_HOLDOUT_COLUMNS.values(), *_CV_COLUMNS.values()]
    note = "Up is predicted when P(up) > 0.5. Baselines are scored on the same holdout."
    return _section("metrics", _p(note), _table(header, rows, group))


def _cv_folds(run: TrainingRun, metadata: dict) -> str:
    folds, scores = metadata["evaluation"]["cv"]["folds"], run.cv.fold_metrics
    numbers = np.arange(1, len(folds) + 1)
    figure, panels = _figure(11, 2.8, ncols=len(_FOLD_METRICS))
    for axes, (key, label) in zip(panels, _FOLD_METRICS.items(), strict=True):
        for name, per_fold in scores.items():
            axes.plot(numbers, [s[key] for s in per_fold], marker="o", label=name, **_style(name))
        if key in _NO_SKILL:
            axes.axhline(_NO_SKILL[key], color="grey", linestyle=":")
        axes.set(title=label, xlabel="fold", xticks=numbers)
    panels[0].legend(fontsize="small")
    header = ["fold", "test rows from (UTC)", "to", *(f"{n}: F1 · MCC · AUC" for n in scores)]
    rows = [
        [i, _when(fold["test_start"]), _when(fold["test_end"])]
        + [
            " · ".join(format_metric(per_fold[i - 1][key]) for key in _FOLD_METRICS)
            for per_fold in scores.values()
        ]
        for i, fold in enumerate(folds, start=1)
    ]
    note = "Each fold is fitted on the earlier rows of the training window, minus a purge gap."
    return _section("cv-folds", _p(note), _img(figure, "scores per CV fold"), _table(header, rows))


def _confusion(run: TrainingRun) -> str:
    y_true, p_up = _holdout(run)
    matrix = confusion_matrix(y_true, (p_up["ensemble"] > 0.5).astype("int64"), labels=[0, 1])
    figure, axes = _figure(3.6, 3.0)
    axes.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        text = f"{count}\n{count / max(matrix.sum(), 1):.1%}"
        axes.text(column, row, text, ha="center", va="center", color=colour)
    ticks, labels = [0, 1], ["down (0)", "up (1)"]
    axes.set(xticks=ticks, xticklabels=labels, yticks=ticks, yticklabels=labels)
    axes.set(xlabel="predicted", ylabel="actual")
    (tn, fp), (fn, tp) = matrix
    text = f"P(up) > 0.5: {tp} rises caught, {fn} missed, {fp} false alarms, {tn} falls left alone."
    return _section("confusion", _img(figure, "confusion matrix"), _p(text))


def _roc(run: TrainingRun) -> str:
    y_true, p_up = _holdout(run)
    if len(np.unique(y_true)) < 2:
        return _section("roc", _p("n/a: the holdout holds only one class, so ROC is undefined."))
    figure, axes = _figure(5, 4.4)
    for name in p_up.columns:
        fpr, tpr, _ = roc_curve(y_true, p_up[name])
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})", **_style(name))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", aspect="equal")
    axes.legend(fontsize="small", loc="lower right")
    return _section("roc", _img(figure, "ROC curves"))


def _calibration(run: TrainingRun) -> str:
    y_true, p_up = _holdout(run)
    figure, (reliability, spread) = _figure(11, 3.8, ncols=2)
    for name in p_up.columns:
        observed, predicted = calibration_curve(y_true, p_up[name], n_bins=10, strategy="quantile")
        reliability.plot(predicted, observed, marker="o", label=name, **_style(name))
        spread.hist(p_up[name], bins=40, histtype="step", **_style(name))
    low, high = float(p_up.min().min()), float(p_up.max().max())
    reliability.plot([low, high], [low, high], linestyle="--", color="grey", label="calibrated")
    reliability.set(title="reliability, 10 quantile bins", xlabel="mean P(up)", ylabel="share up")
    spread.set(title="spread of P(up)", xlabel="P(up)", ylabel="holdout rows")
    reliability.legend(fontsize="small")
    note = "On the dashed line the stated P(up) matches how often the price rose."
    return _section("calibration", _img(figure, "reliability diagram"), _p(note))


def _importance(run: TrainingRun) -> str:
    names = np.asarray(run.features.columns)
    raw = {name: getattr(model, "feature_importances_", None) for name, model in run.models.items()}
    shares = {
        name: np.asarray(v) / np.sum(v)
        for name, v in raw.items()
        if v is not None and np.sum(v) > 0
    }
    if not shares:
        return _section("importance", _p("n/a: no model reports feature importances."))
    order = np.argsort(np.mean(list(shares.values()), axis=0))
    height, positions = 0.8 / len(shares), np.arange(len(names))
    figure, axes = _figure(11, 0.3 * len(names) + 1.0)
    for offset, (name, values) in enumerate(reversed(shares.items())):
        bars = {"height": height, "color": _style(name)["color"], "label": name}
        axes.barh(positions + offset * height, values[order], **bars)
    axes.set_yticks(positions + height * (len(shares) - 1) / 2, names[order])
    axes.set(xlabel="share of the model's total importance")
    axes.legend(fontsize="small", loc="lower right", reverse=True)
    note = (
        "Scaled to sum to 1 per model. LightGBM counts splits, XGBoost measures gain and the "
        "random forest impurity decrease: compare rankings, not sizes."
    )
    return _section("importance", _img(figure, "feature importance per model"), _p(note))


def _weights(metadata: dict) -> str:
    rows = [[name, format_metric(w)] for name, w in metadata["ensemble_metrics"]["weights"].items()]
    note = (
        "The weights minimise the log loss of the models' out-of-fold predictions on the training "
        "window; the holdout played no part in choosing them."
    )
    return _section("weights", _table(["model", "weight"], rows), _p(note))


def _equity(run: TrainingRun, metadata: dict) -> str:
    trading = metadata["trading_check"]
    figure, axes = _figure(11, 3.2)
    policy, held = run.trading.policy, run.trading.buy_and_hold
    net = np.cumprod(1.0 + policy.simulation.net)
    gross = np.cumprod(1.0 + policy.simulation.gross)
    axes.plot(policy.bars.settled_at, gross, color="#888", label="policy before costs")
    axes.plot(policy.bars.settled_at, net, color="#222", label="policy after costs")
    axes.plot(
        held.bars.settled_at, np.cumprod(1.0 + held.simulation.net), color="#1f77b4",
        label="buy and hold after costs",
    )
    axes.axhline(1.0, color="grey", linestyle=":")
    locator = mdates.AutoDateLocator()
    axes.xaxis.set(major_locator=locator, major_formatter=mdates.ConciseDateFormatter(locator))
    axes.set(ylabel="equity (start = 1)")
    axes.legend(fontsize="small")
    rows = [
        [label, *(format_metric(trading[side][key], spec) for side in _SIDES)]
        for label, key, spec in _TRADING_ROWS
    ]
    cost = metadata["policy"]["cost_per_side"]
    fees = f"Costs: {cost:.3%} per side (fee and slippage), on every entry and exit."
    table = _table(["", *_SIDES], rows)
    return _section("equity", _img(figure, "equity curves"), table, _p(fees))


def _psi_status(value: float, degradation: DegradationConfig) -> str:
    if value > degradation.psi_alert:
        return "alert"
    return "watch" if value > degradation.psi_warning else "ok"


def _drift(health: HealthReport | None, degradation: DegradationConfig) -> str:
    if health is None or not health.psi:
        return _section("drift", _DRIFT_NOT_MEASURED, _list(health.notes if health else []))
    ranked = sorted(health.psi.items(), key=lambda item: item[1])
    figure, axes = _figure(11, 0.28 * len(ranked) + 1.0)
    statuses = [_psi_status(value, degradation) for _, value in ranked]
    colours = [_PSI_COLOURS[status] for status in statuses]
    axes.barh([name for name, _ in ranked], [value for _, value in ranked], color=colours)
    for level in ("warning", "alert"):
        limit = getattr(degradation, f"psi_{level}")
        axes.axvline(limit, color=_PSI_COLOURS[level], linestyle="--", label=f"{level} {limit}")
    axes.set(xlabel="PSI of the newest candles vs the training window")
    axes.legend(fontsize="small", loc="lower right")
    rows = [[n, format_metric(v), s] for (n, v), s in zip(ranked, statuses, strict=True)][::-1]
    age = f"Model age {health.age_days:.1f} days; {health.newest_rows} newer labelled rows."
    table = _table(["feature", "PSI", "status"], rows)
    findings = _list([*health.problems, *health.notes])
    return _section("drift", _p(age), _img(figure, "PSI per feature"), table, findings)


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
    metadata = metadata.to_dict()
    data = metadata["data"]
    created = _when(metadata["created_at"])
    title = _esc(f"Training report: {data['symbol']} {data['timeframe']}, {created} UTC")
    sections = [
        _summary(run, metadata),
        _metrics(metadata),
        _cv_folds(run, metadata),
        _confusion(run),
        _roc(run),
        _calibration(run),
        _importance(run),
        _weights(metadata),
        _equity(run, metadata),
        _drift(health, degradation),
    ]
    nav = " ".join(f'<a href="#{anchor}">{_esc(text)}</a>' for anchor, text in _TITLES.items())
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body><h1>{title}</h1><nav>{nav}</nav>"
        f"{''.join(sections)}</body></html>\n"
    )
