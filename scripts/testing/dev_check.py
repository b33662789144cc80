#!/usr/bin/env python3
"""Model-set checks and management.

    python3 scripts/testing/dev_check.py ml-models            # fetch, train, gate, promote
    python3 scripts/testing/dev_check.py ml-models --dry-run  # status + evaluation; writes nothing
    python3 scripts/testing/dev_check.py history              # archived versions, retirements
    python3 scripts/testing/dev_check.py rollback [--to NAME] # restore an archived version
    python3 scripts/testing/dev_check.py replay --weeks N     # replay the weekly job over history
    python3 scripts/testing/dev_check.py sweep --weeks N --grid KEY=V1,V2  # judge a grid of setups
    python3 scripts/testing/dev_check.py paper --source S     # paper-trade the live set, journalled
    python3 scripts/testing/dev_check.py resign               # sign unsigned archived sets

Exit codes: 0 ok, 3 rejected by the gate or degraded (paper: the live set was retired), 2 bad
input/config/model files or environment (a full, read-only or failing disk; a window too large
for memory), 1 other.
"""

from __future__ import annotations

import argparse

from src.cli.arguments import (
    add_models_dir,
    add_paper_options,
    add_replay_options,
    add_sweep_options,
    add_training_options,
)
from src.cli.exits import run_main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ml_models = commands.add_parser("ml-models", help="train + ensemble, or --dry-run status")
    ml_models.add_argument(
        "--dry-run", action="store_true", help="verify and evaluate the current set; writes nothing"
    )
    add_training_options(ml_models)
    add_models_dir(ml_models)
    add_models_dir(commands.add_parser("history", help="list archived model sets"))
    rollback = commands.add_parser("rollback", help="restore an archived model set")
    rollback.add_argument("--to", help="archive name (default: the live set's previous_version)")
    rollback.add_argument(
        "--force", action="store_true", help="restore a retired set (lifts its retirement)"
    )
    add_models_dir(rollback)
    add_models_dir(
        commands.add_parser("resign", help="sign unsigned archived sets with MODEL_SIGNING_KEY")
    )
    add_replay_options(
        commands.add_parser(
            "replay",
            help="replay the weekly job (train, gate, promote) over past Mondays and trade "
            "each live set on the following week",
        )
    )
    add_sweep_options(
        commands.add_parser(
            "sweep",
            help="replay the weekly job for each setup of a grid over config keys and judge "
            "the best against all setups tried",
        )
    )
    add_paper_options(
        commands.add_parser(
            "paper", help="paper-trade the live set on closed candles into a SQLite journal"
        )
    )
    return parser


def main() -> int:
    args = _parser().parse_args()
    if args.command == "paper":
        # Imported on its own: the paper trader runs the live side only, as the bot does, and
        # the other commands' modules would load the training libraries into its process.
        from src.cli.paper import paper

        return paper(args)
    if args.command == "sweep":
        from src.cli.sweep import sweep

        return sweep(args)
    from src.cli.commands import COMMANDS

    return COMMANDS[args.command](args)


if __name__ == "__main__":
    run_main(main)
