"""A run: prepared data + architecture + config → trained model, scores and files in a run folder.

:func:`execute` is the whole pipeline the command line runs; :class:`TrainingJob` runs the
same function in a background thread so the app's pages stay usable while a model trains.
Every run folder is named by an unguessable id and holds ``run.json`` (what, whose, status), so a
run can be found again after a browser refresh (:func:`find_run`) and listed per browser session
(:func:`list_runs`).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import traceback
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.architectures import Architecture
from dlcore.baselines import baselines, verdict
from dlcore.errors import DataError
from dlcore.evaluation import METRIC_TITLES, primary_metric, score
from dlcore.export import write_run
from dlcore.preparation import PreparedData
from dlcore.training import EpochCallback, TrainConfig, train

RUNS_ENV = "DLCORE_RUNS_DIR"
RUN_FILE = "run.json"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_ACTIVE: dict[str, TrainingJob] = {}  # jobs started in this process, by run id


def runs_root() -> Path:
    """Where runs are written: ``$DLCORE_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_ENV, "runs"))


def new_run_dir(root: Path | None = None) -> Path:
    """A fresh run folder named by an unguessable id."""
    path = (root or runs_root()) / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def test_scores(model, data: PreparedData) -> tuple[dict[str, float], object]:
    """The task's metrics of ``model`` on the test part of ``data``, and its predicted labels/values."""
    prep = data.preparation
    labels, proba = prep.decode_outputs(model.predict(data.x_test, verbose=0))
    return score(prep.task, data.split.test[prep.target], labels, proba, prep.classes or None), labels


def cross_validate(folds: list[PreparedData], arch: Architecture, config: TrainConfig,
                   on_fold=None, should_stop=None) -> dict:
    """Chollet's K-fold: one network per fold, scored on the fold it held out; the mean and spread of the scores."""
    first = folds[0]
    metric = primary_metric(first.task, first.split.train[first.preparation.target])
    scores = []
    for i, fold in enumerate(folds, start=1):
        if should_stop is not None and should_stop():
            break
        if on_fold is not None:
            on_fold(i, len(folds))
        result = train(fold, arch, config, should_stop=should_stop)
        scores.append(test_scores(result.model, fold)[0][metric])
    return {"k": len(folds), "metric": metric, "scores": scores,
            "mean": float(np.mean(scores)) if scores else None, "std": float(np.std(scores)) if scores else None}


def run_info(data: PreparedData, arch: Architecture, config: TrainConfig, dataset: str = "", owner: str = "") -> dict:
    """What ``run.json`` says about a run before it starts (the leaderboard reads it)."""
    return {"owner": owner, "dataset": dataset, "target": data.preparation.target, "task": data.task,
            "architecture": arch.title, "max_epochs": config.epochs, "created": time.time(), "status": "running",
            "rows": {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test)}}


def write_info(run_dir: Path, info: dict) -> None:
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    (Path(run_dir) / RUN_FILE).write_text(json.dumps(info, indent=1))


def execute(
    data: PreparedData, arch: Architecture, config: TrainConfig, run_dir: Path,
    on_epoch: EpochCallback | None = None, should_stop=None, folds: list[PreparedData] | None = None, on_fold=None,
    info: dict | None = None,
) -> dict:
    """Train, score on the test split next to the baselines, judge, and write the run folder; returns metrics.

    With ``folds``, K-fold cross-validation runs first and its scores go into ``metrics["cross_validation"]``.
    """
    prep = data.preparation
    cv = cross_validate(folds, arch, config, on_fold, should_stop) if folds else None
    result = train(data, arch, config, on_epoch=on_epoch, should_stop=should_stop)
    test, labels = test_scores(result.model, data)
    primary = primary_metric(prep.task, data.split.train[prep.target])
    reference = baselines(data, seed=config.seed)
    judged = verdict(test, reference, primary, prep.task, labels)
    metrics = {
        "task": prep.task,
        "target": prep.target,
        "primary_metric": primary,
        "metric_names": list(test),
        "test": test,
        "baselines": reference,
        "verdict": judged,
        "collapsed": judged["collapsed"],
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_by_user": result.stopped,
        "seconds": round(result.seconds, 3),
        "rows": {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test)},
        "architecture": arch.get_config(),
        "config": config.get_config(),
    }
    if cv:
        metrics["cross_validation"] = cv
    write_run(run_dir, result.model, prep, metrics, result.history)
    write_info(run_dir, {**(info or run_info(data, arch, config)),
                         "status": "stopped" if result.stopped else "finished", "finished": time.time()})
    return metrics


