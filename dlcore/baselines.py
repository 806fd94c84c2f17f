"""Honest baselines on the test split: what a model must beat to be worth anything."""

from __future__ import annotations

import numpy as np

from dlcore.evaluation import score
from dlcore.preparation import PreparedData

NAIVE_TITLES = {"binary": "Majority class", "multiclass": "Majority class", "regression": "Training mean"}


def naive_baseline(data: PreparedData) -> dict[str, float]:
    """Majority class with class-prior probabilities (classification) or the training mean (regression)."""
    prep, target = data.preparation, data.preparation.target
    y_train, y_test = data.split.train[target], data.split.test[target]
    n = len(y_test)
    if prep.task == "regression":
        return score("regression", y_test, np.full(n, float(y_train.mean())))
    train_text = y_train.astype(str)
    priors = np.array([(train_text == str(c)).mean() for c in prep.classes])
    majority = prep.classes[int(np.argmax(priors))]
    return score(prep.task, y_test, np.full(n, majority, dtype=object), np.tile(priors, (n, 1)), prep.classes)


def baselines(data: PreparedData) -> dict[str, dict[str, float]]:
    """All baselines by name, each with the task's metrics on the test split."""
    return {"naive": naive_baseline(data)}
