"""Custom networks, the checks that refuse what cannot work, and the training options (optimizers, schedules,
losses, class weights, curve readings, determinism) on small data."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from dlcore.architectures import (
    ARCHITECTURE_NAMES, LOSSES, PRESETS, Architecture, Layer, build_model, custom, diagram, layer_table, resolve,
    stack, validate,
)
from dlcore.prepared import prepare
from dlcore.runtime.errors import DataError
from dlcore.runtime.inference import Predictor
from dlcore.training import (
    OPTIMIZERS, SCHEDULES, TrainConfig, class_weights, training_minority_share, overfitting_hints, train,
)
from dlcore.workers import train_here

TASKS = [("binary", 2), ("multiclass", 4), ("regression", 0)]

RESIDUAL = Architecture("custom", "r", "test", (
    Layer(12, "relu", batch_norm=True, dropout=0.2),
    Layer(12, "prelu", batch_norm=True),         # same width: identity skip
    Layer(8, "selu", l1=1e-4, l2=1e-3),          # narrower: a projection
    Layer(10, "prelu", dropout=0.1),             # PReLU without batch norm
    Layer(10, "tanh", batch_norm=True, dropout=0.3),
), residual=True, initializer="he_normal")
PLAIN = Architecture("custom", "p", "test", (Layer(16, "elu", batch_norm=True), Layer(8, "swish", dropout=0.5),
                                             Layer(4, "gelu", l1=1e-3), Layer(4, "leaky_relu")))


def frame(n=240, seed=0, minority=0.5):
    """Two informative numbers and a colour; ``y`` is "rare" for about ``minority`` of the rows."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    score = x1 + x2 + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "green", "blue"], size=n),
                         "y": np.where(score > np.quantile(score, 1 - minority), "rare", "common"),
                         "amount": 100 + 30 * x1 - 10 * x2 + rng.normal(0, 3, size=n)})


@pytest.fixture(scope="module")
def binary_data():
    return prepare(frame().drop(columns="amount"), "y", "binary", seed=0)


@pytest.fixture(scope="module")
def regression_data():
    return prepare(frame().drop(columns="y"), "amount", "regression", seed=0)


# -- the network --------------------------------------------------------------------------------------------------

def test_new_presets_are_named_for_the_command_line():
    assert ARCHITECTURE_NAMES == ("auto", "chollet_small", "moolayil_classification", "moolayil_regression",
                                  "wide_regularized", "residual_bn")
    assert PRESETS["wide_regularized"].hidden == (1024, 1024)
    assert {(layer.dropout, layer.l2) for layer in PRESETS["wide_regularized"].layers} == {(0.4, 1e-4)}
    residual = PRESETS["residual_bn"]
    assert residual.residual and all(layer.batch_norm for layer in residual.layers)
    assert PRESETS["moolayil_regression"].hidden == (150, 350, 350, 350, 350, 350)
    for arch in PRESETS.values():
        assert arch.title and arch.source


@pytest.mark.parametrize("task, n_classes", TASKS)
@pytest.mark.parametrize("arch", [RESIDUAL, PLAIN], ids=["residual", "plain"])
def test_custom_layer_table_matches_keras(arch, task, n_classes):
    model = build_model(arch, 5, task, n_classes)
    rows = layer_table(arch, 5, task, n_classes)

    assert [r["layer"] for r in rows] == [layer.name for layer in model.layers]
    for row in rows[1:]:
        layer = model.get_layer(row["layer"])
        assert row["parameters"] == layer.count_params(), row
        assert row["trainable"] == sum(math.prod(w.shape) for w in layer.trainable_weights), row
        assert row["output shape"] == str(layer.output.shape)
    assert sum(r["parameters"] for r in rows) == model.count_params()


