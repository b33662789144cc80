"""The local GitHub Actions runner the weekly-workflow test relies on (tests/support/)."""

from __future__ import annotations

import os

import pytest

from tests.support.github_actions import (
    FAILURE,
    SKIPPED,
    SUCCESS,
    Context,
    Emulate,
    JobRunner,
    Run,
    Skip,
    WorkflowEmulationError,
)

EXPRESSIONS = {
    "inputs.flag": lambda c: c.inputs["flag"],
    "always()": lambda c: True,
    "failure()": lambda c: c.failed,
    "steps.first.outcome": lambda c: c.outcomes.get("first"),
}


def _run(
    tmp_path, steps: list[dict], job_env: dict | None = None, flag: object = True, before_step=None
):
    runner = JobRunner(
        handling={step["name"]: Emulate("test") if "uses" in step else Run() for step in steps},
        expressions=EXPRESSIONS,
        workdir=tmp_path,
        runner_temp=tmp_path / "temp",
        base_env={"PATH": os.environ["PATH"]},
        before_step=before_step,
    )
    context = Context(inputs={"flag": flag}, secrets={}, github={})
    results = runner.run({"env": job_env or {}, "steps": steps}, context)
    return {result.name: result for result in results}, context


def test_steps_run_in_order_with_job_env_overlaid_by_step_env_and_expressions(tmp_path):
    steps = [
        {"name": "a", "run": 'echo "$X $Y" > out'},
        {"name": "b", "env": {"Y": "step ${{ inputs.flag }}"}, "run": 'echo "$X $Y" >> out'},
    ]

    results, _ = _run(tmp_path, steps, job_env={"X": "job", "Y": "job"}, flag=False)

    assert [result.outcome for result in results.values()] == [SUCCESS, SUCCESS]
    assert (tmp_path / "out").read_text() == "job job\njob step false\n"


def test_a_failed_step_skips_the_rest_unless_their_condition_says_otherwise(tmp_path):
    steps = [
        {"name": "first", "id": "first", "run": "false | true; false; echo not reached"},
        {"name": "default", "run": "true"},
        {"name": "plain condition", "if": "inputs.flag", "run": "true"},
        {"name": "after failure", "if": "${{ failure() }}", "run": "echo $0"},
        {"name": "always", "if": "always()", "uses": "actions/upload-artifact@v4"},
    ]

    results, context = _run(tmp_path, steps)

    outcomes = {name: result.outcome for name, result in results.items()}
    assert outcomes == {
        "first": FAILURE,
        "default": SKIPPED,
        "plain condition": SKIPPED,  # GitHub reads it as success() && inputs.flag
        "after failure": SUCCESS,
        "always": SUCCESS,
    }
    assert "not reached" not in results["first"].output  # bash -e
    assert context.outcomes == {"first": FAILURE}


def test_before_step_sees_each_step_before_it_runs_skipped_ones_too(tmp_path):
    steps = [
        {"name": "a", "run": "cat outside"},
        {"name": "b", "if": "failure()", "run": "true"},
    ]
    seen = []

    def outside_the_job(name):  # what another actor does meanwhile, here before "a" reads it
        seen.append(name)
        (tmp_path / "outside").write_text(f"before {name}\n")

    results, _ = _run(tmp_path, steps, before_step=outside_the_job)

    assert seen == ["a", "b"]
    assert results["a"].output == "before a\n"
    assert results["b"].outcome == SKIPPED


def test_pipefail_fails_a_step_whose_pipeline_fails_early(tmp_path):
    results, _ = _run(tmp_path, [{"name": "pipe", "run": "false | cat"}])

    assert results["pipe"].outcome == FAILURE


@pytest.mark.parametrize(
    "steps, message",
    [
        (
            [{"name": "a", "run": "true"}, {"name": "b", "if": "never()", "run": "true"}],
            r"expressions the test's table does not know: \['never\(\)'\]",
        ),
        (
            [{"name": "a", "if": "failure()", "run": "echo ${{ github.sha }}"}],
            r"does not know: \['github.sha'\]",  # even in a step that would be skipped
        ),
    ],
)
def test_an_expression_missing_from_the_table_stops_the_run_before_any_step(
    tmp_path, steps, message
):
    with pytest.raises(WorkflowEmulationError, match=message):
        _run(tmp_path, steps)


def test_every_step_needs_a_decision_and_stale_decisions_are_reported(tmp_path):
    runner = JobRunner(
        handling={"known": Run(), "removed": Skip("gone")},
        expressions=EXPRESSIONS,
        workdir=tmp_path,
        runner_temp=tmp_path / "temp",
        base_env={},
    )
    job = {"steps": [{"name": "known", "run": "true"}, {"name": "new", "run": "true"}]}

    with pytest.raises(WorkflowEmulationError, match=r"\['new'\].*\['removed'\]"):
        runner.run(job, Context(inputs={}, secrets={}, github={}))
