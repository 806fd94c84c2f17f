"""Keras layers of dlcore's networks, each registered, so a saved ``.keras`` model reloads with ``safe_mode=True``.

The network reads one float matrix, the preparation's (:attr:`dlcore.runtime.preparation.Preparation.feature_types` says
what each column is). :class:`Columns` picks some of its columns; :class:`PeriodicEmbedding` turns each number into
a learned vector (Gorishniy et al., "On Embeddings for Numerical Features in Tabular Deep Learning", 2022: periodic
features with learned frequencies, then a linear layer and ReLU per number, "PLR"); :class:`CategoryEmbedding`
looks up a learned vector for each category code.

Importing this module imports Keras: only model building and loading do (``dlcore.architectures``,
``dlcore.runtime.inference``). It is part of the model bundle's runtime.
"""

from __future__ import annotations

import math

import keras
from keras import ops

PACKAGE = "dlcore"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Columns(keras.layers.Layer):
    """The input matrix's columns at ``indices``, in that order."""

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, inputs):
        return ops.take(inputs, self.indices, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.indices))

    def get_config(self):
        return {**super().get_config(), "indices": self.indices}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PeriodicEmbedding(keras.layers.Layer):
    """Each of the ``features`` numbers x becomes ReLU(W·[sin(2πcx), cos(2πcx)] + b): ``frequencies`` learned
    frequencies c per number (initialised from a normal with spread ``scale``) and a linear map to ``dim`` outputs
    of its own; the output is the numbers' vectors side by side, ``features × dim`` wide."""

    def __init__(self, features: int, frequencies: int = 16, dim: int = 16, scale: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.features, self.frequencies, self.dim, self.scale = int(features), int(frequencies), int(dim), float(scale)

    def build(self, input_shape):
        self.coefficients = self.add_weight(
            name="coefficients", shape=(self.features, self.frequencies),
            initializer=keras.initializers.RandomNormal(stddev=self.scale))
        fan_in = 2 * self.frequencies
        bound = 1 / math.sqrt(fan_in)
        self.kernel = self.add_weight(name="kernel", shape=(self.features, fan_in, self.dim),
                                      initializer=keras.initializers.RandomUniform(-bound, bound))
        self.bias = self.add_weight(name="bias", shape=(self.features, self.dim),
                                    initializer=keras.initializers.RandomUniform(-bound, bound))

    def call(self, inputs):
        angles = 2 * math.pi * ops.expand_dims(inputs, -1) * self.coefficients  # (batch, features, frequencies)
        periodic = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
        embedded = ops.relu(ops.einsum("bfk,fkd->bfd", periodic, self.kernel) + self.bias)
        return ops.reshape(embedded, (-1, self.features * self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.features * self.dim)

    def get_config(self):
        return {**super().get_config(), "features": self.features, "frequencies": self.frequencies,
                "dim": self.dim, "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CategoryEmbedding(keras.layers.Layer):
    """Category codes (0 for a level not seen in training, 1… for the others; given as floats) of columns with
    ``cardinalities`` levels each (the unknown one included) → one learned ``dim``-wide vector per column."""

    def __init__(self, cardinalities, dim: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.cardinalities, self.dim = [int(c) for c in cardinalities], int(dim)
        offsets, total = [], 0
        for cardinality in self.cardinalities:
            offsets.append(total)
            total += cardinality
        self.offsets, self.total = offsets, total

    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=(self.total, self.dim),
                                     initializer=keras.initializers.RandomNormal(stddev=1 / math.sqrt(self.dim)))

    def call(self, inputs):
        codes = ops.cast(ops.round(inputs), "int32")
        limits = ops.convert_to_tensor([c - 1 for c in self.cardinalities], dtype="int32")
        codes = ops.where((codes < 0) | (codes > limits), 0, codes)  # anything out of range: unknown (0)
        rows = codes + ops.convert_to_tensor(self.offsets, dtype="int32")
        return ops.reshape(ops.take(self.table, rows, axis=0), (-1, len(self.cardinalities) * self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.cardinalities) * self.dim)

    def get_config(self):
        return {**super().get_config(), "cardinalities": self.cardinalities, "dim": self.dim}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleAdapter(keras.layers.Layer):
    """The start of TabM-mini (Gorishniy et al., "TabM", 2024): ``members`` copies of each row, copy i multiplied
    elementwise by its own learned vector (starting at random signs), so the shared layers after it see ``members``
    slightly different views: (batch, width) → (batch, members, width)."""

    def __init__(self, members: int, **kwargs):
        super().__init__(**kwargs)
        self.members = int(members)

    def build(self, input_shape):
        def signs(shape, dtype=None):
            return ops.cast(keras.random.randint(shape, 0, 2, seed=self.seed_generator), dtype or "float32") * 2 - 1

        self.seed_generator = keras.random.SeedGenerator()
        self.scales = self.add_weight(name="scales", shape=(self.members, input_shape[-1]), initializer=signs)

    def call(self, inputs):
        return ops.expand_dims(inputs, 1) * self.scales

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "members": self.members}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleHead(keras.layers.Layer):
    """One output layer per member: (batch, members, width) → (batch, members, units), each member with its own
    weights and bias, then ``activation``."""

    def __init__(self, members: int, units: int, activation: str = "linear", **kwargs):
        super().__init__(**kwargs)
        self.members, self.units = int(members), int(units)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        width = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(self.members, width, self.units),
                                      initializer=keras.initializers.GlorotUniform())
        self.bias = self.add_weight(name="bias", shape=(self.members, self.units), initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.einsum("bmw,mwu->bmu", inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, self.units)

    def get_config(self):
        return {**super().get_config(), "members": self.members, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MemberMean(keras.layers.Layer):
    """The ensemble's prediction: the mean of its members' outputs (probabilities or values)."""

    def call(self, inputs):
        return ops.mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