def test_layer_table_counts_batch_norm_prelu_and_projections_by_hand():
    arch = Architecture("custom", "t", "t", (Layer(4, "prelu", batch_norm=True), Layer(3)), residual=True)
    rows = {r["layer"]: r for r in layer_table(arch, 2, "binary")}

    assert rows["dense_1"]["parameters"] == 2 * 4  # no bias before batch normalization
    assert (rows["batch_norm_1"]["parameters"], rows["batch_norm_1"]["trainable"]) == (16, 8)
    assert rows["prelu_1"]["parameters"] == 4  # one slope per unit
    assert rows["dense_2"]["parameters"] == (4 + 1) * 3
    assert rows["projection_2"]["parameters"] == 4 * 3  # 4 → 3 wide, no bias
    assert rows["add_2"]["type"] == "Add" and rows["add_2"]["output shape"] == "(None, 3)"


def test_initializer_and_output_activation_reach_keras():
    arch = Architecture("custom", "t", "t", stack((6,)), initializer="he_normal", output_activation="linear")
    model = build_model(arch, 3, "regression")
    assert type(model.get_layer("dense_1").kernel_initializer).__name__ == "HeNormal"
    assert model.get_layer("output").activation.__name__ == "linear"
    bn = build_model(Architecture("custom", "t", "t", stack((6,), batch_norm=True, l1=0.01)), 3, "binary")
    assert bn.get_layer("dense_1").use_bias is False
    assert bn.get_layer("dense_1").kernel_regularizer.l1 == pytest.approx(0.01)


def test_custom_from_editor_rows():
    arch = custom([{"units": 32.0, "activation": "selu", "dropout": float("nan"), "l1": None, "l2": 0.001,
                    "batch_norm": np.True_},
                   {"units": 8, "activation": None}], residual=True, initializer="lecun_normal")

    assert arch.name == "custom"
    assert arch.layers == (Layer(32, "selu", l2=0.001, batch_norm=True), Layer(8))
    assert type(arch.layers[0].units) is int and type(arch.layers[0].batch_norm) is bool
    assert arch.residual and arch.initializer == "lecun_normal" and "32 → 8" in arch.title
    with pytest.raises(DataError, match="Hidden layer 2 needs a number of units"):
        custom([{"units": 4}, {"units": float("nan"), "activation": "relu"}])
    with pytest.raises(DataError, match="whole number"):
        custom([{"units": 4.5}])


@pytest.mark.parametrize("arch", [RESIDUAL, PLAIN, custom([{"units": 5}]), *PRESETS.values()], ids=lambda a: a.title)
def test_config_round_trip(arch):
    config = json.loads(json.dumps(arch.get_config()))
    assert Architecture.from_config(config) == arch
    assert Architecture.from_config(config).get_config() == arch.get_config()
    assert all(isinstance(layer, Layer) for layer in Architecture.from_config(config).layers)


def test_train_config_round_trip():
    config = TrainConfig(epochs=3, optimizer="sgd", schedule="cosine", loss="huber", class_weights=True)
    assert TrainConfig.from_config(json.loads(json.dumps(config.get_config()))) == config
    old = {"epochs": 5, "batch_size": 0, "learning_rate": 0.001, "patience": 10, "seed": 42, "class_weights": False}
    assert TrainConfig.from_config(old).optimizer == "adam"  # a run folder written before these settings existed


def test_diagram_is_dot_with_every_layer_and_skip():
    dot = diagram(RESIDUAL, 5, "multiclass", 3)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "Input\\n5 features" in dot and "Output 3\\nsoftmax" in dot
    for i, layer in enumerate(RESIDUAL.layers, start=1):
        assert f'layer_{i} [label="Dense {layer.units}' in dot
    assert dot.count("style=dashed") == len(RESIDUAL.layers) - 1
    assert "projection 12→8" in dot and "batch norm" in dot and "L2 0.001" in dot
    assert "style=dashed" not in diagram(PLAIN, 5, "binary")


# -- refused with a reason ----------------------------------------------------------------------------------------

