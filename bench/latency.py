"""Single-row and batch predict_proba: the shipped ProductionEnsemble against its raw members.

The members are the very fitted models the weekly run pickled (loaded through the registry, as
production does). Calls are interleaved - ensemble, then each member, per iteration - so drift in
machine speed hits both sides alike. The raw figure is the sum of the members' latencies: what an
ensemble with zero overhead would cost.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _p99(samples: list[float]) -> float:
    return float(np.percentile(samples, 99))


@dataclass
class Latency:
    calls: int
    ensemble_median_s: float
    ensemble_p99_s: float
    raw_sum_median_s: float  # per call, sum of the members' single-row latencies
    raw_sum_p99_s: float
    raw_median_s: dict[str, float]
    weights: dict[str, float]
    batch_rows: int
    ensemble_rows_per_s: float
    raw_rows_per_s: float  # the three members one after the other, on the same rows

    @property
    def median_ratio(self) -> float:
        return self.ensemble_median_s / self.raw_sum_median_s

    @property
    def p99_ratio(self) -> float:
        return self.ensemble_p99_s / self.raw_sum_p99_s


def _timed(function, X) -> float:
    started = time.perf_counter()
    function(X)
    return time.perf_counter() - started


def measure_latency(
    ensemble, models: dict[str, object], features: pd.DataFrame, calls: int = 500
) -> Latency:
    row = features.iloc[[-1]]
    members = {name: models[name].predict_proba for name in ensemble.named_weights}
    for _ in range(10):  # warm-up
        ensemble.predict_proba(row)
        for predict in members.values():
            predict(row)
    ensemble_s, raw_s = [], {name: [] for name in members}
    for _ in range(calls):
        ensemble_s.append(_timed(ensemble.predict_proba, row))
        for name, predict in members.items():
            raw_s[name].append(_timed(predict, row))
    raw_sum = [sum(values) for values in zip(*raw_s.values(), strict=True)]

    batch_ensemble = statistics.median(_timed(ensemble.predict_proba, features) for _ in range(3))
    batch_raw = statistics.median(
        sum(_timed(predict, features) for predict in members.values()) for _ in range(3)
    )
    return Latency(
        calls=calls,
        ensemble_median_s=statistics.median(ensemble_s),
        ensemble_p99_s=_p99(ensemble_s),
        raw_sum_median_s=statistics.median(raw_sum),
        raw_sum_p99_s=_p99(raw_sum),
        raw_median_s={name: statistics.median(values) for name, values in raw_s.items()},
        weights=ensemble.named_weights,
        batch_rows=len(features),
        ensemble_rows_per_s=len(features) / batch_ensemble,
        raw_rows_per_s=len(features) / batch_raw,
    )
