"""Runs on disk: found again by id after a refresh, listed per browser session, kept apart, ranked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlcore.architectures import resolve
from dlcore.preparation import prepare
from dlcore.runs import RUN_FILE, RunRecord, TrainingJob, find_run, leaderboard, list_runs, new_run_dir
from dlcore.training import TrainConfig


def small_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": np.where(x.sum(axis=1) > 0, "up", "down")})
    return prepare(frame, "y", "binary")


def start(root, owner: str, epochs: int = 3) -> TrainingJob:
    data = small_data()
    arch = resolve("chollet_small", data.x_train.shape[1], len(data.x_train))
    return TrainingJob(data, arch, TrainConfig(epochs=epochs, patience=epochs), new_run_dir(root),
                       dataset="small.csv", owner=owner).start()


def test_finished_run_is_read_back_from_its_folder(tmp_path):
    job = start(tmp_path, "me")
    assert job.wait(120) and job.status == "finished", job.error
    record = RunRecord(job.run_dir)
    assert record.status == "finished" and record.metrics == json.loads(json.dumps(job.metrics))
    assert len(record.history) == 3 and record.info["dataset"] == "small.csv"
    assert find_run(job.run_id, tmp_path) is job  # the live job while this process holds it


def test_unknown_or_malformed_ids_find_nothing(tmp_path):
    assert find_run("0" * 32, tmp_path) is None
    assert find_run("../etc", tmp_path) is None
    assert find_run("", tmp_path) is None


def test_a_run_left_running_by_a_restart_is_interrupted(tmp_path):
    folder = tmp_path / ("a" * 32)
    folder.mkdir()
    (folder / RUN_FILE).write_text(json.dumps({"owner": "me", "status": "running", "created": 1.0,
                                               "max_epochs": 5, "architecture": "x"}))
    record = find_run(folder.name, tmp_path)
    assert record.status == "interrupted" and "restarted" in record.error


def test_two_sessions_training_at_once_stay_apart(tmp_path):
    mine, theirs = start(tmp_path, "me", epochs=4), start(tmp_path, "you", epochs=2)
    assert mine.wait(120) and theirs.wait(120)
    assert (mine.status, theirs.status) == ("finished", "finished")
    assert [len(mine.history), len(theirs.history)] == [4, 2]
    assert [run.run_id for run in list_runs("me", tmp_path)] == [mine.run_id]
    assert [run.run_id for run in list_runs("you", tmp_path)] == [theirs.run_id]
    assert list_runs("", tmp_path) == []
    table = leaderboard(list_runs("me", tmp_path))
    assert table.loc[0, "architecture"] == mine.info["architecture"]
    assert table.loc[0, "test score"] == pytest.approx(mine.metrics["test"][mine.metrics["primary_metric"]])


def churn_csv() -> bytes:
    rng = np.random.default_rng(0)
    minutes = rng.normal(200, 50, 200).round(1)
    return pd.DataFrame({"minutes": minutes, "calls": rng.integers(0, 9, 200),
                         "churn": np.where(minutes > 210, "yes", "no")}).to_csv(index=False).encode()


def test_run_comes_back_in_a_new_session_from_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(tmp_path))
    first = AppTest.from_file("../app.py", default_timeout=120).run()
    first.file_uploader[0].upload("churn.csv", churn_csv(), "text/csv").run()
    first.session_state["train_config"].epochs = 3
    first.switch_page("pages/train.py").run()
    first.button[0].click().run()
    job = first.session_state["job"]
    assert first.query_params["run"] == job.run_id
    assert job.wait(120) and job.status == "finished"

    again = AppTest.from_file("../app.py", default_timeout=120)  # a refresh: a new session, the same URL
    again.query_params["run"] = job.run_id
    again.run()
    assert again.session_state["job"].run_id == job.run_id
    again.switch_page("pages/train.py").run()
    assert not again.exception
    assert "Training finished after 3 epochs" in again.success[0].value
    again.switch_page("pages/runs.py").run()
    assert not again.exception
    assert list(again.dataframe[0].value["run"]) == [job.run_id[:8]]

    stranger = AppTest.from_file("../app.py", default_timeout=120).run()
    stranger.switch_page("pages/runs.py").run()
    assert "No runs yet" in stranger.info[0].value
