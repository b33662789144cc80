"""The console's run summary: the ensemble weights and the log loss they were chosen by."""

from __future__ import annotations

from src.reports.console import WIDTH, run_summary, weights_line


def test_the_weights_line_shows_the_out_of_fold_log_loss_beside_equal_weights(sample_run):
    _, metadata = sample_run
    ensemble = metadata.ensemble_metrics
    choice = ensemble.weight_choice

    line = " ".join(weights_line(ensemble).split())

    weights = ", ".join(f"{name} {weight:.2f}" for name, weight in ensemble.weights.items())
    assert line == (
        f"Ensemble weights: {weights}; log loss {choice.log_loss:.6f} (equal weights "
        f"{choice.equal_weights_log_loss:.6f}) on the {choice.rows} out-of-fold rows of the "
        "purged CV of the training window"
    )
    assert weights_line(ensemble) in run_summary(metadata)
    assert max(len(text) for text in weights_line(ensemble).splitlines()) <= WIDTH


def test_a_record_from_before_the_weight_choice_shows_the_weights_alone(sample_run):
    _, metadata = sample_run
    older = metadata.ensemble_metrics.model_copy(update={"weight_choice": None})

    assert weights_line(older).startswith("Ensemble weights (from out-of-fold log loss): lightgbm")
    assert "equal weights" not in weights_line(older)


def test_a_failed_optimisation_says_the_weights_are_equal(sample_run):
    _, metadata = sample_run
    ensemble = metadata.ensemble_metrics
    failed = ensemble.weight_choice.model_copy(update={"converged": False})

    line = weights_line(ensemble.model_copy(update={"weight_choice": failed}))

    assert " ".join(line.split()).endswith("; the optimiser failed, so they are equal")
