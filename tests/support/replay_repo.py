"""A copy of the repo set up for the replay's and the sweep's CLI tests."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import Cli, copy_repo
from tests.unit.replay.conftest import switching_candles, write_small_config


def small_replay_repo(root: Path) -> tuple[Cli, Path]:
    """A copy of the repo whose base.yaml trains small models untuned, and the switching
    candles as a CSV beside it."""
    cli = copy_repo(root / "repo")
    write_small_config(cli.root / "config" / "core" / "base.yaml")
    csv = root / "switching.csv"
    switching_candles().to_csv(csv)
    return cli, csv
