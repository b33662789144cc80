#!/usr/bin/env python3
"""Plant small, plausible bugs one at a time and check that the suite catches each.

    make mutants                      # every mutant
    .venv/bin/python tests/mutants.py fit-on-purge-rows gate-f1-boundary   # some of them

Each mutant is one textual edit of one file in a scratch copy of the working tree (tracked and
new files), followed by the tests that should catch it, run in that copy. A mutant is caught
when those tests fail. Prints one line per mutant and caught/total; exits 1 if any survived.
Not part of CI: it takes a few minutes. Add a mutant here whenever a review finds a bug the suite
let through, so the next change is checked the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    honesty_rule: str  # what the bug breaks, as the catching test should say
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


ML = ("tests/unit/ml",)
REGISTRY = ("tests/unit/registry",)
INFERENCE = ("tests/unit/inference",)
MUTANTS = (
    Mutant(
        "fit-on-purge-rows",
        "the models train on the purge rows before the holdout",
        "src/ml/training.py",
        "_fit(name, training, X_train, y_train, progress)",
        "_fit(name, training, X.iloc[: split.holdout_start], y.iloc[: split.holdout_start], "
        "progress)",
        ML,
    ),
    Mutant(
        "baselines-off-the-holdout",
        "baselines and models are scored on different rows",
        "src/ml/training.py",
        "        y_train,\n        y_hold,\n        past_move_up(",
        "        y_train,\n        y.iloc[split.train_end :],\n        past_move_up(",
        ML,
    ),
    Mutant(
        "weights-on-the-holdout",
        "ensemble weights are tuned on the holdout",
        "src/ml/training.py",
        "weight_choice = optimise_weights(cv_result.oof_p_up, y_train.to_numpy())",
        "weight_choice = optimise_weights({n: models[n].predict_proba(X_hold)[:, 1] for n in "
        "MODEL_NAMES}, y_hold.to_numpy())",
        ML,
    ),
    Mutant(
        "weights-stop-at-the-start",
        "ensemble weights stay equal: SLSQP's default tolerance exceeds the flat loss's decrease",
        "src/ml/ensemble.py",
        'options={"ftol": _SLSQP_FTOL, "maxiter": _SLSQP_MAX_ITERATIONS},',
        'options={"maxiter": _SLSQP_MAX_ITERATIONS},',
        ("tests/unit/ml/test_ensemble_weights.py",),
    ),
    Mutant(
        "policy-on-the-holdout",
        "the trading thresholds are chosen on the holdout",
        "src/ml/training.py",
        "oof_p_up = _oof_ensemble_p_up(cv_result, weights, X_train.index)",
        "oof_p_up = pd.Series(ensemble.predict_proba(X_hold)[:, 1], index=X_hold.index)",
        ML,
    ),
    Mutant(
        "no-purge",
        "training labels look into the holdout",
        "src/ml/evaluation.py",
        "train_end = holdout_start - gap",
        "train_end = holdout_start",
        ML,
    ),
    Mutant(
        "labels-across-gaps",
        "a label spans a gap in the candles",
        "src/ml/labels.py",
        "labels[future_return.isna() | ~_exact_span(close.index, horizon, ahead=True)] = np.nan",
        "labels[future_return.isna()] = np.nan",
        ML,
    ),
    Mutant(
        "weights-off-the-simplex",
        "ensemble weights no longer sum to 1 after tiny ones are zeroed",
        "src/ml/ensemble.py",
        "weights[weights < _NEGLIGIBLE_WEIGHT] = 0.0\n    return weights / weights.sum()",
        "weights[weights < _NEGLIGIBLE_WEIGHT] = 0.0\n    return weights",
        ML,
    ),
    Mutant(
        "settle-across-gaps",
        "a decision is settled across a gap in the candles",
        "src/ml/backtest.py",
        "adjacent = has_next & (times[following] - times[positions] == step)",
        "adjacent = has_next",
        ML,
    ),
    Mutant(
        "free-buy-and-hold",
        "buy-and-hold pays no entry and exit costs",
        "src/ml/trading.py",
        "held_simulation = simulate(np.ones(len(held.index)), held, cost)",
        "held_simulation = simulate(np.ones(len(held.index)), held, 0.0)",
        ML,
    ),
    Mutant(
        "unseeded-bootstrap",
        "the same inputs give different intervals",
        "src/ml/bootstrap.py",
        "rng, length = np.random.default_rng(seed), block_length(n_rows)",
        "rng, length = np.random.default_rng(), block_length(n_rows)",
        ML,
    ),
    Mutant(
        "spread-not-charged",
        "a bid-ask bounce looks like money: the spread the candles imply is not charged",
        "src/ml/costs.py",
        "cost_per_side=config.fee_rate + charged / 2.0 + config.slippage_rate,",
        "cost_per_side=config.fee_rate + config.slippage_rate,",
        ("tests/unit/ml/test_costs.py",),
    ),
    Mutant(
        "spread-pairs-across-gaps",
        "the spread estimate takes the moves across gaps in the candles for bounces",
        "src/ml/costs.py",
        "    usable = _consecutive(candles.index)\n    kept = products[usable]",
        "    usable = np.ones(len(products), dtype=bool)\n    kept = products[usable]",
        ("tests/unit/ml/test_costs.py",),
    ),
    Mutant(
        "spread-from-the-holdout",
        "the holdout's candles shape the cost the policy is chosen with",
        "src/ml/training.py",
        "estimate_costs(candles.loc[: X.index[split.train_end - 1]], settings.trading)",
        "estimate_costs(candles, settings.trading)",
        ("tests/unit/ml/test_policy_runs.py",),
    ),
    Mutant(
        "money-on-the-point-estimate",
        "the money check promotes on a point estimate its interval cannot tell from luck",
        "src/ml/gate.py",
        "passed = interval.low >= config.min_excess_return and",
        "passed = excess >= config.min_excess_return and",
        ("tests/unit/ml/test_gate.py",),
    ),
    Mutant(
        "gate-f1-boundary",
        "a candidate exactly at the seed's F1 is rejected",
        "src/ml/gate.py",
        "f1 >= config.min_f1,",
        "f1 > config.min_f1,",
        ("tests/unit/ml/test_gate.py",),
    ),
    Mutant(
        "degradation-min-not-max",
        "a drop above the noise but below max_metric_drop is called degradation",
        "src/ml/monitoring.py",
        "limit = max(config.max_metric_drop, two_standard_errors(skill, len(y_new)))",
        "limit = min(config.max_metric_drop, two_standard_errors(skill, len(y_new)))",
        ("tests/unit/ml/test_monitoring.py",),
    ),
    Mutant(
        "member-without-version-check",
        "a member pickle predicts on features of another FeatureManager version",
        "src/ml/models.py",
        "        check_feature_version(X, self.feature_manager_version, feature_manager_version)\n"
        "        return self.estimator.predict(X)",
        "        return self.estimator.predict(X)",
        ("tests/unit/ml/test_ensemble.py",),
    ),
    Mutant(
        "ensemble-takes-non-finite-features",
        "the ensemble predicts on NaN or infinite features (members would guess for them)",
        "src/ml/ensemble.py",
        "X_checked = validate_data(self, X, reset=False, accept_sparse=False)",
        "X_checked = validate_data(self, X, reset=False, accept_sparse=False, "
        "ensure_all_finite=False)",
        ("tests/unit/ml/test_ensemble.py",),
    ),
    Mutant(
        "frozen-members-unchecked",
        "frozen members fitted on other columns or labels join the ensemble",
        "src/ml/ensemble.py",
        "        self._check_frozen_members(X_checked.shape[1])\n",
        "",
        ("tests/unit/ml/test_ensemble.py",),
    ),
    Mutant(
        "rollback-to-newest",
        "rollback goes to the newest archive instead of the live set's previous_version",
        "src/registry/history.py",
        "        to = Path(previous).name",
        "        to = [v.name for v in versions if v.restorable and not v.live][-1]",
        REGISTRY,
    ),
    Mutant(
        "rollback-without-version-check",
        "rollback installs a set made by another FeatureManager",
        "src/registry/store.py",
        "            check_feature_version(verified)\n",
        "",
        REGISTRY,
    ),
    Mutant(
        "signature-ignored",
        "a set with rewritten hashes loads although signing is on",
        "src/registry/signing.py",
        "    if key is None:\n",
        "    if True:\n",
        REGISTRY,
    ),
    Mutant(
        "onnx-bound-ignored",
        "an ONNX export beyond the bound ships instead of leaving the set pickle-only",
        "src/ml/onnx_export.py",
        "    if not diffs[worst] <= MAX_ABS_DIFF:",
        "    if False:",
        ("tests/unit/ml/test_onnx_export.py",),
    ),
    Mutant(
        "lightgbm-float32-thresholds",
        "LightGBM's splits are exported in float32, flipping rows at raw prices",
        "src/ml/onnx_export.py",
        'np.asarray(attrs[key], dtype="float64")',
        'np.asarray(attrs[key], dtype="float32").astype("float64")',
        ("tests/unit/ml/test_onnx_export.py",),
    ),
    Mutant(
        "file-hash-unchecked",
        "a tampered file is loaded because its sha256 is not compared",
        "src/registry/verify.py",
        '    if f"sha256:{sha256_hex(data)}" != expected:',
        "    if False:",
        INFERENCE,
    ),
    Mutant(
        "stream-accepts-gaps",
        "the feature stream carries its averages across missing candles",
        "src/inference/stream.py",
        "if epoch_us - self.last_us != self.step_us and not allow_gap:",
        "if False:",
        INFERENCE,
    ),
)


def _scratch_copy(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file() and not source.is_symlink():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def _pytest(copy: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", "-p", "no:cacheprovider", *tests],
        cwd=copy, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(copy)},
    )  # fmt: skip


def _copy(workdir: Path, name: str) -> Path:
    copy = workdir / name / "repo"
    copy.mkdir(parents=True)
    _scratch_copy(copy)
    return copy


def _run(mutant: Mutant, workdir: Path) -> str:
    copy = _copy(workdir, mutant.name)
    path = copy / mutant.path
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        return "STALE (the code to mutate is not there exactly once: update the mutant)"
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    result = _pytest(copy, mutant.tests)
    if result.returncode == 0:
        return "SURVIVED"
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return "caught by " + (failed[0].split(" ", 1)[1].split(" - ")[0] if failed else "an error")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    names = parser.parse_args().names
    chosen = [mutant for mutant in MUTANTS if not names or mutant.name in names]
    caught = 0
    with tempfile.TemporaryDirectory(prefix="mutants-") as workdir:
        # The same tests on the unchanged code must pass, or "caught" would mean nothing.
        tests = tuple(sorted({test for mutant in chosen for test in mutant.tests}))
        control = _pytest(_copy(Path(workdir), "control"), tests)
        if control.returncode != 0:
            print(control.stdout[-2000:], file=sys.stderr)
            raise SystemExit("the tests fail on the unchanged code; fix that first")
        for mutant in chosen:
            outcome = _run(mutant, Path(workdir))
            caught += outcome.startswith("caught")
            print(f"{mutant.name:32} {outcome}\n{'':32} ({mutant.honesty_rule})", flush=True)
    print(f"caught {caught}/{len(chosen)}")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
