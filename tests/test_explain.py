"""Explanations: SHAP in the original columns finds the one column that drives the target (binary, multiclass,
regression, a categorical driver), adds up to the prediction, works for every network the app trains, and reaches
the command line, the predictions and the bundle's predict.py."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import driver_frame
from dlcore.architectures import ARCHITECTURE_NAMES, custom, resolve
from dlcore.explanations import EXPLANATIONS_FILE, explain_run, permutation_importance, read_explanations
from dlcore.prepared import prepare
from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import background_of, explain, reference_row
from dlcore.runtime.inference import Predictor
from dlcore.training import TrainConfig
from dlcore.workers import train_here

ROOT = Path(__file__).resolve().parents[1]


def trained(frame: pd.DataFrame, task: str, folder: Path, arch_name: str = "auto", epochs: int = 40,
            arch=None, folds: int = 0) -> Path:
    """A run trained as the app trains it: by default the ensemble its size calls for (five networks here)."""
    data = prepare(frame, "y", task)
    arch = arch or resolve(arch_name, data.x_train.shape[1], len(data.x_train))
    train_here(data, arch, TrainConfig(epochs=epochs, learning_rate=0.01, patience=8, folds=folds), folder)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A trained run per case: binary, multiclass and regression with a numeric driver; binary with a categorical.
    The binary run is the app's default ensemble (five networks here), the others single networks."""
    root = tmp_path_factory.mktemp("explain")
    cases = {"binary": ("binary", False), "multiclass": ("multiclass", False), "regression": ("regression", False),
             "categorical": ("binary", True)}
    return {name: trained(driver_frame(task, 500, 1, categorical=categorical), task, root / name,
                          folds=0 if name == "binary" else 1)
            for name, (task, categorical) in cases.items()}


def explained(run_dir: Path, rows: int = 80, explainer: str = "permutation"):
    predictor = Predictor.load(run_dir)
    test = pd.read_parquet(run_dir / "prepared" / "test.parquet")
    return predictor, explain(predictor, test.head(rows), background_of(run_dir), explainer)


@pytest.mark.parametrize("case, driver", [("binary", "driver"), ("multiclass", "driver"), ("regression", "driver"),
                                          ("categorical", "group")])
def test_the_driving_column_ranks_first_by_a_wide_margin(runs, case, driver):
    _, explanation = explained(runs[case])
    ranking = explanation.importance()
    assert ranking["column"].iloc[0] == driver
    assert ranking["mean_abs_shap"].iloc[0] > 3 * ranking["mean_abs_shap"].iloc[1]
    assert set(ranking["column"]) == {"noise1", driver, "noise2", "colour", "day"}  # original columns, not one-hot


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression", "categorical"])
def test_permutation_shap_adds_up_to_every_prediction(runs, case):
    assert Predictor.load(runs[case]).metrics["members"] == (5 if case == "binary" else 1)  # explained as one model
    predictor, explanation = explained(runs[case], rows=30)
    total = explanation.base_values[None, :] + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, explanation.predictions, atol=1e-4, rtol=0)
    # and the explained output is the pipeline's real prediction, in the user's units or probabilities
    predicted = predictor.predict(explanation.rows)
    if case == "regression":
        np.testing.assert_allclose(explanation.predictions[:, 0], predicted["prediction"], atol=1e-4, rtol=1e-5)
        assert explanation.outputs == ["y"]
    elif case == "multiclass":
        labels = predictor.preparation.classes
        np.testing.assert_allclose(explanation.predictions, predicted[[f"probability_{c}" for c in labels]],
                                   atol=1e-5)
        assert explanation.outputs == [f"probability of {c}" for c in labels]
    else:
        np.testing.assert_allclose(explanation.predictions[:, 0], predicted["probability_yes"], atol=1e-5)
        assert explanation.outputs == ["probability of yes"]


