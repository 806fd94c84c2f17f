"""The cross-fitted ensemble: K networks, each trained on K−1 folds of the non-test rows and early-stopped on the
fold it holds out, delivered as one Keras model that averages them.

The non-test rows (the split's training rows, then its validation rows) are cut into K folds, stratified for
classes. Member i trains on the other folds and stops on fold i, so its predictions on fold i are out of fold: put
together, the members score every non-test row once with a model that never trained on it (the out-of-fold score,
an honest validation score over all those rows). The test split stays untouched; the delivered model averages the
members' outputs (class probabilities, or values) and is scored there like a single network. ``K = 1`` is the
single network of the train/validation split.

After TabArena (Erickson et al. 2025) and AutoGluon's bagging, which fit every model as such a cross-fitted
ensemble; measured in ``benchmarks/quality.py``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from dlcore.architectures import Architecture
from dlcore.evaluation import score
from dlcore.prepared import PreparedData
from dlcore.splitting import Split
from dlcore.training import AUTO_FOLDS, MIN_FOLD_ROWS, EpochCallback, TrainConfig, TrainResult, train

ENSEMBLE_NAME = "ensemble"
MEMBER_PREFIX = "member_"


def fold_of_rows(data: PreparedData, k: int, seed: int) -> np.ndarray:
    """The fold (0 … k−1) of each non-test row, in the order training rows then validation rows; shuffled with
    ``seed`` and stratified for classes when every class has k rows. ``k = 1``: the split's own validation rows
    are fold 0 and the training rows -1 (never held out)."""
    y = np.concatenate([data.y_train, data.y_val])
    if k == 1:
        return np.concatenate([np.full(len(data.y_train), -1), np.zeros(len(data.y_val), dtype=int)])
    stratify = data.task != "regression" and np.bincount(y.astype(int)).min(initial=k) >= k
    splitter = (StratifiedKFold if stratify else KFold)(k, shuffle=True, random_state=seed)
    folds = np.empty(len(y), dtype=int)
    for i, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y if stratify else None)):
        folds[held] = i
    return folds


def member_data(data: PreparedData, folds: np.ndarray, member: int) -> PreparedData:
    """What member ``member`` trains on (the rows of the other folds) and stops on (its own fold); the test rows
    and the preparation are the run's, and so is the headline metric."""
    if not (folds >= 0).all():  # a single network: the split as it is
        return data
    rows = pd.concat([data.split.train, data.split.validation])
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    held = folds == member
    own = PreparedData(Split(rows[~held], rows[held], data.split.test), data.preparation,
                       x[~held], y[~held], x[held], y[held], data.x_test, data.y_test)
    own.primary_metric = data.primary_metric  # decided once, on the run's training rows
    return own


def member_config(config: TrainConfig, member: int) -> TrainConfig:
    """Member ``member``'s settings: the run's, with a seed of its own (``seed + member``) so the members differ in
    their initial weights and batches as well as their rows."""
    return dataclasses.replace(config, seed=config.seed + member, folds=1)


def held_out_rows(folds: np.ndarray, member: int) -> np.ndarray:
    """Positions, among the non-test rows, of the rows member ``member`` holds out."""
    return np.flatnonzero(folds == member)


def train_member(data: PreparedData, folds: np.ndarray, member: int, arch: Architecture, config: TrainConfig,
                 on_epoch: EpochCallback | None = None, should_stop=None, checkpoint=None
                 ) -> tuple[TrainResult, np.ndarray]:
    """Train member ``member``: its result and its outputs (in the network's form) on the rows it held out."""
    own = member_data(data, folds, member)
    result = train(own, arch, member_config(config, member), on_epoch=on_epoch, should_stop=should_stop,
                   checkpoint=checkpoint)
    return result, outputs_of(result.model, own.x_val)


def outputs_of(model, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    """``model``'s outputs on ``x``, called directly batch by batch (``predict`` would trace a new function for
    every member, which TensorFlow warns about)."""
    import keras

    parts = []
    for start in range(0, len(x), batch):
        rows = x[start:start + batch]
        out = model([rows] if isinstance(model.input, list) else rows, training=False)  # as the model was built
        parts.append(keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out))
    return np.concatenate(parts) if parts else np.zeros((0, *model.outputs[0].shape[1:]), dtype=np.float32)


