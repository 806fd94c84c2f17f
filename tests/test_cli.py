"""``python -m dlcore``: train, predict and profile in a subprocess, and its one-line errors."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 200
MISSING_TARGETS = 3


def run_cli(args, env, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "dlcore", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def cli_env(runs_dir: Path) -> dict:
    env = dict(os.environ)
    env["DLCORE_RUNS_DIR"] = str(runs_dir)
    env.pop("PYTHONPATH", None)  # the package must be found from the repository root
    return env


def assert_one_error_line(proc, *fragments):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def training_frame(n=N_ROWS, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], size=n)
    label = np.where(x1 - x2 + (group == "a") > 0.3, "up", "down").astype(object)
    return pd.DataFrame({"x1": x1, "x2": x2, "group": group, "label": label})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    frame = training_frame()
    frame.loc[[5, 50, 150], "label"] = None  # rows the CLI must drop and report
    frame.to_csv(base / "train.csv", index=False)
    new = training_frame(n=17, seed=3).drop(columns="label")
    new.loc[0, "group"] = "zzz"  # an unseen category
    new.to_csv(base / "new.csv", index=False)
    return base, cli_env(base / "runs")


@pytest.fixture(scope="module")
def trained(workspace):
    base, env = workspace
    out = base / "run"
    proc = run_cli(["train", base / "train.csv", "--target", "label", "--out", out, "--epochs", 3], env)
    return proc, out


def test_train(trained):
    proc, out = trained
    assert proc.returncode == 0, proc.stderr[-3000:]

    # the default on a small table: an ensemble of 5 networks, each trained for its 3 epochs in turn
    epoch_lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert [re.match(r"epoch (\d+)/3\b", line).group(1) for line in epoch_lines] == ["1", "2", "3"] * 5
    assert all("val_loss=" in line for line in epoch_lines)
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if line.startswith("member ")] == \
        [f"member {i} of 5" for i in range(1, 6)]
    assert f"dropped {MISSING_TARGETS} rows" in proc.stdout
    assert "binary on 'label'" in proc.stdout
    assert "model bundle:" in proc.stdout

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "binary"
    assert metrics["target"] == "label"
    assert metrics["epochs_run"] == 3
    assert metrics["config"]["epochs"] == 3
    assert sum(metrics["rows"].values()) == N_ROWS - MISSING_TARGETS
    assert metrics["members"] == 5 and len(metrics["member_results"]) == 5
    non_test = metrics["rows"]["train"] + metrics["rows"]["validation"]
    assert metrics["out_of_fold"]["rows"] == non_test and set(metrics["out_of_fold"]) >= {"accuracy", "log_loss"}
    assert f"5 network(s) averaged; accuracy={metrics['out_of_fold']['accuracy']:.4g} out of fold on {non_test:,}" \
        in proc.stdout
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 3
    assert history["epoch"].tolist() == [1, 2, 3]
    assert (out / "model.zip").is_file()
    assert f"test accuracy={metrics['test']['accuracy']:.4g}" in proc.stdout


def test_train_one_network(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "label", "--out", tmp_path / "one", "--epochs", 2,
                    "--folds", 1], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert metrics["members"] == 1 and metrics["out_of_fold"]["rows"] == metrics["rows"]["validation"]
    assert not any(line.startswith("member ") for line in proc.stdout.splitlines())
    assert not (tmp_path / "one" / "members").exists()


@pytest.mark.parametrize("which", ["folder", "bundle"])
def test_predict(workspace, trained, which):
    base, env = workspace
    _, out = trained
    model = out if which == "folder" else out / "model.zip"
    target = base / f"predictions-{which}.csv"

    proc = run_cli(["predict", model, base / "new.csv", "--out", target], env)

    assert proc.returncode == 0, proc.stderr[-3000:]
    new = pd.read_csv(base / "new.csv")
    predictions = pd.read_csv(target)
    assert len(predictions) == len(new) == 17
    assert list(predictions.columns[:3]) == ["x1", "x2", "group"]
    assert predictions["prediction"].isin(["down", "up"]).all()
    proba = predictions[["probability_down", "probability_up"]].to_numpy()
    assert proba.sum(axis=1) == pytest.approx(np.ones(17), abs=1e-5)
    assert f"wrote {len(new)} predictions" in proc.stdout
    assert "group: 1 row(s) with a category not seen in training" in proc.stdout


def test_profile(workspace):
    base, env = workspace
    target = base / "profile.json"

    proc = run_cli(["profile", base / "train.csv", "--target", "label", "--out", target], env)

    assert proc.returncode == 0, proc.stderr
    report = json.loads(target.read_text())
    assert report["rows"] == N_ROWS
    assert {name: col["kind"] for name, col in report["columns"].items()} == {
        "x1": "numeric", "x2": "numeric", "group": "categorical", "label": "categorical",  # up/down are not yes/no words
    }
    assert report["columns"]["label"]["null_fraction"] == pytest.approx(MISSING_TARGETS / N_ROWS)
    assert report["task"] == "binary"
    assert report["format"]["delimiter"] == ","


def test_unknown_target(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "price", "--out", tmp_path / "r"], env)
    assert_one_error_line(proc, "'price'", "not in the data")
    assert not (tmp_path / "r").exists()


def test_empty_file(workspace, tmp_path):
    _, env = workspace
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    proc = run_cli(["train", empty, "--target", "label", "--out", tmp_path / "r"], env)
    assert_one_error_line(proc, "empty.csv", "empty")


def test_missing_file(workspace, tmp_path):
    _, env = workspace
    proc = run_cli(["profile", tmp_path / "nothing.csv", "--out", tmp_path / "p.json"], env)
    assert_one_error_line(proc, "File not found")


def test_missing_column_at_predict_time(workspace, trained, tmp_path):
    base, env = workspace
    _, out = trained
    partial = tmp_path / "partial.csv"
    training_frame(n=5, seed=7).drop(columns=["label", "x2"]).to_csv(partial, index=False)

    proc = run_cli(["predict", out / "model.zip", partial, "--out", tmp_path / "p.csv"], env)

    assert_one_error_line(proc, "x2")
    assert not (tmp_path / "p.csv").exists()


def test_predict_streams_and_a_bad_line_late_in_the_file_exits_2_writing_nothing(workspace, trained, tmp_path):
    _, env = workspace
    _, out = trained
    lines = training_frame(n=30, seed=8).drop(columns="label").to_csv(index=False).splitlines()
    lines[25] += ",9"  # data row 25, in the third chunk of 10
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")

    proc = run_cli(["predict", out / "model.zip", tmp_path / "late.csv", "--out", tmp_path / "p.csv",
                    "--chunk-rows", 10], env)

    assert_one_error_line(proc, "late.csv could not be read after its first 20 rows", "line 26")
    assert [path.name for path in tmp_path.iterdir()] == ["late.csv"]  # neither p.csv nor a temporary file


def test_unknown_arch(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "label", "--out", tmp_path / "r", "--arch", "huge"], env)
    assert_one_error_line(proc, "--arch", "huge")


def test_missing_required_flag(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--out", tmp_path / "r"], env)
    assert_one_error_line(proc, "--target")


def test_negative_epochs(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "label", "--out", tmp_path / "r", "--epochs", -1], env)
    assert_one_error_line(proc, "--epochs")


@pytest.mark.parametrize("folds", [-1, 11, "many"])
def test_folds_out_of_range(workspace, tmp_path, folds):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "label", "--out", tmp_path / "r", "--folds", folds], env)
    assert_one_error_line(proc, "--folds")
    assert not (tmp_path / "r").exists()


def test_impossible_task(workspace, tmp_path):
    base, env = workspace
    proc = run_cli(["train", base / "train.csv", "--target", "group", "--task", "regression",
                    "--out", tmp_path / "r"], env)
    assert_one_error_line(proc, "'group'", "not numeric")


def test_profile_has_format_and_alerts(workspace, tmp_path):
    _, env = workspace
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"rownames": rng.permutation(300) + 1, "x": rng.normal(size=300), "const": 7,
                          "y": rng.normal(size=300)})
    frame["y_scaled"] = frame["y"] * 100
    source = tmp_path / "semi.csv"
    source.write_text(frame.to_csv(index=False, sep=";", decimal=","), encoding="cp1252")
    out = tmp_path / "profile.json"
    proc = run_cli(["profile", source, "--target", "y", "--out", out], env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert (report["format"]["delimiter"], report["format"]["decimal"]) == (";", ",")
    alerts = {(a["kind"], a["column"]) for a in report["alerts"]}
    assert {("constant", "const"), ("leakage", "y_scaled"), ("identifier", "rownames")} <= alerts
    assert all(set(a) >= {"column", "kind", "message"} for a in report["alerts"])
    assert "suggested_target" not in report
    proc = run_cli(["profile", source, "--out", out], env)  # no target given: the one a column's name suggests
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["suggested_target"] == "y"


def test_profile_of_garbage_exits_2(workspace, tmp_path):
    _, env = workspace
    source = tmp_path / "noise.csv"
    source.write_bytes(bytes(range(256)) * 16)
    proc = run_cli(["profile", source, "--out", tmp_path / "p.json"], env)
    assert_one_error_line(proc, "not a text table")


def test_a_terminated_train_leaves_its_folder_marked_failed(workspace, tmp_path):
    base, env = workspace
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "dlcore", "train", base / "train.csv", "--target",
                                "label", "--out", out, "--epochs", "100000"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until it trains
        if line.startswith("epoch 2/"):
            break
    process.terminate()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "failed" and "interrupted" in status["error"]
    # the default ensemble: the member training then keeps its curves; those not started say so
    member = json.loads((out / "members" / "1" / "status.json").read_text())
    assert member["state"] == "failed" and "interrupted" in member["error"]
    assert len(pd.read_csv(out / "members" / "1" / "history.csv")) >= 2, "its curves so far are kept"
    assert {json.loads((out / "members" / str(i) / "status.json").read_text())["state"] for i in range(2, 6)} == \
        {"stopped"}
