"""The cross-fitted ensemble: K members, each stopped on the fold it held out, delivered as one safe-mode model that
predicts their mean; the out-of-fold score over every non-test row; reproducible members; a dead member fails the
run and keeps the others; Stop keeps the members trained so far."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from dlcore.architectures import resolve
from dlcore.ensemble import fold_of_rows, members_choice, out_of_fold
from dlcore.jobs import dispatch, recover, start_run
from dlcore.prepared import prepare
from dlcore.runs import Run
from dlcore.training import TrainConfig
from dlcore.workers import train_here

ME = "a" * 32


def table(rows: int = 240, seed: int = 0, task: str = "binary") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame({"a": x[:, 0].round(4), "b": x[:, 1].round(4), "c": rng.choice(["p", "q", "r"], rows)})
    signal_ = x[:, 0] + 0.5 * x[:, 1]
    frame["y"] = np.where(signal_ > 0, "up", "down") if task == "binary" else (3 * signal_).round(3)
    return frame


def load(path):
    import keras

    import dlcore.runtime.layers  # noqa: F401

    return keras.saving.load_model(path, safe_mode=True)


def small_arch(data):
    return resolve("chollet_small", data.x_train.shape[1], len(data.x_train), data.task)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_every_non_test_row_is_held_out_by_exactly_one_member(task):
    data = prepare(table(300, task=task), "y", task)
    folds = fold_of_rows(data, 5, seed=7)
    assert len(folds) == len(data.x_train) + len(data.x_val)
    assert sorted(np.unique(folds)) == [0, 1, 2, 3, 4]
    assert np.bincount(folds).min() >= len(folds) // 5 - 1  # near-equal folds
    if task == "binary":  # stratified: every fold has about the table's share of "up"
        y = np.concatenate([data.y_train, data.y_val])
        shares = [y[folds == i].mean() for i in range(5)]
        assert max(shares) - min(shares) < 0.05
    assert (fold_of_rows(data, 5, seed=7) == folds).all()
    single = fold_of_rows(data, 1, seed=7)  # one network: the validation rows are its only held-out rows
    assert (single == 0).sum() == len(data.x_val) and (single == -1).sum() == len(data.x_train)


def test_the_number_of_members_follows_the_data_and_the_setting():
    assert TrainConfig().folds_for(800) == 5 and TrainConfig().folds_for(40_000) == 3
    assert TrainConfig().folds_for(80_000) == 1
    assert TrainConfig(folds=1).folds_for(800) == 1 and TrainConfig(folds=8).folds_for(40) == 4
    assert TrainConfig(folds=11).problems() and not TrainConfig(folds=10).problems()
    assert "5 networks averaged" in members_choice(TrainConfig(), 800)
    assert members_choice(TrainConfig(), 80_000).startswith("One network, chosen from the 80,000 non-test rows")


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    """A 3-member ensemble trained by the command line's path (members one after another in this process)."""
    data = prepare(table(), "y", "binary", seed=3)
    run_dir = tmp_path_factory.mktemp("ensemble") / "run"
    config = TrainConfig(epochs=4, patience=4, folds=3, seed=3)
    metrics = train_here(data, small_arch(data), config, run_dir)
    return data, Run(run_dir), metrics


def test_the_ensemble_is_one_safe_mode_model_that_predicts_the_mean_of_its_members(ensemble_run):
    data, run, metrics = ensemble_run
    assert run.status == "finished" and metrics["members"] == 3
    model = load(run.run_dir / "model.keras")
    members = [load(folder / "model.keras") for folder in run.member_dirs]
    mean = np.mean([member.predict(data.x_test, verbose=0) for member in members], axis=0)
    assert np.allclose(model.predict(data.x_test, verbose=0), mean, atol=1e-6)
    spread = np.ptp([member.predict(data.x_test, verbose=0) for member in members], axis=0)
    assert spread.max() > 1e-3  # the members differ: their rows and seeds do
    assert set(pd.read_parquet(run.run_dir / "test_predictions.parquet").columns) >= {"prediction"}


def test_the_out_of_fold_score_covers_every_non_test_row_once(ensemble_run):
    data, run, metrics = ensemble_run
    held = metrics["out_of_fold"]
    assert held["rows"] == len(data.x_train) + len(data.x_val)
    assert sum(result["out_of_fold"]["rows"] for result in metrics["member_results"]) == held["rows"]
    assert 0.5 < held["roc_auc"] <= 1 and set(held) >= {"accuracy", "log_loss", "roc_auc"}
    # recomputed from the members' own predictions of the rows they held out
    folds = fold_of_rows(data, 3, seed=3)
    rows = np.concatenate([data.x_train, data.x_val])
    outputs = {i: load(folder / "model.keras").predict(rows[folds == i], verbose=0)
               for i, folder in enumerate(run.member_dirs)}
    assert out_of_fold(data, folds, outputs)["roc_auc"] == pytest.approx(held["roc_auc"], abs=1e-6)
    table_ = run.member_table("roc_auc")
    assert list(table_["status"]) == ["finished"] * 3 and table_["held-out rows"].sum() == held["rows"]


