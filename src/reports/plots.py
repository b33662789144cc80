"""The report's plots as PNG images: one function per plot, plain data in, a `Plot` out.

Plots use matplotlib's object API (a `Figure` on its own Agg canvas), so no pyplot global state
or GUI backend is touched and a long-running process accumulates no open figures.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib
import matplotlib.dates as mdates
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_hex, to_rgb
from matplotlib.figure import Figure
from PIL import Image
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc, roc_curve

# A figure inch is shown as 90 CSS pixels and drawn with twice as many image pixels, so plots stay
# sharp on phones and high-density screens (device pixel ratio 2) and when zoomed.
_CSS_PX_PER_INCH = 90
_PIXEL_RATIO = 2
# Plots hold few distinct colours (lines, their anti-aliased edges, text): a 128-colour palette
# cannot be told apart from full colour here and makes the PNGs ~3x smaller, which keeps the
# whole document well under 1 MB at twice the resolution.
_PALETTE_COLOURS = 128
_COLOURS = {"lightgbm": "#1f77b4", "xgboost": "#ff7f0e", "random_forest": "#2ca02c"}
_NO_SKILL = {"mcc": 0.0, "roc_auc": 0.5}
CONFUSION_COLOURMAP = matplotlib.colormaps["Blues"]
_TEXT_COLOURS = ("#000000", "#ffffff")  # one of the two reaches WCAG AA on any background
_PSI_COLOURS = {"ok": "#5c6bc0", "watch": "#ef6c00", "warning": "#ef6c00", "alert": "#c62828"}


@dataclass(frozen=True)
class Plot:
    """A PNG and the text that stands in for it."""

    png: bytes
    alt: str
    width_px: int  # of the image; it is shown at half that many CSS pixels
    height_px: int

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def css_width(self) -> int:
        return round(self.width_px / _PIXEL_RATIO)

    @property
    def css_height(self) -> int:
        return round(self.height_px / _PIXEL_RATIO)


def _figure(width_in: float, height_in: float):
    dpi = _CSS_PX_PER_INCH * _PIXEL_RATIO
    figure = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _plot(figure: Figure, alt: str) -> Plot:
    # The canvas's own pixels, quantised and encoded once: savefig would encode a full-colour PNG
    # (and lay the figure out twice) only for it to be decoded again here.
    canvas = figure.canvas
    canvas.draw()
    size = canvas.get_width_height()
    image = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    palette = image.convert("RGB").quantize(_PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    encoded = io.BytesIO()
    palette.save(encoded, format="png", optimize=True)
    return Plot(encoded.getvalue(), alt, *image.size)


def _style(name: str) -> dict:
    """The same colour per model in every plot; the ensemble drawn black and thicker."""
    return {"color": _COLOURS.get(name, "#222"), "linewidth": 2.2 if name == "ensemble" else 1.3}


def cv_folds(fold_scores: dict[str, list[dict]], metric_labels: dict[str, str]) -> list[Plot]:
    """One small plot per metric (side by side on a wide screen, stacked on a phone): each
    model's score on every CV fold; the first carries the legend."""
    n_folds = len(next(iter(fold_scores.values())))
    numbers = np.arange(1, n_folds + 1)
    panels = []
    for key, label in metric_labels.items():
        figure, axes = _figure(3.3, 2.7)
        for name, per_fold in fold_scores.items():
            axes.plot(numbers, [s[key] for s in per_fold], marker="o", label=name, **_style(name))
        if key in _NO_SKILL:
            axes.axhline(_NO_SKILL[key], color="grey", linestyle=":")
        axes.set(title=label, xlabel="fold", xticks=numbers)
        if not panels:
            axes.legend(fontsize="small")
        panels.append(_plot(figure, f"{label} per CV fold"))
    return panels


def _relative_luminance(colour) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground, background) -> float:
    """WCAG 2 contrast ratio, from 1 (same luminance) to 21 (black on white)."""
    darker, lighter = sorted(_relative_luminance(c) for c in (foreground, background))
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background) -> str:
    """Black or white, whichever contrasts more with `background` (at least 4.58:1 for any)."""
    return max(_TEXT_COLOURS, key=lambda text: contrast_ratio(text, background))


