#!/usr/bin/env python3
"""Print a commit message holding the key metrics of a promoted model set's metadata."""

from __future__ import annotations

import argparse
from pathlib import Path

from src.cli.exits import run_main
from src.registry.metadata import metadata_from_bytes
from src.reports.figures import format_metric, gate_verdict
from src.reports.verdict import verdict_sentences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metadata", type=Path, help="path to training_metadata.json")
    path = parser.parse_args().metadata
    metadata = metadata_from_bytes(path.read_bytes(), str(path))
    ensemble, gate, data = metadata.ensemble_metrics, metadata.gate, metadata.data
    holdout = metadata.evaluation.holdout
    print(
        f"Retrain {metadata.created_at[:10]}: ensemble holdout "
        f"F1 {format_metric(ensemble.f1_score)}, MCC {format_metric(ensemble.mcc)}, "
        f"AUC {format_metric(ensemble.roc_auc)}; gate {gate_verdict(gate.passed, gate.forced)}\n\n"
        f"Holdout {holdout.start} .. {holdout.end} ({holdout.samples} rows), "
        f"data {data.source} {data.symbol} {data.timeframe}, "
        f"model_hash {metadata.version_control.model_hash}\n\n"
        + "\n\n".join(verdict_sentences(metadata))
    )
    return 0


if __name__ == "__main__":
    run_main(main)
