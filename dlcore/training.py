"""Train the network with validation, early stopping (best weights restored) and a way to stop it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.architectures import Architecture, build_model
from dlcore.preparation import PreparedData

EpochCallback = Callable[[int, dict], None]


@dataclass
class TrainConfig:
    """How to fit: the app's defaults are the command line's defaults."""

    epochs: int = 100
    batch_size: int = 0  # 0: chosen from the number of rows
    learning_rate: float = 1e-3
    patience: int = 10
    seed: int = 42
    class_weights: bool = False  # weight classes inversely to their frequency (for imbalanced targets)

    def batch_for(self, n_rows: int) -> int:
        """32 (Keras' default) for small data, larger batches so an epoch of big data stays quick."""
        if self.batch_size:
            return self.batch_size
        return int(min(1024, max(32, 2 ** round(np.log2(max(n_rows, 1) / 300)))))

    def get_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> TrainConfig:
        return cls(**config)


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
) -> TrainResult:
    """Fit ``arch`` on the training matrix, validating every epoch; ``should_stop`` ends it early."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    prep = data.preparation
    model = build_model(arch, data.x_train.shape[1], prep.task, len(prep.classes), config.learning_rate)
    scale = prep.target_encoding.get("std", 1.0)
    rows: list[dict] = []
    stopped = {"by_user": False}

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if should_stop is not None and should_stop():
                stopped["by_user"] = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1}
            for key, value in (logs or {}).items():
                row[key] = float(value) * (scale if key.endswith("mae") else 1.0)
            rows.append(row)
            if on_epoch is not None:
                on_epoch(epoch + 1, row)

    weights = None
    if config.class_weights and prep.task != "regression":
        counts = np.bincount(data.y_train, minlength=len(prep.classes))
        weights = {i: len(data.y_train) / (len(counts) * c) for i, c in enumerate(counts) if c}
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    start = time.perf_counter()
    model.fit(
        data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
        epochs=config.epochs, batch_size=config.batch_for(len(data.x_train)),
        callbacks=[early, Progress()], verbose=0, shuffle=True, class_weight=weights,
    )
    seconds = time.perf_counter() - start
    history = pd.DataFrame(rows)
    best_epoch = int(history["val_loss"].idxmin()) + 1 if len(history) else 0
    return TrainResult(model, history, best_epoch, len(history), seconds, stopped["by_user"])
