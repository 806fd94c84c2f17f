"""dlcore.baselines: the random, linear and gradient-boosting baselines, the verdict, the score table, and the
baselines in ``metrics.json`` from ``python -m dlcore train``."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from dlcore.baselines import (
    baselines, gradient_boosting_baseline, highlight_best, linear_baseline, naive_baseline, random_baseline,
    score_table, titles, verdict,
)
from dlcore.evaluation import score
from dlcore.prepared import prepare

ROOT = Path(__file__).resolve().parents[1]
CLASSIFICATION_METRICS = {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"}


def classes_frame(n=400, seed=0, n_classes=2, signal=True):
    """A label decided by x1 (and a colour), or pure noise with ``signal=False``; classes about equally common."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    if signal:
        edges = np.quantile(x1 + 0.5 * (colour == "red"), np.linspace(0, 1, n_classes + 1)[1:-1])
        codes = np.searchsorted(edges, x1 + 0.5 * (colour == "red"))
    else:
        codes = rng.permutation(np.arange(n) % n_classes)
    labels = np.array([f"class_{c}" for c in range(n_classes)], dtype=object)[codes]
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "y": labels})


def values_frame(n=400, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 500 + 40 * x1 + 15 * x2 + rng.normal(0, 5, size=n)})


@pytest.fixture(scope="module")
def binary_data():
    return prepare(classes_frame(), "y", "binary", seed=0)


@pytest.fixture(scope="module")
def regression_data():
    return prepare(values_frame(), "y", "regression", seed=0)


# -- the baselines ---------------------------------------------------------------------------------------------

def test_baselines_binary_has_four_entries_with_every_metric(binary_data):
    result = baselines(binary_data)
    assert list(result) == ["naive", "random", "linear", "gradient_boosting"]
    for name, metrics in result.items():
        assert set(metrics) == CLASSIFICATION_METRICS, name
    assert result["naive"] == naive_baseline(binary_data)
    assert result == baselines(binary_data), "the same data and seed give the same baselines"


def test_baselines_regression_adds_the_training_median(regression_data):
    result = baselines(regression_data)
    assert list(result) == ["naive", "naive_median", "random", "linear", "gradient_boosting"]
    for name, metrics in result.items():
        assert set(metrics) == {"mae", "rmse", "r2", "mape"}, name
    y_train, y_test = regression_data.split.train["y"], regression_data.split.test["y"].to_numpy()
    assert result["naive_median"]["mae"] == pytest.approx(np.mean(np.abs(y_test - y_train.median())))
    assert result["naive"]["mae"] == pytest.approx(np.mean(np.abs(y_test - y_train.mean())))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_random_baseline_scores_chance_on_balanced_classes(n_classes):
    task = "binary" if n_classes == 2 else "multiclass"
    data = prepare(classes_frame(n=2000, n_classes=n_classes, signal=False), "y", task, seed=3)

    result = random_baseline(data, seed=7)

    # by construction: the shuffled training labels, one per test row, each guess certain
    guesses = np.random.default_rng(7).permutation(data.split.train["y"].to_numpy())[: len(data.x_test)]
    test = data.split.test["y"].to_numpy()
    assert result["accuracy"] == pytest.approx((guesses == test).mean())
    assert result["accuracy"] == pytest.approx(1 / n_classes, abs=0.06)
    assert result["balanced_accuracy"] == pytest.approx(1 / n_classes, abs=0.06)
    assert result["roc_auc"] == pytest.approx(0.5, abs=0.06)
    assert result["log_loss"] > naive_baseline(data)["log_loss"], "certain random guesses are punished"
    assert random_baseline(data, seed=7) == result
    assert random_baseline(data, seed=8) != result


def test_random_regression_baseline_is_a_permutation_of_training_values(regression_data):
    result = random_baseline(regression_data, seed=5)
    data = regression_data
    guesses = np.random.default_rng(5).permutation(data.split.train["y"].to_numpy())[: len(data.x_test)]
    test = data.split.test["y"].to_numpy()
    assert result["mae"] == pytest.approx(np.mean(np.abs(guesses - test)), rel=1e-5)
    assert result["r2"] < 0, "shuffled values do worse than the mean"


