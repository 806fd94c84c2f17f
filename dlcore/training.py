"""Train the network: optimizer, learning-rate schedule, class weights, validation, early stopping (best weights
restored), a way to stop it, and plain-word readings of the curves.

The defaults of :class:`TrainConfig` are the recipe Auto is measured with (``benchmarks/quality.py``), after
RealMLP-TD (Holzmüller et al., "Better by Default", 2024) and TabM (Gorishniy et al., 2024): AdamW with β2 = 0.95,
weight decay and gradient clipping, a flat-then-cosine learning rate over an epoch budget sized from the data,
label smoothing 0.1 when the headline metric is accuracy, and the best epoch's weights kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.architectures import Architecture, build_model, members_model, output_head, validate
from dlcore.decisions import IMBALANCED, minority_share
from dlcore.prepared import PreparedData
from dlcore.runtime.files import save_model
from dlcore.splitting import SEED

EpochCallback = Callable[[int, dict], None]
CHECKPOINT_SECONDS = 2.0  # the best weights reach the disk at most this long after they were reached
# Rows of batches TensorFlow trains per call from Python (Keras' steps_per_execution): the callbacks, the stop check
# and Keras' own bookkeeping run once per call, not once per batch (the same updates, in the same order)
ROWS_PER_EXECUTION = 4096
OPTIMIZERS = {
    "adam": "Adam",
    "adamw": "AdamW (Adam with decoupled weight decay)",
    "rmsprop": "RMSprop",
    "sgd": "SGD with momentum 0.9",
    "nadam": "Nadam (Adam with Nesterov momentum)",
}
SCHEDULES = {
    "flat_cosine": "Flat for half the planned epochs, then cosine decay to 0",
    "constant": "Constant",
    "plateau": "Halve on a plateau of the validation loss",
    "cosine": "Cosine decay to 0 over the planned epochs",
}
# What a run trained before a setting existed used instead of it (Adam, a constant rate, 100 epochs, patience 10).
FORMER_DEFAULTS = {"epochs": 100, "patience": 10, "optimizer": "adam", "schedule": "constant", "weight_decay": 0.0,
                   "beta_2": 0.999, "clipnorm": 0.0, "label_smoothing": 0.0, "folds": 1}
STEP_BUDGET = 20_000  # batches an automatic epoch budget plans for, at most
MAX_AUTO_EPOCHS = 256
MAX_FOLDS = 10
# Members of the cross-fitted ensemble (dlcore.ensemble) chosen from the non-test rows: (up to this many rows, K)
AUTO_FOLDS = ((20_000, 5), (50_000, 3))  # more rows: one network
MIN_FOLD_ROWS = 10


@dataclass
class TrainConfig:
    """How to fit: the app's defaults are the command line's defaults."""

    epochs: int = 0  # 0: sized from the data (:meth:`epochs_for`)
    batch_size: int = 0  # 0: chosen from the number of rows
    learning_rate: float = 1e-3
    patience: int = 16
    seed: int = SEED
    class_weights: bool | None = False  # weight classes inversely to their frequency; None (older runs): when the
    # rarest class is under 20% of the training rows
    optimizer: str = "adamw"
    schedule: str = "flat_cosine"
    loss: str | None = None  # None: the task's loss (output_head)
    weight_decay: float = 1e-4  # AdamW's decoupled weight decay (other optimizers: none)
    beta_2: float = 0.95  # Adam's and AdamW's second-moment decay
    clipnorm: float = 1.0  # clip each gradient to this norm; 0: no clipping
    label_smoothing: float | None = None  # classification; None: 0.1 when the headline metric is accuracy, else 0
    folds: int = 0  # members of the cross-fitted ensemble (dlcore.ensemble); 0: from the data's size; 1: one network

    def batch_for(self, n_rows: int) -> int:
        """At least about 8 batches an epoch for small data, 256 rows (RealMLP's and TabM's batch) from 2,048 rows,
        larger batches so an epoch of big data stays quick."""
        if self.batch_size:
            return self.batch_size
        rows = max(n_rows, 1)
        if rows >= 200_000:
            return 1024 if rows >= 800_000 else 512
        return int(min(256, max(16, 2 ** round(np.log2(rows / 8)))))

    def epochs_for(self, n_rows: int) -> int:
        """The most epochs: as set, or as many as :data:`STEP_BUDGET` batches allow, up to
        :data:`MAX_AUTO_EPOCHS`."""
        if self.epochs:
            return self.epochs
        steps = -(-max(n_rows, 1) // self.batch_for(n_rows))
        return int(max(16, min(MAX_AUTO_EPOCHS, STEP_BUDGET // steps)))

    def folds_for(self, n_rows: int) -> int:
        """Members of the cross-fitted ensemble for ``n_rows`` non-test rows: as set, or by :data:`AUTO_FOLDS`; at
        most one per :data:`MIN_FOLD_ROWS` rows, so every member stops on enough rows."""
        k = self.folds or next((k for rows, k in AUTO_FOLDS if n_rows <= rows), 1)
        return max(1, min(k, n_rows // MIN_FOLD_ROWS))

    def smoothing_for(self, task: str, metric: str) -> float:
        """Label smoothing for this task and headline metric."""
        if task == "regression":
            return 0.0
        if self.label_smoothing is not None:
            return self.label_smoothing
        return 0.1 if metric == "accuracy" else 0.0

    def problems(self) -> list[str]:
        """Why these settings cannot train, one sentence each (none when they can)."""
        reasons = []
        if self.optimizer not in OPTIMIZERS:
            reasons.append(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            reasons.append(f"Unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        if not self.learning_rate > 0:
            reasons.append("The learning rate must be above 0.")
        if self.epochs < 0 or self.patience < 1:
            reasons.append("Max epochs (0: from the data) must not be negative, and early-stopping patience must be "
                           "at least 1.")
        if self.weight_decay < 0 or self.clipnorm < 0 or not 0 < self.beta_2 < 1:
            reasons.append("Weight decay and gradient clipping cannot be negative, and β2 must be between 0 and 1.")
        if self.label_smoothing is not None and not 0 <= self.label_smoothing < 1:
            reasons.append("Label smoothing must be at least 0 and below 1.")
        if not 0 <= self.folds <= MAX_FOLDS:
            reasons.append(f"Members must be from 1 to {MAX_FOLDS} (or 0 to choose them from the data).")
        if self.batch_size < 0:
            reasons.append("The batch size must be a positive number of rows (or 0 to choose it from the data).")
        return reasons

    def get_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> TrainConfig:
        """From :meth:`get_config`; a setting missing from an older run's config takes the value that run was
        trained with (:data:`FORMER_DEFAULTS`), not today's default."""
        return cls(**{**FORMER_DEFAULTS, **config})