class TrainingJob:
    """:func:`execute` in a background thread, with live history, a status and a stop switch."""

    def __init__(self, data: PreparedData, arch: Architecture, config: TrainConfig, run_dir: Path,
                 folds: list[PreparedData] | None = None, dataset: str = "", owner: str = ""):
        self.data, self.arch, self.config, self.run_dir, self.folds = data, arch, config, Path(run_dir), folds
        self.info = run_info(data, arch, config, dataset, owner)
        self.phase = ""
        self.history: list[dict] = []
        self.status = "queued"
        self.error: str | None = None
        self.metrics: dict | None = None
        self.started = time.time()
        self.finished: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.run_dir.name}", daemon=True)

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def start(self) -> TrainingJob:
        self.status = "running"
        write_info(self.run_dir, self.info)
        _ACTIVE[self.run_id] = self
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end; the best weights so far are kept."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "failed")

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def _on_epoch(self, epoch: int, row: dict) -> None:
        self.phase = ""
        self.history.append(row)

    def _on_fold(self, fold: int, k: int) -> None:
        self.phase = f"cross-validating: fold {fold} of {k}"

    def _run(self) -> None:
        try:
            self.metrics = execute(
                self.data, self.arch, self.config, self.run_dir,
                on_epoch=self._on_epoch, should_stop=self._stop.is_set,
                folds=self.folds, on_fold=self._on_fold, info=self.info,
            )
            self.status = "stopped" if self.metrics["stopped_by_user"] else "finished"
        except DataError as exc:
            self.error, self.status = str(exc), "failed"
        except Exception as exc:  # a failed job must leave the app usable and say why
            self.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            self.status = "failed"
        finally:
            self.finished = time.time()
            if self.status == "failed":
                write_info(self.run_dir, {**self.info, "status": "failed", "error": self.error,
                                          "finished": self.finished})


class RunRecord:
    """A run read back from its folder: finished, stopped, failed, or interrupted (no longer training here).

    It answers like a :class:`TrainingJob` (status, history, metrics, run_dir) so pages show either;
    ``data`` is None because the prepared table lives only in the session that trained it.
    """

    data = None
    phase = ""
    done = True

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.info = json.loads((self.run_dir / RUN_FILE).read_text())
        metrics_file, history_file = self.run_dir / "metrics.json", self.run_dir / "history.csv"
        self.metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
        self.history = pd.read_csv(history_file).to_dict("records") if history_file.is_file() else []
        status = self.info.get("status", "running")
        self.status = "interrupted" if status == "running" else status
        self.error = self.info.get("error") or ("The app restarted while this run was training."
                                                if self.status == "interrupted" else None)
        self.config = TrainConfig.from_config(self.metrics["config"]) if self.metrics else None
        self.elapsed = self.info.get("finished", self.info["created"]) - self.info["created"]

    @property
    def run_id(self) -> str:
        return self.run_dir.name


def find_run(run_id: str, root: Path | None = None) -> TrainingJob | RunRecord | None:
    """The run called ``run_id``: the live job if this process trains it, else its folder; None if unknown."""
    if not RUN_ID.match(run_id or ""):
        return None
    if run_id in _ACTIVE:
        return _ACTIVE[run_id]
    folder = (root or runs_root()) / run_id
    return RunRecord(folder) if (folder / RUN_FILE).is_file() else None


def list_runs(owner: str, root: Path | None = None) -> list[TrainingJob | RunRecord]:
    """Every run of one browser session (its ``owner`` token), newest first."""
    root = root or runs_root()
    if not owner or not root.is_dir():
        return []
    # read only run.json to pick this session's runs; metrics and histories are loaded for those alone
    ids = [path.parent.name for path in root.glob(f"*/{RUN_FILE}")
           if json.loads(path.read_text()).get("owner") == owner]
    mine = [run for run_id in ids if (run := find_run(run_id, root)) is not None]
    return sorted(mine, key=lambda run: run.info["created"], reverse=True)


def leaderboard(runs: list[TrainingJob | RunRecord]) -> pd.DataFrame:
    """One row per run: architecture, epochs, best validation loss, test score, time, status."""
    rows = []
    for run in runs:
        history, metrics = pd.DataFrame(run.history), run.metrics or {}
        primary = metrics.get("primary_metric")
        rows.append({
            "run": run.run_id[:8], "status": run.status, "data": run.info.get("dataset", ""),
            "target": run.info.get("target"), "architecture": run.info.get("architecture"),
            "epochs (best)": f"{metrics['epochs_run']} ({metrics['best_epoch']})" if metrics else str(len(history)),
            "best val loss": float(history["val_loss"].min()) if "val_loss" in history else None,
            "test metric": METRIC_TITLES.get(primary, primary) if primary else None,
            "test score": metrics["test"][primary] if primary else None,
            "seconds": round(run.elapsed, 1),
        })
    return pd.DataFrame(rows)
