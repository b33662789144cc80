"""What the weekly job does to judge one candidate, shared by the live job (src/retrain.py) and
its replay over history (src/replay/): train it (tuned when tuning is on) and compare it with
the set that is live, on holdout rows that set never trained on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from src.compute import Compute
from src.config import Settings
from src.data.sources import CandleSet
from src.ml.bootstrap import paired_difference_interval
from src.ml.evaluation import MIN_ROWS_PER_BLOCK, probability_metrics
from src.ml.gate import Champion
from src.ml.training import TrainingRun, train_models
from src.tuning import Tuning, tune

Progress = Callable[[str], None]


def train_candidate(
    settings: Settings, candle_set: CandleSet, compute: Compute, progress: Progress
) -> tuple[Tuning, TrainingRun]:
    """Tuning (when `tuning.enabled`) on the training window, then the training run with the
    chosen parameters; `tuning.settings` are the settings it trained with."""
    tuning = tune(settings, candle_set.candles, compute, progress)
    return tuning, train_models(candle_set, tuning.settings, progress)


@dataclass(frozen=True)
class Holdout:
    """A candidate's holdout rows: features, labels and the candidate ensemble's P(up)."""

    features: pd.DataFrame
    labels: pd.Series
    p_up: pd.Series

    @classmethod
    def of(cls, run: TrainingRun) -> Holdout:
        start = run.split.holdout_start
        return cls(run.features.iloc[start:], run.labels.iloc[start:], run.holdout_p_up["ensemble"])


def champion_on_holdout(
    live_ensemble,
    live_fit_end: pd.Timestamp,
    holdout: Holdout,
    settings: Settings,
    progress: Progress,
) -> Champion | None:
    """The live ensemble against the candidate on the candidate's holdout rows the live models
    were never fitted on (`live_fit_end`: their last fitted row), with the paired bootstrap
    interval of the live set's lead in the gate's skill metric.

    Rows the live models were trained on would flatter them (an in-sample score), so only the
    holdout rows after their training window count; too few of them and there is no comparison.
    """
    unseen = holdout.features.index > live_fit_end
    if unseen.sum() < MIN_ROWS_PER_BLOCK:
        progress(
            f"champion/challenger skipped: only {unseen.sum()} holdout rows are newer than the "
            f"live models' training data (need {MIN_ROWS_PER_BLOCK})"
        )
        return None
    live_p_up = live_ensemble.predict_proba(holdout.features.loc[unseen])[:, 1]
    candidate_p_up = holdout.p_up.loc[unseen].to_numpy()
    labels = holdout.labels.loc[unseen].to_numpy()
    lead = paired_difference_interval(
        labels,
        (live_p_up > 0.5).astype("int64"),
        (candidate_p_up > 0.5).astype("int64"),
        settings.quality_gate.skill_metric,
        settings.trading.bootstrap_samples,
        settings.training.seed,
    )
    return Champion(
        production=probability_metrics(labels, live_p_up),
        candidate=probability_metrics(labels, candidate_p_up),
        rows=int(unseen.sum()),
        lead_interval=lead,
    )


def fit_end(run: TrainingRun) -> pd.Timestamp:
    """The last row the shipped models were fitted on."""
    last = len(run.features) if run.refit_on_full else run.split.train_end
    return run.features.index[last - 1]