def _with(**changes) -> Architecture:
    return Architecture(**{**PLAIN.get_config(), "layers": PLAIN.layers, **changes})


@pytest.mark.parametrize("arch, config, task, reason", [
    (_with(output_activation="softmax"), TrainConfig(), "binary", "always gives 1"),
    (_with(output_activation="softmax"), TrainConfig(), "regression", "always gives 1"),
    (_with(output_activation="sigmoid"), TrainConfig(), "regression", "only reaches 0 to 1"),
    (_with(output_activation="sigmoid"), TrainConfig(), "multiclass", "sum to 1"),
    (_with(output_activation="linear"), TrainConfig(), "binary", "needs a probability"),
    (_with(output_activation="relu6"), TrainConfig(), "binary", "Unknown output activation 'relu6'"),
    (PLAIN, TrainConfig(batch_size=1), "binary", "Batch normalization needs batches of more than one row"),
    (PRESETS["residual_bn"], TrainConfig(batch_size=1), "regression", "Batch normalization"),
    (PLAIN, TrainConfig(loss="mae"), "binary", "The loss 'mae' does not fit binary; choose binary_crossentropy"),
    (PLAIN, TrainConfig(loss="binary_crossentropy"), "regression", "choose mse or mae or huber"),
    (PLAIN, TrainConfig(loss="binary_crossentropy"), "multiclass", "sparse_categorical_crossentropy"),
    (_with(layers=(Layer(8, "sigmoidal"),)), TrainConfig(), "binary", "unknown activation 'sigmoidal'"),
    (_with(layers=(Layer(8, dropout=1.0),)), TrainConfig(), "binary", "drop every unit"),
    (_with(layers=(Layer(8, l2=-0.1),)), TrainConfig(), "binary", "cannot be negative"),
    (_with(layers=(Layer(0),)), TrainConfig(), "binary", "has 0 units"),
    (_with(layers=()), TrainConfig(), "binary", "at least one hidden layer"),
    (_with(initializer="zeros"), TrainConfig(), "binary", "Unknown initializer 'zeros'"),
    (PLAIN, TrainConfig(optimizer="adagrad"), "binary", "Unknown optimizer 'adagrad'"),
    (PLAIN, TrainConfig(schedule="step"), "binary", "Unknown learning-rate schedule 'step'"),
    (PLAIN, TrainConfig(learning_rate=0.0), "binary", "learning rate must be above 0"),
    (PLAIN, TrainConfig(patience=0), "binary", "at least 1"),
])
def test_invalid_combinations_are_refused_with_their_reason(arch, config, task, reason):
    with pytest.raises(DataError, match=reason.replace("(", r"\(")):
        validate(arch, config, task, 3 if task == "multiclass" else 0)


def test_every_reason_is_given_at_once():
    arch = _with(output_activation="sigmoid", layers=(Layer(8, "nope", batch_norm=True),))
    with pytest.raises(DataError) as info:
        validate(arch, TrainConfig(batch_size=1, optimizer="nope"), "regression")
    message = str(info.value)
    for part in ("0 to 1", "activation 'nope'", "Batch normalization", "optimizer 'nope'"):
        assert part in message


@pytest.mark.parametrize("task, n_classes", TASKS)
def test_sound_combinations_pass(task, n_classes):
    for name in ARCHITECTURE_NAMES:
        validate(resolve(name, 6, 500), TrainConfig(), task, n_classes)
    for loss in LOSSES[task]:
        validate(RESIDUAL, TrainConfig(loss=loss, batch_size=2), task, n_classes)
    no_bn = _with(layers=(Layer(4),))
    validate(no_bn, TrainConfig(batch_size=1), task, n_classes)  # batch size 1 is fine without batch norm


def test_train_refuses_before_training(binary_data):
    with pytest.raises(DataError, match="always gives 1"):
        train(binary_data, _with(output_activation="softmax"), TrainConfig(epochs=1))


