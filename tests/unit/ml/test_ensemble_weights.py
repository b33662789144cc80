"""The ensemble's weights: the simplex minimum of the blend's out-of-fold log loss, checked
against a brute-force search of the simplex, and the figures recorded beside them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import log_loss

from src.config import MODEL_NAMES
from src.ml.ensemble import blend, optimise_weights, snap_to_simplex

# The optimiser must find the simplex's minimum log loss to this (the criterion).
OPTIMUM_TOLERANCE = 1e-6
# The brute force's own error bound, far below OPTIMUM_TOLERANCE so that it cannot hide a miss.
BRUTE_FORCE_CERTIFIED = 1e-8


def _correlated_members(n_rows: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three members' P(up) that correlate at 0.97-0.98, as the real out-of-fold ones do (0.96-
    0.99): each reads the two halves of the same signal in other proportions, with its own noise.
    Their best blend is not equal weights, and from equal weights SLSQP at its default tolerance
    stopped after one iteration on them."""
    rng = np.random.default_rng(seed)
    first, second = rng.normal(0.0, 0.3, n_rows), rng.normal(0.0, 0.3, n_rows)
    y = (rng.random(n_rows) < expit(first + second)).astype(int)
    reads = {"lightgbm": (0.58, 0.55), "xgboost": (0.48, 0.6), "random_forest": (0.5, 0.5)}
    members = {
        name: expit(2 * gain * (share * first + (1 - share) * second) + rng.normal(0, 0.03, n_rows))
        for name, (share, gain) in reads.items()
    }
    return members, y


def _log_losses(p_members: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The blend's mean log loss at each row of `weights` (members' P(up) lie inside (0, 1))."""
    p_up = p_members @ weights.T
    y = y[:, None]
    return -(y * np.log(p_up) + (1 - y) * np.log1p(-p_up)).mean(axis=0)


def _simplex_points(centre: np.ndarray, half_width: float, steps: int) -> np.ndarray:
    """Weights (a, b, 1 - a - b) >= 0 for (a, b) on a square grid around `centre`."""
    a, b = np.meshgrid(
        *(np.linspace(c - half_width, c + half_width, 2 * steps + 1) for c in centre[:2])
    )
    points = np.column_stack([a.ravel(), b.ravel(), 1 - a.ravel() - b.ravel()])
    # Grid points on a face of the simplex land a rounding error off it.
    return points[(points > -1e-12).all(axis=1)].clip(0.0, None)


def _optimality_gap(p_members: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """An upper bound of log loss(weights) - the simplex's minimum log loss.

    The log loss of a linear blend is convex in the weights, so its tangent plane at `weights`
    lies under it, and a linear function is smallest at a vertex of the simplex: the minimum is
    at least loss + min_k(gradient_k) - gradient . weights (the Frank-Wolfe duality gap)."""
    p_up = p_members @ weights
    gradient = p_members.T @ ((1 - y) / (1 - p_up) - y / p_up) / len(y)
    return float(gradient @ weights - gradient.min())


def _brute_force(oof_p_up: dict[str, np.ndarray], y: np.ndarray) -> tuple[np.ndarray, float]:
    """The simplex's minimum log loss, by search: a 0.01 grid of the whole simplex, then grids
    ten times finer around the best point so far, until the gap certifies the minimum."""
    p_members = np.column_stack([oof_p_up[name] for name in MODEL_NAMES])
    scored = ~np.isnan(p_members).any(axis=1)
    p_members, y = p_members[scored], np.asarray(y)[scored]
    best, step = np.full(3, 0.5), 0.01
    points = _simplex_points(best, half_width=0.5, steps=50)
    for _ in range(8):
        losses = np.concatenate(
            [_log_losses(p_members, y, chunk) for chunk in np.array_split(points, 10)]
        )
        best = points[np.argmin(losses)]
        if _optimality_gap(p_members, y, best) <= BRUTE_FORCE_CERTIFIED:
            return best, float(losses.min())
        points, step = _simplex_points(best, half_width=3 * step, steps=30), step / 10
    raise AssertionError(f"the brute force did not certify the minimum; it got to {best}")


def _equal(n_members: int) -> np.ndarray:
    return np.full(n_members, 1.0 / n_members)


@pytest.fixture(scope="module")
def correlated():
    """Correlated members, and the weights and log loss of the brute force's minimum."""
    oof_p_up, y = _correlated_members(n_rows=3_000, seed=2)
    return oof_p_up, y, *_brute_force(oof_p_up, y)


def test_the_correlated_members_best_blend_is_not_equal_weights(correlated):
    """What makes the next test worth running: the search has somewhere to go."""
    oof_p_up, y, best, best_loss = correlated
    p_members = np.column_stack(list(oof_p_up.values()))

    assert np.corrcoef(p_members.T).min() > 0.96
    assert np.abs(best - 1 / 3).max() > 0.2
    assert _log_losses(p_members, y, _equal(3)[None])[0] > best_loss + 1e-4


