"""Score predictions with the task's metrics, the same way for the network and every baseline, and the numbers
behind the Results page's charts: confusion matrices, ROC and precision-recall curves, metrics at a probability
threshold, calibration, and actual against predicted values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from dlcore.decisions import IMBALANCED, minority_share

PRIMARY_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "mae"}
LOWER_IS_BETTER = {"mae", "rmse", "mape", "log_loss"}
METRIC_TITLES = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "f1_macro": "F1 (macro)",
    "roc_auc": "ROC AUC", "log_loss": "Log loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "mape": "MAPE",
    "precision": "Precision", "recall": "Recall", "f1": "F1",
}
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
RESAMPLES, LEVEL = 1000, 0.95  # the paired bootstrap of the test split: resamples, and the interval's level
BOOTSTRAP_ROWS = 20_000  # at most this many test rows (a fixed sample) are resampled: a wider interval, not narrower


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
        proba = _probabilities(proba)
        result["log_loss"] = float(skm.log_loss(true_text, proba, labels=labels))
        if len(set(true_text)) == len(labels):
            result["roc_auc"] = float(
                skm.roc_auc_score(true_text == labels[1], proba[:, 1]) if len(labels) == 2
                else skm.roc_auc_score(true_text, proba, multi_class="ovr", labels=labels)
            )
    return result


def paired_differences(task: str, metric: str, y_true, network: tuple, others: dict[str, tuple],
                       classes: list | None = None, resamples: int = RESAMPLES, level: float = LEVEL,
                       seed: int = 0) -> dict[str, dict]:
    """How much the network's ``metric`` differs from each of ``others`` on the same test rows, and how sure that is.

    ``network`` and each of ``others`` (by name) are ``(labels, proba)`` as :func:`score` takes them. Per model: the
    ``difference`` network − model in the metric's units, and the ``low``–``high`` percentile interval at ``level``
    from a paired bootstrap (scipy.stats.bootstrap): the test rows resampled with replacement ``resamples`` times,
    the same resample for every model, so what the models share cancels out. None bounds when a resample cannot be
    scored (e.g. ROC AUC on a resample of one class)."""
    from scipy.stats import bootstrap

    y_true = np.asarray(y_true)
    rows = np.arange(len(y_true))
    if len(rows) > BOOTSTRAP_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, BOOTSTRAP_ROWS, replace=False))
    names = list(others)
    mine = _resampled_metric(task, metric, y_true, *network, classes)
    theirs = [_resampled_metric(task, metric, y_true, *others[name], classes) for name in names]

    def statistic(chosen, axis=-1):
        chosen = np.asarray(chosen, dtype=int)
        return np.stack([mine(chosen) - metric_of(chosen) for metric_of in theirs])

    whole = statistic(np.arange(len(y_true))[None, :])[:, 0]
    with np.errstate(invalid="ignore"):
        interval = bootstrap((rows,), statistic, vectorized=True, batch=100, n_resamples=resamples,
                             confidence_level=level, method="percentile",
                             rng=np.random.default_rng(seed)).confidence_interval
    low, high = np.atleast_1d(interval.low), np.atleast_1d(interval.high)
    return {name: {"metric": metric, "difference": float(whole[i]), "level": level, "rows": int(len(rows)),
                   "low": None if np.isnan(low[i]) else float(low[i]),
                   "high": None if np.isnan(high[i]) else float(high[i])}
            for i, name in enumerate(names)}


def _resampled_metric(task: str, metric: str, y_true: np.ndarray, labels, proba, classes):
    """``metric`` of any resamples of the test rows at once (row numbers, one resample per row of a 2-D array), as
    :func:`score` computes it: from numbers per row computed once where the metric is a mean of them, else resample
    by resample."""
    labels = np.asarray(labels)
    if task == "regression":
        y, error = y_true.astype(float), y_true.astype(float) - labels.astype(float)
        if metric == "mae":
            return lambda rows: np.abs(error)[rows].mean(axis=-1)
        if metric == "rmse":
            return lambda rows: np.sqrt((error ** 2)[rows].mean(axis=-1))
        if metric == "r2":
            return lambda rows: 1 - (error ** 2)[rows].sum(axis=-1) / (
                (y[rows] - y[rows].mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    elif metric == "accuracy":
        right = (y_true.astype(str) == labels.astype(str)).astype(float)
        return lambda rows: right[rows].mean(axis=-1)
    elif metric == "log_loss" and proba is not None:
        column = pd.Index([str(c) for c in classes]).get_indexer(y_true.astype(str))
        loss = -np.log(_probabilities(proba)[np.arange(len(y_true)), column])
        return lambda rows: loss[rows].mean(axis=-1)
    elif metric == "roc_auc" and proba is not None:
        text, proba = y_true.astype(str), np.asarray(proba, dtype=float)
        names = [str(c) for c in classes]
        columns = [1] if len(names) == 2 else range(len(names))  # binary: the positive class; else one-vs-rest
        ranked = [(text == names[k], *np.unique(proba[:, k], return_inverse=True)) for k in columns]
        return lambda rows: np.mean([_resampled_auc(positive, len(levels), level, rows)
                                     for positive, levels, level in ranked], axis=0)  # macro, as sklearn

    def one_by_one(rows):
        return np.array([score(task, y_true[r], labels[r], None if proba is None else np.asarray(proba)[r],
                               classes).get(metric, np.nan) for r in np.atleast_2d(rows)])
    return one_by_one


def _resampled_auc(positive: np.ndarray, levels: int, level: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count a half) of each resample of ``rows``, from each row's ``level`` among the ``levels``
    distinct scores (ranked once, by the caller), each resample weighing a row by how often it was drawn. NaN for a
    resample without both classes."""
    rows = np.atleast_2d(rows)
    count, n = rows.shape[0], len(level)
    weights = np.bincount((rows + n * np.arange(count)[:, None]).ravel(), minlength=count * n).reshape(count, n)
    negative = level[~positive] + levels * np.arange(count)[:, None]  # negatives' weight at each score level
    by_level = np.bincount(negative.ravel(), weights[:, ~positive].ravel(),
                           minlength=count * levels).reshape(count, levels)
    below = np.cumsum(by_level, axis=1) - by_level
    wins = (weights[:, positive] * (below[:, level[positive]] + 0.5 * by_level[:, level[positive]])).sum(axis=1)
    pairs = weights[:, positive].sum(axis=1) * weights[:, ~positive].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / pairs, np.nan)


def _probabilities(proba) -> np.ndarray:
    """Probabilities as the metrics read them: clipped away from 0 and 1, each row summing to 1."""
    clipped = np.clip(np.asarray(proba, dtype=float), 1e-7, 1.0)
    return clipped / clipped.sum(axis=1, keepdims=True)


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


def per_class(y_true, y_pred, classes: list) -> pd.DataFrame:
    """Per class (rows): precision, recall, F1 and support (the class's test rows), as scikit-learn reports them."""
    labels = [str(c) for c in classes]
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str), labels=labels, zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "F1": f1, "test rows": support},
                        index=pd.Index(labels, name="class"))


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