def test_two_trains_with_the_same_seed_give_the_same_members(ensemble_run, tmp_path, monkeypatch):
    """The command line's train and the app's queue give the same members; with one job slot, the queue's worker
    takes each next job itself: the members and the run's own job in one process, TensorFlow imported once."""
    data, run, _ = ensemble_run
    monkeypatch.setenv("DLCORE_MAX_JOBS", "1")
    again = start_run(data, small_arch(data), TrainConfig(epochs=4, patience=4, folds=3, seed=3), dataset="t.csv",
                      owner=ME, root=tmp_path)
    assert again.wait(180) and again.status == "finished", again.error
    jobs = [*again.member_dirs, again.run_dir]
    assert len({json.loads((job / "status.json").read_text())["pid"] for job in jobs}) == 1
    assert all((job / "worker.log").is_file() for job in jobs), "each job's output in its own folder"
    for first, second in zip(run.member_dirs, again.member_dirs):
        for a, b in zip(load(first / "model.keras").get_weights(), load(second / "model.keras").get_weights()):
            assert np.array_equal(a, b)


def test_one_member_is_a_single_network_on_the_validation_split(tmp_path):
    data = prepare(table(), "y", "binary")
    metrics = train_here(data, small_arch(data), TrainConfig(epochs=2, folds=1), tmp_path / "one")
    assert metrics["members"] == 1 and metrics["out_of_fold"]["rows"] == len(data.x_val)
    assert not (tmp_path / "one" / "members").exists()


def queued_ensemble(root, rows=2000, folds=3):
    data = prepare(table(rows), "y", "binary")
    config = TrainConfig(epochs=1000, patience=1000, batch_size=16, folds=folds)
    return start_run(data, small_arch(data), config, dataset="t.csv", owner=ME, root=root)


def wait_until(check, timeout=180, poll=0.1):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(poll)


def test_killing_a_members_worker_fails_the_run_and_keeps_the_finished_members(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_JOBS", "1")
    run = queued_ensemble(tmp_path)
    first, second, third = run.member_dirs
    wait_until(lambda: Run(run.run_dir).member_histories()[0].shape[0] >= 2)
    (first / "stop").write_text("")  # member 1 ends early, with its best weights: a finished member
    wait_until(lambda: run.status_record.get("member") == 2 and len(run.member_histories()[1]) >= 1)
    assert run.status == "running" and "member 2 of 3" in run.status_record["phase"]
    os.kill(run.status_record["pid"], signal.SIGKILL)

    def ended():
        dispatch(tmp_path)  # as the Train page does on every refresh
        if third.joinpath("status.json").exists() and Run(run.run_dir).status_record.get("member") == 3:
            (third / "stop").write_text("")  # no need to train member 3 to the end
        return run.done

    wait_until(ended)
    assert run.status == "failed" and "Member 2 of 3 failed" in run.error and "ended unexpectedly" in run.error
    assert (first / "model.keras").is_file() and not (second / "model.keras").is_file()

    recover(run)  # "Evaluate the best checkpoint": the finished members and member 2's last best weights
    wait_until(lambda: (dispatch(tmp_path), run.done)[1])
    assert run.status == "recovered", run.error
    assert run.metrics["members"] >= 2 and (run.run_dir / "model.zip").is_file()


def test_stop_keeps_the_members_trained_so_far(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_JOBS", "1")
    run = queued_ensemble(tmp_path, folds=4)
    wait_until(lambda: len(run.member_histories()[0]) >= 2)
    (run.member_dirs[0] / "stop").write_text("")
    wait_until(lambda: len(run.member_histories()[1]) >= 2)
    run.stop()
    wait_until(lambda: (dispatch(tmp_path), run.done)[1])
    assert run.status == "stopped", run.error
    assert run.metrics["members"] == 2 and run.metrics["stopped_by_user"]
    assert run.metrics["out_of_fold"]["rows"] == sum(r["out_of_fold"]["rows"] for r in run.metrics["member_results"])
    assert [state for state in run.member_table("accuracy")["status"]] == ["stopped", "stopped", "stopped", "stopped"]
