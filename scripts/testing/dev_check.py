#!/usr/bin/env python3
"""Model-set checks and management.

    python3 scripts/testing/dev_check.py ml-models            # fetch, train, gate, promote
    python3 scripts/testing/dev_check.py ml-models --dry-run  # status + evaluation; writes nothing
    python3 scripts/testing/dev_check.py history              # archived versions
    python3 scripts/testing/dev_check.py rollback [--to NAME] # restore an archived version
    python3 scripts/testing/dev_check.py replay --weeks N     # replay the weekly job over history
    python3 scripts/testing/dev_check.py resign               # sign unsigned archived sets

Exit codes: 0 ok, 3 rejected by the gate or degraded, 2 bad input/config/model files or
environment (a full, read-only or failing disk; a window too large for memory), 1 other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from src.cli.commands import dry_run, replay_and_report, train_and_report
from src.cli.exits import EXIT_OK, run_main
from src.cli.options import (
    add_models_dir,
    add_replay_options,
    add_training_options,
    registry_from,
)
from src.registry.resign import raise_for_failures
from src.reports.console import version_line


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
    return parser


def _ml_models(args: argparse.Namespace) -> int:
    return dry_run(args) if args.dry_run else train_and_report(args, verbose=True)


def _history(args: argparse.Namespace) -> int:
    versions = registry_from(args).history()
    if not versions:
        print(f"no archived versions in {args.models_dir}/archive/")
    else:
        print("* = live; roll back with `dev_check.py rollback --to NAME`")
    for version in versions:
        print(version_line(version))
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    rollback = registry_from(args).rollback(args.to)
    restored = rollback.restored
    print(f"restored {restored.name} (trained {restored.metadata.created_at})")
    if rollback.replaced:
        print(
            f"the replaced set stays archived as {rollback.replaced}; undo with "
            f"`dev_check.py rollback --to {Path(rollback.replaced).name}`"
        )
    return EXIT_OK


def _resign(args: argparse.Namespace) -> int:
    resigned = registry_from(args).resign()
    if not resigned:
        print(f"no archived sets in {args.models_dir}/archive/")
    for item in resigned:
        print(item.line())
    raise_for_failures(resigned)
    return EXIT_OK


COMMANDS = {
    "ml-models": _ml_models,
    "history": _history,
    "rollback": _rollback,
    "replay": replay_and_report,
    "resign": _resign,
}


def main() -> int:
    args = _parser().parse_args()
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    run_main(main)