def test_random_baseline_cycles_when_the_test_split_is_larger():
    data = prepare(classes_frame(n=100), "y", "binary", test_size=0.5, validation_size=0.2)
    assert len(data.x_test) > len(data.x_train)
    result = random_baseline(data)
    assert 0.0 <= result["accuracy"] <= 1.0 and set(result) == CLASSIFICATION_METRICS


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_and_gradient_boosting_beat_naive_on_a_learnable_problem(n_classes):
    task = "binary" if n_classes == 2 else "multiclass"
    data = prepare(classes_frame(n=600, n_classes=n_classes), "y", task, seed=1)

    naive, linear, boosting = naive_baseline(data), linear_baseline(data), gradient_boosting_baseline(data)

    for fitted in (linear, boosting):
        assert fitted["accuracy"] > naive["accuracy"] + 0.3
        assert fitted["roc_auc"] > 0.9
        assert fitted["log_loss"] < naive["log_loss"]


def test_linear_and_gradient_boosting_beat_naive_on_regression(regression_data):
    naive = naive_baseline(regression_data)
    for fitted in (linear_baseline(regression_data), gradient_boosting_baseline(regression_data)):
        assert fitted["mae"] < naive["mae"] / 3
        assert fitted["r2"] > 0.9
        assert fitted["mape"] < naive["mape"]


def non_test(data, matrix: bool = True):
    """The rows a baseline fits on: every non-test row (the training and validation parts)."""
    if matrix:
        return np.concatenate([data.x_train, data.x_val])
    return pd.concat([data.split.train["y"], data.split.validation["y"]])


def test_linear_baseline_is_scored_in_original_labels_and_units(binary_data, regression_data):
    data = binary_data
    model = LogisticRegression(max_iter=1000).fit(non_test(data), non_test(data, matrix=False))
    expected = score("binary", data.split.test["y"], model.predict(data.x_test), model.predict_proba(data.x_test),
                     list(model.classes_))
    assert linear_baseline(data) == pytest.approx(expected, rel=1e-4)

    data = regression_data
    ridge = Ridge().fit(non_test(data), non_test(data, matrix=False))
    expected = score("regression", data.split.test["y"], ridge.predict(data.x_test))
    assert linear_baseline(data) == pytest.approx(expected, rel=1e-4)


def test_classes_missing_from_training():
    frame = classes_frame(n=120, n_classes=3)
    frame.loc[0, "y"] = "rare"  # one row: it lands in validation or test for some seeds
    data = next(d for d in (prepare(frame, "y", "multiclass", seed=s) for s in range(50))
                if "rare" not in set(d.split.train["y"]))
    result = baselines(data)
    assert all(set(metrics) >= {"accuracy", "log_loss"} for metrics in result.values())

    two = classes_frame(n=60)
    two["y"] = "common"
    two.loc[0, "y"] = "rare"
    data = next(d for d in (prepare(two, "y", "binary", seed=s) for s in range(50))
                if set(d.split.train["y"]) == {"common"})
    assert linear_baseline(data) == naive_baseline(data), "one training class: nothing to separate"
    assert gradient_boosting_baseline(data) == naive_baseline(data)