def test_chosen_weights_reach_the_minimum_a_brute_force_search_of_the_simplex_finds(correlated):
    oof_p_up, y, _, best_loss = correlated

    chosen = optimise_weights(oof_p_up, y)

    p_members = np.column_stack(list(oof_p_up.values()))
    chosen_loss = _log_losses(p_members, y, chosen.weights[None])[0]
    assert chosen_loss == pytest.approx(best_loss, abs=OPTIMUM_TOLERANCE)
    assert chosen.converged


def test_on_the_shipped_sample_the_weights_reach_the_brute_force_minimum(sample_run):
    """The same check on real out-of-fold predictions: the report tests' small tuned run on the
    candles shipped in the repo, and the figures its metadata recorded."""
    run, metadata = sample_run
    y = run.labels.iloc[: run.split.train_end].to_numpy()
    _, best_loss = _brute_force(run.cv.oof_p_up, y)

    choice = metadata.ensemble_metrics.weight_choice

    assert choice.log_loss == pytest.approx(best_loss, abs=OPTIMUM_TOLERANCE)
    assert choice.log_loss <= choice.equal_weights_log_loss
    np.testing.assert_allclose(
        [metadata.ensemble_metrics.weights[name] for name in MODEL_NAMES], run.ensemble.weights_
    )


def _independent_members(n_rows: int, first_block: int, seed: int = 0):
    """One informative member between two that are noise; the first CV training block has no
    out-of-fold prediction (NaN)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows)
    informative = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.05, n_rows), 0.01, 0.99)
    oof = {
        "noise_a": rng.uniform(0.05, 0.95, n_rows),
        "informative": informative,
        "noise_b": rng.uniform(0.05, 0.95, n_rows),
    }
    for p_up in oof.values():
        p_up[:first_block] = np.nan
    return oof, y


def _identical_members(n_rows: int, seed: int = 0):
    """Three copies of one member: every point of the simplex blends the same P(up)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows)
    p_up = np.clip(0.5 + 0.1 * (y - 0.5) + rng.normal(0, 0.1, n_rows), 0.05, 0.95)
    return dict.fromkeys(MODEL_NAMES, p_up), y


CASES = {
    "correlated": lambda: _correlated_members(n_rows=3_000, seed=2),
    "correlated, other seed": lambda: _correlated_members(n_rows=1_000, seed=5),
    "one informative": lambda: _independent_members(n_rows=2_000, first_block=400),
    "identical": lambda: _identical_members(n_rows=500),
}


@pytest.mark.parametrize("case", CASES)
def test_the_recorded_log_losses_are_the_blends_on_the_out_of_fold_rows(case):
    oof_p_up, y = CASES[case]()
    scored = ~np.isnan(np.column_stack(list(oof_p_up.values()))).any(axis=1)

    chosen = optimise_weights(oof_p_up, y)

    assert chosen.rows == scored.sum()
    for weights, recorded in [
        (chosen.weights, chosen.log_loss),
        (_equal(3), chosen.equal_weights_log_loss),
    ]:
        expected = log_loss(y[scored], blend(oof_p_up, weights)[scored], labels=[0, 1])
        assert recorded == pytest.approx(expected, rel=1e-12)
    assert chosen.log_loss <= chosen.equal_weights_log_loss


@pytest.mark.parametrize("case", CASES)
def test_the_same_predictions_give_the_same_weights(case):
    first = optimise_weights(*CASES[case]())
    second = optimise_weights(*CASES[case]())

    np.testing.assert_array_equal(first.weights, second.weights)
    assert (first.log_loss, first.iterations) == (second.log_loss, second.iterations)


def test_weights_lie_on_the_simplex_and_favour_the_informative_member():
    weights = optimise_weights(*_independent_members(n_rows=2_000, first_block=400)).weights

    assert weights.shape == (3,)
    assert (weights >= 0).all()
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] > 0.95


@pytest.mark.parametrize(
    "raw", [[0.5, 0.5 - 5e-7, 5e-7], [0.7, 0.3 + 1e-17, -1e-17], [0.2, 0.2, 0.2]]
)
def test_weights_are_snapped_to_the_simplex_after_negligible_ones_are_zeroed(raw):
    weights = snap_to_simplex(np.array(raw))

    assert weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert (weights >= 0).all()
    np.testing.assert_array_equal(weights == 0, np.array(raw) < 1e-6)


def test_rows_without_out_of_fold_predictions_are_left_out():
    oof, y = _independent_members(n_rows=1_000, first_block=200)
    scored = {name: p_up[200:] for name, p_up in oof.items()}

    with_gap, without = optimise_weights(oof, y), optimise_weights(scored, y[200:])

    np.testing.assert_allclose(with_gap.weights, without.weights)
    assert (with_gap.rows, with_gap.log_loss) == (without.rows, without.log_loss)


def test_no_out_of_fold_prediction_at_all_is_an_error():
    oof, y = _independent_members(n_rows=50, first_block=50)

    with pytest.raises(ValueError, match="no out-of-fold predictions"):
        optimise_weights(oof, y)