def _confusion_norm(matrix: np.ndarray) -> Normalize:
    return Normalize(vmin=0, vmax=max(int(matrix.max()), 1))  # colour in proportion to the count


def confusion_cell_colours(matrix: np.ndarray) -> list[tuple[str, str]]:
    """(background, text) colour of each cell, row by row, as `confusion` draws them."""
    norm = _confusion_norm(matrix)
    backgrounds = [to_hex(CONFUSION_COLOURMAP(norm(count))) for count in matrix.flat]
    return [(background, readable_text_colour(background)) for background in backgrounds]


def confusion(matrix: np.ndarray) -> Plot:
    """Counts and shares of a 2x2 confusion matrix (rows actual, columns predicted)."""
    figure, axes = _figure(3.6, 3.0)
    axes.imshow(matrix, cmap=CONFUSION_COLOURMAP, norm=_confusion_norm(matrix))
    cells = zip(np.ndenumerate(matrix), confusion_cell_colours(matrix), strict=True)
    for ((row, column), count), (_, text_colour) in cells:
        text = f"{count}\n{count / max(matrix.sum(), 1):.1%}"
        axes.text(column, row, text, ha="center", va="center", color=text_colour)
    ticks, labels = [0, 1], ["down (0)", "up (1)"]
    axes.set(xticks=ticks, xticklabels=labels, yticks=ticks, yticklabels=labels)
    axes.set(xlabel="predicted", ylabel="actual")
    return _plot(figure, "confusion matrix")


def roc(y_true: np.ndarray, p_up: pd.DataFrame) -> Plot:
    figure, axes = _figure(4.6, 4.2)
    for name in p_up.columns:
        fpr, tpr, _ = roc_curve(y_true, p_up[name])
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})", **_style(name))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", aspect="equal")
    axes.legend(fontsize="small", loc="lower right")
    return _plot(figure, "ROC curves")


def calibration(y_true: np.ndarray, p_up: pd.DataFrame) -> list[Plot]:
    """A reliability diagram, then the spread of the stated P(up)."""
    (figure, reliability), (spread_figure, spread) = _figure(4.6, 3.6), _figure(4.6, 3.6)
    for name in p_up.columns:
        observed, predicted = calibration_curve(y_true, p_up[name], n_bins=10, strategy="quantile")
        reliability.plot(predicted, observed, marker="o", label=name, **_style(name))
        spread.hist(p_up[name], bins=40, histtype="step", **_style(name))
    low, high = float(p_up.min().min()), float(p_up.max().max())
    reliability.plot([low, high], [low, high], linestyle="--", color="grey", label="calibrated")
    reliability.set(title="reliability, 10 quantile bins", xlabel="mean P(up)", ylabel="share up")
    spread.set(title="spread of P(up)", xlabel="P(up)", ylabel="holdout rows")
    reliability.legend(fontsize="small")
    return [_plot(figure, "reliability diagram"), _plot(spread_figure, "spread of P(up)")]


def importance(feature_names: np.ndarray, shares: dict[str, np.ndarray]) -> Plot:
    """Grouped horizontal bars, features ordered by their mean share over the models."""
    order = np.argsort(np.mean(list(shares.values()), axis=0))
    height, positions = 0.8 / len(shares), np.arange(len(feature_names))
    figure, axes = _figure(5.5, 0.3 * len(feature_names) + 1.0)
    for offset, (name, values) in enumerate(reversed(shares.items())):
        bars = {"height": height, "color": _style(name)["color"], "label": name}
        axes.barh(positions + offset * height, values[order], **bars)
    axes.set_yticks(positions + height * (len(shares) - 1) / 2, feature_names[order])
    axes.set(xlabel="share of the model's total importance")
    axes.legend(fontsize="small", loc="lower right", reverse=True)
    return _plot(figure, "feature importance per model")