def test_gradient_mode_finds_the_driver_and_roughly_adds_up(runs):
    _, explanation = explained(runs["binary"], explainer="gradient")
    assert explanation.importance()["column"].iloc[0] == "driver"
    assert explanation.additivity_gap() < 0.2  # expected gradients add up only on average; the page says by how much


def test_permutation_importance_agrees_on_the_driver(runs):
    predictor = Predictor.load(runs["regression"])
    test = pd.read_parquet(runs["regression"] / "prepared" / "test.parquet")
    table = permutation_importance(predictor, test, test["y"], repeats=3)
    assert table["column"].iloc[0] == "driver" and table["metric"].iloc[0] == predictor.metrics["primary_metric"]
    assert table["drop"].iloc[0] > 10 * max(table["drop"].iloc[1], 1e-9)


def test_top_reasons_name_the_driver_for_most_rows(runs):
    _, explanation = explained(runs["multiclass"])
    reasons = explanation.top_reasons()
    assert list(reasons.columns) == ["reason_1", "reason_1_shap", "reason_2", "reason_2_shap", "reason_3",
                                     "reason_3_shap"]
    assert len(reasons) == len(explanation.rows)
    assert (reasons["reason_1"] == "driver").mean() > 0.8
    assert (reasons["reason_1_shap"].abs() >= reasons["reason_2_shap"].abs()).all()


@pytest.mark.parametrize("name", [*ARCHITECTURE_NAMES, "custom"])
def test_every_network_the_app_trains_is_explained(name, tmp_path):
    arch = custom([{"units": 16, "activation": "tanh", "dropout": 0.1, "batch_norm": True},
                   {"units": 8, "activation": "prelu"}], residual=True) if name == "custom" else None
    run_dir = trained(driver_frame("binary", 200, 2), "binary", tmp_path / name, name, epochs=2, arch=arch,
                      folds=1)  # each architecture as one network; the ensemble is explained above
    for explainer in ("permutation", "gradient"):
        _, explanation = explained(run_dir, rows=6, explainer=explainer)
        assert explanation.values.shape == (6, 5, 1) and np.isfinite(explanation.values).all()
    total = explanation.base_values[0] + explanation.values[:, :, 0].sum(axis=1)
    assert np.isfinite(total).all()


def test_an_ensemble_with_a_learned_embedding_is_explained_by_permutation(tmp_path):
    frame = driver_frame("binary", 300, 4)
    frame.insert(0, "shop", [f"s{i % 70}" for i in range(len(frame))])  # 70 levels: a learned embedding
    data = prepare(frame, "y", "binary")
    assert data.preparation.encoders["shop"].name == "embedding"
    arch = dataclasses.replace(resolve("auto", data.x_train.shape[1], len(data.x_train)), ensemble=4)
    train_here(data, arch, TrainConfig(epochs=3), tmp_path / "run")
    predictor, explanation = explained(tmp_path / "run", rows=8)
    assert explanation.columns[0] == "shop" and explanation.values.shape == (8, 6, 1)
    assert explanation.additivity_gap() < 1e-4
    with pytest.raises(DataError, match="learned embeddings"):
        explained(tmp_path / "run", rows=8, explainer="gradient")


def test_explain_run_writes_explanations_json_that_reads_back(runs):
    run_dir = runs["categorical"]
    result = explain_run(run_dir, rows=40)
    assert (run_dir / EXPLANATIONS_FILE).is_file() and len(result["test_rows"]) == 40
    explanation, importance = read_explanations(run_dir)
    assert explanation.values.shape == (40, 5, 1) and explanation.background == 100
    assert importance["column"].iloc[0] == "group"
    test = pd.read_parquet(run_dir / "prepared" / "test.parquet")
    pd.testing.assert_frame_equal(explanation.rows.reset_index(drop=True),
                                  test.iloc[result["test_rows"]][explanation.columns].reset_index(drop=True),
                                  check_dtype=False)
    with pytest.raises(DataError, match="between 1 and"):
        explain_run(run_dir, rows=0)


