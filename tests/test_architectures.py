"""dlcore.architectures: the Auto rule, presets, output heads and the Keras model."""

import json
import math

import pytest

from dlcore.architectures import (
    ARCHITECTURE_NAMES, PRESETS, Architecture, auto_architecture, build_model, layer_table, output_head, resolve, stack,
)
from dlcore.errors import DataError

TASKS = [("binary", 2), ("multiclass", 4), ("regression", 0)]


@pytest.mark.parametrize("n_features", [1, 5, 8, 10, 12, 20, 40, 100, 300])
@pytest.mark.parametrize("n_rows", [150, 999, 1000, 50_000])
def test_auto_first_layer_is_a_power_of_two_near_twice_the_width(n_features, n_rows):
    arch = resolve("auto", n_features, n_rows)

    first, second = arch.hidden
    assert first & (first - 1) == 0, "a power of two"
    cap = 64 if n_rows < 1000 else 256
    assert 16 <= first <= cap
    target = 2 * n_features
    within_limits = 16 * math.sqrt(2) <= target <= cap / math.sqrt(2)
    if within_limits or 16 < first < cap:  # not clamped: within a factor sqrt(2) of twice the input width
        assert target / math.sqrt(2) <= first <= target * math.sqrt(2)
    if target <= 16:
        assert first == 16
    if target >= cap * math.sqrt(2):
        assert first == cap
    assert second == max(first // 2, 8)
    assert arch.name == "auto"
    assert {layer.dropout for layer in arch.layers} == {0.1 if n_rows < 1000 else 0.2}
    assert {layer.l2 for layer in arch.layers} == {1e-4}


@pytest.mark.parametrize(
    "n_features, n_rows, hidden",
    [
        (3, 100, (16, 8)),      # 6 -> 8, raised to the floor of 16
        (10, 500, (16, 8)),     # 20 -> 16
        (20, 500, (32, 16)),    # 40 -> 32
        (30, 500, (64, 32)),    # 60 -> 64
        (50, 500, (64, 32)),    # 100 -> 128, capped at 64 for small data
        (50, 5000, (128, 64)),  # not capped with 1000+ rows
        (300, 5000, (256, 128)),  # 600 -> 512, capped at 256
    ],
)
def test_auto_sizes(n_features, n_rows, hidden):
    assert auto_architecture(n_features, n_rows).hidden == hidden


def test_auto_is_the_same_through_resolve():
    assert resolve("auto", 12, 700) == auto_architecture(12, 700)


def test_presets_resolve_to_themselves():
    assert ARCHITECTURE_NAMES[0] == "auto"
    assert set(ARCHITECTURE_NAMES[1:]) == set(PRESETS)
    for name, arch in PRESETS.items():
        assert resolve(name, 10, 100) is arch
        assert arch.name == name
        assert all(units > 0 for units in arch.hidden)


def test_unknown_architecture_is_refused():
    with pytest.raises(DataError) as info:
        resolve("resnet152", 10, 100)
    message = str(info.value)
    assert "'resnet152'" in message
    for name in ARCHITECTURE_NAMES:
        assert name in message


def test_output_heads():
    assert output_head("binary", 2) == {"units": 1, "activation": "sigmoid", "loss": "binary_crossentropy",
                                        "metrics": ["accuracy"]}
    assert output_head("multiclass", 5) == {"units": 5, "activation": "softmax",
                                            "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    assert output_head("regression", 0) == {"units": 1, "activation": "linear", "loss": "mse", "metrics": ["mae"]}


def test_layer_table_by_hand():
    arch = Architecture("t", "t", "t", stack((4, 3), dropout=0.5))
    rows = layer_table(arch, 2, "multiclass", 3)
    assert [r["layer"] for r in rows] == ["features", "dense_1", "dropout_1", "dense_2", "dropout_2", "output"]
    assert [r["parameters"] for r in rows] == [0, (2 + 1) * 4, 0, (4 + 1) * 3, 0, (3 + 1) * 3]
    assert [r["trainable"] for r in rows] == [r["parameters"] for r in rows]
    assert rows[-1]["output shape"] == "(None, 3)"
    assert rows[-1]["type"] == "Dense (softmax)"


@pytest.mark.parametrize("task, n_classes", TASKS)
@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_layer_table_matches_keras(name, task, n_classes):
    n_features = 7
    arch = resolve(name, n_features, 400)

    model = build_model(arch, n_features, task, n_classes)
    rows = layer_table(arch, n_features, task, n_classes)

    assert sum(r["parameters"] for r in rows) == model.count_params()
    assert sum(r["trainable"] for r in rows) == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert [r["layer"] for r in rows] == [layer.name for layer in model.layers]
    for row in rows[1:]:
        assert row["parameters"] == model.get_layer(row["layer"]).count_params()
        assert row["output shape"] == str(model.get_layer(row["layer"]).output.shape)
    head = output_head(task, n_classes)
    assert model.output_shape == (None, head["units"])
    assert model.input_shape == (None, n_features)
    assert model.get_layer("output").activation.__name__ == head["activation"]
    assert model.name == arch.name


def test_build_model_uses_dropout_and_regularization():
    arch = Architecture("t", "t", "t", stack((8,), dropout=0.25, l2=1e-3))
    model = build_model(arch, 3, "binary")
    assert model.get_layer("dropout_1").rate == pytest.approx(0.25)
    assert model.get_layer("dense_1").kernel_regularizer.l2 == pytest.approx(1e-3)
    no_reg = build_model(Architecture("t", "t", "t", stack((8,))), 3, "binary")
    assert no_reg.get_layer("dense_1").kernel_regularizer is None
    assert not any(layer.name.startswith("dropout") for layer in no_reg.layers)


@pytest.mark.parametrize("arch", [auto_architecture(9, 300), *PRESETS.values()], ids=lambda a: a.name)
def test_config_round_trip(arch):
    config = json.loads(json.dumps(arch.get_config()))
    restored = Architecture.from_config(config)
    assert restored == arch
    assert restored.layers == arch.layers and isinstance(restored.layers, tuple)
    assert restored.notes == arch.notes
    assert restored.get_config() == arch.get_config()