@dataclass(frozen=True)
class EquityCurves:
    """Equity after each settled decision (at the time it is realised) and the trades."""

    settled_at: pd.DatetimeIndex
    gross: np.ndarray  # the policy before costs
    net: np.ndarray  # the policy after costs
    held_at: pd.DatetimeIndex
    buy_and_hold: np.ndarray  # after its one entry and one exit
    entries: np.ndarray  # positions in settled_at of the bars a trade was opened on
    exits: np.ndarray  # ... and of the bars after which one was closed


def _finish_equity_axes(axes, ylabel: str) -> None:
    """Equity starts at 1 (the dotted line), over dates labelled as briefly as they allow."""
    axes.axhline(1.0, color="grey", linestyle=":")
    locator = mdates.AutoDateLocator()
    axes.xaxis.set(major_locator=locator, major_formatter=mdates.ConciseDateFormatter(locator))
    axes.set(ylabel=ylabel)
    axes.legend(fontsize="small")


def equity(curves: EquityCurves, policy_label: str) -> Plot:
    figure, axes = _figure(6.2, 3.4)
    axes.plot(curves.settled_at, curves.gross, color="#888", label=f"{policy_label}, before costs")
    axes.plot(curves.settled_at, curves.net, color="#222", label=f"{policy_label}, after costs")
    axes.plot(curves.held_at, curves.buy_and_hold, color="#1f77b4", label="buy and hold")
    for rows, marker, colour, label in (
        (curves.entries, "^", "#2e7d32", "trade opened"),
        (curves.exits, "v", "#c62828", "trade closed"),
    ):
        if len(rows):
            axes.plot(curves.settled_at[rows], curves.net[rows], marker, color=colour,
                      markersize=4, linestyle="none", label=label)  # fmt: skip
    _finish_equity_axes(axes, "equity (start = 1)")
    return _plot(figure, "equity before and after costs, with trades, beside buy and hold")


def threshold_sweep(sweep: pd.DataFrame, exit_offset: float, chosen: float | None, min_trades: int,
                    title: str) -> Plot:  # fmt: skip
    """Net return after costs against the entry threshold (at the chosen policy's exit offset);
    thresholds that traded fewer than `min_trades` times are drawn hollow."""
    figure, axes = _figure(3.9, 2.9)
    at_offset = sweep[np.isclose(sweep["entry"] - sweep["exit"], exit_offset)]
    often = at_offset["trades"] >= min_trades
    axes.plot(at_offset["entry"], at_offset["net_return"], color="#222", linewidth=1.2)
    axes.plot(at_offset["entry"][often], at_offset["net_return"][often], "o", color="#222",
              markersize=3, label=f">= {min_trades} trades")  # fmt: skip
    axes.plot(at_offset["entry"][~often], at_offset["net_return"][~often], "o", color="#222",
              markerfacecolor="white", markersize=3, label="fewer trades")  # fmt: skip
    if chosen is not None:
        axes.axvline(chosen, color="#2e7d32", linestyle="--", label=f"chosen {chosen:.2f}")
    axes.axhline(0.0, color="grey", linestyle=":")
    axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.set(title=title, xlabel="entry threshold on P(up)", ylabel="net return after costs")
    axes.legend(fontsize="x-small")
    return _plot(figure, f"net return against the entry threshold: {title}")


def drift(ranked: list[tuple[str, float]], statuses: list[str], limits: dict[str, float]) -> Plot:
    """PSI per feature, coloured by status, with the warning and alert limits drawn."""
    figure, axes = _figure(5.5, 0.28 * len(ranked) + 1.0)
    colours = [_PSI_COLOURS[status] for status in statuses]
    axes.barh([name for name, _ in ranked], [value for _, value in ranked], color=colours)
    for level, limit in limits.items():
        axes.axvline(limit, color=_PSI_COLOURS[level], linestyle="--", label=f"{level} {limit}")
    axes.set(xlabel="PSI of the newest candles vs the training window")
    axes.legend(fontsize="small", loc="lower right")
    return _plot(figure, "PSI per feature")


