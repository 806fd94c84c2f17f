"""dlcore.evaluation and dlcore.baselines: metrics checked against hand-computed numbers."""

import math

import numpy as np
import pandas as pd
import pytest

from dlcore.baselines import NAIVE_TITLES, baselines, naive_baseline
from dlcore.evaluation import LOWER_IS_BETTER, PRIMARY_METRIC, is_better, score
from dlcore.prepared import prepare


def test_regression_scores_by_hand():
    # errors 0.5, 0, 1, 1 -> MAE 0.625, MSE 2.25/4; total sum of squares around 2.5 is 5
    result = score("regression", [1, 2, 3, 4], [1.5, 2, 2, 5])
    assert set(result) == {"mae", "rmse", "r2", "mape"}
    assert result["mae"] == pytest.approx(0.625)
    assert result["rmse"] == pytest.approx(0.75)
    assert result["r2"] == pytest.approx(1 - 2.25 / 5)
    assert result["mape"] == pytest.approx((0.5 / 1 + 0 / 2 + 1 / 3 + 1 / 4) / 4)


def test_regression_scores_accept_strings_of_numbers():
    result = score("regression", np.array(["1", "3"], dtype=object), np.array([2.0, 2.0]))
    assert result["mae"] == pytest.approx(1.0)
    assert result["rmse"] == pytest.approx(1.0)


