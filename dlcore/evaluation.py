"""Score predictions with the task's metrics, the same way for the network and every baseline, and the numbers
behind the Results page's charts: confusion matrices, ROC and precision-recall curves, metrics at a probability
threshold, calibration, and actual against predicted values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from dlcore.profiling import IMBALANCED, minority_share

PRIMARY_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "mae"}
LOWER_IS_BETTER = {"mae", "rmse", "mape", "log_loss"}
METRIC_TITLES = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "f1_macro": "F1 (macro)",
    "roc_auc": "ROC AUC", "log_loss": "Log loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "mape": "MAPE",
    "precision": "Precision", "recall": "Recall", "f1": "F1",
}
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def score(task: str, y_true, y_pred, proba: np.ndarray | None = None, classes: list | None = None) -> dict[str, float]:
    """Metrics for ``task``: labels/values in original units, ``proba`` columns in ``classes`` order.

    MAPE (a fraction: 0.1 is 10%) is only given when no true value is 0, where it would be undefined.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if task == "regression":
        y_true, y_pred = y_true.astype(float), y_pred.astype(float)
        result = {
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "r2": float(skm.r2_score(y_true, y_pred)),
        }
        if np.all(y_true != 0):
            result["mape"] = float(skm.mean_absolute_percentage_error(y_true, y_pred))
        return result
    true_text, pred_text = y_true.astype(str), y_pred.astype(str)
    result = {
        "accuracy": float(skm.accuracy_score(true_text, pred_text)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(true_text, pred_text)),
        "f1_macro": float(skm.f1_score(true_text, pred_text, average="macro", zero_division=0)),
    }
    if proba is not None and classes is not None:
        labels = [str(c) for c in classes]
        proba = np.clip(np.asarray(proba, dtype=float), 1e-7, 1.0)
        proba = proba / proba.sum(axis=1, keepdims=True)
        result["log_loss"] = float(skm.log_loss(true_text, proba, labels=labels))
        if len(set(true_text)) == len(labels):
            result["roc_auc"] = float(
                skm.roc_auc_score(true_text == labels[1], proba[:, 1]) if len(labels) == 2
                else skm.roc_auc_score(true_text, proba, multi_class="ovr", labels=labels)
            )
    return result


def primary_metric(task: str, y_train) -> str:
    """The headline metric: accuracy, or ROC AUC for a binary target whose rarer class is under 20% of
    the training rows (there, always answering the majority class already scores a high accuracy)."""
    if task == "binary" and minority_share(y_train) < IMBALANCED:
        return "roc_auc"
    return PRIMARY_METRIC[task]


def is_better(metric: str, candidate: float, reference: float) -> bool:
    return candidate < reference if metric in LOWER_IS_BETTER else candidate > reference


@dataclass
class Curve:
    """One class's curve: points ``x``, ``y``, the area under it and what a model without skill scores."""

    x: np.ndarray
    y: np.ndarray
    area: float
    chance: float


def _one_vs_rest(y_true, classes: list) -> dict[str, np.ndarray]:
    """Per class shown (binary: the positive class, ``classes[1]``; else every class present), whether each row is it."""
    labels = [str(c) for c in classes]
    true_text = np.asarray(y_true).astype(str)
    shown = labels[1:] if len(labels) == 2 else labels
    return {label: true_text == label for label in shown if 0 < (true_text == label).sum() < len(true_text)}


def roc_curves(y_true, proba: np.ndarray, classes: list) -> dict[str, Curve]:
    """ROC curve (false against true positive rate) and its AUC per class against the rest."""
    labels = [str(c) for c in classes]
    curves = {}
    for label, actual in _one_vs_rest(y_true, classes).items():
        fpr, tpr, _ = skm.roc_curve(actual, np.asarray(proba)[:, labels.index(label)])
        curves[label] = Curve(fpr, tpr, float(skm.auc(fpr, tpr)), 0.5)
    return curves