def average(models: list, n_features: int, weights: list[float] | None = None):
    """One Keras model whose output is the mean of ``models``' outputs (class probabilities or values), or with
    ``weights`` (summing to 1) their weighted mean; a single model is returned as it is. It saves as one
    ``.keras`` file of Keras' own layers and loads in safe mode."""
    if len(models) == 1:
        return models[0]
    import keras

    inputs = keras.Input(shape=(n_features,), name="features")
    outputs = [keras.Model(model.inputs[0], model.outputs[0], name=f"{MEMBER_PREFIX}{i + 1}")(inputs)
               for i, model in enumerate(models)]
    if weights is None:
        return keras.Model(inputs, keras.layers.Average(name="output")(outputs), name=ENSEMBLE_NAME)
    scaled = [keras.layers.Rescaling(float(weight), name=f"weight_{i + 1}")(output)
              for i, (weight, output) in enumerate(zip(weights, outputs))]
    return keras.Model(inputs, keras.layers.Add(name="output")(scaled), name=ENSEMBLE_NAME)


def out_of_fold(data: PreparedData, folds: np.ndarray, outputs: dict[int, np.ndarray]) -> dict:
    """The task's metrics of the members' outputs on the rows each held out (``outputs``: member → outputs in
    the network's form, in the order of :func:`held_out_rows`), with ``rows``: how many non-test rows they cover."""
    if not outputs:
        return {"rows": 0}
    positions = np.concatenate([held_out_rows(folds, member) for member in outputs])
    return score_rows(data, positions, np.concatenate([np.asarray(outputs[member]) for member in outputs]))


def score_rows(data: PreparedData, positions: np.ndarray, outputs: np.ndarray) -> dict:
    """The task's metrics of ``outputs`` (the network's form) for the non-test rows at ``positions``, and
    ``rows``: how many."""
    prep = data.preparation
    targets = pd.concat([data.train_targets, data.split.validation[prep.target]])
    labels, proba = prep.decode_outputs(outputs)
    return {"rows": int(len(positions)),
            **score(prep.task, targets.iloc[positions], labels, proba, prep.classes or None)}


def spread_out(folds: np.ndarray, outputs: dict[int, np.ndarray]) -> np.ndarray:
    """The members' held-out outputs in the order of the non-test rows, NaN for a row no member held out."""
    first = np.asarray(next(iter(outputs.values())))
    full = np.full((len(folds), *first.shape[1:]), np.nan, dtype=np.float32)
    for member, values in outputs.items():
        full[held_out_rows(folds, member)] = values
    return full


def held_out_by_all(*spread: np.ndarray) -> np.ndarray:
    """Which non-test rows every one of these :func:`spread_out` outputs holds out (no NaN in any of them)."""
    return np.all([~np.isnan(outputs.reshape(len(outputs), -1)).any(axis=1) for outputs in spread], axis=0)


@dataclass
class EnsembleResult:
    """The delivered model (the members' mean), each member's training, and the out-of-fold score."""

    model: object
    members: list[TrainResult]
    out_of_fold: dict
    seconds: float


def fit_ensemble(data: PreparedData, arch: Architecture, config: TrainConfig,
                 on_member_epoch=None, should_stop=None) -> EnsembleResult:
    """Train the members one after another in this process (the command line's local backend and the benchmark;
    the app runs each as a job): ``on_member_epoch(member, epoch, row)``."""
    k = config.folds_for(len(data.x_train) + len(data.x_val))
    folds = fold_of_rows(data, k, config.seed)
    start = time.perf_counter()
    results, outputs = [], {}
    for member in range(k):
        if should_stop is not None and should_stop():
            break
        epoch = None if on_member_epoch is None else (lambda e, row, m=member: on_member_epoch(m, e, row))
        result, outputs[member] = train_member(data, folds, member, arch, config, epoch, should_stop)
        results.append(result)
    model = average([result.model for result in results], data.x_train.shape[1])
    return EnsembleResult(model, results, out_of_fold(data, folds, outputs), time.perf_counter() - start)


def members_choice(config: TrainConfig, n_rows: int) -> str:
    """What the Members setting means for ``n_rows`` non-test rows, in plain words: how many networks, why, and on
    which rows each learns and stops."""
    k = config.folds_for(n_rows)
    if config.folds:
        why = f"as set ({config.folds})" if k == config.folds else \
            f"{config.folds} asked for, {k} possible: each held-out fold keeps at least {MIN_FOLD_ROWS} rows"
    else:
        limits = "; ".join(f"{members} up to {rows:,} rows" for rows, members in AUTO_FOLDS)
        why = f"chosen from the {n_rows:,} non-test rows ({limits}; one above: the time a member takes grows " \
              "with the rows, and a large validation split is no longer noisy)"
    if k == 1:
        return (f"One network, {why}: it learns from the training split and stops on the validation split; the "
                "test split stays untouched.")
    return (f"{k} networks averaged into one model, {why}. Each learns from {k - 1} of {k} folds of the "
            f"{n_rows:,} non-test rows and stops on the fold it held out, so every such row is scored once by a "
            f"network that never trained on it (the out-of-fold score); the test split stays untouched. Training "
            f"takes about {k} times as long as one network.")
