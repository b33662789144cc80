"""Run a GitHub Actions job's steps locally, in order, the way the hosted runner does.

Only what a small workflow needs, and nothing guessed:
- `run:` steps go to `bash --noprofile --norc -eo pipefail <script>` (GitHub's default shell on
  Linux) in the working directory, with the job's `env:` overlaid by the step's;
- `if:` defaults to `success()`, and a condition without a status function is read as
  `success() && (...)`, as GitHub does; a failed step stops the later ones unless their `if:`
  says otherwise; each step's outcome is kept for `steps.<id>.outcome`;
- `${{ }}` expressions (in `env:` values, `run:` text and `if:`) are looked up in a table the
  caller gives, keyed by the exact expression text: every expression anywhere in the job must be
  there, in steps that end up skipped too, before anything runs; one that is not is an error;
- steps are handled by name from a table the caller gives too (run it, emulate the action, or
  skip it with a reason): a step missing from the table is an error, so a new step cannot go
  untested without someone deciding how;
- `before_step`, if given, is called with each step's name before the step is handled: what
  happens outside the job while it runs (someone pushing to the remote) happens there.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SUCCESS, FAILURE, SKIPPED = "success", "failure", "skipped"
_STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class WorkflowEmulationError(AssertionError):
    """The workflow uses something this emulation was not told how to handle."""


@dataclass
class Context:
    """What expressions can read: the event's inputs, secrets, `github.*` and earlier steps."""

    inputs: dict[str, object]
    secrets: dict[str, str]
    github: dict[str, str]
    outcomes: dict[str, str] = field(default_factory=dict)  # step id -> outcome
    failed: bool = False  # some earlier step failed: what failure() and success() read


Expression = Callable[[Context], object]


@dataclass(frozen=True)
class Run:
    """Run the step's `run:` script as the runner would."""


@dataclass(frozen=True)
class Emulate:
    """A `uses:` action, replaced by what the test set up (or by `action`, whose text is logged)."""

    why: str
    action: Callable[[dict, Path], str] | None = None


@dataclass(frozen=True)
class Skip:
    """Not run at all, for the reason given (recorded as skipped)."""

    why: str


StepHandling = Run | Emulate | Skip


@dataclass(frozen=True)
class StepResult:
    name: str
    outcome: str
    returncode: int | None
    output: str


def evaluate(expression: str, table: dict[str, Expression], context: Context) -> object:
    if expression not in table:
        raise WorkflowEmulationError(
            f"the workflow uses the expression {expression!r}, which the test's table does not "
            f"know; add it with its meaning (known: {sorted(table)})"
        )
    return table[expression](context)


def substitute(text: str, table: dict[str, Expression], context: Context) -> str:
    """`text` with each `${{ expr }}` replaced by its value as GitHub writes it in a string."""

    def as_text(match: re.Match[str]) -> str:
        value = evaluate(match[1], table, context)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return _EXPRESSION.sub(as_text, text)


def _condition(text: object) -> str:
    """An `if:` value as an expression (the `${{ }}` around it is optional)."""
    condition = str(text).strip()
    wrapped = _EXPRESSION.fullmatch(condition)
    return wrapped[1] if wrapped else condition


def expressions_in(node: object, key: str | None = None) -> set[str]:
    """Every expression in a parsed workflow fragment: in `${{ }}` and whole `if:` values."""
    if isinstance(node, dict):
        return set().union(*(expressions_in(value, name) for name, value in node.items()))
    if isinstance(node, list):
        return set().union(*(expressions_in(value) for value in node))
    if key == "if":
        return {_condition(node)}
    if isinstance(node, str):
        return {match[1] for match in _EXPRESSION.finditer(node)}
    return set()


def condition_holds(step: dict, table: dict[str, Expression], context: Context) -> bool:
    condition = _condition(step.get("if", "success()"))
    if not any(function in condition for function in _STATUS_FUNCTIONS) and context.failed:
        return False  # GitHub reads `if: X` as `if: success() && (X)`
    if condition == "success()":
        return not context.failed
    return bool(evaluate(condition, table, context))


def run_script(script: str, env: dict[str, str], workdir: Path, script_path: Path):
    """One `run:` step: bash -e -o pipefail, no profile or rc files; output merged."""
    script_path.parent.mkdir(parents=True, exist_ok=True)
    script_path.write_text(script)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        timeout=600,
    )


@dataclass(frozen=True)
class JobRunner:
    """Runs one job of a parsed workflow in `workdir`; `runner_temp` holds the step scripts."""

    handling: dict[str, StepHandling]
    expressions: dict[str, Expression]
    workdir: Path
    runner_temp: Path
    base_env: dict[str, str]
    before_step: Callable[[str], None] | None = None

    def run(self, job: dict, context: Context) -> list[StepResult]:
        self._check_handling(job["steps"])
        unknown = sorted(expressions_in(job) - set(self.expressions) - {"success()"})
        if unknown:
            raise WorkflowEmulationError(
                f"the workflow uses expressions the test's table does not know: {unknown}; add "
                f"each with its meaning (known: {sorted(self.expressions)})"
            )
        job_env = self._env(job.get("env", {}), context)
        results = []
        for number, step in enumerate(job["steps"]):
            result = self._step(number, step, job_env, context)
            results.append(result)
            if "id" in step:
                context.outcomes[step["id"]] = result.outcome
            context.failed = context.failed or result.outcome == FAILURE
        return results

    def _check_handling(self, steps: list[dict]) -> None:
        names = [step.get("name", step.get("uses", step.get("run"))) for step in steps]
        unknown = [name for name in names if name not in self.handling]
        stale = [name for name in self.handling if name not in names]
        if unknown or stale:
            raise WorkflowEmulationError(
                f"steps the test does not know how to handle: {unknown}; steps the test handles "
                f"that the workflow no longer has: {stale}. Decide for each (run, emulate, skip)"
            )

    def _env(self, env: dict, context: Context) -> dict[str, str]:
        return {
            name: substitute(str(value), self.expressions, context) for name, value in env.items()
        }

    def _step(self, number: int, step: dict, job_env: dict, context: Context) -> StepResult:
        name = step.get("name", step.get("uses", step.get("run")))
        if self.before_step is not None:
            self.before_step(name)
        handling = self.handling[name]
        if isinstance(handling, Skip) or not condition_holds(step, self.expressions, context):
            reason = handling.why if isinstance(handling, Skip) else f"if: {step.get('if')}"
            return StepResult(name, SKIPPED, None, reason)
        if isinstance(handling, Emulate):
            if "uses" not in step:
                raise WorkflowEmulationError(f"step {name!r} has no `uses:` to emulate")
            log = handling.action(step, self.workdir) if handling.action else handling.why
            return StepResult(name, SUCCESS, None, log)
        if "run" not in step:
            raise WorkflowEmulationError(f"step {name!r} has no `run:` script to run")
        env = {**self.base_env, **job_env, **self._env(step.get("env", {}), context)}
        script = substitute(step["run"], self.expressions, context)
        completed = run_script(script, env, self.workdir, self.runner_temp / f"step-{number}.sh")
        outcome = SUCCESS if completed.returncode == 0 else FAILURE
        return StepResult(name, outcome, completed.returncode, completed.stdout)
