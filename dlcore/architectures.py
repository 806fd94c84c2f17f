"""Design the network: named architectures from the seed books, the Auto rule, and the Keras model."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from dlcore.errors import DataError


@dataclass(frozen=True)
class Architecture:
    """Hidden layers of a fully connected network; the output layer comes from the task."""

    name: str
    title: str
    source: str
    hidden: tuple[int, ...]
    activation: str = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    notes: str = field(default="", compare=False)

    def get_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> Architecture:
        return cls(**{**config, "hidden": tuple(config["hidden"])})


PRESETS = {
    arch.name: arch
    for arch in (
        Architecture("chollet_small", "Small data, 2×64 ReLU", "Chollet, Deep Learning with Python, ch. 3–4",
                     (64, 64), notes="Two small layers: the book's advice when there are few samples."),
        Architecture("moolayil_classification", "Classification, 2×512 ReLU",
                     "Moolayil, Learn Keras for Deep Neural Networks, ch. 4", (512, 512)),
        Architecture("moolayil_regression", "Regression, 150 → 350×5 ReLU",
                     "Moolayil, Learn Keras for Deep Neural Networks, ch. 5", (150, 350, 350, 350, 350, 350)),
    )
}
ARCHITECTURE_NAMES = ("auto", *PRESETS)


def auto_architecture(n_features: int, n_rows: int) -> Architecture:
    """First layer near 2× the input width (a power of two), a half-size second layer; smaller nets for small data."""
    first = 2 ** round(math.log2(max(2 * n_features, 1)))
    first = min(max(first, 16), 64 if n_rows < 1000 else 256)
    dropout = 0.1 if n_rows < 1000 else 0.2
    return Architecture(
        "auto", f"Auto, {first} → {max(first // 2, 8)} ReLU",
        "Moolayil's 2× input width rule, Chollet's small-network advice for small data",
        (first, max(first // 2, 8)), dropout=dropout, l2=1e-4,
        notes=f"Sized for {n_features} input features and {n_rows} training rows.",
    )


def resolve(name: str, n_features: int, n_rows: int) -> Architecture:
    """The architecture called ``name`` (``auto`` is sized from the data)."""
    if name == "auto":
        return auto_architecture(n_features, n_rows)
    if name not in PRESETS:
        raise DataError(f"Unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURE_NAMES)}.")
    return PRESETS[name]


def output_head(task: str, n_classes: int) -> dict:
    """Output units, activation, loss and metrics implied by the task (the books' table)."""
    if task == "binary":
        return {"units": 1, "activation": "sigmoid", "loss": "binary_crossentropy", "metrics": ["accuracy"]}
    if task == "multiclass":
        return {"units": n_classes, "activation": "softmax", "loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]}
    return {"units": 1, "activation": "linear", "loss": "mse", "metrics": ["mae"]}


def build_model(arch: Architecture, n_features: int, task: str, n_classes: int = 0, learning_rate: float = 1e-3):
    """A compiled Keras model for ``n_features`` standardized inputs."""
    import keras

    head = output_head(task, n_classes)
    regularizer = keras.regularizers.L2(arch.l2) if arch.l2 else None
    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    for i, units in enumerate(arch.hidden, start=1):
        x = keras.layers.Dense(units, activation=arch.activation, kernel_regularizer=regularizer, name=f"dense_{i}")(x)
        if arch.dropout:
            x = keras.layers.Dropout(arch.dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(head["units"], activation=head["activation"], name="output")(x)
    model = keras.Model(inputs, outputs, name=arch.name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=head["loss"], metrics=head["metrics"])
    return model


def layer_table(arch: Architecture, n_features: int, task: str, n_classes: int = 0) -> list[dict]:
    """``model.summary()`` as rows (layer, type, output shape, parameters), computed without Keras."""
    head = output_head(task, n_classes)
    rows = [{"layer": "features", "type": "Input", "output shape": f"(None, {n_features})", "parameters": 0}]
    width = n_features
    for i, units in enumerate(arch.hidden, start=1):
        rows.append({"layer": f"dense_{i}", "type": f"Dense ({arch.activation})", "output shape": f"(None, {units})",
                     "parameters": (width + 1) * units})
        if arch.dropout:
            rows.append({"layer": f"dropout_{i}", "type": f"Dropout ({arch.dropout:g})",
                         "output shape": f"(None, {units})", "parameters": 0})
        width = units
    rows.append({"layer": "output", "type": f"Dense ({head['activation']})", "output shape": f"(None, {head['units']})",
                 "parameters": (width + 1) * head["units"]})
    return rows
