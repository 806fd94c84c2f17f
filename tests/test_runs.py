"""Runs as jobs in worker processes: reproducible side by side, killed, stopped, queued, listed, shared, restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlcore.architectures import resolve
from dlcore.evaluation import METRIC_TITLES
from dlcore.jobs import LimitError, queue_position, recover, start_run
from dlcore.prepared import prepare
from dlcore.runs import RUN_FILE, Run, find_run, leaderboard, list_runs
from dlcore.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ME, YOU = "a" * 32, "b" * 32


def small_data(rows: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": np.where(x.sum(axis=1) > 0, "up", "down")})
    return prepare(frame, "y", "binary")


def start(root, owner: str = ME, epochs: int = 3, data=None, batch_size: int = 0) -> Run:
    """A run of one network (the ensemble's jobs: tests/test_ensemble.py)."""
    data = data or small_data()
    arch = resolve("chollet_small", data.x_train.shape[1], len(data.x_train))
    config = TrainConfig(epochs=epochs, patience=epochs, batch_size=batch_size, folds=1)
    return start_run(data, arch, config, dataset="small.csv", owner=owner, root=root)


def wait_for_epochs(run: Run, epochs: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while len(run.history) < epochs:
        assert time.monotonic() < deadline and not run.done, f"no epoch {epochs}: {run.status} {run.error}"
        time.sleep(0.05)
    return len(run.history)


def weights(run: Run) -> list[np.ndarray]:
    import keras

    return keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True).get_weights()


def test_two_runs_at_the_same_moment_train_as_each_would_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_JOBS", "2")
    alone = start(tmp_path / "alone", epochs=4)
    assert alone.wait(180) and alone.status == "finished", alone.error
    first, second = start(tmp_path / "both", epochs=4), start(tmp_path / "both", owner=YOU, epochs=4)
    assert first.wait(180) and second.wait(180)
    assert (first.status, second.status) == ("finished", "finished")
    assert abs(first.status_record["started"] - second.status_record["started"]) < 10, "they trained side by side"
    for run in (first, second):
        assert run.metrics["test"] == alone.metrics["test"]
        assert all(np.array_equal(a, b) for a, b in zip(weights(run), weights(alone)))


def test_a_killed_worker_leaves_a_failed_run_with_its_curves_and_a_usable_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr("dlcore.training.CHECKPOINT_SECONDS", 0.0)
    run = start(tmp_path, epochs=1000, data=small_data(2000), batch_size=16)
    wait_for_epochs(run, 3)
    os.kill(run.status_record["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while run.status != "failed":
        assert time.monotonic() < deadline, run.status
        time.sleep(0.1)
    assert "ended unexpectedly" in run.error
    assert len(run.history) >= 3 and run.has_checkpoint

    import keras

    model = keras.saving.load_model(run.run_dir / "best.keras", safe_mode=True)
    data = run.prepared()
    outputs = model.predict(data.x_test, verbose=0)
    assert outputs.shape == (len(data.x_test), 1) and np.isfinite(outputs).all()

    recover(run)  # evaluate it: scores, baselines and the bundle, like a finished run
    assert run.wait(180) and run.status == "recovered", run.error
    assert run.metrics["recovered_from_checkpoint"] and (run.run_dir / "model.zip").is_file()
    assert run.metrics["epochs_run"] == len(run.history)


def test_stop_ends_a_run_within_one_epoch(tmp_path):
    # epochs of ~700 steps: one lasts far longer than the test's polling, however busy the machine
    run = start(tmp_path, epochs=1000, data=small_data(8000), batch_size=8)
    seen = wait_for_epochs(run, 2)
    run.stop()
    assert run.wait(120) and run.status == "stopped", run.error
    assert run.metrics["stopped_by_user"] and run.metrics["epochs_run"] <= seen + 1
    assert (run.run_dir / "model.zip").is_file()


def test_a_third_job_waits_in_the_queue_when_the_limit_is_two(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_JOBS", "2")
    first, second, third = (start(tmp_path, owner=owner, epochs=400) for owner in (ME, YOU, "c" * 32))
    assert (first.status, second.status, third.status) == ("running", "running", "queued")
    assert queue_position(third) == {"position": 1, "waiting": 1, "running": 2, "limit": 2}
    first.stop()
    assert first.wait(120)
    deadline = time.monotonic() + 60
    while third.status == "queued":  # the ending worker starts the next job itself
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert third.status in ("running", "finished")
    second.stop(), third.stop()
    assert second.wait(120) and third.wait(120)


def test_a_session_over_its_limit_is_told_so(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_RUNS_PER_SESSION", "1")
    run = start(tmp_path, epochs=400)
    with pytest.raises(LimitError, match="DLCORE_MAX_RUNS_PER_SESSION=1"):
        start(tmp_path)
    other = start(tmp_path, owner=YOU, epochs=1)  # another session is not held back
    run.stop()
    assert run.wait(120) and other.wait(120)


def test_a_job_outlives_the_process_that_started_it(tmp_path):
    """As when the Streamlit server restarts: the worker runs in its own session and finishes."""
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from tests.test_runs import start; "
              "print(start(sys.argv[2], epochs=3).run_dir)")
    started = subprocess.run([sys.executable, "-c", script, str(ROOT), str(tmp_path)], capture_output=True,
                             text=True, timeout=120, cwd=ROOT)
    run = Run(Path(started.stdout.strip().splitlines()[-1]))
    assert run.wait(180) and run.status == "finished", run.error


def test_unknown_or_malformed_ids_find_nothing(tmp_path):
    assert find_run("0" * 32, tmp_path) is None
    assert find_run("../etc", tmp_path) is None
    assert find_run("", tmp_path) is None


def damage(root: Path) -> None:
    """A damaged run.json, a foreign folder and a stray file beside the good runs."""
    (root / ("d" * 32)).mkdir(parents=True)
    (root / ("d" * 32) / RUN_FILE).write_text('{"owner": ')
    (root / "holiday-photos").mkdir()
    (root / "notes.txt").write_text("hello")


def test_runs_of_each_session_are_listed_and_damaged_folders_skipped(tmp_path):
    mine, theirs = start(tmp_path, ME, epochs=3), start(tmp_path, YOU, epochs=2)
    damage(tmp_path)
    assert mine.wait(180) and theirs.wait(180)
    assert [run.run_id for run in list_runs(ME, tmp_path)] == [mine.run_id]
    assert [run.run_id for run in list_runs(YOU, tmp_path)] == [theirs.run_id]
    assert list_runs("", tmp_path) == []
    table = leaderboard(list_runs(ME, tmp_path))
    assert table.loc[0, "architecture"] == mine.info["architecture"]
    title = METRIC_TITLES[mine.metrics["primary_metric"]]
    assert table.loc[0, f"test {title}"] == pytest.approx(mine.metrics["test"][mine.metrics["primary_metric"]])
    assert list(table.columns[:5]) == ["run", "status", "data", "target", f"test {title}"], "scores before the wide"
    assert json.loads((mine.run_dir / RUN_FILE).read_text())["owner"] != ME, "the folder keeps a hash, not the secret"


def churn_csv() -> bytes:
    rng = np.random.default_rng(0)
    minutes = rng.normal(200, 50, 200).round(1)
    return pd.DataFrame({"minutes": minutes, "calls": rng.integers(0, 9, 200),
                         "churn": np.where(minutes > 210, "yes", "no")}).to_csv(index=False).encode()


@pytest.fixture
def trained_in_app(tmp_path, monkeypatch):
    """An app session of a signed-in user (Streamlit's own test hook for st.user) that trained a run; its URL, and the
    runs folder with a damaged folder beside the run. (A browser's cookie session: tests/test_browser.py.)"""
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file("../app.py", default_timeout=120)
    app.user = OWNER
    app.run()
    app.file_uploader[0].upload("churn.csv", churn_csv(), "text/csv").run()
    app.session_state["train_config"].epochs = 3
    app.switch_page("pages/train.py").run()
    app.button[0].click().run()
    run = app.session_state["job"]
    assert app.query_params["run"] == [run.run_id] or app.query_params["run"] == run.run_id
    assert run.wait(180) and run.status == "finished", run.error
    damage(tmp_path)
    return app, run


OWNER = {"is_logged_in": True, "sub": "owner-subject", "email": "owner@example.com"}
GUEST = {"is_logged_in": True, "sub": "guest-subject", "email": "guest@example.com"}


def test_the_owner_gets_the_run_back_after_a_refresh(trained_in_app):
    first, run = trained_in_app
    again = AppTest.from_file("../app.py", default_timeout=120)  # a refresh: a new session, the same URL
    again.user = OWNER
    again.query_params["run"] = run.run_id
    again.run()
    assert again.session_state["job"].run_id == run.run_id and not again.session_state["shared"]
    again.switch_page("pages/train.py").run()
    assert not again.exception
    # the app's default, an ensemble: each member's curve and row, and the out-of-fold score of all of them
    assert again.success[0].value.startswith("Training finished: 5 networks averaged into one model")
    held = run.metrics["out_of_fold"]
    assert held["rows"] == 160 and f"{held['accuracy']:.4g}" in again.success[0].value
    members = next(frame.value for frame in again.dataframe if "member" in frame.value.columns)
    assert list(members["status"]) == ["finished"] * 5 and list(members["epochs"]) == [3] * 5
    assert members["held-out rows"].sum() == 160
    assert any("each member" in chart.proto.spec for chart in again.get("plotly_chart"))
    again.switch_page("pages/runs.py").run()
    assert not again.exception, "a damaged run.json beside the good run leaves the Runs page working"
    assert list(again.dataframe[0].value["run"]) == [run.run_id[:8]]


def test_a_share_link_shows_the_run_read_only_and_nothing_else(trained_in_app):
    owner, run = trained_in_app
    owner.switch_page("pages/train.py").run()
    link = next(code.value for code in owner.code if f"?run={run.run_id}" in code.value)
    assert "session" not in link and owner.session_state["owner"] not in link

    guest = AppTest.from_file("../app.py", default_timeout=120)  # another signed-in user
    guest.user = GUEST
    guest.query_params["run"] = run.run_id
    guest.run()
    assert guest.session_state["shared"] and guest.session_state["owner"] != owner.session_state["owner"]
    guest.switch_page("pages/results.py").run()
    assert not guest.exception
    assert guest.metric[0].value == f"{run.metrics['test'][run.metrics['primary_metric']]:.4g}"
    tables = [df.value for df in guest.dataframe if "prediction" in df.value.columns]
    assert tables and all("minutes" not in table.columns for table in tables), "no input rows of the owner's"
    assert "Download model" in [b.label for b in guest.get("download_button")]
    guest.switch_page("pages/train.py").run()
    assert not guest.exception
    assert not any(b.label == "Stop" for b in guest.button), "no Stop for a guest"
    guest.switch_page("pages/runs.py").run()
    assert "No runs yet" in guest.info[0].value, "none of the owner's runs"


def test_a_signed_in_user_finds_their_runs_from_another_browser_without_a_link(trained_in_app):
    _, run = trained_in_app
    elsewhere = AppTest.from_file("../app.py", default_timeout=120)  # no cookie, no ?run=: the sign-in alone
    elsewhere.user = OWNER
    elsewhere.run()
    assert elsewhere.session_state["job"].run_id == run.run_id and not elsewhere.session_state["shared"]
    elsewhere.switch_page("pages/runs.py").run()
    assert list(elsewhere.dataframe[0].value["run"]) == [run.run_id[:8]]
    anonymous = AppTest.from_file("../app.py", default_timeout=120)
    anonymous.run()
    assert anonymous.session_state["job"] is None
    anonymous.switch_page("pages/runs.py").run()
    assert "No runs yet" in anonymous.info[0].value
