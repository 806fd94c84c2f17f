"""Design the network: presets from the seed books, the Auto rule, custom layers, the checks, and the Keras model.

A hidden :class:`Layer` is Dense → (batch normalization) → activation → (dropout). Without batch
normalization a plain activation sits inside the Dense layer; with it, the Dense layer has no bias
(the normalization's offset replaces it) and the activation follows the normalization. In a residual
network every hidden layer after the first adds its input to its output, through a linear projection
when the widths differ. The output layer comes from the task.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, NamedTuple

from dlcore.errors import DataError

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish", "tanh")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear")
LOSSES = {  # the losses each task may use; the first is the books' choice
    "binary": ("binary_crossentropy",),
    "multiclass": ("sparse_categorical_crossentropy",),
    "regression": ("mse", "mae", "huber"),
}
MAX_UNITS = 8192


@dataclass(frozen=True)
class Layer:
    """One hidden layer: its width, activation and regularization."""

    units: int
    activation: str = "relu"
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    batch_norm: bool = False

    def get_config(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)


def stack(units: Iterable[int], **options) -> tuple[Layer, ...]:
    """Hidden layers of the given widths sharing the other settings (``activation``, ``dropout``, ...)."""
    return tuple(Layer(int(width), **options) for width in units)


@dataclass(frozen=True)
class Architecture:
    """Hidden layers of a fully connected network; the output layer comes from the task unless set."""

    name: str
    title: str
    source: str
    layers: tuple[Layer, ...]
    residual: bool = False
    initializer: str = "glorot_uniform"
    output_activation: str | None = None  # None: from the task (output_head)
    notes: str = field(default="", compare=False)

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden layers' widths."""
        return tuple(layer.units for layer in self.layers)

    def get_config(self) -> dict:
        return {**asdict(self), "layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict) -> Architecture:
        return cls(**{**config, "layers": tuple(Layer.from_config(layer) for layer in config["layers"])})


PRESETS = {
    arch.name: arch
    for arch in (
        Architecture("chollet_small", "Small data, 2×64 ReLU", "Chollet, Deep Learning with Python, ch. 3–4",
                     stack((64, 64)), notes="Two small layers: the book's advice when there are few samples."),
        Architecture("moolayil_classification", "Classification, 2×512 ReLU",
                     "Moolayil, Learn Keras for Deep Neural Networks, ch. 4", stack((512, 512))),
        Architecture("moolayil_regression", "Regression, 150 → 350×5 ReLU",
                     "Moolayil, Learn Keras for Deep Neural Networks, ch. 5", stack((150, 350, 350, 350, 350, 350)),
                     notes="Trained with mean squared error, as in the book (the default loss for regression)."),
        Architecture("wide_regularized", "Wide and regularized, 2×1024 ReLU, dropout 0.4, L2",
                     "Chollet, Deep Learning with Python, ch. 4–5 (dropout, weight regularization); "
                     "Moolayil, ch. 5 (regularization)",
                     stack((1024, 1024), dropout=0.4, l2=1e-4), initializer="he_uniform",
                     notes="Much capacity held back by dropout and L2: for larger data where a big net overfits."),
        Architecture("residual_bn", "Residual MLP, 4×128 with batch normalization",
                     "Chollet, Deep Learning with Python: residual connections and batch normalization "
                     "(1st ed. ch. 7, 2nd ed. ch. 9)",
                     stack((128, 128, 128, 128), batch_norm=True, dropout=0.1), residual=True, initializer="he_normal",
                     notes="Each layer after the first adds its input to its output, so a deeper net still trains."),
    )
}
ARCHITECTURE_NAMES = ("auto", *PRESETS)  # what ``resolve`` (and the command line's --arch) accepts
CUSTOM = "custom"


def auto_architecture(n_features: int, n_rows: int) -> Architecture:
    """First layer near 2× the input width (a power of two), a half-size second layer; smaller nets for small data."""
    first = 2 ** round(math.log2(max(2 * n_features, 1)))
    first = min(max(first, 16), 64 if n_rows < 1000 else 256)
    dropout = 0.1 if n_rows < 1000 else 0.2
    return Architecture(
        "auto", f"Auto, {first} → {max(first // 2, 8)} ReLU",
        "Moolayil's 2× input width rule, Chollet's small-network advice for small data",
        stack((first, max(first // 2, 8)), dropout=dropout, l2=1e-4),
        notes=f"Sized for {n_features} input features and {n_rows} training rows.",
    )


def resolve(name: str, n_features: int, n_rows: int) -> Architecture:
    """The architecture called ``name`` (``auto`` is sized from the data)."""
    if name == "auto":
        return auto_architecture(n_features, n_rows)
    if name not in PRESETS:
        raise DataError(f"Unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURE_NAMES)}.")
    return PRESETS[name]


def custom(rows: Iterable[dict], residual: bool = False, initializer: str = "glorot_uniform",
           output_activation: str | None = None) -> Architecture:
    """Your own network from rows of layer settings (``units``, ``activation``, ``dropout``, ``l1``, ``l2``,
    ``batch_norm``); a blank setting takes the default, a blank width is refused."""
    defaults = Layer(0).get_config()
    layers = []
    for i, row in enumerate(rows, start=1):
        given = {key: value for key, value in row.items() if key in defaults and _given(value)}
        if "units" not in given:
            raise DataError(f"Hidden layer {i} needs a number of units.")
        units = float(given.pop("units"))
        if not units.is_integer():
            raise DataError(f"Hidden layer {i}: the number of units must be a whole number, not {units:g}.")
        layers.append(Layer(int(units), **{key: type(defaults[key])(value) for key, value in given.items()}))
    title = " → ".join(str(layer.units) for layer in layers) or "no hidden layers"
    return Architecture(CUSTOM, f"Custom, {title}{', residual' if residual else ''}", "Your design", tuple(layers),
                        residual=residual, initializer=initializer, output_activation=output_activation)


def _given(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def output_head(task: str, n_classes: int) -> dict:
    """Output units, activation, loss and metrics implied by the task (the books' table)."""
    if task == "binary":
        return {"units": 1, "activation": "sigmoid", "loss": "binary_crossentropy", "metrics": ["accuracy"]}
    if task == "multiclass":
        return {"units": n_classes, "activation": "softmax", "loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]}
    return {"units": 1, "activation": "linear", "loss": "mse", "metrics": ["mae"]}


_OUTPUT_REFUSALS = {  # (task, output activation) -> why it cannot work
    ("binary", "softmax"): "a softmax over the binary task's single output unit always gives 1; use sigmoid",
    ("binary", "linear"): "binary cross-entropy needs a probability, which a linear output is not; use sigmoid",
    ("multiclass", "sigmoid"): "sigmoid scores each class on its own, but sparse categorical cross-entropy needs "
                               "probabilities that sum to 1; use softmax",
    ("multiclass", "linear"): "sparse categorical cross-entropy needs probabilities, which a linear output is not; "
                              "use softmax",
    ("regression", "sigmoid"): "a sigmoid output only reaches 0 to 1, but the standardized target goes beyond that; "
                               "use linear",
    ("regression", "softmax"): "a softmax over regression's single output unit always gives 1; use linear",
}


def validate(arch: Architecture, config, task: str, n_classes: int = 0) -> None:
    """Refuse, with every reason, a network and training settings (a ``TrainConfig``) that cannot work together."""
    reasons = []
    if not arch.layers:
        reasons.append("Add at least one hidden layer (without one the network is the linear model of the Baseline "
                       "page).")
    for i, layer in enumerate(arch.layers, start=1):
        if not 1 <= layer.units <= MAX_UNITS:
            reasons.append(f"Hidden layer {i} has {layer.units} units; use 1 to {MAX_UNITS}.")
        if layer.activation not in ACTIVATIONS:
            reasons.append(f"Hidden layer {i}: unknown activation {layer.activation!r}; "
                           f"choose one of {', '.join(ACTIVATIONS)}.")
        if not 0 <= layer.dropout < 1:
            reasons.append(f"Hidden layer {i}: dropout {layer.dropout:g} must be at least 0 and below 1 "
                           "(1 would drop every unit).")
        if layer.l1 < 0 or layer.l2 < 0:
            reasons.append(f"Hidden layer {i}: L1 and L2 penalties cannot be negative.")
    if arch.initializer not in INITIALIZERS:
        reasons.append(f"Unknown initializer {arch.initializer!r}; choose one of {', '.join(INITIALIZERS)}.")
    activation = arch.output_activation
    if activation is not None and activation not in OUTPUT_ACTIVATIONS:
        reasons.append(f"Unknown output activation {activation!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}.")
    elif (task, activation) in _OUTPUT_REFUSALS:
        reasons.append(f"A {activation} output does not fit {task}: {_OUTPUT_REFUSALS[task, activation]}.")
    if config.loss is not None and config.loss not in LOSSES[task]:
        reasons.append(f"The loss {config.loss!r} does not fit {task}; choose {' or '.join(LOSSES[task])}.")
    if config.batch_size == 1 and any(layer.batch_norm for layer in arch.layers):
        reasons.append("Batch normalization needs batches of more than one row (the spread of a single row is 0); "
                       "raise the batch size or turn batch normalization off.")
    reasons.extend(config.problems())
    if reasons:
        raise DataError(" ".join(reasons))


class _Part(NamedTuple):
    """One Keras layer of a hidden layer's block, with its output width and weight counts."""

    name: str
    kind: str
    setting: str
    units: int
    weights: int
    trainable: int


def _blocks(arch: Architecture, n_features: int):
    """Each hidden layer with its Keras layers (``_Part``) in the order Keras lists them."""
    width = n_features
    for i, layer in enumerate(arch.layers, start=1):
        units, fused = layer.units, not layer.batch_norm and layer.activation != "prelu"
        dense = width * units + (0 if layer.batch_norm else units)
        block = [_Part(f"dense_{i}", "Dense", layer.activation if fused else "linear", units, dense, dense)]
        if layer.batch_norm:
            block.append(_Part(f"batch_norm_{i}", "BatchNormalization", "", units, 4 * units, 2 * units))
        if layer.activation == "prelu":
            block.append(_Part(f"prelu_{i}", "PReLU", "", units, units, units))
        elif not fused:
            block.append(_Part(f"activation_{i}", "Activation", layer.activation, units, 0, 0))
        if layer.dropout:
            block.append(_Part(f"dropout_{i}", "Dropout", f"{layer.dropout:g}", units, 0, 0))
        if arch.residual and i > 1:
            if width != units:  # Keras lists it beside the block's last layer, at the same depth
                block.insert(-1, _Part(f"projection_{i}", "Dense", "projection", units, width * units, width * units))
            block.append(_Part(f"add_{i}", "Add", "", units, 0, 0))
        yield layer, block
        width = units


def build_model(arch: Architecture, n_features: int, task: str, n_classes: int = 0):
    """The (uncompiled) Keras network for ``n_features`` standardized inputs."""
    import keras

    head = output_head(task, n_classes)
    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    for layer, block in _blocks(arch, n_features):
        shortcut = x
        for part in block:
            if part.setting == "projection":
                shortcut = keras.layers.Dense(part.units, use_bias=False, kernel_initializer=arch.initializer,
                                              name=part.name)(shortcut)
            elif part.kind == "Dense":
                regularizer = keras.regularizers.L1L2(layer.l1, layer.l2) if layer.l1 or layer.l2 else None
                x = keras.layers.Dense(part.units, activation=part.setting, use_bias=not layer.batch_norm,
                                       kernel_initializer=arch.initializer, kernel_regularizer=regularizer,
                                       name=part.name)(x)
            elif part.kind == "BatchNormalization":
                x = keras.layers.BatchNormalization(name=part.name)(x)
            elif part.kind == "PReLU":
                x = keras.layers.PReLU(name=part.name)(x)
            elif part.kind == "Activation":
                x = keras.layers.Activation(part.setting, name=part.name)(x)
            elif part.kind == "Dropout":
                x = keras.layers.Dropout(layer.dropout, name=part.name)(x)
            else:
                x = keras.layers.Add(name=part.name)([shortcut, x])
    outputs = keras.layers.Dense(head["units"], activation=arch.output_activation or head["activation"],
                                 kernel_initializer=arch.initializer, name="output")(x)
    return keras.Model(inputs, outputs, name=arch.name)


def layer_table(arch: Architecture, n_features: int, task: str, n_classes: int = 0) -> list[dict]:
    """``model.summary()`` as rows (layer, type, output shape, parameters, trainable), computed without Keras."""
    head = output_head(task, n_classes)
    rows = [{"layer": "features", "type": "Input", "output shape": f"(None, {n_features})", "parameters": 0,
             "trainable": 0}]
    width = n_features
    for _, block in _blocks(arch, n_features):
        for part in block:
            rows.append({"layer": part.name, "type": f"{part.kind} ({part.setting})" if part.setting else part.kind,
                         "output shape": f"(None, {part.units})", "parameters": part.weights,
                         "trainable": part.trainable})
            width = part.units
    weights = (width + 1) * head["units"]
    rows.append({"layer": "output", "type": f"Dense ({arch.output_activation or head['activation']})",
                 "output shape": f"(None, {head['units']})", "parameters": weights, "trainable": weights})
    return rows


def diagram(arch: Architecture, n_features: int, task: str, n_classes: int = 0) -> str:
    """A top-to-bottom Graphviz (DOT) picture: inputs, one box per hidden layer, skip connections, the output."""
    head = output_head(task, n_classes)
    lines = ['digraph network {', '  rankdir=TB; bgcolor="transparent";',
             '  node [shape=box, style="rounded,filled", fillcolor="#e8eef7", color="#5b7db1", fontcolor="#1f2937", '
             'fontname="Helvetica", fontsize=11];', '  edge [color="#7a869a"];',
             f'  input [label="Input\\n{n_features} features", fillcolor="#f3f4f6"];']
    previous, width = "input", n_features
    for i, layer in enumerate(arch.layers, start=1):
        extras = [layer.activation]
        extras += ["batch norm"] * layer.batch_norm
        extras += [f"dropout {layer.dropout:g}"] * bool(layer.dropout)
        extras += [f"L1 {layer.l1:g}"] * bool(layer.l1) + [f"L2 {layer.l2:g}"] * bool(layer.l2)
        lines.append(f'  layer_{i} [label="Dense {layer.units}\\n{" · ".join(extras)}"];')
        lines.append(f"  {previous} -> layer_{i};")
        if arch.residual and i > 1:
            lines.append(f'  add_{i} [label="+", shape=circle, fillcolor="#fdf2e9", color="#c27c3a"];')
            skip = "skip" if width == layer.units else f"projection {width}→{layer.units}"
            lines.append(f'  layer_{i} -> add_{i}; {previous} -> add_{i} [style=dashed, label="{skip}", fontsize=9];')
            previous = f"add_{i}"
        else:
            previous = f"layer_{i}"
        width = layer.units
    lines.append(f'  output [label="Output {head["units"]}\\n{arch.output_activation or head["activation"]}", '
                 'fillcolor="#e7f5ec", color="#3f8f5b"];')
    lines.append(f"  {previous} -> output;")
    lines.append("}")
    return "\n".join(lines)
