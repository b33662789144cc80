#!/usr/bin/env python3
"""Train the three models and the ProductionEnsemble, gate them, and promote or keep a candidate.

python3 scripts/ml/create_ml_models.py --verbose --days 365
python3 scripts/ml/create_ml_models.py --source sample --verbose
"""

from __future__ import annotations

import argparse

from src.cli import (
    EXIT_OK,
    EXIT_REJECTED,
    add_models_dir,
    add_training_options,
    run_main,
    settings_from,
)
from src.registry.store import Registry
from src.reports.console import run_summary
from src.retrain import load_candles, retrain


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_training_options(parser)
    add_models_dir(parser)
    parser.add_argument("--verbose", action="store_true", help="per-model timings and metrics")
    args = parser.parse_args()
    settings = settings_from(args)
    progress = print if args.verbose else (lambda message: None)
    candle_set = load_candles(settings, settings.data.source, progress)
    outcome = retrain(settings, candle_set, Registry(args.models_dir), args.force, progress)
    print(
        run_summary(outcome.metadata)
        if args.verbose
        else f"gate {'passed' if outcome.gate.passed else 'failed'}: "
        + ("; ".join(outcome.gate.reasons) or "all checks passed")
    )
    if outcome.promoted:
        print(
            f"promoted to {args.models_dir}/ (previous: "
            f"{outcome.metadata['version_control']['previous_version']})"
        )
        return EXIT_OK
    print(f"not promoted; candidate kept at {outcome.candidate_path} for inspection")
    return EXIT_REJECTED


if __name__ == "__main__":
    run_main(main)
