"""The Model page in AppTest: presets with their sources, a custom network, training settings, and refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlcore.architectures import ARCHITECTURE_NAMES, PRESETS, Layer
from dlcore.training import TrainConfig

SAVE_NETWORK = "FormSubmitter:custom_network-Save network"
SAVE_SETTINGS = "FormSubmitter:train_settings-Save settings"


def loans_csv(rows: int = 200, seed: int = 0) -> bytes:
    """``default`` (about 10% "yes") follows ``debt``; ``income`` is a number to predict as well."""
    rng = np.random.default_rng(seed)
    debt = rng.normal(10, 3, rows).round(2)
    frame = pd.DataFrame({
        "debt": debt,
        "region": rng.choice(["north", "south", "east"], rows),
        "income": (30 + 2 * debt + rng.normal(0, 1, rows)).round(1),
        "default": np.where(debt > np.quantile(debt, 0.9), "yes", "no"),
    })
    return frame.to_csv(index=False).encode()


@pytest.fixture
def model_page(open_app) -> AppTest:
    app = open_app(loans_csv(), "loans.csv")
    assert app.session_state["target"] == "default" and app.session_state["task"] == "binary"
    app.switch_page("pages/model.py").run()
    assert not app.exception
    return app


def choose(app: AppTest, name: str) -> AppTest:
    app.selectbox(key="model_arch").select(name).run()
    assert not app.exception
    return app


def layers(app: AppTest) -> pd.DataFrame:
    """The layer table (after the custom layer editor, when it is shown)."""
    return app.dataframe[-1].value


def box(app: AppTest, label: str):
    return next(select for select in app.selectbox if select.label == label)


def number(app: AppTest, label: str):
    return next(entry for entry in app.number_input if entry.label == label)


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def test_auto_is_the_default_with_table_metrics_and_diagram(model_page):
    app = model_page
    assert app.session_state["arch_name"] == "auto"
    assert "RealMLP-TD" in app.caption[0].value
    recipe = app.dataframe[0].value  # Why Auto is built this way
    assert list(recipe.columns) == ["choice", "source", "measured"] and recipe["source"].str.contains("RealMLP").any()
    table = layers(app)
    assert table["layer"].tolist() == ["features", "numbers", "plain_inputs", "periodic_embedding", "embedded_inputs",
                                       "dense_1", "dropout_1", "dense_2", "dropout_2", "dense_3", "dropout_3",
                                       "output"]
    assert [m.label for m in app.metric] == ["Parameters", "Trainable"]
    assert app.metric[0].value == f"{table['parameters'].sum():,}"
    dot = app.get("graphviz_chart")[0].proto.spec
    assert "digraph" in dot and "Periodic embedding" in dot and "Dense 256" in dot and "Output 1\\nsigmoid" in dot
    assert "Output layer: **1 × sigmoid**, loss **binary_crossentropy**" in app.markdown[0].value


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES[1:])
def test_each_preset_shows_its_name_source_and_layers(model_page, name):
    app = choose(model_page, name)
    preset = PRESETS[name]
    assert app.session_state["arch_name"] == name
    assert app.selectbox(key="model_arch").value == name
    assert preset.title in app.selectbox(key="model_arch").options
    assert preset.source in app.caption[0].value
    dense = layers(app).query("layer.str.startswith('dense_')")
    assert [int(shape.strip("()").split(", ")[1]) for shape in dense["output shape"]] == list(preset.hidden)
    assert not errors(app)


def test_batch_norm_preset_shows_its_untrained_statistics(model_page):
    table = layers(choose(model_page, "residual_bn"))
    assert "add_2" in table["layer"].tolist() and "batch_norm_1" in table["layer"].tolist()
    assert model_page.metric[0].value != model_page.metric[1].value  # moving mean and variance are not trained
    assert model_page.get("graphviz_chart")[0].proto.spec.count("style=dashed") == 3


def test_build_a_custom_network(model_page):
    app = choose(model_page, "custom")
    start = app.dataframe[0].value  # the editor starts from the network that was on show (Auto)
    assert start["units"].tolist() == [256, 256, 256]
    app.session_state["custom_layers_0"] = {
        "edited_rows": {0: {"units": 32, "activation": "prelu", "batch_norm": True}},
        "added_rows": [{"units": 12, "activation": "selu", "dropout": 0.2, "l1": 0.001}],
        "deleted_rows": [],
    }
    app.toggle[0].set_value(True)
    app.selectbox[1].select("he_normal")
    app.button(key=SAVE_NETWORK).click().run()
    assert not app.exception and not errors(app)

    arch = app.session_state["custom_arch"]
    assert app.session_state["arch_name"] == "custom"
    assert arch.layers == (Layer(32, "prelu", 0.15, 0.0, 0.0, True), Layer(256, "selu", 0.15),
                           Layer(256, "selu", 0.15), Layer(12, "selu", 0.2, 0.001, 0.0))
    assert arch.residual and arch.initializer == "he_normal" and arch.numeric_embedding == "periodic"
    table = layers(app)
    assert {"batch_norm_1", "prelu_1", "projection_2", "add_2", "add_3", "projection_4"} <= set(table["layer"])
    assert "Network saved." in app.success[0].value
    assert "projection 32→256" in app.get("graphviz_chart")[0].proto.spec

    app.run()  # a fresh editor holds the saved layers
    assert app.dataframe[0].value["units"].tolist() == [32, 256, 256, 12]
    assert app.session_state["custom_arch"] == arch


def test_invalid_custom_network_is_refused_and_not_saved(model_page):
    app = choose(model_page, "custom")
    saved = app.session_state["custom_arch"]
    app.selectbox[2].select("softmax")  # output activation, for a binary target
    app.button(key=SAVE_NETWORK).click().run()
    assert not app.exception
    assert any("Not saved" in e and "softmax" in e and "always gives 1" in e for e in errors(app))
    assert app.session_state["custom_arch"] == saved

    app.session_state["custom_layers_0"] = {"edited_rows": {1: {"units": None}}, "added_rows": [],
                                            "deleted_rows": []}
    app.button(key=SAVE_NETWORK).click().run()
    assert any("Hidden layer 2 needs a number of units" in e for e in errors(app))
    assert app.session_state["custom_arch"] == saved


def test_batch_size_one_with_batch_norm_is_refused_both_ways(model_page):
    app = model_page
    choose(app, "residual_bn")
    number(app, "Batch size (0 = auto)").set_value(1)
    app.button(key=SAVE_SETTINGS).click().run()
    assert any("Batch normalization needs batches of more than one row" in e for e in errors(app))
    assert app.session_state["train_config"].batch_size == 0

    choose(app, "chollet_small")
    number(app, "Batch size (0 = auto)").set_value(1)
    app.button(key=SAVE_SETTINGS).click().run()
    assert not errors(app) and app.session_state["train_config"].batch_size == 1
    choose(app, "residual_bn")  # now the preset is the invalid half of the pair
    assert any("Not saved" in e and "Batch normalization" in e for e in errors(app))
    assert app.session_state["arch_name"] == "chollet_small"


def test_training_settings_are_saved(model_page):
    app = model_page
    assert app.radio[0].value is False and app.radio[0].options == ["Off", "On"]  # off by default, even at 10%
    assert "10%" in app.radio[0].help
    assert number(app, "Members").value == 0 and "5 networks averaged into one model" in app.info[-1].value
    number(app, "Max epochs").set_value(7)
    number(app, "Learning rate").set_value(0.01)
    box(app, "Optimizer").select("sgd")
    box(app, "Learning-rate schedule").select("cosine")
    number(app, "Seed").set_value(9)
    app.radio[0].set_value(True)
    number(app, "Members").set_value(1)
    app.button(key=SAVE_SETTINGS).click().run()
    assert not app.exception and not errors(app)
    assert app.session_state["train_config"] == TrainConfig(epochs=7, learning_rate=0.01, seed=9, class_weights=True,
                                                            optimizer="sgd", schedule="cosine", folds=1)
    assert app.session_state["seed"] == 9
    assert app.info[-1].value.startswith("One network, as set (1)")


def test_regression_offers_its_losses_and_no_class_weights(model_page):
    app = model_page
    app.switch_page("pages/upload.py").run()
    box(app, "Target column").select("income").run()
    assert app.session_state["task"] == "regression"
    app.switch_page("pages/model.py").run()
    assert not app.exception
    assert box(app, "Loss").options == ["From the task (mse)", "mse", "mae", "huber"]
    assert not app.radio
    box(app, "Loss").select("huber")
    app.button(key=SAVE_SETTINGS).click().run()
    assert app.session_state["train_config"].loss == "huber"
    assert "loss **huber**" in app.run().markdown[0].value


def test_the_page_does_not_load_keras():
    script = """
import sys
from streamlit.testing.v1 import AppTest
sys.path.insert(0, "tests")
from test_page_model import loans_csv
app = AppTest.from_file("app.py", default_timeout=120).run()
app.file_uploader[0].upload("loans.csv", loans_csv(), "text/csv").run()
app.switch_page("pages/model.py").run()
app.selectbox(key="model_arch").select("custom").run()
assert not app.exception and app.get("graphviz_chart")
print(sorted(m for m in ("keras", "tensorflow") if m in sys.modules))
"""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
