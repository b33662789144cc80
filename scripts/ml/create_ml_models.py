#!/usr/bin/env python3
"""Train the three models and the ProductionEnsemble, gate them, and promote or keep a candidate.

    python3 scripts/ml/create_ml_models.py --verbose --days 365
    python3 scripts/ml/create_ml_models.py --source sample --verbose

Exit codes: 0 promoted, 3 rejected by the gate, 2 bad input/config or environment (a full,
read-only or failing disk; a window too large for limits.max_rss_mib), 1 other failure.
"""

from __future__ import annotations

import argparse

from src.cli.arguments import add_models_dir, add_training_options
from src.cli.commands import train_and_report
from src.cli.exits import run_main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_options(parser)
    add_models_dir(parser)
    parser.add_argument("--verbose", action="store_true", help="progress and per-model timings")
    return parser


def main() -> int:
    args = _parser().parse_args()
    return train_and_report(args, verbose=args.verbose)


if __name__ == "__main__":
    run_main(main)