def tuning_history(model: str, trials: list, default_loss: float | None) -> Plot:
    """Each trial's CV log loss in trial order (pruned ones over the folds they ran), the best
    so far, and trial 0's (the untuned values) as a reference line."""
    figure, axes = _figure(3.6, 2.8)
    colour = _style(model)["color"]
    for state, marker in (("complete", "o"), ("pruned", "x")):
        shown = [t for t in trials if t.state == state]
        axes.scatter([t.number for t in shown], [t.cv_log_loss for t in shown], marker=marker,
                     color=colour, alpha=1.0 if state == "complete" else 0.5, label=state, s=18)
    complete = [(t.number, t.cv_log_loss) for t in trials if t.state == "complete"]
    if complete:
        numbers, losses = zip(*complete, strict=True)
        axes.step(numbers, np.minimum.accumulate(losses), where="post", color="#222",
                  linewidth=1.2, label="best so far")
    if default_loss is not None:
        axes.axhline(default_loss, color="grey", linestyle=":", label="untuned (trial 0)")
    failed = sum(t.state == "failed" for t in trials)
    title = f"{model}" + (f" ({failed} failed)" if failed else "")
    axes.set(title=title, xlabel="trial", ylabel="CV log loss")
    axes.legend(fontsize="x-small")
    return _plot(figure, f"{model}: CV log loss of each tuning trial")


def param_importances(model: str, importances: dict[str, float]) -> Plot:
    """fANOVA share of the CV log loss's variance each hyperparameter explains."""
    names = sorted(importances, key=importances.get)
    figure, axes = _figure(3.6, 0.3 * len(names) + 1.0)
    axes.barh(names, [importances[name] for name in names], color=_style(model)["color"])
    axes.set(title=model, xlabel="importance (fANOVA)")
    return _plot(figure, f"{model}: importance of each hyperparameter for the CV log loss")


_REPLAY_COLOURS = {
    "weekly job with the gate": "#222",
    "weekly job with the gate and retirement": "#2ca02c",
    "never retrain": "#1f77b4",
    "always promote": "#ff7f0e",
    "buy-and-hold": "#888",
}


def replay_equity(
    starts: pd.DatetimeIndex, ends: pd.DatetimeIndex, curves: dict[str, np.ndarray],
    promoted: np.ndarray,
) -> Plot:  # fmt: skip
    """Each policy's compounded net equity over the replayed weeks (1 at the first run), with
    the runs that promoted a set marked on the weekly job's curve."""
    figure, axes = _figure(6.2, 3.4)
    times = starts[:1].append(ends)
    for label, weekly in curves.items():
        equity_curve = np.r_[1.0, np.cumprod(1.0 + weekly)]
        axes.plot(times, equity_curve, color=_REPLAY_COLOURS[label],
                  linewidth=2.2 if label.startswith("weekly") else 1.3, label=label,
                  zorder=3 if label.startswith("weekly") else 2)  # fmt: skip
        if label == "weekly job with the gate" and promoted.any():
            axes.plot(times[:-1][promoted], equity_curve[:-1][promoted], "^", color="#2e7d32",
                      markersize=6, linestyle="none", label="promotion")  # fmt: skip
    _finish_equity_axes(axes, "net equity (start = 1)")
    return _plot(figure, "net equity after costs of each policy over the replayed weeks")


def replay_skill(starts: pd.DatetimeIndex, mcc: np.ndarray, noise: np.ndarray) -> Plot:
    """The live set's MCC on each following week, against the band no skill stays inside (two
    standard errors of MCC on that week's rows); weeks with no set live are left out."""
    figure, axes = _figure(6.2, 3.0)
    axes.fill_between(starts, -noise, noise, color="#ddd", step="mid",
                      label="no skill: within 2 standard errors")  # fmt: skip
    live = ~np.isnan(mcc)
    axes.plot(starts[live], mcc[live], "o-", color="#222", markersize=4, label="live set's MCC")
    axes.axhline(0.0, color="grey", linestyle=":")
    locator = mdates.AutoDateLocator()
    axes.xaxis.set(major_locator=locator, major_formatter=mdates.ConciseDateFormatter(locator))
    axes.set(ylabel="MCC on the following week")
    axes.legend(fontsize="small")
    return _plot(figure, "the live set's MCC on each following week, beside the noise band")
