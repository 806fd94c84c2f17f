"""Train the network: optimizer, learning-rate schedule, class weights, validation, early stopping (best weights
restored), a way to stop it, and plain-word readings of the curves."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.architectures import Architecture, build_model, output_head, validate
from dlcore.files import save_model
from dlcore.prepared import PreparedData
from dlcore.splitting import SEED
from dlcore.profiling import IMBALANCED, minority_share as share_of_rarest

EpochCallback = Callable[[int, dict], None]
CHECKPOINT_SECONDS = 2.0  # the best weights reach the disk at most this long after they were reached
OPTIMIZERS = {
    "adam": "Adam",
    "adamw": "AdamW (Adam with decoupled weight decay)",
    "rmsprop": "RMSprop",
    "sgd": "SGD with momentum 0.9",
    "nadam": "Nadam (Adam with Nesterov momentum)",
}
SCHEDULES = {
    "constant": "Constant",
    "plateau": "Halve on a plateau of the validation loss",
    "cosine": "Cosine decay to 0 over the planned epochs",
}


@dataclass
class TrainConfig:
    """How to fit: the app's defaults are the command line's defaults."""

    epochs: int = 100
    batch_size: int = 0  # 0: chosen from the number of rows
    learning_rate: float = 1e-3
    patience: int = 10
    seed: int = SEED
    class_weights: bool | None = None  # weight classes inversely to their frequency; None: when the rarest is under 20%
    optimizer: str = "adam"
    schedule: str = "constant"
    loss: str | None = None  # None: the task's loss (output_head)

    def batch_for(self, n_rows: int) -> int:
        """32 (Keras' default) for small data, larger batches so an epoch of big data stays quick."""
        if self.batch_size:
            return self.batch_size
        return int(min(1024, max(32, 2 ** round(np.log2(max(n_rows, 1) / 300)))))

    def problems(self) -> list[str]:
        """Why these settings cannot train, one sentence each (none when they can)."""
        reasons = []
        if self.optimizer not in OPTIMIZERS:
            reasons.append(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            reasons.append(f"Unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        if not self.learning_rate > 0:
            reasons.append("The learning rate must be above 0.")
        if self.epochs < 1 or self.patience < 1:
            reasons.append("Max epochs and early-stopping patience must be at least 1.")
        if self.batch_size < 0:
            reasons.append("The batch size must be a positive number of rows (or 0 to choose it from the data).")
        return reasons

    def get_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> TrainConfig:
        return cls(**config)


def minority_share(data: PreparedData) -> float | None:
    """The rarest class's share of the training rows (None for regression)."""
    return None if data.task == "regression" else share_of_rarest(data.train_targets)


def class_weights(data: PreparedData, config: TrainConfig) -> dict[int, float] | None:
    """Weights inversely proportional to each class's training frequency, when asked for or, by default, when the
    rarest class is under 20% of the training rows (Explore's imbalance alert); None otherwise."""
    share = minority_share(data)
    if share is None or not (share < IMBALANCED if config.class_weights is None else config.class_weights):
        return None
    counts = np.bincount(data.y_train, minlength=len(data.preparation.classes))
    return {i: len(data.y_train) / (len(counts) * c) for i, c in enumerate(counts) if c}


def _optimizer(config: TrainConfig, steps: int):
    """The Keras optimizer, its learning rate decaying along a cosine over ``steps`` batches for ``cosine``."""
    import keras

    rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps) if config.schedule == "cosine" \
        else config.learning_rate
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9)
    return {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop,
            "nadam": keras.optimizers.Nadam}[config.optimizer](rate)


@dataclass
class TrainResult:
    """The fitted model (best weights) and how training went."""

    model: object
    history: pd.DataFrame
    best_epoch: int
    epochs_run: int
    seconds: float
    stopped: bool


def train(
    data: PreparedData, arch: Architecture, config: TrainConfig,
    on_epoch: EpochCallback | None = None, should_stop: Callable[[], bool] | None = None,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Fit ``arch`` on the training matrix, validating every epoch; ``should_stop`` ends it early.

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
    batch_size = config.batch_for(len(data.x_train))
    model = build_model(arch, data.x_train.shape[1], prep.task, len(prep.classes))
    steps = config.epochs * -(-len(data.x_train) // batch_size)
    model.compile(optimizer=_optimizer(config, steps), loss=config.loss or head["loss"], metrics=head["metrics"])
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
                save_model(self.model, checkpoint)
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
    start = time.perf_counter()
    model.fit(
        data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
        epochs=config.epochs, batch_size=batch_size, callbacks=[*callbacks, Progress()], verbose=0, shuffle=True,
        class_weight=class_weights(data, config),
    )
    seconds = time.perf_counter() - start
    history = pd.DataFrame(rows)
    best_epoch = int(history["val_loss"].idxmin()) + 1 if len(history) else 0
    return TrainResult(model, history, best_epoch, len(history), seconds, stopped["by_user"])


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
        hints.append(f"Still improving: validation loss was still falling at the last epoch ({last + 1}). Train for "
                     "more epochs (raise Max epochs).")
    return hints
