"""How sure a comparison on the test split is: the paired bootstrap's interval and the verdict's words for it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dlcore.baselines import difference_table, verdict
from dlcore.evaluation import _resampled_auc, paired_differences, score


def test_every_headline_metric_differs_as_the_scores_do_and_auc_resamples_as_sklearn_scores():
    rng = np.random.default_rng(0)
    y = rng.choice(["no", "yes"], 300)
    mine, theirs = (np.round(np.clip(np.where(y == "yes", c, 1 - c) + rng.normal(0, 0.25, 300), 0, 1), 1)
                    for c in (0.7, 0.6))  # rounded: ties among the scores
    pair = {name: (np.where(p > 0.5, "yes", "no"), np.column_stack([1 - p, p])) for name, p in
            (("mine", mine), ("theirs", theirs))}
    for metric in ("accuracy", "log_loss", "roc_auc"):
        found = paired_differences("binary", metric, y, pair["mine"], {"theirs": pair["theirs"]}, ["no", "yes"],
                                   resamples=200)["theirs"]
        expected = (score("binary", y, *pair["mine"], ["no", "yes"])[metric]
                    - score("binary", y, *pair["theirs"], ["no", "yes"])[metric])
        assert found["difference"] == pytest.approx(expected) and found["low"] < expected < found["high"]
    rows = rng.integers(0, 300, (4, 300))
    levels, level = np.unique(mine, return_inverse=True)
    assert _resampled_auc(y == "yes", len(levels), level, rows) == pytest.approx(
        [roc_auc_score(y[r] == "yes", mine[r]) for r in rows])
    actual = rng.normal(size=300)
    for metric in ("mae", "rmse", "r2"):
        a, b = actual + rng.normal(0, 0.5, 300), actual + rng.normal(0, 0.7, 300)
        found = paired_differences("regression", metric, actual, (a, None), {"b": (b, None)}, resamples=200)["b"]
        assert found["difference"] == pytest.approx(score("regression", actual, a)[metric]
                                                    - score("regression", actual, b)[metric])


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_a_95_percent_interval_covers_the_true_difference_about_95_percent_of_the_time(task):
    """Simulated test splits of 400 rows from two models whose true difference is known: MAE 1.0 against 1.1
    (exponential absolute errors), or accuracy 0.80 against 0.75 (independent right answers)."""
    rng, covered, trials = np.random.default_rng(1), 0, 200
    for trial in range(trials):
        if task == "regression":
            actual = np.zeros(400)
            found = paired_differences("regression", "mae", actual, (rng.exponential(1.0, 400), None),
                                       {"b": (rng.exponential(1.1, 400), None)}, resamples=500, seed=trial)
            truth = -0.1
        else:
            actual = rng.choice(["a", "b"], 400)
            flip = {"a": "b", "b": "a"}

            def answers(p):
                return np.where(rng.random(400) < p, actual, [flip[v] for v in actual])
            found = paired_differences("binary", "accuracy", actual, (answers(0.80), None),
                                       {"b": (answers(0.75), None)}, resamples=500, seed=trial)
            truth = 0.05
        covered += found["b"]["low"] <= truth <= found["b"]["high"]
    assert 0.91 <= covered / trials <= 0.98, covered / trials


SCORES = {"mae": 10.0, "rmse": 15.0, "r2": 0.50}
BASELINES = {"naive": {"mae": 20.0, "rmse": 25.0, "r2": 0.0},
             "gradient_boosting": {"mae": 10.2, "rmse": 14.0, "r2": 0.55}}


def interval(low: float, high: float) -> dict:
    return {"gradient_boosting": {"metric": "mae", "difference": -0.2, "low": low, "high": high, "level": 0.95,
                                  "rows": 534}}


def test_a_lead_within_the_noise_is_called_no_clear_difference_and_disagreeing_metrics_are_named():
    judged = verdict(SCORES, BASELINES, "mae", "regression", differences=interval(-0.9, 0.5))
    assert judged["best"] == "network" and judged["clear"] is False and judged["level"] == "warning"
    assert "not clearly different" in judged["text"] and "includes no difference at all" in judged["text"]
    assert "pays off" not in judged["text"] and "534 test rows" in judged["text"]
    assert judged["disagree"] == ["rmse", "r2"]
    assert "The metrics disagree: on RMSE, R² the network does worse than Gradient boosting" in judged["text"]


def test_a_lead_beyond_the_noise_is_called_clear():
    judged = verdict(SCORES, BASELINES, "mae", "regression", differences=interval(-0.4, -0.05))
    assert judged["clear"] is True and judged["level"] == "success" and "pays off" in judged["text"]
    assert "interval of the difference is −0.4 to −0.05" in judged["text"]
    assert "a clear difference" in judged["text"]
    table = difference_table(interval(-0.4, -0.05), "regression")
    assert table.loc["Gradient boosting", "clear difference"] == "yes"
    assert table.loc["Gradient boosting", "95% interval"] == "−0.4 to −0.05"
    assert verdict(SCORES, BASELINES, "mae", "regression")["clear"] is None, "no differences: no claim either way"


def test_a_tie_names_the_metrics_that_set_the_two_apart_without_calling_it_a_disagreement():
    network = {"accuracy": 0.75, "log_loss": 0.60, "f1_macro": 0.50}
    boosting = {"accuracy": 0.75, "log_loss": 0.70, "f1_macro": 0.55}
    judged = verdict(network, {"naive": {"accuracy": 0.4, "log_loss": 1.1, "f1_macro": 0.2},
                               "gradient_boosting": boosting}, "accuracy", "multiclass")
    assert judged["best"] == "gradient_boosting" and judged["disagree"] == []
    assert "tie as the best models" in judged["text"] and "The metrics disagree" not in judged["text"]
    assert ("Beyond the tie, the network does better on Log loss and worse on F1 (macro) than Gradient boosting."
            in judged["text"])
