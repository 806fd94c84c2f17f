"""The Results page's numbers (dlcore.evaluation) against scikit-learn, and the figures built from them."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from dlcore import evaluation, plots
from dlcore.evaluation import score

CLASSES = ["no", "yes"]


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    actual = rng.choice(CLASSES, 400, p=[0.7, 0.3])
    positive = np.clip((actual == "yes") * 0.35 + rng.uniform(0, 0.65, 400), 0, 1)
    proba = np.column_stack([1 - positive, positive])
    predicted = np.where(positive > 0.5, "yes", "no")
    return actual, predicted, proba


@pytest.fixture
def multiclass():
    rng = np.random.default_rng(1)
    classes = ["a", "b", "c"]
    actual = rng.choice(classes, 300)
    logits = rng.normal(size=(300, 3)) + 1.5 * (actual[:, None] == np.array(classes))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return classes, actual, np.array(classes)[proba.argmax(axis=1)], proba


def test_confusion_counts_and_shares(binary):
    actual, predicted, _ = binary
    counts = evaluation.confusion(actual, predicted, CLASSES)
    assert counts.to_numpy().tolist() == skm.confusion_matrix(actual, predicted, labels=CLASSES).tolist()
    assert (counts.index.name, counts.columns.name) == ("actual", "predicted")
    assert counts.to_numpy().sum() == 400
    shares = evaluation.confusion(actual, predicted, CLASSES, normalize=True)
    assert shares.sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])
    assert shares.loc["yes", "yes"] == pytest.approx(skm.recall_score(actual, predicted, pos_label="yes"))


def test_binary_curves_match_the_test_scores(binary):
    actual, predicted, proba = binary
    roc = evaluation.roc_curves(actual, proba, CLASSES)
    assert list(roc) == ["yes"]  # the positive class only
    assert roc["yes"].area == pytest.approx(score("binary", actual, predicted, proba, CLASSES)["roc_auc"])
    assert roc["yes"].x[0] == 0 and roc["yes"].y[-1] == 1
    pr = evaluation.precision_recall_curves(actual, proba, CLASSES)
    assert pr["yes"].area == pytest.approx(skm.average_precision_score(actual == "yes", proba[:, 1]))
    assert pr["yes"].chance == pytest.approx((actual == "yes").mean())


def test_multiclass_curves_one_per_class(multiclass):
    classes, actual, _, proba = multiclass
    roc = evaluation.roc_curves(actual, proba, classes)
    assert list(roc) == classes
    macro = np.mean([curve.area for curve in roc.values()])
    assert macro == pytest.approx(skm.roc_auc_score(actual, proba, multi_class="ovr", labels=classes))
    assert list(evaluation.precision_recall_curves(actual, proba, classes)) == classes


def test_a_class_missing_from_the_test_rows_has_no_curve(multiclass):
    classes, actual, _, proba = multiclass
    keep = actual != "c"
    assert list(evaluation.roc_curves(actual[keep], proba[keep], classes)) == ["a", "b"]


def test_threshold_half_gives_the_model_predictions(binary):
    actual, predicted, proba = binary
    assert evaluation.at_threshold(proba[:, 1], CLASSES, 0.5).tolist() == predicted.tolist()
    at_half = evaluation.threshold_metrics(actual, proba[:, 1], CLASSES, 0.5)
    tested = score("binary", actual, predicted, proba, CLASSES)
    assert at_half["accuracy"] == pytest.approx(tested["accuracy"])
    assert at_half["balanced_accuracy"] == pytest.approx(tested["balanced_accuracy"])
    assert at_half["precision"] == pytest.approx(skm.precision_score(actual, predicted, pos_label="yes"))
    assert at_half["recall"] == pytest.approx(skm.recall_score(actual, predicted, pos_label="yes"))


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.6, 0.99])
def test_threshold_metrics_agree_with_scikit_learn(binary, threshold):
    actual, _, proba = binary
    predicted = evaluation.at_threshold(proba[:, 1], CLASSES, threshold)
    expected = {"accuracy": skm.accuracy_score(actual, predicted),
                "balanced_accuracy": skm.balanced_accuracy_score(actual, predicted),
                "precision": skm.precision_score(actual, predicted, pos_label="yes", zero_division=0),
                "recall": skm.recall_score(actual, predicted, pos_label="yes", zero_division=0),
                "f1": skm.f1_score(actual, predicted, pos_label="yes", zero_division=0)}
    assert evaluation.threshold_metrics(actual, proba[:, 1], CLASSES, threshold) == pytest.approx(expected)


def test_a_higher_threshold_trades_recall_for_precision(binary):
    actual, _, proba = binary
    half = evaluation.threshold_metrics(actual, proba[:, 1], CLASSES, 0.5)
    higher = evaluation.threshold_metrics(actual, proba[:, 1], CLASSES, 0.6)  # the book's 0.5 -> 0.6
    assert higher["recall"] <= half["recall"]
    assert higher["precision"] >= half["precision"]
    table = evaluation.threshold_table(actual, proba[:, 1], CLASSES)
    assert table["threshold"].tolist()[:3] == [0.05, 0.1, 0.15] and table["threshold"].iloc[-1] == 0.95
    assert table["recall"].is_monotonic_decreasing
    assert set(table.columns) == {"threshold", "accuracy", "balanced_accuracy", "precision", "recall", "f1"}


def test_calibration_bins(binary, multiclass):
    actual, _, proba = binary
    table = evaluation.calibration(actual, proba, CLASSES)
    assert table["rows"].sum() == 400
    assert table["predicted"].is_monotonic_increasing
    assert ((table["predicted"] >= 0) & (table["predicted"] <= 1)).all()
    top = table.iloc[-1]
    in_top = proba[:, 1] >= 0.9
    assert top["observed"] == pytest.approx((actual[in_top] == "yes").mean())
    classes, actual, predicted, proba = multiclass
    table = evaluation.calibration(actual, proba, classes, bins=5)
    assert table["rows"].sum() == 300 and len(table) <= 5
    overall = (table["observed"] * table["rows"]).sum() / 300
    assert overall == pytest.approx((actual == predicted).mean())


def test_compare_for_classes_and_values():
    predictions = pd.DataFrame({"prediction": ["a", "b", "b"]}, index=[7, 3, 9])
    table = evaluation.compare(pd.Series(["a", "a", "b"], index=[7, 3, 9]), predictions, "binary")
    assert table["correct"].tolist() == [True, False, True]
    assert table.index.tolist() == [7, 3, 9]
    values = evaluation.compare([10.0, 20.0], pd.DataFrame({"prediction": [12.0, 15.0]}), "regression")
    assert values["error"].tolist() == [2.0, -5.0]


def test_figures(binary, multiclass):
    actual, predicted, proba = binary
    assert plots.confusion_matrix(evaluation.confusion(actual, predicted, CLASSES)).data[0].type == "heatmap"
    shares = plots.confusion_matrix(evaluation.confusion(actual, predicted, CLASSES, True), normalized=True)
    assert "shares" in shares.layout.title.text
    roc = plots.roc_curves(evaluation.roc_curves(actual, proba, CLASSES))
    assert [trace.name.split(" ")[0] for trace in roc.data] == ["yes", "chance"]
    assert "AUC" in roc.data[0].name
    classes, m_actual, _, m_proba = multiclass
    assert len(plots.precision_recall_curves(evaluation.precision_recall_curves(m_actual, m_proba, classes)).data) == 3
    table = evaluation.threshold_table(actual, proba[:, 1], CLASSES)
    assert len(plots.threshold_metrics(table, 0.6, "yes").data) == 5
    assert len(plots.calibration(evaluation.calibration(actual, proba, CLASSES)).data) == 2


def test_regression_figures_sample_large_tables():
    rng = np.random.default_rng(2)
    actual = rng.normal(100, 10, 25_000)
    compared = evaluation.compare(actual, pd.DataFrame({"prediction": actual + rng.normal(0, 2, 25_000)}), "regression")
    figure = plots.predicted_vs_actual(compared, "price")
    assert len(figure.data[0].x) == plots.MAX_POINTS and "10,000 of 25,000" in figure.layout.title.text
    assert len(plots.residuals(compared, "price").data[0].y) == plots.MAX_POINTS
    assert len(plots.error_histogram(compared, "price").data[0].x) == 25_000


def test_curves_tick_whole_epochs_and_a_constant_learning_rate_reads_from_zero():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.7, 0.6], "val_loss": [1.0, 0.8, 0.75],
                            "learning_rate": [0.001] * 3})
    xaxis = plots.training_curves(history, "loss").layout.xaxis
    assert (xaxis.dtick, xaxis.tickformat) == (1, "d"), "no half epochs on the axis"
    assert plots.training_curves(pd.concat([history] * 20, ignore_index=True), "loss").layout.xaxis.dtick == 6
    rate = plots.training_curves(history, "learning_rate").layout.yaxis
    assert tuple(rate.range) == pytest.approx((0, 0.0011)), "0 to just above the rate, not −0.5 to 1"


def test_the_tuning_history_ticks_whole_trials():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1) ** 2, n_trials=3)
    xaxis = plots.tuning_history(study).layout.xaxis
    assert (xaxis.dtick, xaxis.tickformat) == (1, "d")


def test_each_class_has_its_precision_recall_and_f1(multiclass):
    classes, actual, predicted, _ = multiclass
    table = evaluation.per_class(actual, predicted, classes)
    assert list(table.index) == classes and table["test rows"].sum() == 300
    b_rows = actual == "b"
    assert table.loc["b", "recall"] == pytest.approx((predicted[b_rows] == "b").mean())
    assert table.loc["b", "precision"] == pytest.approx((actual[predicted == "b"] == "b").mean())
    assert table["F1"].mean() == pytest.approx(score("multiclass", actual, predicted)["f1_macro"])
