"""The weekly workflow's helper scripts (scripts/ml/alert.py, commit_message.py) import no
training library, and still say the right thing.

Each runs in a fresh interpreter through a wrapper that runs the script as `__main__` and then
records its exit code and which of the training libraries sit in sys.modules; the same wrapper
around a script that does train shows that it sees them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from src.config import REPO_ROOT
from tests.support.documented_commands import CREATE_ML_MODELS
from tests.support.fake_discord import running_fake_discord

pytestmark = pytest.mark.slow

HEAVY = (
    "sklearn", "lightgbm", "xgboost", "optuna", "dask", "distributed", "matplotlib", "scipy",
    "onnx", "onnxruntime", "onnxmltools", "skl2onnx",
)  # fmt: skip
# argv: the record's path, the script, its arguments.
WRAPPER = f"""
import json, runpy, sys
record, sys.argv = sys.argv[1], sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
heavy = sorted({{name.partition(".")[0] for name in sys.modules}} & set({HEAVY!r}))
with open(record, "w") as handle:
    json.dump({{"code": code, "heavy": heavy}}, handle)
"""
ALERT = REPO_ROOT / "scripts" / "ml" / "alert.py"
COMMIT_MESSAGE = REPO_ROOT / "scripts" / "ml" / "commit_message.py"
FAILURE_COLOUR = 0xE74C3C


def _run(cli, tmp_path: Path, script: Path, *args: str, env: dict | None = None):
    """(the completed run, its record: the script's exit code and the heavy modules loaded)."""
    record = tmp_path / f"{script.stem}.json"
    completed = cli.python("-c", WRAPPER, str(record), str(script), *args, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed, json.loads(record.read_text())


def test_the_alert_script_posts_its_alert_without_the_training_libraries(cli, tmp_path):
    with running_fake_discord() as discord:
        completed, record = _run(
            cli, tmp_path, ALERT, "Weekly retrain failed", "Run https://example.invalid/1",
            env={"DISCORD_WEBHOOK_URL": discord.url},
        )  # fmt: skip

    assert record == {"code": 0, "heavy": []}
    assert (completed.stdout, completed.stderr) == ("", "")
    (posted,) = [request["json"] for request in discord.requests]
    assert posted["embeds"] == [
        {
            "title": "Weekly retrain failed",
            "description": "Run https://example.invalid/1",
            "color": FAILURE_COLOUR,
        }
    ]


def test_the_commit_message_names_the_set_without_the_training_libraries(
    cli, tmp_path, trained_set
):
    metadata_path = trained_set.models_dir / "training" / "training_metadata.json"
    metadata = json.loads(metadata_path.read_text())

    completed, record = _run(cli, tmp_path, COMMIT_MESSAGE, str(metadata_path))

    assert record == {"code": 0, "heavy": []}
    ensemble = metadata["ensemble_metrics"]
    headline, _, holdout, _, skill, _, money = completed.stdout.strip().split("\n")
    assert headline == (
        f"Retrain {metadata['created_at'][:10]}: ensemble holdout F1 {ensemble['f1_score']:.3f}, "
        f"MCC {ensemble['mcc']:.3f}, AUC {ensemble['roc_auc']:.3f}; gate PASSED"
    )
    assert holdout.endswith(f"model_hash {metadata['version_control']['model_hash']}")
    assert skill.startswith("Skill: ") and money.startswith("Money: ")


def test_the_wrapper_sees_the_training_libraries_of_a_script_that_trains(cli, tmp_path):
    _, record = _run(cli, tmp_path, REPO_ROOT / CREATE_ML_MODELS, "--help")

    assert record["code"] == 0
    assert {"sklearn", "lightgbm", "xgboost", "optuna"} <= set(record["heavy"])