def test_classification_scores_by_hand():
    y_true = ["a", "a", "b", "b", "b"]
    y_pred = ["a", "b", "b", "b", "a"]
    p_b = np.array([0.2, 0.6, 0.8, 0.9, 0.4])
    proba = np.column_stack([1 - p_b, p_b])

    result = score("binary", y_true, y_pred, proba, ["a", "b"])

    assert result["accuracy"] == pytest.approx(3 / 5)
    # recall a = 1/2, recall b = 2/3
    assert result["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # F1 a: precision 1/2, recall 1/2 -> 1/2; F1 b: precision 2/3, recall 2/3 -> 2/3
    assert result["f1_macro"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # probability given to the true class: 0.8, 0.4, 0.8, 0.9, 0.4
    assert result["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.4, 0.8, 0.9, 0.4])))
    # positives (b) 0.8, 0.9, 0.4 against negatives (a) 0.2, 0.6: 5 of 6 pairs ordered right
    assert result["roc_auc"] == pytest.approx(5 / 6)


def test_classification_labels_compare_as_text():
    # integer truths against object predictions of the same labels
    result = score("binary", np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0], dtype=object))
    assert result["accuracy"] == pytest.approx(0.75)
    assert "log_loss" not in result and "roc_auc" not in result  # no probabilities given


def test_multiclass_scores():
    y_true = ["x", "y", "z", "x"]
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    y_pred = np.array(["x", "y", "z"], dtype=object)[proba.argmax(axis=1)]

    result = score("multiclass", y_true, y_pred, proba, ["x", "y", "z"])

    assert result["accuracy"] == pytest.approx(0.75)
    assert result["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.6, 0.3])))
    assert 0.0 <= result["roc_auc"] <= 1.0


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
def test_roc_auc_left_out_when_test_lacks_a_class():
    proba = np.array([[0.6, 0.4], [0.3, 0.7]])
    result = score("binary", ["a", "a"], ["a", "a"], proba, ["a", "b"])
    assert "roc_auc" not in result
    assert result["log_loss"] == pytest.approx(-np.mean(np.log([0.6, 0.3])))


def test_perfect_and_worst_predictions():
    assert score("binary", ["p", "q"], ["p", "q"])["accuracy"] == 1.0
    assert score("binary", ["p", "q"], ["q", "p"])["accuracy"] == 0.0
    assert score("regression", [3.0, 4.0], [3.0, 4.0]) == pytest.approx({"mae": 0.0, "rmse": 0.0, "r2": 1.0, "mape": 0.0})


def test_is_better():
    assert PRIMARY_METRIC == {"binary": "accuracy", "multiclass": "accuracy", "regression": "mae"}
    assert "mae" in LOWER_IS_BETTER and "accuracy" not in LOWER_IS_BETTER
    assert is_better("mae", 1.0, 2.0)
    assert not is_better("mae", 2.0, 1.0)
    assert is_better("accuracy", 0.9, 0.8)
    assert not is_better("accuracy", 0.8, 0.9)
    assert is_better("rmse", 0.1, 0.2) and is_better("log_loss", 0.3, 0.6)
    assert is_better("r2", 0.5, 0.2) and is_better("roc_auc", 0.7, 0.5)
    # a tie is not an improvement
    assert not is_better("mae", 1.0, 1.0)
    assert not is_better("accuracy", 0.5, 0.5)


# -- baselines ----------------------------------------------------------------------------------------------

def labelled_frame(labels, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=object)
    rng.shuffle(labels)
    return pd.DataFrame({"x": rng.normal(size=len(labels)), "y": labels})


def test_majority_class_baseline_binary():
    frame = labelled_frame(["no"] * 140 + ["yes"] * 60)
    data = prepare(frame, "y", "binary", seed=4)

    result = naive_baseline(data)

    majority = data.split.train["y"].value_counts().idxmax()
    assert majority == "no"
    test = data.split.test["y"]
    assert result["accuracy"] == pytest.approx((test == majority).mean())
    assert result["balanced_accuracy"] == pytest.approx(0.5)
    # class-prior probabilities: the log loss is the cross-entropy of the training shares
    priors = data.split.train["y"].value_counts(normalize=True)
    assert result["log_loss"] == pytest.approx(-np.mean(np.log(test.map(priors).astype(float))), rel=1e-6)
    assert result["roc_auc"] == pytest.approx(0.5)


def test_majority_class_baseline_multiclass():
    frame = labelled_frame(["b"] * 50 + ["a"] * 30 + ["c"] * 20, seed=2)
    data = prepare(frame, "y", "multiclass", seed=1)

    result = naive_baseline(data)

    train_counts = data.split.train["y"].value_counts()
    majority = train_counts.idxmax()
    assert majority == "b"
    assert result["accuracy"] == pytest.approx((data.split.test["y"] == majority).mean())
    assert result["balanced_accuracy"] == pytest.approx(1 / 3)


def test_majority_class_baseline_with_integer_labels():
    frame = labelled_frame([0] * 70 + [1] * 30, seed=3)
    frame["y"] = frame["y"].astype(int)
    data = prepare(frame, "y", "binary")
    result = naive_baseline(data)
    assert result["accuracy"] == pytest.approx((data.split.test["y"] == 0).mean())


def test_regression_baseline_is_the_training_mean():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=150), "y": rng.gamma(2.0, 10.0, size=150)})
    data = prepare(frame, "y", "regression", seed=9)

    result = naive_baseline(data)

    y_train, y_test = data.split.train["y"].to_numpy(), data.split.test["y"].to_numpy()
    assert result["mae"] == pytest.approx(np.mean(np.abs(y_test - y_train.mean())))
    assert result["rmse"] == pytest.approx(math.sqrt(np.mean((y_test - y_train.mean()) ** 2)))
    assert result["r2"] <= 0.05  # a constant prediction explains (almost) nothing


def test_baselines_collects_naive():
    data = prepare(labelled_frame(["u"] * 30 + ["v"] * 20), "y", "binary")
    result = baselines(data)
    assert list(result) == ["naive", "random", "linear", "gradient_boosting"]
    assert result["naive"] == naive_baseline(data)
    assert set(NAIVE_TITLES) == {"binary", "multiclass", "regression"}


def test_primary_metric_is_roc_auc_for_an_imbalanced_binary_target():
    from dlcore.evaluation import primary_metric

    assert primary_metric("binary", ["no"] * 81 + ["yes"] * 19) == "roc_auc"
    assert primary_metric("binary", ["no"] * 80 + ["yes"] * 20) == "accuracy"
    assert primary_metric("multiclass", ["a"] * 95 + ["b"] * 3 + ["c"] * 2) == "accuracy"
    assert primary_metric("regression", [1.0, 2.0, 3.0]) == "mae"
