"""`dev_check.py replay` under hostile input (issue 25, items 9, 10, 11, 17), run as a user runs
it: an --out that cannot take the files, week files of the wrong shape, absurd --weeks or
--days, and a planted pickle beside a rewritten week file."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
from pathlib import Path

import pytest

from src.config import REPO_ROOT
from src.registry.signing import SIGNING_KEY_ENV
from tests.integration.conftest import Cli
from tests.support import filesystems
from tests.support.bad_input import assert_bad_input
from tests.unit.replay.conftest import switching_candles, write_small_config

EXIT_OK = 0
KEY = "the replay's signing key"


def _replay_args(csv: Path, out: Path, weeks: int = 4, days: int = 10) -> list[str]:
    return ["replay", "--weeks", str(weeks), "--days", str(days), "--source", str(csv),
            "--out", str(out)]  # fmt: skip


@pytest.fixture(scope="module")
def small_cli(tmp_path_factory) -> tuple[Cli, Path]:
    """A copy of the code with small models and tuning off, and the switching candles."""
    root = tmp_path_factory.mktemp("hostile-replay")
    for part in ("src", "scripts", "config"):
        shutil.copytree(REPO_ROOT / part, root / "repo" / part,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    write_small_config(root / "repo" / "config" / "core" / "base.yaml")
    csv = root / "switching.csv"
    switching_candles().to_csv(csv)
    return Cli(root / "repo"), csv


@pytest.fixture(scope="module")
def signed_replay(small_cli, tmp_path_factory) -> Path:
    """The --out of a finished 4-week replay run with MODEL_SIGNING_KEY set."""
    cli, csv = small_cli
    out = tmp_path_factory.mktemp("signed") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SIGNING_KEY_ENV, KEY)
        completed = cli.dev_check(*_replay_args(csv, out))
    assert completed.returncode == EXIT_OK, completed.stdout + completed.stderr
    return out


@pytest.fixture
def resumable(signed_replay, tmp_path, monkeypatch) -> tuple[Path, list[str]]:
    """A private copy of the signed replay's --out and its weeks; MODEL_SIGNING_KEY is set."""
    out = tmp_path / "out"
    shutil.copytree(signed_replay, out)
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    return out, sorted(path.stem for path in (out / "weeks").glob("*.json"))


def _trained(stdout: str) -> list[str]:
    return re.findall(r"^trained week (\S+):", stdout, flags=re.MULTILINE)


# -- 9. an --out that cannot take the replay's files ------------------------------------------
def _a_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a file where a directory is expected")
    return path


OUT_CASES = [  # (the --out to pass, the folder refused, the file in its way)
    pytest.param(lambda tmp: _a_file(tmp / "out"), "out", "out", id="out is a file"),
    pytest.param(
        lambda tmp: _a_file(tmp / "blocker") / "out", "out", "blocker", id="out under a file"
    ),
    pytest.param(
        lambda tmp: _a_file(tmp / "out" / "weeks").parent, "out/weeks", "out/weeks",
        id="weeks is a file",
    ),
]


@pytest.mark.parametrize(("make_out", "folder", "blocker"), OUT_CASES)
def test_an_out_that_cannot_hold_the_files_is_refused_before_any_candles(
    small_cli, tmp_path, make_out, folder, blocker
):
    cli, _ = small_cli
    never_read = tmp_path / "candles.csv"  # judged before any candles are read

    completed = cli.dev_check(*_replay_args(never_read, make_out(tmp_path)))

    assert_bad_input(
        completed,
        rf"cannot use \S*/{folder} for the replay's files: \S*/{blocker} is a file, not a "
        r"directory; pass another --out",
    )


def test_a_read_only_out_is_refused_before_any_candles(small_cli, tmp_path):
    cli, _ = small_cli
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    with filesystems.read_only(shelf):
        completed = cli.dev_check(*_replay_args(tmp_path / "candles.csv", shelf / "out"))
    assert_bad_input(completed, rf"cannot write the replay's files into {shelf}: it is not writ")


def test_a_full_out_is_refused_before_any_candles(small_cli, tmp_path):
    cli, _ = small_cli
    with filesystems.mounted_or_skip(
        filesystems.small_tmpfs(tmp_path / "disk", 4 * 2**20, 64)
    ) as disk:
        filesystems.Filler(disk).fill_space()
        completed = cli.dev_check(*_replay_args(tmp_path / "candles.csv", disk / "out"))
    assert_bad_input(completed, r"not enough free space for .*/disk/out: .*pass another --out")


# -- 10. week files of the wrong shape are trained again -------------------------------------
@pytest.mark.slow
def test_a_week_file_of_the_wrong_shape_is_trained_again(small_cli, resumable):
    (cli, csv), (out, weeks) = small_cli, resumable
    (out / "weeks" / f"{weeks[1]}.json").write_text("{}")
    (out / "weeks" / f"{weeks[2]}.json").write_text("[]")

    completed = cli.dev_check(*_replay_args(csv, out))

    assert completed.returncode == EXIT_OK, completed.stdout + completed.stderr
    assert "2 already trained" in completed.stdout
    assert _trained(completed.stdout) == weeks[1:3]


# -- 11. absurd --weeks or --days are refused at once -----------------------------------------
@pytest.mark.parametrize(
    ("weeks", "days", "message"),
    [
        (100_000_000, 10, r"hold 4 weekly runs with a full 10-day training window .* not "
                          r"100000000: ask for --weeks 4 with --days 10"),
        (4, 100_000_000, r"hold 0 weekly runs with a full 100000000-day training window"),
    ],
)  # fmt: skip
@pytest.mark.timeout(120)  # before the fix --weeks 100000000 ran 81 s and 2.3 GiB, then crashed
def test_absurd_weeks_or_days_are_refused_from_the_candles_span(
    small_cli, tmp_path, weeks, days, message
):
    cli, csv = small_cli
    out = tmp_path / "out"

    completed = cli.dev_check(*_replay_args(csv, out, weeks, days))

    assert_bad_input(completed, message)
    assert not out.exists()


# -- 17. a planted pickle beside a rewritten week file ----------------------------------------
class _Planted:
    """Unpickling it creates a file: what a planted pickle's code could do instead."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.slow
def test_a_planted_or_unsigned_set_is_never_unpickled_with_a_signing_key(
    small_cli, resumable, tmp_path
):
    (cli, csv), (out, weeks) = small_cli, resumable
    marker = tmp_path / "planted-code-ran"
    planted = pickle.dumps(_Planted(marker))
    (out / "sets" / f"{weeks[0]}.pkl").write_bytes(planted)
    record_path = out / "weeks" / f"{weeks[0]}.json"
    record = json.loads(record_path.read_text())
    record["set_sha256"] = hashlib.sha256(planted).hexdigest()
    record_path.write_text(json.dumps(record))
    (out / "sets" / f"{weeks[3]}.sig").unlink()  # a set from a run without the key

    completed = cli.dev_check(*_replay_args(csv, out))

    assert completed.returncode == EXIT_OK, completed.stdout + completed.stderr
    assert not marker.exists(), "the planted pickle was unpickled"
    assert f"week {weeks[0]}: its set in {out} is not signed with MODEL_SIGNING_KEY's key; " \
           "not unpickled, trained again" in completed.stdout  # fmt: skip
    assert f"week {weeks[3]}: its set in {out} is unsigned, but MODEL_SIGNING_KEY is set" in (
        completed.stdout
    )
    assert _trained(completed.stdout) == [weeks[0], weeks[3]]
