"""What the docs tell a user to run, and which integration tests run it.

`documented()` reads README.md, docs/**/*.md, the two scripts' docstrings and the weekly
workflow's `run:` steps, and returns every documented `dev_check.py <command>`, the
`create_ml_models.py` command itself, and every `--option` of the two scripts: an option named
on a line that runs one of them (whatever it is, so an option the scripts lack is caught too),
or named anywhere else when one of the scripts' parsers defines it (so `--dry-run` in prose
counts, `dask worker --nthreads` does not). `--source sample` and `--source bitbank` are
items of their own: each source is its own code path.

`RUN_BY` maps each item to the integration tests that run it on its success path. The table is
checked twice: tests/integration/test_documented_commands.py fails on a documented item missing
from it (or an entry no longer documented, or a test id pytest does not collect), and the
integration conftest fails a listed test that did not run its item, with an exit of 0 or 3, in a
subprocess through the `Cli` helper.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from src.config import REPO_ROOT

CREATE_ML_MODELS = Path("scripts", "ml", "create_ml_models.py")
DEV_CHECK = Path("scripts", "testing", "dev_check.py")
WORKFLOW = Path(".github", "workflows", "weekly-retrain.yml")
SCRIPT_NAMES = (CREATE_ML_MODELS.name, DEV_CHECK.name)
SOURCE_KINDS = ("sample", "bitbank")  # --source PATH is the plain --source item
# A run's exit codes that mean the command did its job: 0, or 3 (a verdict: rejected, degraded).
SUCCESS_CODES = (0, 3)

_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_COMMAND = re.compile(r"dev_check\.py\s+([a-z][a-z-]*)")
_SOURCE = re.compile(r"--source[ =](" + "|".join(SOURCE_KINDS) + r")\b")
_FENCE = re.compile(r"^\s*```[^\n]*\n(.*?)^\s*```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+)`")
_COMMENT = re.compile(r"\s#\s.*$")

# Each documented item -> the tests (ids under tests/integration/) that run it on its success
# path and check its output.
RUN_BY: dict[str, tuple[str, ...]] = {
    "create_ml_models.py": (
        "test_cli.py::test_verbose_training_prints_timings_and_metrics_and_promotes",
    ),
    "dev_check.py ml-models": (
        "test_cli_training.py::test_ml_models_trains_tunes_within_its_budget_and_promotes",
    ),
    "dev_check.py history": (
        "test_cli_rollback.py::test_two_promotions_then_rollback_restores_the_first_set_byte_for_byte",
        "test_cli_rollback.py::test_history_of_an_empty_archive_says_there_is_none",
    ),
    "dev_check.py rollback": (
        "test_cli_rollback.py::test_two_promotions_then_rollback_restores_the_first_set_byte_for_byte",
    ),
    "dev_check.py replay": (
        "test_cli_replay.py::test_a_replay_killed_mid_way_resumes_from_the_weeks_it_finished",
        "test_cli_replay.py::test_a_replay_writes_the_same_weeks_wherever_they_train[--workers 2]",
    ),
    "dev_check.py resign": (
        "test_cli_resign.py::test_resign_signs_the_archived_set_so_a_keyed_load_accepts_it",
    ),
    "--verbose": (
        "test_cli.py::test_verbose_training_prints_timings_and_metrics_and_promotes",
        "test_cli_training.py::test_bitbank_candles_of_the_last_days_train_and_promote",
    ),
    "--source": ("test_cli.py::test_verbose_training_prints_timings_and_metrics_and_promotes",),
    "--source sample": ("test_cli_training.py::test_the_shipped_sample_trains_and_is_rejected",),
    "--source bitbank": (
        "test_cli_training.py::test_bitbank_candles_of_the_last_days_train_and_promote",
    ),
    "--days": (
        "test_cli_training.py::test_bitbank_candles_of_the_last_days_train_and_promote",
        "test_cli_replay.py::test_a_replay_killed_mid_way_resumes_from_the_weeks_it_finished",
    ),
    "--symbol": ("test_cli_training.py::test_a_file_with_symbol_timeframe_and_seed_records_them",),
    "--timeframe": (
        "test_cli_training.py::test_a_file_with_symbol_timeframe_and_seed_records_them",
    ),
    "--seed": (
        "test_cli_training.py::test_a_file_with_symbol_timeframe_and_seed_records_them",
        "test_cli_replay.py::test_a_replay_writes_the_same_weeks_wherever_they_train[--workers 2]",
    ),
    "--force": (
        "test_cli.py::test_a_rejected_candidate_exits_3_and_force_promotes_it",
        "test_cli_paper.py::test_rollback_refuses_a_retired_set_unless_forced",
    ),
    "--force-memory": (
        "test_cli_training.py::test_force_memory_trains_a_window_above_the_memory_limit",
    ),
    "--models-dir": ("test_cli.py::test_verbose_training_prints_timings_and_metrics_and_promotes",),
    "--tune": ("test_cli_tuning.py::test_tune_on_two_local_workers_records_the_search",),
    "--no-tune": ("test_cli_tuning.py::test_no_tune_trains_with_the_configured_values",),
    "--tune-trials": ("test_cli_tuning.py::test_tune_on_two_local_workers_records_the_search",),
    "--tune-minutes": (
        "test_cli_training.py::test_ml_models_trains_tunes_within_its_budget_and_promotes",
    ),
    "--workers": (
        "test_cli_tuning.py::test_tune_on_two_local_workers_records_the_search",
        "test_cli_replay.py::test_a_replay_writes_the_same_weeks_wherever_they_train[--workers 2]",
    ),
    "--scheduler": (
        "test_cli_tuning.py::test_tune_on_a_dask_cluster_records_where_the_trials_ran",
        "test_cli_replay.py::test_a_replay_writes_the_same_weeks_wherever_they_train[--scheduler]",
    ),
    "--dry-run": (
        "test_cli.py::test_dry_run_with_models_prints_status_and_writes_nothing",
        "test_cli_dry_run.py::test_dry_run_on_newer_candles_judges_skill_and_drift[healthy]",
        "test_cli_dry_run.py::test_dry_run_on_newer_candles_judges_skill_and_drift[degraded]",
    ),
    "--to": (
        "test_cli_rollback.py::test_two_promotions_then_rollback_restores_the_first_set_byte_for_byte",
    ),
    "dev_check.py paper": (
        "test_cli_paper.py::test_paper_journals_each_candle_and_retires_the_set_once_its_signal_is_gone",
        "test_cli_paper.py::test_paper_follow_polls_bitbank_for_each_new_closed_candle",
    ),
    "--journal": (
        "test_cli_paper.py::test_paper_killed_midway_resumes_to_the_journal_of_an_uninterrupted_run",
    ),
    "--follow": ("test_cli_paper.py::test_paper_follow_polls_bitbank_for_each_new_closed_candle",),
    "--poll-seconds": (
        "test_cli_paper.py::test_paper_follow_polls_bitbank_for_each_new_closed_candle",
    ),
    "dev_check.py sweep": (
        "test_cli_sweep.py::test_a_sweep_writes_the_same_summary_wherever_it_trains[--workers 2]",
        "test_cli_sweep.py::test_a_sweep_over_bitbank_symbols_fetches_each_market",
    ),
    "--grid": (
        "test_cli_sweep.py::test_a_sweep_writes_the_same_summary_wherever_it_trains[--workers 2]",
    ),
    "--weeks": (
        "test_cli_replay.py::test_a_replay_killed_mid_way_resumes_from_the_weeks_it_finished",
    ),
    "--out": (
        "test_cli_replay.py::test_a_replay_killed_mid_way_resumes_from_the_weeks_it_finished",
    ),
}


@dataclass(frozen=True)
class CliRun:
    """One run of a script: its arguments after the interpreter (the script first) and exit."""

    argv: tuple[str, ...]
    returncode: int

    def runs(self, item: str) -> bool:
        """Whether this run executed the documented `item` and did its job."""
        script, args = Path(self.argv[0]).name, self.argv[1:]
        if self.returncode not in SUCCESS_CODES or script not in SCRIPT_NAMES:
            return False
        if item in SCRIPT_NAMES:
            return script == item
        if item.startswith(f"{DEV_CHECK.name} "):
            return script == DEV_CHECK.name and args[:1] == (item.split()[1],)
        option, _, value = item.partition(" ")
        given = [args[i + 1] if i + 1 < len(args) else None for i, a in enumerate(args)
                 if a == option]  # fmt: skip
        return bool(given) and (not value or value in given)


def items_run_by(test_id: str) -> list[str]:
    return [item for item, tests in RUN_BY.items() if test_id in tests]


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with shell continuations (a trailing backslash) joined, comments dropped."""
    yield from (_COMMENT.sub("", line) for line in text.replace("\\\n", " ").splitlines())


