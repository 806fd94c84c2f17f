"""dlcore.training, dlcore.runs and dlcore.export on small synthetic data (a few epochs each)."""

import io
import os
import json
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dlcore.runtime.bundle as bundles
from dlcore.architectures import Architecture, resolve, stack
from dlcore.baselines import naive_baseline
from dlcore.evaluation import score
from dlcore.jobs import start_run
from dlcore.prepared import prepare
from dlcore.runs import RUNS_ENV, history_writer, new_run_dir, runs_root
from dlcore.runtime.bundle import RUN_FILES, RUNTIME_FILES, read_bundle
from dlcore.runtime.errors import DataError
from dlcore.runtime.inference import Predictor
from dlcore.runtime.preparation import Preparation
from dlcore.training import TrainConfig, steps_per_execution, train, training_device
from dlcore.workers import train_here

N = 300


def learnable_frame(n=N, seed=0):
    """buy/skip decided by a simple rule on two numbers and a colour."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    y = np.where(x1 + x2 + 1.5 * (colour == "red") > 0.5, "buy", "skip")
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "y": y})


def regression_frame(n=N, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 1000 + 50 * x1 + 20 * x2 + rng.normal(0, 5, size=n)})


@pytest.fixture(scope="module")
def binary_data():
    return prepare(learnable_frame(), "y", "binary", seed=0)


@pytest.fixture(scope="module")
def arch(binary_data):
    return resolve("auto", binary_data.x_train.shape[1], len(binary_data.x_train))


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory, binary_data, arch):
    run_dir = tmp_path_factory.mktemp("runs") / "binary"
    metrics = train_here(binary_data, arch, TrainConfig(epochs=12, learning_rate=0.01), run_dir)
    return run_dir, metrics


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    data = prepare(regression_frame(), "y", "regression", seed=0)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    run_dir = tmp_path_factory.mktemp("runs") / "regression"
    metrics = train_here(data, arch, TrainConfig(epochs=6, learning_rate=0.01, folds=1), run_dir)  # one network's
    return run_dir, metrics, data  # curves: its best epoch's validation MAE is the model's


# -- training ----------------------------------------------------------------------------------------------

def test_train_history(binary_data, arch):
    seen = []
    result = train(binary_data, arch, TrainConfig(epochs=5), on_epoch=lambda epoch, row: seen.append((epoch, row)))

    history = result.history
    assert len(history) == 5
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history.columns)
    assert history[["loss", "val_loss"]].notna().all().all()
    assert [epoch for epoch, _ in seen] == [1, 2, 3, 4, 5]
    assert [row["val_loss"] for _, row in seen] == history["val_loss"].tolist()
    assert result.best_epoch == int(np.argmin(history["val_loss"].to_numpy())) + 1
    assert result.epochs_run == 5
    assert result.stopped is False
    assert result.seconds > 0
    assert result.model.output_shape == (None, 1)


def test_early_stopping_keeps_the_best_weights():
    # pure-noise labels: validation loss soon rises, so early stopping ends training
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=N) for i in range(8)})
    frame["y"] = rng.choice(["a", "b"], size=N)
    data = prepare(frame, "y", "binary")
    config = TrainConfig(epochs=30, patience=3, learning_rate=0.01)

    result = train(data, resolve("chollet_small", 8, N), config)

    history = result.history
    best = int(np.argmin(history["val_loss"].to_numpy())) + 1
    assert result.best_epoch == best
    assert result.epochs_run < config.epochs
    assert result.epochs_run == best + config.patience
    # the returned model has the best epoch's weights, not the last epoch's
    val_loss = result.model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(history["val_loss"].iloc[best - 1], rel=1e-4)
    assert val_loss != pytest.approx(history["val_loss"].iloc[-1], rel=1e-4)


def test_should_stop_ends_training_in_the_first_epoch(binary_data, arch):
    calls = []

    def should_stop():
        calls.append(1)
        return True

    result = train(binary_data, arch, TrainConfig(epochs=50), should_stop=should_stop)

    assert result.stopped is True
    assert result.epochs_run == 1
    assert len(result.history) == 1
    assert len(calls) == 1  # asked once, after the first call of batches
    assert result.best_epoch == 1


def test_training_does_no_python_work_per_batch(tmp_path, monkeypatch):
    """Many batches an epoch: the stop check runs once per call of batches, the run folder is written once an epoch."""
    import dlcore.runtime.files

    written = []
    write_bytes = dlcore.runtime.files.write_bytes
    monkeypatch.setattr(dlcore.runtime.files, "write_bytes", lambda path, data: (written.append(Path(path).name),
                                                                         write_bytes(path, data)))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    frame["y"] = np.where(frame["a"] > frame["b"], "up", "down")
    data = prepare(frame, "y", "binary")
    checks = []
    result = train(data, resolve("chollet_small", 2, len(data.x_train)), TrainConfig(epochs=2, batch_size=8),
                   on_epoch=history_writer(tmp_path, None), should_stop=lambda: checks.append(1) and False)

    assert -(-len(data.x_train) // 8) == steps_per_execution(len(data.x_train), 8) == 270  # an epoch in one call
    assert result.epochs_run == 2 and len(checks) == 2
    assert written == ["history.csv", "history.csv"]


def test_same_seed_same_history(binary_data, arch):
    config = TrainConfig(epochs=3, seed=11)
    first = train(binary_data, arch, config)
    second = train(binary_data, arch, config)
    other = train(binary_data, arch, TrainConfig(epochs=3, seed=12))

    pd.testing.assert_frame_equal(first.history, second.history, check_exact=True)
    np.testing.assert_array_equal(first.model.predict(binary_data.x_test, verbose=0),
                                  second.model.predict(binary_data.x_test, verbose=0))
    assert not np.array_equal(first.history["loss"].to_numpy(), other.history["loss"].to_numpy())


def test_batch_size_and_epoch_budget_rules():
    assert TrainConfig().batch_for(300) == 32  # about 8 batches an epoch for small data
    assert TrainConfig().batch_for(10) == 16
    assert [TrainConfig().batch_for(n) for n in (2_048, 10_000, 150_000)] == [256, 256, 256]  # RealMLP's and TabM's
    assert TrainConfig().batch_for(10_000_000) == 1024
    assert TrainConfig(batch_size=7).batch_for(300) == 7
    for n in (1_000, 40_000, 150_000, 500_000):
        batch = TrainConfig().batch_for(n)
        assert batch & (batch - 1) == 0 and 16 <= batch <= 1024
    assert TrainConfig().epochs_for(1_000) == 256  # small data: the most epochs
    assert TrainConfig().epochs_for(100_000) == 20_000 // 391  # big data: about 20,000 batches
    assert TrainConfig(epochs=7).epochs_for(100_000) == 7
    assert TrainConfig.from_config(json.loads(json.dumps(TrainConfig(epochs=3).get_config()))) == TrainConfig(epochs=3)


# -- a run folder ----------------------------------------------------------------------------------------------

def test_execute_writes_the_run_folder(binary_run, binary_data):
    run_dir, metrics = binary_run

    for name in ("model.keras", "preparation.json", "metrics.json", "history.csv", "model.zip", "README.md"):
        assert (run_dir / name).is_file(), name
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["task"] == "binary"
    assert saved["target"] == "y"
    assert saved["primary_metric"] == "accuracy"
    assert {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"} <= set(saved["test"])
    assert saved["metric_names"] == list(saved["test"])
    assert saved["baselines"]["naive"] == pytest.approx(naive_baseline(binary_data))
    assert 1 <= saved["best_epoch"] <= saved["epochs_run"] <= 12
    assert saved["seconds"] > 0
    assert saved["stopped_by_user"] is False
    assert saved["rows"] == {"train": len(binary_data.x_train), "validation": len(binary_data.x_val),
                             "test": len(binary_data.x_test)}
    assert saved["config"]["epochs"] == 12

    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == saved["epochs_run"]
    assert history["epoch"].tolist() == list(range(1, saved["epochs_run"] + 1))
    assert saved["best_epoch"] == int(history["val_loss"].idxmin()) + 1

    prep = json.loads((run_dir / "preparation.json").read_text())
    assert prep == json.loads(json.dumps(binary_data.preparation.get_config()))

    with zipfile.ZipFile(run_dir / "model.zip") as archive:
        assert sorted(archive.namelist()) == sorted(RUN_FILES + RUNTIME_FILES)
        assert json.loads(archive.read("metrics.json")) == saved


def test_a_run_records_the_device_it_trained_on(binary_run):
    run_dir, metrics = binary_run
    assert metrics["device"] == training_device()
    assert re.fullmatch(r"CPU \(\d+ cores?\)|GPU: .+", metrics["device"])
    assert json.loads((run_dir / "status.json").read_text())["device"] == metrics["device"]  # from the start on


def test_the_device_is_the_gpu_tensorflow_sees(monkeypatch):
    import tensorflow as tf

    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"device_name": "NVIDIA H200"})
    assert training_device() == "GPU: NVIDIA H200"


def test_the_network_learns_the_rule(binary_run):
    _, metrics = binary_run
    assert metrics["test"]["accuracy"] > metrics["baselines"]["naive"]["accuracy"] + 0.1


def test_saved_model_reproduces_the_test_scores(binary_run, binary_data):
    run_dir, metrics = binary_run
    test = binary_data.split.test
    predictions = Predictor.load(run_dir).predict(test)
    classes = binary_data.preparation.classes
    proba = predictions[[f"probability_{c}" for c in classes]].to_numpy()
    rescored = score("binary", test["y"], predictions["prediction"], proba, classes)
    assert rescored == pytest.approx(metrics["test"], rel=1e-4)


def test_regression_run_reports_original_units(regression_run):
    run_dir, metrics, data = regression_run
    assert metrics["primary_metric"] == "mae"
    assert set(metrics["test"]) == {"mae", "rmse", "r2", "mape"}

    predictor = Predictor.load(run_dir / "model.zip")
    test = data.split.test
    predicted = predictor.predict(test.drop(columns="y"))
    assert [c for c in predicted.columns if c.startswith("probability_")] == []
    assert np.mean(np.abs(predicted["prediction"].to_numpy(dtype=float) - test["y"].to_numpy())) == pytest.approx(
        metrics["test"]["mae"], rel=1e-4)
    # history's MAE is in the target's units too: at the best epoch it is the validation MAE of the saved model
    history = pd.read_csv(run_dir / "history.csv")
    validation = data.split.validation
    val_mae = np.mean(np.abs(predictor.predict(validation)["prediction"].to_numpy(dtype=float)
                             - validation["y"].to_numpy()))
    assert history["val_mae"].iloc[metrics["best_epoch"] - 1] == pytest.approx(val_mae, rel=1e-3)


# -- background jobs ------------------------------------------------------------------------------------------------

def test_a_run_trains_in_a_worker_process_while_the_caller_goes_on(tmp_path, binary_data, arch):
    run = start_run(binary_data, arch, TrainConfig(epochs=3), root=tmp_path)
    assert run.status in ("queued", "running")
    assert not run.done
    assert run.wait(0) is False  # still training when start_run has returned

    assert run.wait(timeout=180)
    assert run.status == "finished", run.error
    assert run.done and run.error is None
    assert [row["epoch"] for row in run.history] == [1, 2, 3]
    assert run.metrics["epochs_run"] == 3
    assert run.status_record["pid"] != os.getpid()  # trained by another process
    assert (run.run_dir / "model.zip").is_file()
    assert run.elapsed > 0


def test_a_stopped_run_keeps_its_best_weights(tmp_path, binary_data, arch):
    run = start_run(binary_data, arch, TrainConfig(epochs=500, patience=500, folds=1), root=tmp_path)  # one network
    deadline = time.monotonic() + 120
    while not run.history and time.monotonic() < deadline:
        time.sleep(0.1)
    run.stop()

    assert run.wait(timeout=180)
    assert run.status == "stopped", run.error
    metrics = run.metrics
    assert metrics["stopped_by_user"] is True and metrics["epochs_run"] < 500
    assert len(run.history) == metrics["epochs_run"]
    assert (run.run_dir / "model.zip").is_file()


def test_a_failed_run_reports_the_error(tmp_path, binary_data):
    broken = Architecture("broken", "broken", "test", stack((4,), activation="no_such_activation"))
    run = start_run(binary_data, broken, TrainConfig(epochs=2), root=tmp_path)

    assert run.wait(timeout=180)
    assert run.status == "failed"
    assert run.error and "no_such_activation" in run.error
    assert not (run.run_dir / "model.zip").exists()


def test_new_run_dir_honours_the_environment(monkeypatch, tmp_path):
    root = tmp_path / "my-runs"
    monkeypatch.setenv(RUNS_ENV, str(root))

    first, second = new_run_dir(), new_run_dir()

    assert runs_root() == root
    for path in (first, second):
        assert path.parent == root
        assert path.is_dir()
        assert re.fullmatch(r"[0-9a-f]{32}", path.name)
    assert first != second


def test_new_run_dir_default_and_explicit_root(monkeypatch, tmp_path):
    monkeypatch.delenv(RUNS_ENV, raising=False)
    assert runs_root() == Path("runs").absolute()
    path = new_run_dir(tmp_path)
    assert path.parent == tmp_path and path.is_dir()


# -- predictions ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["folder", "bundle"])
def test_predictor_predicts_every_row(binary_run, where):
    run_dir, _ = binary_run
    predictor = Predictor.load(run_dir if where == "folder" else run_dir / "model.zip")
    new = learnable_frame(n=25, seed=99).drop(columns="y")
    new.insert(0, "note", [f"row {i}" for i in range(25)])  # an extra column is kept, not needed

    result = predictor.predict(new)

    assert len(result) == len(new)
    assert list(result.columns[: new.shape[1]]) == list(new.columns)
    pd.testing.assert_frame_equal(result[list(new.columns)], new)
    proba_columns = ["probability_buy", "probability_skip"]
    assert list(result.columns[new.shape[1]:]) == ["prediction", *proba_columns, "row_in_file"]
    assert result["row_in_file"].tolist() == list(range(1, 26))
    proba = result[proba_columns].to_numpy()
    assert ((proba >= 0) & (proba <= 1)).all()
    assert proba.sum(axis=1) == pytest.approx(np.ones(len(new)), abs=1e-6)
    assert result["prediction"].tolist() == np.array(["buy", "skip"])[proba.argmax(axis=1)].tolist()


def test_predictor_from_folder_and_bundle_agree(binary_run):
    run_dir, _ = binary_run
    new = learnable_frame(n=10, seed=5)
    a = Predictor.load(run_dir).predict(new)
    b = Predictor.load(run_dir / "model.zip").predict(new)
    pd.testing.assert_frame_equal(a, b)


def test_unseen_category_still_predicts(binary_run):
    run_dir, _ = binary_run
    new = pd.DataFrame({"x1": [0.1, -1.0, 2.0], "x2": [0.3, np.nan, 1.0], "colour": ["purple", None, "red"]})

    result = Predictor.load(run_dir).predict(new)

    assert len(result) == 3
    assert result["prediction"].isin(["buy", "skip"]).all()
    assert np.isfinite(result[["probability_buy", "probability_skip"]].to_numpy()).all()


def test_missing_column_is_named(binary_run):
    run_dir, _ = binary_run
    new = learnable_frame(n=5).drop(columns=["y", "colour"])
    with pytest.raises(DataError, match="colour"):
        Predictor.load(run_dir).predict(new)


def test_load_refuses_missing_paths(tmp_path):
    with pytest.raises(DataError, match="not a finished run"):
        Predictor.load(tmp_path)
    with pytest.raises(DataError, match="No run folder or model bundle"):
        Predictor.load(tmp_path / "absent.zip")


# -- bundles -----------------------------------------------------------------------------------------------------------

def make_zip(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD = {"model.keras": b"model", "preparation.json": b"{}", "metrics.json": b"{}"}


def test_read_bundle_accepts_a_clean_bundle():
    files = read_bundle(make_zip({**GOOD, "README.md": b"hello"}))
    assert files == {**GOOD, "README.md": b"hello"}


def test_read_bundle_refuses_non_zip():
    with pytest.raises(DataError, match="not a zip file"):
        read_bundle(b"PK but not really a zip file")


@pytest.mark.parametrize(
    "extra",
    ["../evil", "model.pkl", "preparation.pickle", "sub/model.keras", "/etc/passwd"],
)
def test_read_bundle_refuses_unexpected_members(extra):
    with pytest.raises(DataError, match="unexpected file") as info:
        read_bundle(make_zip({**GOOD, extra: b"x"}))
    assert extra in str(info.value)


@pytest.mark.parametrize("absent", ["model.keras", "preparation.json", "metrics.json"])
def test_read_bundle_refuses_missing_members(absent):
    files = {name: data for name, data in GOOD.items() if name != absent}
    with pytest.raises(DataError, match=f"missing {absent}"):
        read_bundle(make_zip(files))


def test_read_bundle_refuses_oversized_data(monkeypatch):
    bundle = make_zip(GOOD)
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", len(bundle) - 1)
    with pytest.raises(DataError, match="larger than"):
        read_bundle(bundle)


def test_read_bundle_refuses_what_unpacks_too_large(monkeypatch):
    bundle = make_zip({**GOOD, "model.keras": b"\0" * 100_000})  # compresses to a few hundred bytes
    assert len(bundle) < 5_000
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", 50_000)
    with pytest.raises(DataError, match="unpacks to more than"):
        read_bundle(bundle)


def test_bundle_with_invalid_json_is_refused():
    with pytest.raises(DataError, match="not valid"):
        Predictor.from_bundle(make_zip({**GOOD, "preparation.json": b"not json"}))


def test_bundle_with_a_broken_model_is_refused(binary_run):
    run_dir, _ = binary_run
    files = read_bundle((run_dir / "model.zip").read_bytes())
    predictor = Predictor.from_bundle(make_zip({**files, "model.keras": b"definitely not a keras file"}))
    assert isinstance(predictor.preparation, Preparation)
    with pytest.raises(DataError, match="could not be loaded"):
        predictor.predict(learnable_frame(n=3))
