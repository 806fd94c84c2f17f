"""Tune's search space, all of it: the ranges searched, one trial's network and training settings drawn from them,
and Auto's settings as a point of the space (the first trial)."""

from __future__ import annotations

import dataclasses

from dlcore.architectures import Architecture, auto_architecture
from dlcore.training import TrainConfig

LAYERS = (1, 4)
WIDTH = (64, 512)  # log scale
DROPOUT = (0.0, 0.5)
L2 = (1e-6, 1e-2)  # log scale
LEARNING_RATE = (1e-4, 1e-2)  # log scale
BATCH_SIZES = (32, 64, 128, 256, 512)
OPTIMIZERS = ("adam", "adamw")
WEIGHT_DECAY = (1e-6, 1e-2)  # log scale; AdamW's
EMBEDDINGS = ("periodic", "none")
PARAM_TITLES = {"layers": "Layers", "width": "Units per layer", "dropout": "Dropout", "l2": "L2",
                "learning_rate": "Learning rate", "batch_size": "Batch size", "optimizer": "Optimizer",
                "weight_decay": "Weight decay", "numeric_embedding": "Numeric embedding"}
ACTIVATION_TITLES = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "prelu": "PReLU", "elu": "ELU", "selu": "SELU",
                     "gelu": "GELU", "swish": "Swish", "mish": "Mish", "tanh": "tanh"}


def suggest(trial, n_features: int, n_rows: int, task: str,
            base: TrainConfig | None = None) -> tuple[Architecture, TrainConfig]:
    """The search space, all of it: one trial's network and training settings, drawn from ``trial`` (an Optuna
    trial, or ``optuna.trial.FixedTrial`` of known parameters).

    Built from the Auto network (``auto_architecture``: its activation, initializer and layer settings) and the
    ``base`` training settings (the Model page's: max epochs, patience, seed, schedule, loss, class weights), with
    ``dataclasses.replace`` of what is searched: the number of hidden layers, one width for all of them, dropout,
    L2, the numbers' embedding, learning rate, batch size, optimizer and its weight decay. To search another setting,
    draw it here, put it in the replace calls and name it in :data:`PARAM_TITLES`; the leaderboard, the charts and
    "keep the best" pick it up. ``task`` is there for task-specific choices (such as a regression loss)."""
    auto = auto_architecture(n_features, n_rows, task)
    layers = trial.suggest_int("layers", *LAYERS)
    width = trial.suggest_int("width", *WIDTH, log=True)
    dropout = trial.suggest_float("dropout", *DROPOUT)
    l2 = trial.suggest_float("l2", *L2, log=True)
    learning_rate = trial.suggest_float("learning_rate", *LEARNING_RATE, log=True)
    batch_size = trial.suggest_categorical("batch_size", BATCH_SIZES)
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZERS)
    weight_decay = trial.suggest_float("weight_decay", *WEIGHT_DECAY, log=True)
    embedding = trial.suggest_categorical("numeric_embedding", EMBEDDINGS)

    template = auto.layers[0]
    hidden = tuple(dataclasses.replace(template, units=width, dropout=dropout, l2=l2) for _ in range(layers))
    number = getattr(trial, "number", None)
    arch = dataclasses.replace(
        auto, name="tuned", layers=hidden, numeric_embedding=embedding,
        title=f"Tuned, {'periodic embeddings → ' if embedding == 'periodic' else ''}{layers}×{width} "
              f"{ACTIVATION_TITLES.get(template.activation, template.activation)}, dropout {dropout:.2f}, "
              f"L2 {l2:.1e}",
        source="Optuna TPE search" + (f", trial {number}" if number is not None else ""),
        notes=f"Found by tuning on the validation loss ({n_features} input features, {n_rows} training rows).")
    config = dataclasses.replace(base or TrainConfig(), learning_rate=learning_rate, batch_size=int(batch_size),
                                 optimizer=optimizer, weight_decay=weight_decay)
    return arch, config


def auto_params(n_rows: int, config: TrainConfig) -> dict:
    """Auto's network and training settings as a point of the search space (its first trial)."""
    auto, base = auto_architecture(1, n_rows), TrainConfig()
    batch = min(BATCH_SIZES, key=lambda size: abs(size - (config.batch_size or base.batch_for(n_rows))))
    return {"layers": len(auto.layers), "width": auto.layers[0].units, "dropout": auto.layers[0].dropout,
            "l2": L2[0], "learning_rate": base.learning_rate, "batch_size": batch, "optimizer": base.optimizer,
            "weight_decay": base.weight_decay, "numeric_embedding": auto.numeric_embedding}
