"""The network's own layers: each layer's shapes and arithmetic, saving and reloading in `.keras` with safe mode
with identical predictions, determinism with a seed, and unknown category codes."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest

from dlcore.architectures import build_model, resolve
from dlcore.architectures import layer_table, members_model
from dlcore.runtime.layers import (CategoryEmbedding, Columns, EnsembleAdapter, EnsembleHead, MemberMean,
                                  PeriodicEmbedding)

TYPES = ["number", "flag", "category:4", "number", "category:3", "number"]


def matrix(rows: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(TYPES))).astype(np.float32)
    x[:, 1] = rng.integers(0, 2, rows)
    x[:, 2] = rng.integers(0, 4, rows)
    x[:, 4] = rng.integers(0, 3, rows)
    return x


def test_columns_picks_columns_in_order():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(np.asarray(Columns([3, 0])(x)), x[:, [3, 0]])
    assert Columns([3, 0]).compute_output_shape((None, 4)) == (None, 2)


def test_periodic_embedding_computes_relu_of_a_linear_map_of_sin_and_cos():
    layer = PeriodicEmbedding(2, frequencies=3, dim=4, scale=0.5)
    x = np.array([[0.3, -1.2], [2.0, 0.0]], dtype=np.float32)
    out = np.asarray(layer(x))
    assert out.shape == (2, 2 * 4)
    c, w, b = (np.asarray(v) for v in (layer.coefficients, layer.kernel, layer.bias))
    for row in range(2):
        for feature in range(2):
            angles = 2 * math.pi * c[feature] * x[row, feature]
            expected = np.maximum(np.concatenate([np.sin(angles), np.cos(angles)]) @ w[feature] + b[feature], 0)
            np.testing.assert_allclose(out[row, feature * 4:(feature + 1) * 4], expected, atol=1e-5)


def test_category_embedding_looks_up_one_vector_per_code_and_sends_unknown_codes_to_zero():
    layer = CategoryEmbedding([3, 2], dim=5)
    codes = np.array([[0, 1], [2, 0], [7, -1], [1.0, 1.0]], dtype=np.float32)  # 7 and -1 were never seen
    out = np.asarray(layer(codes)).reshape(4, 2, 5)
    table = np.asarray(layer.table)
    np.testing.assert_allclose(out[0, 0], table[0]) and np.testing.assert_allclose(out[0, 1], table[3 + 1])
    np.testing.assert_allclose(out[1, 0], table[2])
    np.testing.assert_allclose(out[2, 0], table[0])  # out of range: the unknown code of its column
    np.testing.assert_allclose(out[2, 1], table[3 + 0])
    assert layer.compute_output_shape((None, 2)) == (None, 10)


def test_ensemble_layers_copy_rows_per_member_and_average_the_members():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    adapter = EnsembleAdapter(4)
    copies = np.asarray(adapter(x))
    assert copies.shape == (2, 4, 3)
    scales = np.asarray(adapter.scales)
    assert set(np.unique(scales)) <= {-1.0, 1.0}  # TabM-mini starts from random signs
    np.testing.assert_allclose(copies, x[:, None, :] * scales)
    head = EnsembleHead(4, 2, "sigmoid")
    members = np.asarray(head(copies))
    kernel, bias = np.asarray(head.kernel), np.asarray(head.bias)
    expected = 1 / (1 + np.exp(-(np.einsum("bmw,mwu->bmu", copies, kernel) + bias)))
    np.testing.assert_allclose(members, expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(MemberMean()(members)), members.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize("task, n_classes", [("binary", 2), ("multiclass", 3), ("regression", 0)])
def test_an_ensemble_predicts_the_mean_of_its_members(task, n_classes):
    arch = dataclasses.replace(resolve("auto", len(TYPES), 500, task), ensemble=4)
    model = build_model(arch, TYPES, task, n_classes)
    members = members_model(model)
    x = matrix()
    np.testing.assert_allclose(model.predict(x, verbose=0), members.predict(x, verbose=0).mean(axis=1), atol=1e-6)
    rows = layer_table(arch, TYPES, task, n_classes)
    assert [row["layer"] for row in rows] == [layer.name for layer in model.layers]
    assert sum(row["parameters"] for row in rows) == model.count_params()
    assert rows[-1]["output shape"] == str(model.output_shape)


@pytest.mark.parametrize("task, n_classes", [("binary", 2), ("multiclass", 3), ("regression", 0)])
@pytest.mark.parametrize("members", [1, 4])
def test_an_embedding_network_reloads_in_safe_mode_and_predicts_the_same(task, n_classes, members, tmp_path):
    arch = dataclasses.replace(resolve("auto", len(TYPES), 500, task), ensemble=members)
    model = build_model(arch, TYPES, task, n_classes)
    x = matrix()
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), before)
    expected = {"Columns", "PeriodicEmbedding", "CategoryEmbedding"} | (
        {"EnsembleAdapter", "EnsembleHead", "MemberMean"} if members > 1 else set())
    assert {type(layer).__name__ for layer in reloaded.layers} >= expected


def test_the_same_seed_builds_the_same_network():
    def built(seed):
        keras.utils.set_random_seed(seed)
        return build_model(resolve("auto", len(TYPES), 500), TYPES, "binary").predict(matrix(), verbose=0)

    np.testing.assert_array_equal(built(7), built(7))
    assert not np.array_equal(built(7), built(8))
