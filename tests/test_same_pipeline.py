"""The app and the command line run one pipeline: the same file and seed give the same preparation and the same
model, because each column's kind is decided once, on the whole loaded table, and passed on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.decisions import column_kind, decide_kinds
from dlcore.runtime.inference import Predictor

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 3


def coded_frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A code that is almost unique per row (six repeats): on the whole table a category, on a training split alone
    unique per row, where it would look like an identifier."""
    rng = np.random.default_rng(seed)
    codes = [f"c{i:03d}" for i in range(rows - 6)] + [f"c{i:03d}" for i in range(6)]
    x = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    return pd.DataFrame({"x": x.round(4), "code": rng.permutation(codes), "colour": colour,
                         "label": np.where(x + (colour == "red") > 0.3, "high", "low")})


def test_a_column_kind_would_differ_on_the_training_rows_alone():
    """The trap this guards against: inferring kinds again on training rows changes a column's kind."""
    frame = coded_frame()
    assert decide_kinds(frame)["code"] == "categorical"
    assert column_kind(frame["code"].drop_duplicates()) == "identifier"


def test_the_app_and_the_command_line_build_the_same_preparation_and_predictions(open_app, tmp_path):
    frame = coded_frame()
    path = tmp_path / "coded.csv"
    frame.to_csv(path, index=False)

    app = open_app(path.read_bytes(), "coded.csv")
    assert app.session_state["target"] == "label"
    app.session_state["train_config"].epochs = EPOCHS
    app.switch_page("pages/train.py").run()
    next(button for button in app.button if button.label == "Train").click().run()
    run = app.session_state["job"]
    assert run.wait(240) and run.status == "finished", run.error

    out = tmp_path / "cli_run"
    env = {**os.environ, "DLCORE_RUNS_DIR": str(tmp_path / "runs")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(path), "--target", "label", "--out", str(out),
                           "--epochs", str(EPOCHS), "--backend", "local"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    in_app = json.loads((run.run_dir / "preparation.json").read_text())
    on_cli = json.loads((out / "preparation.json").read_text())
    assert in_app["kinds"]["code"] == on_cli["kinds"]["code"] == "categorical"
    assert in_app == on_cli

    rows = frame.drop(columns="label")
    app_predictions = Predictor.load(run.run_dir).predict(rows)
    cli_predictions = Predictor.load(out).predict(rows)
    assert app_predictions["prediction"].tolist() == cli_predictions["prediction"].tolist()
    np.testing.assert_allclose(app_predictions["probability_high"], cli_predictions["probability_high"], atol=1e-6)


def test_a_browser_run_trains_again_from_its_settings_file_on_the_command_line(open_app, tmp_path):
    """Non-default preparation, a preset and non-default training, chosen in the app: the run's settings.json
    alone makes the command line build the same preparation, the same weights and the same predictions."""
    from dlcore.settings import Settings
    from dlcore.training import TrainConfig

    frame = coded_frame(80, 1)
    path = tmp_path / "coded.csv"
    frame.to_csv(path, index=False)
    app = open_app(path.read_bytes(), "coded.csv")
    app.session_state["column_options"] = {"x": {"scale": "robust", "log": True}}
    app.session_state["arch_name"] = "chollet_small"
    app.session_state["seed"] = 5
    app.session_state["train_config"] = TrainConfig(epochs=EPOCHS, batch_size=16, learning_rate=0.003, patience=4,
                                                    optimizer="rmsprop", schedule="constant", folds=1)
    app.switch_page("pages/train.py").run()
    next(button for button in app.button if button.label == "Train").click().run()
    run = app.session_state["job"]
    assert run.wait(240) and run.status == "finished", run.error
    kept = Settings.load(run.run_dir)
    assert kept.architecture.name == "chollet_small" and kept.training.optimizer == "rmsprop"
    assert kept.data.seed == kept.training.seed == 5 and kept.data.options["x"] == {"scale": "robust", "log": True}

    out = tmp_path / "cli_run"
    env = {**os.environ, "DLCORE_RUNS_DIR": str(tmp_path / "runs")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(path), "--config",
                           str(run.run_dir / "settings.json"), "--out", str(out), "--backend", "local"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    assert json.loads((run.run_dir / "preparation.json").read_text()) == json.loads((out / "preparation.json")
                                                                                     .read_text())
    assert Settings.load(out) == kept
    in_app, on_cli = Predictor.load(run.run_dir), Predictor.load(out)
    for mine, theirs in zip(in_app.model.get_weights(), on_cli.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    rows = frame.drop(columns="label")
    pd.testing.assert_frame_equal(in_app.predict(rows), on_cli.predict(rows))