def training_minority_share(data: PreparedData) -> float | None:
    """The rarest class's share of the training rows (None for regression)."""
    return None if data.task == "regression" else minority_share(data.train_targets)


def class_weights(data: PreparedData, config: TrainConfig) -> dict[int, float] | None:
    """Weights inversely proportional to each class's training frequency, when asked for or, by default, when the
    rarest class is under 20% of the training rows (Explore's imbalance alert); None otherwise."""
    share = training_minority_share(data)
    if share is None or not (share < IMBALANCED if config.class_weights is None else config.class_weights):
        return None
    counts = np.bincount(data.y_train, minlength=len(data.preparation.classes))
    return {i: len(data.y_train) / (len(counts) * c) for i, c in enumerate(counts) if c}


def _optimizer(config: TrainConfig, steps: int):
    """The Keras optimizer; for ``cosine`` its learning rate decays along a cosine over ``steps`` batches, for
    ``flat_cosine`` over the second half of them (held flat before)."""
    import keras

    rate = config.learning_rate
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
    elif config.schedule == "flat_cosine":  # a "warm-up" from the rate to itself is a flat start
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps - steps // 2,
                                                      warmup_target=config.learning_rate, warmup_steps=steps // 2)
    clip = {"clipnorm": config.clipnorm} if config.clipnorm else {}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, **clip)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay, beta_2=config.beta_2, **clip)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(rate, beta_2=config.beta_2, **clip)
    return {"rmsprop": keras.optimizers.RMSprop, "nadam": keras.optimizers.Nadam}[config.optimizer](rate, **clip)


