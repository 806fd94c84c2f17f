"""Tune: Optuna's study in the tune's folder as a journal, trials as queued jobs, pruning, budgets, resuming after a
restart, keeping the best as a normal run; the command line's ``tune`` and the Tune page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from conftest import churn_frame, to_csv
from dlcore.architectures import validate
from dlcore.prepared import prepare
from dlcore.runs import JOB_FILE, STATUS_FILE, Run, read_status
from dlcore.runtime.files import write_json
from dlcore.runtime.loading import Dataset
from dlcore.selection import greedy_weights, mix, prediction_loss
from dlcore.training import TrainConfig
from dlcore.search_space import BATCH_SIZES, suggest
from dlcore.tuning import (OUT_OF_FOLD_FILE, STUDY_FILE, STUDY_NAME, TRIALS_DIR, TUNES_DIR, Tune, find_tune, keep_best,
                           open_study, resume, start_tune)

ROOT = Path(__file__).resolve().parents[1]
ME = "a" * 32
ENDED = (TrialState.COMPLETE, TrialState.PRUNED)
QUICK = TrainConfig(epochs=3, patience=3, folds=2)  # each trial: two networks, one per fold


def journal_trials(tune_dir: Path) -> list:
    """The study's trials read straight from the journal file, as a fresh process would."""
    storage = JournalStorage(JournalFileBackend(str(tune_dir / STUDY_FILE)))
    return optuna.load_study(study_name=STUDY_NAME, storage=storage).get_trials()