def precision_recall_curves(y_true, proba: np.ndarray, classes: list) -> dict[str, Curve]:
    """Precision-recall curve and its area (average precision) per class against the rest; chance is the class's share."""
    labels = [str(c) for c in classes]
    curves = {}
    for label, actual in _one_vs_rest(y_true, classes).items():
        scores = np.asarray(proba)[:, labels.index(label)]
        precision, recall, _ = skm.precision_recall_curve(actual, scores)
        curves[label] = Curve(recall, precision, float(skm.average_precision_score(actual, scores)),
                              float(actual.mean()))
    return curves


def confusion(y_true, y_pred, classes: list, normalize: bool = False) -> pd.DataFrame:
    """Rows: actual class, columns: predicted class; counts, or with ``normalize`` each actual class's shares."""
    labels = [str(c) for c in classes]
    matrix = skm.confusion_matrix(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str), labels=labels,
                                  normalize="true" if normalize else None)
    return pd.DataFrame(matrix, index=pd.Index(labels, name="actual"), columns=pd.Index(labels, name="predicted"))


def at_threshold(positive_proba, classes: list, threshold: float) -> np.ndarray:
    """Binary labels: the positive class (``classes[1]``) where its probability is above ``threshold``
    (0.5 gives the model's own predictions)."""
    return np.where(np.asarray(positive_proba) > threshold, classes[1], classes[0])


def threshold_metrics(y_true, positive_proba, classes: list, threshold: float) -> dict[str, float]:
    """Accuracy, balanced accuracy, and precision, recall and F1 of the positive class at ``threshold``
    (counted directly, so a table of thresholds over many rows stays quick; 0 where undefined)."""
    actual = np.asarray(y_true).astype(str) == str(classes[1])
    predicted = np.asarray(positive_proba) > threshold
    tp, fp = np.sum(actual & predicted), np.sum(~actual & predicted)
    fn, tn = np.sum(actual & ~predicted), np.sum(~actual & ~predicted)

    def share(part, whole) -> float:
        return float(part / whole) if whole else 0.0

    precision, recall = share(tp, tp + fp), share(tp, tp + fn)
    present = [share(tp, tp + fn)] * bool(tp + fn) + [share(tn, tn + fp)] * bool(tn + fp)
    return {"accuracy": share(tp + tn, len(actual)), "balanced_accuracy": float(np.mean(present)),
            "precision": precision, "recall": recall, "f1": share(2 * precision * recall, precision + recall)}


def threshold_table(y_true, positive_proba, classes: list, thresholds=THRESHOLDS) -> pd.DataFrame:
    """:func:`threshold_metrics` for every threshold, one row each."""
    rows = [{"threshold": float(t), **threshold_metrics(y_true, positive_proba, classes, t)} for t in thresholds]
    return pd.DataFrame(rows)


def calibration(y_true, proba: np.ndarray, classes: list, bins: int = 10) -> pd.DataFrame:
    """Per bin of predicted probability: its mean, the observed share and the rows. Binary: the positive class's
    probability against how often it is the answer; multiclass: the predicted class's against how often it is right."""
    labels = np.asarray([str(c) for c in classes])
    true_text = np.asarray(y_true).astype(str)
    proba = np.asarray(proba, dtype=float)
    if len(labels) == 2:
        predicted, hit = proba[:, 1], true_text == labels[1]
    else:
        predicted, hit = proba.max(axis=1), true_text == labels[proba.argmax(axis=1)]
    which = np.digitize(predicted, np.linspace(0, 1, bins + 1)[1:-1])
    table = pd.DataFrame({"bin": which, "predicted": predicted, "observed": hit.astype(float)})
    return table.groupby("bin").agg(predicted=("predicted", "mean"), observed=("observed", "mean"),
                                    rows=("predicted", "size")).reset_index(drop=True)


def compare(actual, predictions: pd.DataFrame, task: str) -> pd.DataFrame:
    """Actual next to predicted, one row per test row: ``correct`` for classes, ``error`` (predicted − actual)
    for values; ``predictions`` is the output of a prediction (``prediction``, ``probability_<label>``)."""
    table = pd.DataFrame({"actual": np.asarray(actual), "predicted": predictions["prediction"].to_numpy()},
                         index=predictions.index)
    if task == "regression":
        table["error"] = table["predicted"].astype(float) - table["actual"].astype(float)
    else:
        table["correct"] = table["actual"].astype(str) == table["predicted"].astype(str)
    return table
