"""Tuning and compute settings under hostile input (issue 25, items 4, 6, 8, 12): each is refused
with exit 2 and one line naming the setting, before any candles are read. (Every kind of bad
tuning.storage is in tests/unit/tuning/test_checks.py; here one shows the CLI refuses them.)"""

from __future__ import annotations

import pytest
import yaml

from tests.support.bad_input import assert_bad_input


def _set(section: str, **values):
    def edit(config: dict) -> None:
        config[section].update(values)

    return edit


def _range(model: str, param: str, **ends):
    def edit(config: dict) -> None:
        config["tuning"]["search_space"][model][param].update(ends)

    return edit


CONFIG_CASES = [
    pytest.param(
        _set("tuning", storage="postgresql://bot:hunter2@db.example/studies"),
        r"tuning\.storage: a postgresql database needs the Python driver 'psycopg', which is "
        r"not installed",
        id="postgresql without its driver",
    ),
    pytest.param(
        _range("lightgbm", "num_leaves", low=1),
        r"tuning\.search_space\.lightgbm\.num_leaves: 1 is refused by LGBMClassifier",
        id="a range end LightGBM refuses",
    ),
    pytest.param(
        _set("compute", memory_limit_mib=256),
        r"compute\.memory_limit_mib: Input should be greater than or equal to 368",
        id="memory limit below what a trial needs",
    ),
    pytest.param(
        _set("compute", cluster_timeout_s=float("inf")),
        r"compute\.cluster_timeout_s: Input should be a finite number",
        id="infinite cluster timeout",
    ),
]


@pytest.mark.parametrize(("spoil", "message"), CONFIG_CASES)
def test_bad_tuning_and_compute_settings_exit_2_before_any_candles(
    repo_copy, tmp_path, spoil, message
):
    path = repo_copy.root / "config" / "core" / "base.yaml"
    config = yaml.safe_load(path.read_text())
    spoil(config)
    path.write_text(yaml.safe_dump(config))
    never_read = tmp_path / "candles.csv"

    completed = repo_copy.create_ml_models(
        "--source", str(never_read), "--models-dir", str(tmp_path / "models"), "--tune"
    )

    assert_bad_input(completed, message)
    assert "hunter2" not in completed.stderr  # a storage URL's password is never printed


@pytest.mark.parametrize("minutes", ["inf", "nan"])
def test_a_time_budget_that_is_not_a_finite_number_is_refused(cli, tmp_path, minutes):
    completed = cli.create_ml_models(
        "--source", str(tmp_path / "candles.csv"), "--models-dir", str(tmp_path / "models"),
        "--tune", "--tune-minutes", minutes,
    )  # fmt: skip

    assert_bad_input(
        completed,
        r"invalid command-line option: tuning\.timeout_minutes: Input should be a finite number",
    )