# -- optimizers, schedules, losses ------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_each_optimizer_trains(binary_data, optimizer):
    result = train(binary_data, PLAIN, TrainConfig(epochs=2, optimizer=optimizer, learning_rate=0.01))
    assert result.epochs_run == 2
    assert np.isfinite(result.history[["loss", "val_loss", "accuracy"]].to_numpy()).all()
    assert result.history["learning_rate"].tolist() == pytest.approx([0.01, 0.01])
    assert type(result.model.optimizer).__name__.lower() == optimizer


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_each_schedule_trains_and_logs_the_learning_rate(regression_data, schedule):
    config = TrainConfig(epochs=4, schedule=schedule, learning_rate=0.02)
    result = train(regression_data, RESIDUAL, config)
    rates = result.history["learning_rate"].to_numpy()
    assert len(rates) == 4 and rates[0] == pytest.approx(0.02)
    if schedule == "cosine":
        assert (np.diff(rates) < 0).all(), "cosine decay falls every epoch"
        steps = -(-len(regression_data.x_train) // config.batch_for(len(regression_data.x_train)))
        assert rates[2] == pytest.approx(0.01 * (1 + math.cos(math.pi * 2 * steps / (4 * steps))), rel=1e-4)
    elif schedule == "flat_cosine":  # flat for epochs 1-2, then a cosine over epochs 3-4: half-way at epoch 4
        assert rates.tolist() == pytest.approx([0.02, 0.02, 0.02, 0.01], rel=1e-4)
    else:
        assert rates.tolist() == pytest.approx([0.02] * 4)


def test_plateau_halves_the_rate_when_validation_stops_improving():
    rng = np.random.default_rng(3)
    noise = pd.DataFrame({f"x{i}": rng.normal(size=300) for i in range(6)}).assign(y=rng.choice(["a", "b"], 300))
    data = prepare(noise, "y", "binary")
    result = train(data, resolve("chollet_small", 6, 300),
                   TrainConfig(epochs=30, patience=4, schedule="plateau", learning_rate=0.05))
    rates = result.history["learning_rate"].to_numpy()
    assert rates[0] == pytest.approx(0.05)
    assert rates[-1] < 0.05 and set(np.round(rates / 0.05, 6)) <= {1.0, 0.5, 0.25, 0.125}
    assert (np.diff(rates) <= 0).all()


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_regression_losses(regression_data, loss):
    result = train(regression_data, PLAIN, TrainConfig(epochs=2, loss=loss))
    assert result.model.loss == loss
    assert np.isfinite(result.history["val_mae"]).all()


def test_saved_run_with_batch_norm_prelu_and_cosine_predicts_the_same(tmp_path, binary_data):
    run = tmp_path / "run"
    metrics = train_here(binary_data, RESIDUAL, TrainConfig(epochs=3, schedule="cosine", optimizer="adamw"), run)
    assert metrics["architecture"] == json.loads(json.dumps(RESIDUAL.get_config()))
    assert metrics["config"]["schedule"] == "cosine"
    test = binary_data.split.test
    predicted = Predictor.load(run).predict(test)
    assert (predicted["prediction"] == test["y"]).mean() == pytest.approx(metrics["test"]["accuracy"])


# -- class weights ----------------------------------------------------------------------------------------------

def test_class_weights_are_off_by_default_on_when_asked_and_an_older_runs_rule_is_kept():
    rare = prepare(frame(n=600, minority=0.1).drop(columns="amount"), "y", "binary")
    balanced = prepare(frame(n=600).drop(columns="amount"), "y", "binary")

    assert training_minority_share(rare) == pytest.approx(0.1, abs=0.02)
    assert class_weights(rare, TrainConfig()) is None  # off by default: the probabilities stay calibrated
    weights = class_weights(rare, TrainConfig(class_weights=True))
    assert weights is not None and weights[rare.preparation.classes.index("rare")] > 4
    # a run saved before the default changed (class_weights None) is retrained as it was: on under 20%
    assert class_weights(rare, TrainConfig(class_weights=None)) == weights
    assert training_minority_share(balanced) == pytest.approx(0.5, abs=0.02)
    assert class_weights(balanced, TrainConfig(class_weights=None)) is None
    assert class_weights(balanced, TrainConfig(class_weights=True)) == pytest.approx({0: 1.0, 1: 1.0}, rel=0.05)


def test_no_class_weights_for_regression(regression_data):
    assert training_minority_share(regression_data) is None
    assert class_weights(regression_data, TrainConfig(class_weights=True)) is None


# -- reading the curves -----------------------------------------------------------------------------------------

def history(loss, val_loss):
    return pd.DataFrame({"epoch": range(1, len(loss) + 1), "loss": loss, "val_loss": val_loss})


def test_hint_rising_validation_loss():
    hints = overfitting_hints(history([1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2], [1.0, 0.8, 0.6, 0.62, 0.7, 0.75, 0.8]), 4)
    assert len(hints) == 1 and hints[0].startswith("Overfitting")
    assert "epoch 3" in hints[0] and "Early stopping ended training" in hints[0]
    assert "Early stopping" not in overfitting_hints(history([1.0, 0.5, 0.3], [1.0, 0.6, 0.7]), 10)[0]


def test_hint_large_gap():
    hints = overfitting_hints(history([0.6, 0.3, 0.1, 0.06, 0.05], [0.7, 0.45, 0.4, 0.405, 0.404]), 10)
    assert [hint.split(":")[0] for hint in hints] == ["Large gap"]
    assert "4.0×" in hints[0]


def test_hint_still_improving():
    hints = overfitting_hints(history([1.0, 0.8, 0.6, 0.5, 0.45], [1.0, 0.85, 0.7, 0.62, 0.58]), 10)
    assert [hint.split(":")[0] for hint in hints] == ["Still improving"]
    assert "still falling at the last epoch" in hints[0]
    # lowest one epoch before the end (as a run often is): the hint names that epoch, not the last
    hints = overfitting_hints(history([1.0, 0.8, 0.6, 0.5, 0.45], [1.0, 0.85, 0.7, 0.58, 0.581]), 10)
    assert [hint.split(":")[0] for hint in hints] == ["Still improving"]
    assert "still falling until epoch 4 of 5" in hints[0]


def test_hint_flat():
    hints = overfitting_hints(history([0.693, 0.692, 0.693, 0.691], [0.694, 0.693, 0.693, 0.694]), 10)
    assert [hint.split(":")[0] for hint in hints] == ["Flat curves"]


def test_no_hint_for_a_healthy_curve_or_too_few_epochs():
    assert overfitting_hints(history([1.0, 0.6, 0.5, 0.45, 0.44, 0.44, 0.43],
                                     [1.0, 0.6, 0.5, 0.46, 0.45, 0.452, 0.451]), 3) == []
    assert overfitting_hints(history([1.0], [1.0]), 3) == []


# -- reproducible -----------------------------------------------------------------------------------------------

def test_same_data_config_and_seed_give_the_same_history(binary_data):
    config = TrainConfig(epochs=3, seed=5, schedule="cosine", optimizer="nadam", batch_size=16)
    first, second = train(binary_data, RESIDUAL, config), train(binary_data, RESIDUAL, config)

    pd.testing.assert_frame_equal(first.history, second.history, check_exact=True)
    np.testing.assert_array_equal(first.model.predict(binary_data.x_test, verbose=0),
                                  second.model.predict(binary_data.x_test, verbose=0))
    other = train(binary_data, RESIDUAL, TrainConfig(**{**config.get_config(), "seed": 6}))
    assert not np.array_equal(first.history["loss"].to_numpy(), other.history["loss"].to_numpy())