def _markdown_chunks(markdown: str) -> Iterator[str]:
    """Fenced blocks line by line, then the inline code spans of the prose around them."""
    for block in _FENCE.findall(markdown):
        yield from _logical_lines(block)
    yield from _SPAN.findall(_FENCE.sub("", markdown))


def _items_of(chunk: str, parser_options: set[str]) -> set[str]:
    options = set(_OPTION.findall(chunk))
    if not any(name in chunk for name in SCRIPT_NAMES):
        return options & parser_options
    items = options | {f"{DEV_CHECK.name} {command}" for command in _COMMAND.findall(chunk)}
    items |= {f"--source {kind}" for kind in _SOURCE.findall(chunk)}
    return items | ({CREATE_ML_MODELS.name} if CREATE_ML_MODELS.name in chunk else set())


def documented_items(texts: Iterable[tuple[str, str]], parser_options: set[str]) -> set[str]:
    """The items of (kind, text) pairs: kind "markdown", or "lines" (docstrings, run steps)."""
    items: set[str] = set()
    for kind, text in texts:
        chunks = _markdown_chunks(text) if kind == "markdown" else _logical_lines(text)
        for chunk in chunks:
            items |= _items_of(chunk, parser_options)
        # Prose that names an option outside code spans still documents it.
        items |= set(_OPTION.findall(_FENCE.sub("", text))) & parser_options
    return items