def steps_per_execution(rows: int, batch_size: int) -> int:
    """Batches per call from Python: about :data:`ROWS_PER_EXECUTION` rows, at most an epoch."""
    return max(1, min(-(-rows // batch_size), ROWS_PER_EXECUTION // batch_size))


def training_device() -> str:
    """Where TensorFlow trains, which places the work on the first GPU it sees by itself: ``GPU: <name>``, else
    ``CPU (<n> cores)`` with the cores this process may use."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU: {tf.config.experimental.get_device_details(gpus[0]).get('device_name') or gpus[0].name}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return f"CPU ({cores} core{'s' if cores != 1 else ''})"


def _loss(config: TrainConfig, head: dict, smoothing: float):
    """The loss to compile with: the chosen one, or the task's; cross-entropy with label smoothing when asked (for
    multiclass on one-hot targets, since Keras' sparse cross-entropy has no smoothing)."""
    import keras

    if not smoothing or config.loss not in (None, head["loss"]):
        return config.loss or head["loss"]
    if head["loss"] == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
    return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)


@dataclass
class TrainResult:
    """The fitted model (best weights) and how training went."""

    model: object
    history: pd.DataFrame
    best_epoch: int
    epochs_run: int
    seconds: float
    stopped: bool
    device: str  # :func:`training_device`


def train(
    data: PreparedData, arch: Architecture, config: TrainConfig,
    on_epoch: EpochCallback | None = None, should_stop: Callable[[], bool] | None = None,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Fit ``arch`` on the training matrix, validating every epoch; ``should_stop`` (asked once per
    :func:`steps_per_execution` batches) ends it early.

    With ``checkpoint``, the best weights so far are saved there as a ``.keras`` model (atomically) whenever the
    validation loss improves, at most every :data:`CHECKPOINT_SECONDS` and always when training ends, so a process
    that dies keeps a usable model."""
    import keras
    import tensorflow as tf

    prep = data.preparation
    validate(arch, config, prep.task, len(prep.classes))
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    head = output_head(prep.task, len(prep.classes))
    batch_size, epochs = config.batch_for(len(data.x_train)), config.epochs_for(len(data.x_train))
    model = build_model(arch, prep.feature_types, prep.task, len(prep.classes))
    fitted = members_model(model)  # an ensemble trains every member on its own loss (TabM); else the model itself
    steps = epochs * -(-len(data.x_train) // batch_size)
    smoothing = config.smoothing_for(prep.task, data.primary_metric)
    loss = _loss(config, head, smoothing)
    fitted.compile(optimizer=_optimizer(config, steps), loss=loss, metrics=head["metrics"],
                   steps_per_execution=steps_per_execution(len(data.x_train), batch_size))
    y_train, y_val = data.y_train, data.y_val
    if isinstance(loss, keras.losses.CategoricalCrossentropy):  # smoothed multiclass: one-hot float32 targets
        y_train, y_val = (np.eye(len(prep.classes), dtype=np.float32)[y] for y in (y_train, y_val))
    weights = class_weights(data, config)
    sample_weight = None if weights is None else np.vectorize(weights.get)(data.y_train).astype(np.float32)
    if fitted is not model:  # every member's copy of the target (and of the row's weight)
        sparse = prep.task == "multiclass" and y_train.ndim == 1
        y_train, y_val = (_per_member(y, arch.ensemble, sparse) for y in (y_train, y_val))
        sample_weight = None if sample_weight is None else np.repeat(sample_weight[:, None], arch.ensemble, axis=1)
    scale = prep.target_encoding.get("std", 1.0)
    rows: list[dict] = []
    stopped = {"by_user": False}

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if should_stop is not None and should_stop():
                stopped["by_user"] = True
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1}
            for key, value in (logs or {}).items():
                row[key] = float(value) * (scale if key.endswith("mae") else 1.0)
            row["learning_rate"] = self.learning_rate  # the rate this epoch started with
            rows.append(row)
            if checkpoint is not None:
                saved["due"] = saved["due"] or early.best_epoch == epoch  # EarlyStopping just saw an improvement
                if saved["due"] and time.monotonic() - saved["at"] >= CHECKPOINT_SECONDS:
                    self.save()
            if on_epoch is not None:
                on_epoch(epoch + 1, row)

        def on_train_end(self, logs=None):  # after EarlyStopping put the best weights back
            if checkpoint is not None and saved["due"]:
                self.save()

        def save(self):
            """Save the best weights, putting the current ones back after if they differ."""
            current = None
            if early.best_weights is not None and early.best_epoch != len(rows) - 1:
                current = self.model.get_weights()
                self.model.set_weights(early.best_weights)
            try:
                save_model(model, checkpoint)  # the network (for an ensemble: its mean), not its members
            finally:
                if current is not None:
                    self.model.set_weights(current)
            saved.update(due=False, at=time.monotonic())

    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    saved = {"due": False, "at": float("-inf")}
    callbacks = [early]
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                           patience=max(1, config.patience // 2)))
    device = training_device()
    start = time.perf_counter()
    fitted.fit(
        data.x_train, y_train, validation_data=(data.x_val, y_val), sample_weight=sample_weight,
        epochs=epochs, batch_size=batch_size, callbacks=[*callbacks, Progress()], verbose=0, shuffle=True,
    )
    seconds = time.perf_counter() - start
    history = pd.DataFrame(rows)
    return TrainResult(model, history, best_epoch(history), len(history), seconds, stopped["by_user"], device)


def best_epoch(history: pd.DataFrame) -> int:
    """The epoch (counted from 1) of the lowest validation loss; 0 for a history without epochs."""
    return int(history["val_loss"].idxmin()) + 1 if len(history) else 0


def _per_member(y: np.ndarray, members: int, sparse: bool) -> np.ndarray:
    """Targets repeated for each member: class indices of sparse cross-entropy as (rows, members), others
    (values, 0/1 labels, one-hot rows) as (rows, members, 1 or classes)."""
    y = np.asarray(y)
    y = y[:, None] if sparse else y.reshape(len(y), 1, -1)
    return np.repeat(y, members, axis=1)


def overfitting_hints(history: pd.DataFrame, patience: int) -> list[str]:
    """The books' readings of the loss curves, in plain words: overfitting after the best epoch, a large gap between
    training and validation, still improving at the end (train longer), or a flat curve (learning too little)."""
    if len(history) < 2:
        return []
    loss, val_loss = history["loss"].to_numpy(), history["val_loss"].to_numpy()
    best = int(np.argmin(val_loss))
    last = len(history) - 1
    hints = []
    rising = best < last and val_loss[last] > val_loss[best] * 1.02 and loss[last] < loss[best]
    if rising:
        stopped = " Early stopping ended training and kept that epoch's weights." if last - best >= patience else ""
        hints.append(f"Overfitting: validation loss was lowest at epoch {best + 1} and rose afterwards while training "
                     f"loss kept falling, so the network began to memorize the training rows.{stopped} More dropout "
                     "or L2, a smaller network or more data would help.")
    if val_loss[best] > 1.5 * loss[best] > 0 and val_loss[best] - loss[best] > 0.02:
        hints.append(f"Large gap: at the best epoch the validation loss ({val_loss[best]:.3g}) is "
                     f"{val_loss[best] / loss[best]:.1f}× the training loss ({loss[best]:.3g}); the network fits the "
                     "training rows much better than new ones. Regularize (dropout, L2), use a smaller network or "
                     "get more data.")
    if loss.min() > 0.95 * loss[0] and val_loss.min() > 0.95 * val_loss[0]:
        hints.append("Flat curves: training and validation loss barely moved. The learning rate may be too low or "
                     "the network too small to fit; try a higher learning rate or more units. If it stays flat, the "
                     "columns may not predict the target (compare with the baselines).")
    elif best >= last - 1 and not rising and val_loss[best] < 0.98 * val_loss[max(0, last - 3)]:
        where = "at the last epoch" if best == last else f"until epoch {best + 1} of {last + 1}"
        hints.append(f"Still improving: validation loss was still falling {where}. Train for more epochs (raise Max "
                     "epochs).")
    return hints
