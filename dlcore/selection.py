"""Ensemble selection: the weights of a mix of models chosen greedily on their out-of-fold predictions.

Caruana et al., "Ensemble Selection from Libraries of Models" (ICML 2004), as AutoGluon and TabArena use it: start
from nothing, add (with replacement) the model whose addition makes the averaged predictions' loss lowest, for a
fixed number of rounds, and keep the best mix seen. Its first round picks the best single model, so the mix kept
is never worse than the best model on the rows it was chosen on.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.metrics import log_loss

ROUNDS = 25


def prediction_loss(task: str, targets: np.ndarray, outputs: np.ndarray, n_classes: int = 2) -> float:
    """The loss the selection minimizes, of outputs in the network's form (positive-class probability, class
    probabilities or standardized values) against encoded targets: log loss, or the mean squared error."""
    outputs = np.asarray(outputs, dtype=float)
    if task == "regression":
        return float(np.mean((outputs.reshape(-1) - np.asarray(targets, dtype=float)) ** 2))
    proba = outputs.reshape(-1) if task == "binary" else outputs
    return float(log_loss(targets, proba, labels=list(range(n_classes))))


def greedy_weights(predictions: dict[int, np.ndarray], loss, rounds: int = ROUNDS) -> tuple[dict[int, float], float]:
    """Caruana's selection over ``predictions`` (model → outputs on the same rows): each model's weight (the
    share of the rounds it was picked in, for the best mix seen) and that mix's loss. Ties go to the lower key."""
    if not predictions:
        raise ValueError("No predictions to choose from.")
    picked: list[int] = []
    total = None
    best_loss, best_pick = float("inf"), []
    for _ in range(rounds):
        scores = {key: loss(output if total is None else (total + output) / (len(picked) + 1))
                  for key, output in sorted(predictions.items())}
        choice = min(scores, key=lambda key: (scores[key], key))
        picked.append(choice)
        total = predictions[choice].astype(float) if total is None else total + predictions[choice]
        if scores[choice] < best_loss - 1e-12:
            best_loss, best_pick = scores[choice], list(picked)
    counts = Counter(best_pick)
    return {key: counts[key] / len(best_pick) for key in sorted(counts)}, best_loss


def mix(predictions: dict[int, np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """The weighted mean of the chosen models' outputs."""
    return sum(weight * np.asarray(predictions[key], dtype=float) for key, weight in weights.items())