@pytest.fixture(scope="module")
def data():
    return prepare(churn_frame(240), "churn", "binary")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, data):
    """A tune of two trials of three epochs, two at once, finished."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLCORE_MAX_JOBS", "2")
        source = Dataset("churn.csv", churn_frame(240), "digest"), {"target": "churn", "task": "binary"}
        tune = start_tune(data, 2, config=QUICK, dataset="churn.csv", owner=ME, root=root, source=source)
        assert tune.wait(300), tune.leaderboard()
    return tune


@pytest.mark.parametrize("task, classes", [("binary", 2), ("multiclass", 4), ("regression", 0)])
def test_the_search_space_gives_configs_that_train(task, classes):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    base = TrainConfig(epochs=7, patience=3, seed=5)
    seen = set()
    for _ in range(200):
        arch, config = suggest(study.ask(), n_features=12, n_rows=500, task=task, base=base)
        validate(arch, config, task, classes)
        assert 1 <= len(arch.layers) <= 4 and all(64 <= layer.units <= 512 for layer in arch.layers)
        assert all(0 <= layer.dropout <= 0.5 and 1e-6 <= layer.l2 <= 1e-2 for layer in arch.layers)
        assert 1e-4 <= config.learning_rate <= 1e-2 and config.batch_size in BATCH_SIZES
        assert config.optimizer in ("adam", "adamw")
        assert (config.epochs, config.patience, config.seed) == (7, 3, 5), "the base settings are kept"
        seen.add((len(arch.layers), config.optimizer))
    assert len(seen) == 8, "every depth with both optimizers comes up"


def test_a_tune_keeps_its_study_as_a_journal_in_its_folder(tuned):
    assert tuned.tune_dir.parent.name == TUNES_DIR and (tuned.tune_dir / STUDY_FILE).is_file()
    trials = journal_trials(tuned.tune_dir)
    assert len(trials) == 2 and all(trial.state in ENDED for trial in trials)
    for trial in trials:
        assert set(trial.params) == {"layers", "width", "dropout", "l2", "learning_rate", "batch_size", "optimizer",
                                     "weight_decay", "numeric_embedding"}
        assert trial.user_attrs["epochs"] == 3 and trial.user_attrs["seconds"] > 0
        assert len(trial.intermediate_values) == 3, "the first fold's epochs were reported for pruning"
        assert trial.user_attrs["members"] == 2 and 0.5 < trial.user_attrs["out_of_fold"] <= 1  # ROC AUC
        folder = tuned.tune_dir / TRIALS_DIR / str(trial.number)
        assert (folder / "history.csv").is_file() and (folder / "worker.log").is_file(), "trained by a worker"
        # scored out of fold: every non-test row once, and the value is those rows' log loss
        held = np.load(folder / OUT_OF_FOLD_FILE)
        data = tuned.prepared()
        assert held.shape == (len(data.x_train) + len(data.x_val), 1) and not np.isnan(held).any()
        targets = np.concatenate([data.y_train, data.y_val])
        assert trial.value == pytest.approx(prediction_loss("binary", targets, held), rel=1e-5)
    first = min(trials, key=lambda trial: trial.number)
    assert first.params["layers"] == 3 and first.params["width"] == 256  # the search starts from Auto
    assert first.params["numeric_embedding"] == "periodic" and first.params["optimizer"] == "adamw"
    table = tuned.leaderboard()
    assert list(table["state"]) == ["finished", "finished"]
    assert table["out-of-fold loss"].is_monotonic_increasing, "best first"
    assert tuned.state == "finished" and tuned.best().value == table["out-of-fold loss"].min()
    assert list(table["members"]) == [2, 2]
    assert find_tune(tuned.tune_dir.name, tuned.root).owned_by(ME)


def test_a_resumed_study_adds_trials_after_a_restart(tuned, monkeypatch):
    before = {trial.number: (trial.params, trial.value) for trial in journal_trials(tuned.tune_dir)}
    # as if the machine had restarted while a third trial trained: the study says running, its worker is gone
    study = open_study(tuned.tune_dir)
    lost = study.ask()
    folder = tuned.tune_dir / TRIALS_DIR / str(lost.number)
    write_json(folder / JOB_FILE, {"kind": "trial", "trial": lost.number, "trial_id": lost._trial_id})
    write_json(folder / STATUS_FILE, {"state": "running", "pid": 2**22 + 7, "heartbeat": time.time() - 3600})

    monkeypatch.setenv("DLCORE_MAX_JOBS", "2")
    again = resume(Tune(tuned.tune_dir), trials=3)  # a fresh reader, as after a restart
    assert again.wait(300), again.leaderboard()
    trials = journal_trials(tuned.tune_dir)
    assert [t.state for t in trials if t.number == lost.number] == [TrialState.FAIL], "the lost trial is settled"
    assert "ended unexpectedly" in trials[lost.number].user_attrs["ended"]
    assert sum(t.state in ENDED for t in trials) == 3 and len(trials) == 4, "a new trial replaced the lost one"
    assert {t.number: (t.params, t.value) for t in trials if t.number in before} == before


def test_the_caruana_ensemble_scores_at_least_its_best_trial_out_of_fold(tuned):
    chosen = tuned.selection()
    best = tuned.best()
    assert chosen["loss"] <= best.value + 1e-9, "its first round picks the best trial"
    weights = {item["trial"]: item["weight"] for item in chosen["ensemble"]}
    assert sum(weights.values()) == pytest.approx(1) and set(weights) <= {0, 1}
    assert chosen["out_of_fold"]["rows"] == len(tuned.prepared().x_train) + len(tuned.prepared().x_val)
    assert chosen["default_only"] == (list(weights) == [0])


def test_the_greedy_selection_mixes_models_that_err_on_different_rows():
    targets = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    left = np.array([0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.5, 0.5])[:, None]  # right on the first half
    right = np.array([0.9, 0.1, 0.5, 0.5, 0.1, 0.9, 0.1, 0.9])[:, None]  # right on the second half
    bad = np.full((8, 1), 0.5)
    loss = lambda outputs: prediction_loss("binary", targets, outputs)  # noqa: E731
    weights, mixed = greedy_weights({0: left, 1: right, 2: bad}, loss)
    assert {0, 1} <= set(weights) and mixed < min(loss(left), loss(right), loss(bad))
    assert sum(weights.values()) == pytest.approx(1)
    assert mix({0: left, 1: right, 2: bad}, weights) == pytest.approx(
        sum(weights.get(key, 0) * output for key, output in enumerate((left, right, bad))))
    assert loss(mix({0: left, 1: right, 2: bad}, weights)) == pytest.approx(mixed)


def test_keeping_the_best_delivers_the_selected_ensemble_as_a_normal_run(tuned):
    chosen = tuned.selection()
    run = keep_best(tuned, owner=ME)
    assert run.wait(300) and run.status == "finished", run.error
    assert run.owned_by(ME) and (run.run_dir / "model.zip").is_file()
    assert run.info["architecture"].startswith("Tuned ensemble: trial")
    ensemble = run.metrics["ensemble"]
    assert [(item["trial"], round(item["weight"], 6)) for item in ensemble] == \
        [(item["trial"], item["weight"]) for item in chosen["ensemble"]]
    assert run.metrics["out_of_fold"]["roc_auc"] == pytest.approx(chosen["out_of_fold"]["roc_auc"])
    assert run.metrics["members"] == 2 * len(ensemble)
    assert run.metrics["test"], "scored on the test split, next to the baselines"
    assert Tune(tuned.tune_dir).info["kept"][-1] == {"run": run.run_id, "trials": [i["trial"] for i in ensemble]}
    kept, setup = Dataset.load(run.run_dir)  # the tune's data set goes with the run, for a refresh to bring back
    assert kept.name == "churn.csv" and len(kept.frame) == 240 and setup["target"] == "churn"


def long_tune_training(root, trials: int, monkeypatch):
    """A tune of long trials, one at a time, once its first trial has finished an epoch: (tune, that trial's folder)."""
    monkeypatch.setenv("DLCORE_MAX_JOBS", "1")
    big = prepare(churn_frame(3000, seed=1), "churn", "binary")
    tune = start_tune(big, trials, config=TrainConfig(epochs=1000, patience=1000, folds=2), root=root)
    trial_dir = tune.tune_dir / TRIALS_DIR / "0"
    deadline = time.monotonic() + 120
    while not (trial_dir / "history.csv").exists():
        assert time.monotonic() < deadline, tune.leaderboard()
        time.sleep(0.2)
    return tune, trial_dir


def test_stop_ends_the_trials_and_asks_no_more(tmp_path, data, monkeypatch):
    tune, trial_dir = long_tune_training(tmp_path, 5, monkeypatch)
    tune.stop()
    assert tune.wait(120) and tune.state == "stopped"
    trials = journal_trials(tune.tune_dir)
    assert len(trials) == 1 and trials[0].state == TrialState.COMPLETE and trials[0].user_attrs["ended"] == "stopped"
    assert read_status(trial_dir)["state"] == "stopped"


def test_a_time_limit_cuts_the_trials_in_flight_and_asks_no_more(tmp_path, monkeypatch):
    tune, trial_dir = long_tune_training(tmp_path, 50, monkeypatch)
    tune = resume(tune, 50, minutes=0.05)  # 3 seconds from now; the trial in flight reads it at its next epoch
    assert tune.wait(120) and tune.state == "finished"
    trials = journal_trials(tune.tune_dir)
    assert len(trials) == 1, "no trial is asked after the time limit"
    assert trials[0].state == TrialState.COMPLETE and trials[0].user_attrs["ended"] == "cut by the time limit"
    assert read_status(trial_dir)["state"] == "finished"


def test_trials_run_as_ray_actors_with_the_local_backends_results(tmp_path, tuned):
    ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")  # CI installs and tests it
    from dlcore.jobs import PACKAGE_PARENT, RayBackend

    ray.init(num_cpus=2, namespace="dlcore", include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": PACKAGE_PARENT}})
    try:
        tune = start_tune(tuned.prepared(), 2, config=QUICK, root=tmp_path, backend="ray")
        assert tune.wait(300) and tune.state == "finished", tune.leaderboard()
    finally:
        ray.shutdown()
        RayBackend._actor = None
    local = {t.number: (t.params, t.value) for t in journal_trials(tuned.tune_dir) if t.number < 2}
    assert {t.number: (t.params, t.value) for t in journal_trials(tune.tune_dir)} == local, "the same seeded search"
    assert not (tune.tune_dir / TRIALS_DIR / "0" / "worker.log").exists(), "trained in a Ray actor"


# -- the command line --------------------------------------------------------------------------------------------------
def run_cli(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcore", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.fixture
def cli(tmp_path):
    (tmp_path / "churn.csv").write_bytes(to_csv(churn_frame(240)))
    env = {**os.environ, "DLCORE_MAX_JOBS": "2", "DLCORE_RUNS_DIR": str(tmp_path / "runs")}
    env.pop("PYTHONPATH", None)
    return tmp_path, env


def test_cli_tune_runs_the_trials_then_keeps_their_ensemble_as_a_run(cli):
    base, env = cli
    out = base / "best"
    proc = run_cli("tune", base / "churn.csv", "--target", "churn", "--trials", 2, "--epochs", 3, "--folds", 2,
                   "--out", out, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model.zip").is_file() and (out / "metrics.json").is_file()
    assert (out / "tune" / STUDY_FILE).is_file() and len(journal_trials(out / "tune")) == 2
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 2, "each trial as it ends"
    board = lines.index("leaderboard (best first; out-of-fold loss and headline score):")
    assert lines[board + 1].split()[:3] == ["trial", "state", "out-of-fold"] and len(lines[board + 2].split()) > 5
    chosen = Tune(out / "tune").selection()
    selection = next(line for line in lines if line.startswith("ensemble selection: trial "))
    assert f"{chosen['metric']}={chosen['out_of_fold'][chosen['metric']]:.4g}" in selection
    assert "model bundle:" in proc.stdout and Run(out).status == "finished"
    metrics = Run(out).metrics  # the contract: the kept ensemble's out-of-fold score and its trials
    assert metrics["out_of_fold"]["rows"] == chosen["out_of_fold"]["rows"]
    assert [item["trial"] for item in metrics["ensemble"]] == [item["trial"] for item in chosen["ensemble"]]
    assert all(set(item) == {"trial", "weight", "out_of_fold"} for item in metrics["ensemble"])

    # the same command with more trials, as after an interruption: the study goes on
    again = run_cli("tune", base / "churn.csv", "--target", "churn", "--trials", 3, "--epochs", 3, "--folds", 2,
                    "--out", out, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming the study" in again.stdout
    assert sum(line.startswith("trial ") for line in again.stdout.splitlines()) == 1, "only the new trial"
    assert [t.number for t in journal_trials(out / "tune")] == [0, 1, 2] and Run(out).status == "finished"

    other = run_cli("tune", base / "churn.csv", "--target", "minutes", "--trials", 3, "--out", out, env=env)
    assert other.returncode == 2 and other.stderr.strip().startswith("error:") and "other data" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, fragment", [
    (["--trials", 0], "--trials must be"),
    (["--minutes", -1], "--minutes must be"),
    (["--target", "nope"], "nope"),
])
def test_cli_tune_refuses_bad_input_in_one_line(cli, args, fragment):
    base, env = cli
    options = {"--target": "churn", "--trials": 2, "--out": base / "out", **dict(zip(args[::2], args[1::2]))}
    given = [item for pair in options.items() for item in pair]
    proc = run_cli("tune", base / "churn.csv", *given, env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and not (base / "out" / "tune").exists()


# -- the page ----------------------------------------------------------------------------------------------------------
def test_the_tune_page_without_data_points_to_upload(open_app):
    app = open_app()
    app.switch_page("pages/tune.py").run()
    assert not app.exception and app.info and app.get("page_link")


def test_the_tune_page_tunes_shows_the_trials_and_keeps_the_best(open_app, monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_JOBS", "2")
    app = open_app(to_csv(churn_frame(240)))
    app.session_state["train_config"].epochs = 3
    app.session_state["train_config"].folds = 2
    app.switch_page("pages/tune.py").run()
    assert not app.exception and any(button.label == "Tune" for button in app.button)
    assert "press **Tune** to start" in app.info[0].value
    app.number_input(key="tune_trials").set_value(2)
    next(button for button in app.button if button.label == "Tune").click().run()
    assert not app.exception and not app.error
    tune = app.session_state["tune"]
    assert app.query_params["tune"] in (tune.tune_dir.name, [tune.tune_dir.name])
    assert tune.wait(300), tune.leaderboard()

    app.run()
    assert not app.exception
    board = next(frame.value for frame in app.dataframe if "out-of-fold loss" in frame.value.columns)
    assert len(board) == 2 and set(board["state"]) <= {"finished", "pruned"}
    assert any(message.value.startswith("Ensemble selection: trial") for message in app.info)
    charts = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert len(charts) == 2 and "Validation loss by trial" in charts[0] and "Which settings mattered" in charts[1]

    next(button for button in app.button if button.label == "Keep the best").click().run()
    assert not app.exception and not app.error
    run = app.session_state["job"]
    assert run is not None and not app.session_state["shared"] and run.info["architecture"].startswith("Tuned")
    assert run.wait(300) and run.status == "finished", run.error
    app.run()
    assert any("normal run now" in message.value for message in app.success)
    app.switch_page("pages/results.py").run()
    assert not app.exception and app.metric, "the kept run shows on Results like any run"