def test_mape_is_left_out_where_a_true_value_is_zero():
    assert "mape" not in score("regression", [0.0, 2.0, 4.0], [1.0, 2.0, 3.0])
    assert score("regression", [1.0, 2.0, 4.0], [1.0, 2.0, 3.0])["mape"] == pytest.approx(0.25 / 3)
    counts = values_frame()
    counts["y"] = (counts["x2"] // 2).astype(int)  # 0 to 4, many zeros
    data = prepare(counts, "y", "regression")
    assert (data.split.test["y"] == 0).any()
    for name, metrics in baselines(data).items():
        assert set(metrics) == {"mae", "rmse", "r2"}, name


# -- the verdict ------------------------------------------------------------------------------------------------

BASELINES = {
    "naive": {"accuracy": 0.60, "log_loss": 0.67},
    "random": {"accuracy": 0.52, "log_loss": 7.7},
    "linear": {"accuracy": 0.80, "log_loss": 0.45},
    "gradient_boosting": {"accuracy": 0.85, "log_loss": 0.40},
}
LABELS = np.array(["no", "yes", "no", "yes"], dtype=object)


def test_verdict_network_best():
    result = verdict({"accuracy": 0.90, "log_loss": 0.30}, BASELINES, "accuracy", "binary", LABELS)

    assert result["best"] == "network" and result["runner_up"] == "gradient_boosting"
    assert result["margin"] == pytest.approx(0.05)
    assert result["beats_naive"] is True and result["collapsed"] is False
    assert result["level"] == "success"
    assert result["text"].startswith("The network is the best model on the test split: Accuracy 0.9, ahead of the "
                                     "best baseline, Gradient boosting (0.85), by 0.05.")
    assert "Deep learning pays off" in result["text"]
    assert json.loads(json.dumps(result)) == result


def test_verdict_gradient_boosting_best():
    result = verdict({"accuracy": 0.75, "log_loss": 0.5}, BASELINES, "accuracy", "binary", LABELS)

    assert result["best"] == "gradient_boosting" and result["runner_up"] == "linear"
    assert result["margin"] == pytest.approx(0.05)
    assert result["beats_naive"] is True and result["level"] == "warning"
    assert result["text"].startswith("Gradient boosting is the best model on the test split: Accuracy 0.85, against "
                                     "the network's 0.75 (a gap of 0.1).")
    assert "beats the naive baseline but not Gradient boosting" in result["text"]


def test_verdict_states_the_gap_to_the_decimals_of_the_scores():
    baselines = {**BASELINES, "linear": {"accuracy": 0.9912, "log_loss": 0.07}}
    result = verdict({"accuracy": 0.9825, "log_loss": 0.11}, baselines, "accuracy", "binary", LABELS)
    assert "Accuracy 0.9912, against the network's 0.9825 (a gap of 0.0087)." in result["text"]

    result = verdict({"accuracy": 0.99995, "log_loss": 0.01}, baselines, "accuracy", "binary", LABELS)
    assert "ahead of the best baseline, Logistic regression (0.9912), by 0.0088." in result["text"]

    regression = {"naive": {"mae": 63_450.0}, "linear": {"mae": 7_775.3}, "gradient_boosting": {"mae": 9_120.0}}
    result = verdict({"mae": 10_876.6}, regression, "mae", "regression", np.array([1.0, 2.0]))
    assert "MAE 7775, against the network's 10,877 (a gap of 3101)." in result["text"]  # not 1.088e+04


def test_verdict_a_tie_with_a_baseline_is_called_a_tie():
    result = verdict({"accuracy": 0.85, "log_loss": 0.3}, BASELINES, "accuracy", "binary", LABELS)

    assert result["best"] == "gradient_boosting" and result["level"] == "warning"  # the simpler model wins ties
    assert result["text"].startswith("The network and Gradient boosting tie as the best models on the test split: "
                                     "Accuracy 0.85.")
    assert "only matches Gradient boosting" in result["text"] and "gap" not in result["text"]


def test_verdict_on_a_lower_is_better_metric():
    result = verdict({"accuracy": 0.9, "log_loss": 0.35}, BASELINES, "log_loss", "binary", LABELS)
    assert result["best"] == "network" and result["margin"] == pytest.approx(0.05)


def test_verdict_network_below_naive():
    result = verdict({"accuracy": 0.55, "log_loss": 0.69}, BASELINES, "accuracy", "binary", LABELS)

    assert result["best"] == "gradient_boosting"
    assert result["beats_naive"] is False and result["collapsed"] is False
    assert result["level"] == "warning"
    assert "does not beat the naive baseline, Majority class (0.6): it has learned nothing" in result["text"]
    assert "Try a lower learning rate" in result["text"]


def test_verdict_collapsed_network():
    # always answering the majority class: the same accuracy as the naive baseline, which wins the tie
    result = verdict({"accuracy": 0.60, "log_loss": 0.66}, BASELINES, "accuracy", "binary",
                     np.array(["no"] * 4, dtype=object))

    assert result["collapsed"] is True and result["beats_naive"] is False
    assert result["level"] == "error"
    assert "The network has collapsed: it answers “no” for every test row" in result["text"]
    # a regression network's predictions never count as collapsed
    assert verdict({"mae": 1.0}, {"naive": {"mae": 2.0}}, "mae", "regression", np.ones(5))["collapsed"] is False


def test_verdict_regression_against_both_naive_baselines():
    reference = {"naive": {"mae": 10.0}, "naive_median": {"mae": 9.0}, "random": {"mae": 14.0},
                 "linear": {"mae": 6.0}, "gradient_boosting": {"mae": 5.0}}
    result = verdict({"mae": 9.5}, reference, "mae", "regression")

    assert result["beats_naive"] is False, "the median is a naive baseline too"
    assert "naive baseline, Training median (9)" in result["text"]
    assert verdict({"mae": 4.0}, reference, "mae", "regression")["margin"] == pytest.approx(1.0)


def test_verdict_falls_back_when_the_metric_is_missing():
    result = verdict({"accuracy": 0.9}, {"naive": {"accuracy": 0.5}}, "roc_auc", "binary", LABELS)
    assert result["metric"] == "accuracy" and result["best"] == "network"


# -- the table --------------------------------------------------------------------------------------------------

def highlighted_cells(styler) -> set[tuple[int, int]]:
    css = styler.set_uuid("t").to_html().split("</style>")[0]
    return {(int(r), int(c)) for r, c in re.findall(r"#T_t_row(\d+)_col(\d+)", css)}


def test_score_table_and_best_cells(regression_data):
    scores = {"network": {"mae": 3.0, "rmse": 4.0, "r2": 0.95}, **baselines(regression_data)}
    for metrics in scores.values():
        metrics.pop("mape", None)

    table = score_table(scores, "regression")

    assert list(table.index) == ["Network", "Training mean", "Training median", "Random (shuffled training values)",
                                 "Ridge regression", "Gradient boosting"]
    assert list(table.columns) == ["MAE", "RMSE", "R²"]
    assert table.loc["Ridge regression", "MAE"] == scores["linear"]["mae"]
    best_rows = [int(np.argmin(table["MAE"])), int(np.argmin(table["RMSE"])), int(np.argmax(table["R²"]))]
    assert highlighted_cells(highlight_best(table)) == {(row, col) for col, row in enumerate(best_rows)}
    assert set(titles("binary")) == {"naive", "random", "linear", "gradient_boosting", "network"}


# -- the command line -----------------------------------------------------------------------------------------

def test_cli_train_writes_every_baseline_and_the_verdict(tmp_path):
    classes_frame(n=150).to_csv(tmp_path / "data.csv", index=False)
    env = {**os.environ, "DLCORE_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(tmp_path / "data.csv"), "--target", "y",
                           "--out", str(tmp_path / "run"), "--epochs", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert list(metrics["baselines"]) == ["naive", "random", "linear", "gradient_boosting"]
    for name, scores in metrics["baselines"].items():
        assert set(scores) == set(metrics["test"]) == CLASSIFICATION_METRICS, name
    judged = metrics["verdict"]
    primary = metrics["primary_metric"]
    everyone = {"network": metrics["test"], **metrics["baselines"]}
    assert judged["metric"] == primary
    assert everyone[judged["best"]][primary] == max(s[primary] for s in everyone.values())
    assert metrics["collapsed"] is judged["collapsed"]
    assert judged["level"] in {"success", "warning", "error"}
    assert judged["text"] in proc.stdout
    assert judged["text"] in (tmp_path / "run" / "README.md").read_text()
