"""`dev_check.py sweep` for real, in subprocesses: small models in a private copy of base.yaml,
generated candles whose planted signal switches on halfway, or the local bitbank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from src.replay.compare import week_results
from tests.integration.conftest import Cli, once_per_session, where_to_train
from tests.support.replay_repo import small_replay_repo
from tests.unit.replay.conftest import switching_candles

GRID = ["--grid", "data.timeframe=15m,30m", "--grid", "training.label.threshold=round_trip"]


def _sweep_args(source, out, *more: str) -> list[str]:
    return ["sweep", "--weeks", "3", "--days", "10", "--source", str(source), "--out", str(out),
            *more]  # fmt: skip


def _in_process_sweep(shared: Path) -> dict:
    cli, csv = small_replay_repo(shared)
    out = shared / "out"
    completed = cli.dev_check(*_sweep_args(csv, out, *GRID))
    return {"root": str(cli.root), "csv": str(csv), "out": str(out),
            "returncode": completed.returncode, "stdout": completed.stdout,
            "stderr": completed.stderr}  # fmt: skip


@pytest.fixture(scope="session")
def in_process_sweep(request, tmp_path_factory) -> dict:
    """Two setups (two timeframes, the round-trip label) over 3 weeks, trained in this process,
    once for the whole run."""
    return once_per_session(request, tmp_path_factory, "sweep-in-process", _in_process_sweep)


def test_a_sweep_prints_every_setup_the_verdict_and_writes_its_files(in_process_sweep):
    assert in_process_sweep["returncode"] == 0, in_process_sweep["stderr"]
    stdout, out = in_process_sweep["stdout"], Path(in_process_sweep["out"])
    assert "2 setups x 3 weeks" in stdout and "training 6 in this process" in stdout
    summary = json.loads((out / "summary.json").read_text())
    markets = {setup["market"]["timeframe"] for setup in summary["setups"]}
    assert markets == {"15m", "30m"}  # 30m bars made from the file's 15m candles
    thresholds = [setup["values"]["training.label.threshold"] for setup in summary["setups"]]
    assert thresholds == ["round_trip", "round_trip"]
    assert set(summary["best"]) == {"data.timeframe", "training.label.threshold"}
    assert 0.0 <= summary["p_value"] <= 1.0
    assert summary["sentence"] in " ".join(stdout.split()) or "survive" in stdout
    for setup in summary["setups"]:
        assert f"{setup['excess']:+.2%}" in stdout
        assert len(list((out / "setups" / setup["key"] / "weeks").glob("*.json"))) == 3
    html = (out / "report.html").read_text()
    assert "Hansen&#39;s SPA p-value" in html and summary["setups"][0]["name"] in html
    assert "Nothing was applied" in (out / "best-config.yaml").read_text()


@pytest.mark.parametrize("where", ["--workers 2", "--scheduler"])
def test_a_sweep_writes_the_same_summary_wherever_it_trains(
    request, in_process_sweep, tmp_path, where
):
    assert in_process_sweep["returncode"] == 0, in_process_sweep["stderr"]
    cli, csv = Cli(Path(in_process_sweep["root"])), in_process_sweep["csv"]
    option, expected = where_to_train(request, where, 6)
    out = tmp_path / "out"

    completed = cli.dev_check(*_sweep_args(csv, out, *GRID, *option))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert expected in completed.stdout
    reference = Path(in_process_sweep["out"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads((reference / "summary.json").read_text())
    for setup in summary["setups"]:
        weeks = week_results(out / "setups" / setup["key"])
        assert weeks == week_results(reference / "setups" / setup["key"]) and len(weeks) == 3


def test_a_sweep_over_bitbank_symbols_fetches_each_market(tmp_path, bitbank):
    cli, _ = small_replay_repo(tmp_path)
    out = tmp_path / "out"
    completed = cli.dev_check(
        *_sweep_args("bitbank", out, "--grid", "data.symbol=BTC/JPY,ETH/JPY"),
        env={"BITBANK_API_URL": bitbank.url},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    fetched = {path.split("/")[1] for path in bitbank.candle_requests()}
    assert fetched == {"btc_jpy", "eth_jpy"}
    summary = json.loads((out / "summary.json").read_text())
    assert [setup["market"]["symbol"] for setup in summary["setups"]] == ["BTC/JPY", "ETH/JPY"]
    # Each setup against its own market's buy-and-hold: the two markets moved alike here.
    assert summary["setups"][0]["values"] == {"data.symbol": "BTC/JPY"}


@pytest.mark.parametrize(("grid", "message"), [
    (["--grid", "training.label.horizn=1,4"], "training.label has no 'horizn'"),
    (["--grid", "data.symbol=BTC/JPY,ETH/JPY"], "--grid data.symbol needs --source bitbank"),
    (["--grid", "compute.workers=1,2"], "where tasks run never changes a result"),
    (["--grid", "training.label.horizon=0,1"], "training.label.horizon=0 is not a valid config"),
    (["--grid", "data.timeframe=20m"], "cannot make 20m bars from 15m candles"),
    (["--grid", "trading.allow_short=false,true", "--weeks", "2"], "--weeks 2 is too few"),
])  # fmt: skip
def test_a_grid_the_sweep_cannot_run_is_bad_input_and_writes_nothing(tmp_path, grid, message):
    csv = tmp_path / "switching.csv"
    switching_candles().to_csv(csv)
    completed = Cli().dev_check(*_sweep_args(csv, tmp_path / "out"), *grid)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert message in completed.stderr
    assert not (tmp_path / "out").exists()
