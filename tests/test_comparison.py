"""Every model of a data set on the same test rows: the runs that held out exactly those rows, ranked with the
baselines, each with its paired-bootstrap interval against the run on show; on the Results page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import churn_frame
from dlcore.architectures import resolve
from dlcore.comparison import THIS_RUN, comparable_runs, leaderboard_on_test
from dlcore.evaluation import score
from dlcore.jobs import start_run
from dlcore.prepared import prepare
from dlcore.runs import Run, list_runs
from dlcore.training import TrainConfig

OWNER = "d" * 32
CLASSES = ["no", "yes"]


def trained(frame: pd.DataFrame, root, seed: int = 42, learning_rate: float = 0.01, preset: str = "auto") -> Run:
    data = prepare(frame, "churn", "binary", seed=seed)
    arch = resolve(preset, data.x_train.shape[1], len(data.x_train))
    run = start_run(data, arch, TrainConfig(epochs=4, learning_rate=learning_rate, folds=1, seed=seed),
                    dataset="churn.csv", owner=OWNER, root=root)
    assert run.wait(180) and run.status == "finished", run.error
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs on one data set: two share the split (seed 42), one splits with another seed; and a run of the
    same file name with other rows."""
    root = tmp_path_factory.mktemp("runs")
    frame = churn_frame(400, 1, gaps=False)
    first = trained(frame, root)
    second = trained(frame, root, learning_rate=0.001, preset="chollet_small")
    resplit = trained(frame, root, seed=7)
    other_rows = trained(churn_frame(400, 2, gaps=False), root)
    return root, first, second, resplit, other_rows


def test_only_runs_that_held_out_the_same_rows_are_compared(runs):
    root, first, second, resplit, other_rows = runs
    assert [run.run_dir for run in comparable_runs(first, list_runs(OWNER, root))] == [second.run_dir]


def test_the_leaderboard_ranks_every_model_with_its_interval_against_this_run(runs):
    _, first, second, _, _ = runs
    table = leaderboard_on_test(first, [second], CLASSES)
    metric = first.metrics["primary_metric"]
    assert metric == "accuracy"
    score_column, difference, interval = "test Accuracy", "this run − model (Accuracy)", "95% interval"
    assert list(table.columns) == ["model", "run", "architecture", score_column, difference, interval,
                                   "clear difference"]
    assert len(table) == 2 + len(first.metrics["baselines"])
    assert table[score_column].is_monotonic_decreasing  # best first

    mine = table.set_index("run").loc[THIS_RUN]
    assert mine[score_column] == pytest.approx(first.metrics["test"]["accuracy"])
    theirs = table.set_index("run").loc[second.run_id[:8]]
    actual = first.test_rows()["churn"]
    predicted = second.test_predictions()
    expected = score("binary", actual, predicted["prediction"],
                     predicted[["probability_no", "probability_yes"]].to_numpy(), CLASSES)["accuracy"]
    assert theirs[score_column] == pytest.approx(expected) == pytest.approx(second.metrics["test"]["accuracy"])
    assert theirs[difference] == pytest.approx(mine[score_column] - theirs[score_column])
    low, high = (float(bound) for bound in theirs[interval].split(" to "))
    assert low <= theirs[difference] <= high
    assert theirs["clear difference"] == ("no" if low <= 0 <= high else "yes")

    naive = table.set_index("model").loc["Majority class"]  # the baselines' rows are the run's own verdict's
    judged = first.metrics["differences"]["naive"]
    assert naive[score_column] == pytest.approx(first.metrics["baselines"]["naive"]["accuracy"])
    assert naive[difference] == pytest.approx(judged["difference"])


def test_results_shows_the_leaderboard_of_the_sessions_runs(runs, monkeypatch):
    root, first, second, _, _ = runs
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(root))
    app = AppTest.from_file("../app.py", default_timeout=120)
    app.session_state["owner"] = OWNER
    app.session_state["job"] = first
    app.run()
    app.switch_page("pages/results.py").run()
    assert not app.exception
    assert "Every model of this data set on the same test rows" in [header.value for header in app.subheader]
    table = next(frame.value for frame in app.dataframe if "clear difference" in frame.value.columns
                 and "run" in frame.value.columns)
    assert set(table["run"]) >= {THIS_RUN, second.run_id[:8]}
    assert np.isfinite(table["test Accuracy"]).all()