def _script_parser(relative: Path) -> argparse.ArgumentParser:
    name = f"_documented_{relative.stem}"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the parser; main() runs only as __main__
    return module._parser()


def _options(parser: argparse.ArgumentParser) -> set[str]:
    options = set()
    for action in parser._actions:
        options |= {name for name in action.option_strings if name.startswith("--")}
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                options |= _options(subparser)
    return options - {"--help"}


def parser_options() -> set[str]:
    """Every long option the two scripts accept, subcommands' included."""
    return set().union(*(_options(_script_parser(path)) for path in (CREATE_ML_MODELS, DEV_CHECK)))


def documentation() -> list[tuple[str, str]]:
    """(kind, text) of every place that tells a user what to run."""
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("**/*.md"))]
    texts = [("markdown", page.read_text(encoding="utf-8")) for page in pages]
    for script in (CREATE_ML_MODELS, DEV_CHECK):
        tree = ast.parse((REPO_ROOT / script).read_text(encoding="utf-8"))
        texts.append(("lines", ast.get_docstring(tree) or ""))
    workflow = yaml.safe_load((REPO_ROOT / WORKFLOW).read_text(encoding="utf-8"))
    for job in workflow["jobs"].values():
        texts += [("lines", step["run"]) for step in job["steps"] if "run" in step]
    return texts
