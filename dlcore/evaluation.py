"""Score predictions with the task's metrics, the same way for the network and every baseline."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

PRIMARY_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "mae"}
IMBALANCED_SHARE = 0.2
LOWER_IS_BETTER = {"mae", "rmse", "mape", "log_loss"}
METRIC_TITLES = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "f1_macro": "F1 (macro)",
    "roc_auc": "ROC AUC", "log_loss": "Log loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "mape": "MAPE",
}


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
    if task == "binary":
        shares = np.unique(np.asarray(y_train).astype(str), return_counts=True)[1] / len(y_train)
        if shares.min() < IMBALANCED_SHARE:
            return "roc_auc"
    return PRIMARY_METRIC[task]


def is_better(metric: str, candidate: float, reference: float) -> bool:
    return candidate < reference if metric in LOWER_IS_BETTER else candidate > reference