def test_a_typical_row_is_the_background_of_a_bundle(runs):
    predictor = Predictor.load(runs["binary"] / "model.zip")
    typical = reference_row(predictor)
    assert list(typical.columns) == predictor.preparation.input_columns and len(typical) == 1
    test = pd.read_parquet(runs["binary"] / "prepared" / "test.parquet")
    explanation = explain(predictor, test.head(20), typical)
    assert explanation.importance()["column"].iloc[0] == "driver"
    np.testing.assert_allclose(explanation.base_values[0] + explanation.values[:, :, 0].sum(axis=1),
                               explanation.predictions[:, 0], atol=1e-4)


def test_a_missing_column_is_refused_by_name(runs):
    predictor = Predictor.load(runs["binary"])
    test = pd.read_parquet(runs["binary"] / "prepared" / "test.parquet")
    with pytest.raises(DataError, match="driver"):
        explain(predictor, test.drop(columns="driver").head(3), background_of(runs["binary"]))


# -- the command line and the bundle -------------------------------------------------------------------------------

def dlcore(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "dlcore", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_explain_command_writes_sorted_importance(runs, tmp_path):
    rows = driver_frame("regression", 60, 5).drop(columns="y")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    done = dlcore("explain", runs["regression"], tmp_path / "rows.csv", "--out", tmp_path / "why.json", "--rows", 25,
                  "--values")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "why.json").read_text())
    assert result["explainer"] == "permutation" and result["rows"] == 25 and result["seconds"] > 0
    importance = [entry["mean_abs_shap"] for entry in result["importance"]]
    assert importance == sorted(importance, reverse=True) and result["importance"][0]["column"] == "driver"
    assert np.asarray(result["values"]).shape == (25, 5, 1) and len(result["row_index"]) == 25
    assert "most important: driver" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.csv"], "error:"),
    (["rows.csv", "--rows", "0"], "error: --rows must be"),
    (["rows.csv", "--explainer", "kernel"], "error:"),
])
def test_explain_command_bad_input_exits_2_with_one_line(runs, tmp_path, args, message):
    driver_frame("binary", 10, 5).drop(columns="y").to_csv(tmp_path / "rows.csv", index=False)
    args = [tmp_path / arg if arg.endswith(".csv") else arg for arg in args]
    done = dlcore("explain", runs["binary"], *args, "--out", tmp_path / "why.json")
    assert done.returncode == 2
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1


def test_predict_explain_adds_reasons_in_the_command_line_and_the_bundle(runs, tmp_path):
    new = driver_frame("binary", 30, 9).drop(columns="y")
    new.to_csv(tmp_path / "new.csv", index=False)
    cli = dlcore("predict", runs["binary"] / "model.zip", tmp_path / "new.csv", "--out", tmp_path / "cli.csv",
                 "--explain")
    assert cli.returncode == 0, cli.stderr[-2000:]
    bundle = tmp_path / "bundle"
    with zipfile.ZipFile(runs["binary"] / "model.zip") as archive:
        archive.extractall(bundle)
        assert "shap" in archive.read("requirements-explain.txt").decode()
    env_free = {"PATH": "/usr/bin:/bin"}
    script = subprocess.run([sys.executable, bundle / "predict.py", tmp_path / "new.csv", "--out",
                             tmp_path / "script.csv", "--explain"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=env_free)
    assert script.returncode == 0, script.stderr[-2000:]
    for path in (tmp_path / "cli.csv", tmp_path / "script.csv"):
        table = pd.read_csv(path)
        assert len(table) == 30
        assert list(table.columns[-6:]) == ["reason_1", "reason_1_shap", "reason_2", "reason_2_shap", "reason_3",
                                            "reason_3_shap"]
        assert set(table["reason_1"]) <= set(new.columns)
        assert (table["reason_1"] == "driver").mean() > 0.7
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cli.csv"), pd.read_csv(tmp_path / "script.csv"),
                                  atol=1e-5)
