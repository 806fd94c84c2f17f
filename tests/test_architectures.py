"""dlcore.architectures: the Auto rule, presets, output heads and the Keras model."""

import json
import math

import pytest

from dlcore.architectures import (
    ARCHITECTURE_NAMES, PRESETS, Architecture, auto_architecture, build_model, layer_table, output_head, resolve, stack,
)
from dlcore.runtime.errors import DataError

TASKS = [("binary", 2), ("multiclass", 4), ("regression", 0)]


@pytest.mark.parametrize("task, activation, initializer", [("binary", "selu", "lecun_normal"),
                                                       ("multiclass", "selu", "lecun_normal"),
                                                       ("regression", "mish", "he_normal")])
def test_auto_is_realmlps_network_for_the_task(task, activation, initializer):
    arch = resolve("auto", 12, 700, task)
    assert arch == auto_architecture(12, 700, task) and arch.name == "auto"
    assert arch.hidden == (256, 256, 256)
    assert {layer.activation for layer in arch.layers} == {activation}
    assert {layer.dropout for layer in arch.layers} == {0.15}
    assert arch.numeric_embedding == "periodic" and arch.initializer == initializer
    assert "RealMLP" in arch.source


def test_auto_embeds_numbers_and_categories_and_passes_flags():
    types = ["number", "number", "flag", "category:5", "number", "category:12"]
    model = build_model(resolve("auto", len(types), 500), types, "binary")
    names = [layer.name for layer in model.layers]
    assert {"numbers", "periodic_embedding", "category_codes", "category_embedding", "plain_inputs"} <= set(names)
    assert model.get_layer("numbers").indices == [0, 1, 4]
    assert model.get_layer("plain_inputs").indices == [0, 1, 2, 4]  # the numbers as they are, and the flag
    assert model.get_layer("category_codes").indices == [3, 5]
    assert model.get_layer("category_embedding").cardinalities == [5, 12]
    # 4 columns as they are, 3 numbers × 16, 2 categories × 8
    assert model.get_layer("embedded_inputs").output.shape == (None, 4 + 3 * 16 + 2 * 8)


def test_a_plain_network_has_no_embedding_layers():
    model = build_model(resolve("chollet_small", 6, 500), ["number"] * 6, "binary")
    assert [layer.name for layer in model.layers][:2] == ["features", "dense_1"]


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
@pytest.mark.parametrize("features", [7, ["number", "flag", "category:4", "number", "flag", "category:9", "number"]])
def test_layer_table_matches_keras(name, task, n_classes, features):
    n_features = 7
    arch = resolve(name, n_features, 400, task)

    model = build_model(arch, features, task, n_classes)
    rows = layer_table(arch, features, task, n_classes)

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
