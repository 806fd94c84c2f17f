"""The run folder, the unit of truth of one training run, and the pipeline a worker runs in it.

Every file below is written atomically (:mod:`dlcore.runtime.files`), so a run folder is readable after any crash:

- ``run.json``: what the run is (owner key, data set, target, task, architecture, max epochs, created, rows);
- ``job.json``: what the worker needs (kind ``run`` or ``fold``, architecture, training config, fold folders);
- ``prepared/``: the prepared data (:meth:`PreparedData.save`: preparation, matrices, the split's raw rows);
- ``status.json``: state (queued, running, finished, stopped, failed, recovered), epoch, phase, heartbeat, pid,
  host, the device it trains on and error, kept by the worker (:mod:`dlcore.jobs`);
- ``history.csv``: one row per epoch, rewritten as each epoch ends; ``best.keras``: the best weights so far;
- ``stop``: present once Stop was asked for;
- when done: ``metrics.json``, ``model.keras``, ``preparation.json``, ``schema.json``, ``README.md`` and the
  downloadable ``model.zip`` (:mod:`dlcore.export`), and ``test_predictions.parquet``: the test rows with that
  model's predictions;
- ``folds/<i>/``: with K-fold cross-validation, one job folder per fold;
- ``members/<i>/``: with a cross-fitted ensemble (:mod:`dlcore.ensemble`), one job folder per member (its
  ``history.csv``, ``best.keras`` while it trains, then ``model.keras`` and ``metrics.json``), and
  ``members/folds.npy``: the fold each non-test row belongs to; the run's own job waits for its members, then
  delivers their mean as ``model.keras``;
- ``explain/``: the explanation job's ``job.json`` and ``status.json`` (with its progress), and, once it is done,
  ``explanations.json`` beside the run's files (:mod:`dlcore.runtime.explain`).

:class:`Run` reads a folder as it is now (for the pages, which never build or hold a model while it trains);
:func:`execute`, :func:`execute_member` and :func:`execute_fold` are what a worker does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.architectures import Architecture
from dlcore.baselines import baseline_predictions, baselines, judged_metric, verdict
from dlcore.ensemble import (average, fold_of_rows, held_out_by_all, member_data, out_of_fold, outputs_of,
                             score_rows, train_member)
from dlcore.evaluation import METRIC_TITLES, paired_differences, score
from dlcore.export import write_run
from dlcore.prepared import PreparedData, storable
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, replacing, save_model, write_json, write_text
from dlcore.runtime.inference import PREPARED_DIR, with_predictions
from dlcore.settings import DataSettings, settings_of
from dlcore.training import EpochCallback, TrainConfig, best_epoch, train

RUNS_ENV = "DLCORE_RUNS_DIR"
HEARTBEAT_ENV = "DLCORE_HEARTBEAT_TIMEOUT"
RUN_FILE, JOB_FILE, STATUS_FILE, HISTORY_FILE = "run.json", "job.json", "status.json", "history.csv"
CHECKPOINT_FILE, STOP_FILE, FOLDS_DIR, MEMBERS_DIR = "best.keras", "stop", "folds", "members"
MODEL_FILE, FOLD_OF_ROWS_FILE = "model.keras", "folds.npy"
TEST_PREDICTIONS_FILE = "test_predictions.parquet"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
SECRET = re.compile(r"^[0-9a-f]{32}$")
FINAL_STATES = ("finished", "stopped", "failed", "recovered")
RESULT_STATES = ("finished", "stopped", "recovered")  # states with scores and a model to download
LOST = "The training process ended unexpectedly (no sign of life from it)."
HOST = socket.gethostname()
log = logging.getLogger("dlcore")


class RunFailed(DataError):
    """The run cannot deliver a model; the message says why and what was kept."""
_warned: set[str] = set()


def runs_root() -> Path:
    """Where runs are written: ``$DLCORE_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_ENV, "runs")).absolute()


def new_run_dir(root: Path | None = None) -> Path:
    """A fresh run folder named by an unguessable id."""
    path = Path(root or runs_root()) / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def owner_key(secret: str) -> str:
    """What ``run.json`` keeps of a session's secret: its hash, so the folder never holds the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest() if secret else ""


def heartbeat_timeout() -> float:
    """Seconds without a heartbeat after which a running job counts as dead (``$DLCORE_HEARTBEAT_TIMEOUT``)."""
    return float(os.environ.get(HEARTBEAT_ENV, 60))


# -- writing a job -------------------------------------------------------------------------------------------------
def run_info(data: PreparedData, arch: Architecture, config: TrainConfig, dataset: str = "", owner: str = "") -> dict:
    """What ``run.json`` says about a run (the leaderboard reads it); ``owner`` is the session's secret."""
    return {"owner": owner_key(owner), "dataset": dataset, "target": data.preparation.target, "task": data.task,
            "architecture": arch.title, "max_epochs": config.epochs_for(member_rows(data, config)),
            "members": config.folds_for(non_test_rows(data)), "primary_metric": data.primary_metric,
            "created": time.time(),
            "rows": {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test)}}


def write_job(run_dir: Path, data: PreparedData, arch: Architecture, config: TrainConfig, info: dict | None = None,
              folds: list[PreparedData] | None = None, blend: list[dict] | None = None,
              data_settings: DataSettings | None = None) -> Path:
    """Write everything a worker needs to train ``data`` into ``run_dir``: one folder per K-fold fold, and one per
    member of a cross-fitted ensemble (which read the run's prepared data and ``members/folds.npy``). ``blend``:
    instead of training, mix trained models (a tune's selection: ``model``, ``weight``, ``out_of_fold_outputs``,
    ``history`` of each, with its ``trial`` and ``out_of_fold`` score). The run's ``settings.json`` holds
    ``data_settings`` (how the table was read and split) with the preparation, network and training used."""
    run_dir = Path(run_dir)
    fold_dirs = [f"{FOLDS_DIR}/{i}" for i in range(1, len(folds or []) + 1)]
    for fold, name in zip(folds or [], fold_dirs):
        _write_job_files(run_dir / name, fold, {"kind": "fold", "architecture": arch.get_config(),
                                                "config": config.get_config()})
    k = 1 if blend else config.folds_for(non_test_rows(data))
    member_dirs = [f"{MEMBERS_DIR}/{i}" for i in range(1, k + 1)] if k > 1 else []
    if member_dirs:
        with replacing(run_dir / MEMBERS_DIR / FOLD_OF_ROWS_FILE) as temporary:
            np.save(temporary, fold_of_rows(data, k, config.seed))
    for i, name in enumerate(member_dirs):
        write_json(run_dir / name / JOB_FILE, {"version": 1, "kind": "member", "member": i,
                                               "architecture": arch.get_config(), "config": config.get_config()})
        write_json(run_dir / name / STATUS_FILE, {"state": "queued", "queued": time.time()})
    write_json(run_dir / RUN_FILE, info or run_info(data, arch, config))
    settings_of(data, arch, config, data_settings).save(run_dir)
    _write_job_files(run_dir, data, {"kind": "run", "architecture": arch.get_config(), "config": config.get_config(),
                                     "folds": fold_dirs, "members": member_dirs, **({"blend": blend} if blend else {})})
    return run_dir


def non_test_rows(data: PreparedData) -> int:
    """The rows an ensemble's members share out: the split's training and validation rows."""
    return len(data.x_train) + len(data.x_val)


def member_rows(data: PreparedData, config: TrainConfig) -> int:
    """The rows each network trains on: the training split, or K−1 of an ensemble's K folds."""
    k = config.folds_for(non_test_rows(data))
    return len(data.x_train) if k == 1 else non_test_rows(data) * (k - 1) // k


def _write_job_files(job_dir: Path, data: PreparedData, spec: dict) -> None:
    data.save(job_dir / PREPARED_DIR)
    write_json(job_dir / JOB_FILE, {"version": 1, **spec})
    write_json(job_dir / STATUS_FILE, {"state": "queued", "queued": time.time()})


# -- reading a run -------------------------------------------------------------------------------------------------
def read_status(job_dir: Path) -> dict:
    """The job's ``status.json`` with its liveness judged: a running job whose process is gone, or whose heartbeat
    is older than :func:`heartbeat_timeout`, is ``failed`` with :data:`LOST`."""
    try:
        status = read_json(Path(job_dir) / STATUS_FILE)
    except ValueError:
        return {"state": "failed", "error": "The run's status file is missing or damaged."}
    if status.get("state") == "running" and not _alive(status):
        status = {**status, "state": "failed", "error": LOST}
    return status


def _alive(status: dict) -> bool:
    if time.time() - float(status.get("heartbeat") or 0) > heartbeat_timeout():
        return False
    pid = status.get("pid")
    if not pid or status.get("host") != HOST:
        return True  # started on another machine (Ray) or not yet reporting: the heartbeat decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (ended, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def read_history(job_dir: Path) -> list[dict]:
    try:
        return pd.read_csv(Path(job_dir) / HISTORY_FILE).to_dict("records")
    except (OSError, ValueError):  # not written yet, or damaged
        return []


class Run:
    """A run folder read as it is now: what it is (``info``), its state, history and metrics.

    Pages keep a ``Run`` in the session and read it on every refresh; nothing of the model stays in memory.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.info = read_json(self.run_dir / RUN_FILE)
        if not isinstance(self.info.get("created"), (int, float)):
            raise ValueError(f"{self.run_dir / RUN_FILE}: not a run description")

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def member_dirs(self) -> list[Path]:
        """The job folders of an ensemble's members (none for a single network)."""
        try:
            return [self.run_dir / name for name in read_json(self.run_dir / JOB_FILE).get("members", [])]
        except ValueError:
            return []

    @property
    def status_record(self) -> dict:
        """The run's status; while a member of an ensemble trains (the run's own job waits behind its members),
        that member's, with ``member`` (1-based) and ``members``."""
        status, members = read_status(self.run_dir), self.member_dirs
        if status.get("state") not in ("queued", "running") or not members:
            return status
        states = [read_status(folder) for folder in members]
        for number, member in enumerate(states, 1):
            if member.get("state") == "running":
                return {**member, "member": number, "members": len(members),
                        "phase": f"training member {number} of {len(members)}"}
        waiting = next((n for n, member in enumerate(states, 1) if member.get("state") == "queued"), None)
        if waiting is not None and waiting > 1:  # between two members: the next one waits for its turn
            return {**status, "state": "running", "member": waiting, "members": len(members),
                    "phase": f"member {waiting} of {len(members)} waiting in the queue"}
        return status

    def member_histories(self) -> list[pd.DataFrame]:
        """Each member's curves so far (an empty frame for a member not started)."""
        return [pd.DataFrame(read_history(folder)) for folder in self.member_dirs]

    def member_table(self, metric: str) -> pd.DataFrame:
        """One row per member of an ensemble: its state, epochs, best epoch, its ``metric`` on the fold it held
        out (once it has finished) and seconds."""
        rows = []
        for number, folder in enumerate(self.member_dirs, 1):
            try:
                result = read_json(folder / "metrics.json")
            except ValueError:
                result = {}
            held = result.get("out_of_fold", {})
            rows.append({"member": number, "status": read_status(folder).get("state", "failed"),
                         "epochs": result.get("epochs_run", len(read_history(folder))),
                         "best epoch": result.get("best_epoch"), "held-out rows": held.get("rows"),
                         f"held-out {METRIC_TITLES.get(metric, metric)}": held.get(metric),
                         "seconds": result.get("seconds")})
        return pd.DataFrame(rows)

    @property
    def status(self) -> str:
        return self.status_record.get("state", "failed")

    @property
    def error(self) -> str | None:
        return self.status_record.get("error")

    @property
    def phase(self) -> str:
        return self.status_record.get("phase", "")

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def history(self) -> list[dict]:
        return read_history(self.run_dir)

    @property
    def metrics(self) -> dict | None:
        try:
            return read_json(self.run_dir / "metrics.json")
        except ValueError:
            return None

    @property
    def config(self) -> TrainConfig | None:
        try:
            return TrainConfig.from_config(read_json(self.run_dir / JOB_FILE)["config"])
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def elapsed(self) -> float:
        status = self.status_record
        start = status.get("started") or self.info["created"]
        if self.member_dirs:  # an ensemble trains from its first member's start
            start = read_status(self.member_dirs[0]).get("started") or self.info["created"]
        end = status.get("finished") or (status.get("heartbeat") if status.get("state") == "failed" else None)
        return max(0.0, (end or time.time()) - start)

    @property
    def has_checkpoint(self) -> bool:
        """A best-weights checkpoint to evaluate: the run's, or for an ensemble at least one member's."""
        folders = self.member_dirs or [self.run_dir]
        return any((folder / name).is_file() for folder in folders for name in (MODEL_FILE, CHECKPOINT_FILE))

    def owned_by(self, secret: str) -> bool:
        return bool(secret) and self.info.get("owner") == owner_key(secret)

    def stop(self) -> None:
        """Ask the run (its folds and members) to stop: the worker ends within an epoch and keeps the best weights;
        an ensemble keeps the members trained so far."""
        for folder in [self.run_dir, *sorted((self.run_dir / FOLDS_DIR).glob("*")), *self.member_dirs]:
            write_text(folder / STOP_FILE, "")

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> bool:
        """Block until the run is done (True) or ``timeout`` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(poll)
        return True

    def prepared(self) -> PreparedData:
        """The prepared data this run trained on."""
        return PreparedData.load(self.run_dir / PREPARED_DIR)

    def test_predictions(self) -> pd.DataFrame | None:
        """The test rows with the delivered model's predictions, or None if the folder has none (an older run)."""
        try:
            return pd.read_parquet(self.run_dir / TEST_PREDICTIONS_FILE)
        except (OSError, ValueError):
            return None

    def test_rows(self) -> pd.DataFrame | None:
        """The raw rows of the test split, or None if the folder has none."""
        try:
            return pd.read_parquet(self.run_dir / PREPARED_DIR / "test.parquet")
        except (OSError, ValueError):
            return None


def find_run(run_id: str, root: Path | None = None) -> Run | None:
    """The run called ``run_id``, or None if the id is malformed or no readable run has it."""
    if not RUN_ID.match(run_id or ""):
        return None
    folder = Path(root or runs_root()) / run_id
    try:
        return Run(folder)
    except ValueError:
        return None


def list_runs(owner: str, root: Path | None = None) -> list[Run]:
    """Every run of one browser session (its secret ``owner``), newest first. A folder that cannot be read as a
    run is skipped, with one warning in the log."""
    root = Path(root or runs_root())
    if not owner or not root.is_dir():
        return []
    key, mine = owner_key(owner), []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            run = Run(folder)
        except ValueError as exc:
            if str(folder) not in _warned:
                _warned.add(str(folder))
                log.warning("skipping %s: not a readable run folder (%s)", folder, exc)
            continue
        if run.info.get("owner") == key:
            mine.append(run)
    return sorted(mine, key=lambda run: run.info["created"], reverse=True)


def leaderboard(runs: list[Run]) -> pd.DataFrame:
    """One row per run: status, data set and target, its test score in a column of its headline metric's own (test
    ROC AUC, test MAE, …: runs of different tasks are not compared in one column), architecture, epochs, best
    validation loss, time. The scores come before the wide architecture, so they show on a narrow screen."""
    rows = []
    for run in runs:
        history, metrics = pd.DataFrame(run.history), run.metrics or {}
        primary = metrics.get("primary_metric")
        scored = {f"test {METRIC_TITLES.get(primary, primary)}": metrics["test"][primary]} if primary else {}
        rows.append({
            "run": run.run_id[:8], "status": run.status, "data": run.info.get("dataset", ""),
            "target": run.info.get("target"), **scored, "architecture": run.info.get("architecture"),
            "epochs (best)": f"{metrics['epochs_run']} ({metrics['best_epoch']})" if metrics else str(len(history)),
            "best val loss": float(history["val_loss"].min()) if "val_loss" in history else None,
            "seconds": round(run.elapsed, 1),
        })
    table = pd.DataFrame(rows)
    scores = [c for c in table.columns if c.startswith("test ")]
    fixed = ["run", "status", "data", "target"]
    return table[fixed + scores + [c for c in table.columns if c not in fixed + scores]]


# -- what a worker does ----------------------------------------------------------------------------------------------
def _job(job_dir: Path) -> tuple[dict, PreparedData, Architecture, TrainConfig]:
    spec = read_json(Path(job_dir) / JOB_FILE)
    data = PreparedData.load(Path(job_dir) / PREPARED_DIR)
    return spec, data, Architecture.from_config(spec["architecture"]), TrainConfig.from_config(spec["config"])


def test_scores(model, data: PreparedData) -> tuple[dict[str, float], tuple]:
    """The task's metrics of ``model`` on the test part of ``data``, and its predictions ``(labels, proba)``."""
    prep = data.preparation
    labels, proba = prep.decode_outputs(model.predict(data.x_test, verbose=0))
    return score(prep.task, data.test_targets, labels, proba, prep.classes or None), (labels, proba)


def history_writer(job_dir: Path, on_epoch: EpochCallback | None) -> EpochCallback:
    """An epoch callback that rewrites ``history.csv`` with every epoch so far, then calls ``on_epoch``."""
    rows: list[dict] = []

    def write(epoch: int, row: dict) -> None:
        rows.append(row)
        write_text(Path(job_dir) / HISTORY_FILE, pd.DataFrame(rows).to_csv(index=False))
        if on_epoch is not None:
            on_epoch(epoch, row)

    return write


def execute_fold(job_dir: Path, on_epoch: EpochCallback | None = None, should_stop=None) -> dict:
    """Train one K-fold fold and write its score on the fold it held out to ``metrics.json``."""
    _, data, arch, config = _job(job_dir)
    result = train(data, arch, config, on_epoch=history_writer(job_dir, on_epoch), should_stop=should_stop)
    metric = data.primary_metric
    metrics = {"metric": metric, "score": test_scores(result.model, data)[0][metric],
               "epochs_run": result.epochs_run, "stopped_by_user": result.stopped}
    write_json(Path(job_dir) / "metrics.json", metrics)
    return metrics


def execute_member(job_dir: Path, on_epoch: EpochCallback | None = None, should_stop=None) -> dict:
    """Train one member of an ensemble on the run's prepared data and fold of rows; write its ``model.keras`` and
    ``metrics.json`` (epochs, best epoch, seconds, its score on the rows it held out)."""
    job_dir = Path(job_dir)
    run_dir = job_dir.parent.parent
    spec = read_json(job_dir / JOB_FILE)
    data, folds, member = PreparedData.load(run_dir / PREPARED_DIR), _fold_of_rows(run_dir), int(spec["member"])
    arch, config = Architecture.from_config(spec["architecture"]), TrainConfig.from_config(spec["config"])
    result, outputs = train_member(data, folds, member, arch, config, on_epoch=history_writer(job_dir, on_epoch),
                                   should_stop=should_stop, checkpoint=job_dir / CHECKPOINT_FILE)
    if result.epochs_run:  # a member stopped before its first epoch ended has learned nothing to keep
        save_model(result.model, job_dir / MODEL_FILE)
    metrics = {"member": member + 1, "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
               "seconds": round(result.seconds, 3), "stopped_by_user": result.stopped, "device": result.device,
               "out_of_fold": out_of_fold(data, folds, {member: outputs})}
    write_json(job_dir / "metrics.json", metrics)
    return metrics


def _fold_of_rows(run_dir: Path) -> np.ndarray:
    return np.load(Path(run_dir) / MEMBERS_DIR / FOLD_OF_ROWS_FILE, allow_pickle=False)


def execute(run_dir: Path, on_epoch: EpochCallback | None = None, should_stop=None, on_phase=None) -> dict:
    """Train the run in ``run_dir`` (an ensemble: wait for its members and average them), score it on the test
    split next to the baselines, judge, write its files.

    With K-fold folds, their scores (each trained by its own worker) go into ``metrics["cross_validation"]``.
    """
    run_dir = Path(run_dir)
    spec, data, arch, config = _job(run_dir)
    if spec.get("members"):
        return _deliver_ensemble(run_dir, spec, data, arch, config, on_phase)
    if spec.get("blend"):
        return _deliver_blend(run_dir, spec, data, arch, config, on_phase)
    result = train(data, arch, config, on_epoch=history_writer(run_dir, on_epoch), should_stop=should_stop,
                   checkpoint=run_dir / CHECKPOINT_FILE)
    return _finish(run_dir, spec, data, arch, config, Delivered(
        result.model, result.history, result.epochs_run, result.best_epoch, result.stopped, result.seconds,
        result.device, _single(result.model, data)), on_phase)


def _single(model, data: PreparedData) -> dict:
    """What ``metrics.json`` says of a single network: one member, scored on the validation rows it stopped on."""
    folds = fold_of_rows(data, 1, 0)
    return {"members": 1, "out_of_fold": out_of_fold(data, folds, {0: outputs_of(model, data.x_val)})}


def evaluate_checkpoint(run_dir: Path, on_phase=None) -> dict:
    """Score and deliver the best checkpoint of a run whose training process died (an ensemble: its finished
    members, and the best checkpoint of a member that died): the run becomes ``recovered``."""
    run_dir = Path(run_dir)
    spec, data, arch, config = _job(run_dir)
    if spec.get("members"):
        return _deliver_ensemble(run_dir, spec, data, arch, config, on_phase, recovered=True)
    model = _load(run_dir / CHECKPOINT_FILE)
    history = pd.DataFrame(read_history(run_dir))
    best = best_epoch(history)
    return _finish(run_dir, spec, data, arch, config, Delivered(
        model, history, len(history), best, False, None, read_status(run_dir).get("device"), _single(model, data),
        recovered=True), on_phase)


def _load(path: Path):
    import keras

    import dlcore.runtime.layers  # noqa: F401  (registers dlcore's own layers for safe loading)

    return keras.saving.load_model(path, safe_mode=True)


def _deliver_ensemble(run_dir: Path, spec: dict, data: PreparedData, arch, config, on_phase=None,
                      recovered: bool = False, poll: float = 0.5) -> dict:
    """Wait for the members (a failed one fails the run, the finished ones stay in ``members/``), then deliver
    their mean; ``recovered``: the finished members and the best checkpoint of any that died."""
    folders = [run_dir / name for name in spec["members"]]
    k = len(folders)
    while not recovered:
        states = [read_status(folder) for folder in folders]
        ended = sum(state.get("state") in FINAL_STATES for state in states)
        failed = next((i for i, state in enumerate(states, 1) if state.get("state") == "failed"), None)
        if failed is not None:
            raise RunFailed(member_failure(run_dir, failed))
        if ended == k:
            break
        if on_phase is not None:
            on_phase(f"waiting for the members: {ended} of {k} finished")
        time.sleep(poll)
    folds = _fold_of_rows(run_dir)
    models, outputs, results, histories = [], {}, [], []
    for i, folder in enumerate(folders):
        path = folder / MODEL_FILE if (folder / MODEL_FILE).is_file() else folder / CHECKPOINT_FILE
        if not path.is_file() or not (recovered or (folder / MODEL_FILE).is_file()):
            continue
        model = _load(path)
        models.append(model)
        outputs[i] = outputs_of(model, member_data(data, folds, i).x_val)
        history = pd.DataFrame(read_history(folder))
        histories.append(history)
        try:
            results.append(read_json(folder / "metrics.json"))
        except ValueError:  # a member that died: its checkpoint, scored here
            best = best_epoch(history)
            results.append({"member": i + 1, "epochs_run": len(history), "best_epoch": best, "seconds": None,
                            "stopped_by_user": False, "out_of_fold": out_of_fold(data, folds, {i: outputs[i]})})
    if not models:
        raise RunFailed("No member finished training, so there is no model to deliver.")
    if on_phase is not None:
        on_phase(f"averaging {len(models)} members")
    seconds = [result["seconds"] for result in results]
    stopped = (run_dir / STOP_FILE).exists() or any(result["stopped_by_user"] for result in results)
    ensemble = {"members": len(models), "out_of_fold": out_of_fold(data, folds, outputs), "member_results": results}
    return _finish(run_dir, spec, data, arch, config, Delivered(
        average(models, data.x_train.shape[1]), mean_history(histories),
        max(result["epochs_run"] for result in results),
        int(np.median([result["best_epoch"] for result in results])), stopped,
        None if None in seconds else sum(seconds), results[0].get("device"), ensemble, recovered=recovered), on_phase)


def _deliver_blend(run_dir: Path, spec: dict, data: PreparedData, arch, config, on_phase=None) -> dict:
    """Deliver a tune's selected mix of trials (their models with their weights) as this run's model; its
    out-of-fold score is the mix's on the rows every chosen trial held out."""
    blend = spec["blend"]
    weights = np.array([item["weight"] for item in blend], dtype=float)
    weights /= weights.sum()
    models = [_load(Path(item["model"])) for item in blend]
    held = [np.load(item["out_of_fold_outputs"], allow_pickle=False) for item in blend]
    covered = held_out_by_all(*held)
    mixed = sum(weight * h[covered] for weight, h in zip(weights, held))
    top = Path(blend[int(np.argmax(weights))]["history"])
    trials = [read_json(Path(item["history"]) / "metrics.json") for item in blend]
    history = pd.DataFrame(read_history(top))
    ensemble = {"members": sum(int(trial.get("members", 1)) for trial in trials),
                "out_of_fold": score_rows(data, np.flatnonzero(covered), mixed),
                "ensemble": [{"trial": item["trial"], "weight": float(weight), "out_of_fold": item.get("out_of_fold")}
                             for item, weight in zip(blend, weights)]}
    best = trials[int(np.argmax(weights))]
    return _finish(run_dir, spec, data, arch, config, Delivered(
        average(models, data.x_train.shape[1], list(weights)), history, best.get("epochs_run", len(history)),
        best.get("best_epoch", 0), False, sum(float(trial.get("seconds") or 0) for trial in trials),
        read_status(top).get("device"), ensemble), on_phase)


def member_failure(run_dir: Path, number: int) -> str:
    """Why an ensemble fails when member ``number`` (1-based) failed; the members not yet ended are asked to stop
    (the finished ones stay in ``members/``, for Evaluate the best checkpoint)."""
    folders = Run(run_dir).member_dirs
    for folder in folders:
        if read_status(folder).get("state") not in FINAL_STATES:
            write_text(folder / STOP_FILE, "")
    error = read_status(folders[number - 1]).get("error") or "no reason given."
    kept = sum((folder / MODEL_FILE).is_file() for folder in folders)
    return (f"Member {number} of {len(folders)} failed: {error} The {kept} finished member(s) are kept in "
            f"{MEMBERS_DIR}/; Evaluate the best checkpoint delivers them.")


def mean_history(histories: list[pd.DataFrame]) -> pd.DataFrame:
    """The members' curves averaged epoch by epoch, over the members that trained that epoch."""
    frames = [history for history in histories if len(history)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames).groupby("epoch", as_index=False).mean()


@dataclass
class Delivered:
    """The model a run delivers and how it came to be: its training curve, epochs (run, best), whether a user
    stopped it, seconds, device, what ``metrics.json`` says of its members, and whether it was recovered from a
    checkpoint."""

    model: object
    history: pd.DataFrame
    epochs_run: int
    best_epoch: int
    stopped: bool
    seconds: float | None
    device: str | None
    ensemble: dict
    recovered: bool = False


def _finish(run_dir: Path, spec: dict, data: PreparedData, arch: Architecture, config: TrainConfig,
            delivered: Delivered, on_phase=None) -> dict:
    """Score the delivered model on the test split next to the baselines, judge it, and write the run's files."""
    prep, model, seconds = data.preparation, delivered.model, delivered.seconds
    if on_phase is not None:
        on_phase("scoring the network and the baselines")
    test, predicted = test_scores(model, data)
    primary = data.primary_metric
    predictions = baseline_predictions(data, seed=config.seed)
    reference = baselines(data, predictions=predictions)
    differences = paired_differences(prep.task, judged_metric(test, primary), data.test_targets, predicted,
                                     predictions, prep.classes or None, seed=config.seed)
    judged = verdict(test, reference, primary, prep.task, predicted[0], differences)
    metrics = {
        "task": prep.task, "target": prep.target, "primary_metric": primary, "metric_names": list(test),
        "test": test, "baselines": reference, "differences": differences, "verdict": judged,
        "collapsed": judged["collapsed"],
        "epochs_run": delivered.epochs_run, "best_epoch": delivered.best_epoch, "stopped_by_user": delivered.stopped,
        "seconds": None if seconds is None else round(seconds, 3),
        "rows": {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test)},
        "architecture": arch.get_config(), "config": config.get_config(), "device": delivered.device,
        **delivered.ensemble,
    }
    if delivered.recovered:
        metrics["recovered_from_checkpoint"] = True
    if spec.get("folds"):
        if on_phase is not None:
            on_phase("waiting for the cross-validation folds")
        metrics["cross_validation"] = _cross_validation([run_dir / name for name in spec["folds"]])
    write_run(run_dir, model, prep, metrics, delivered.history)
    _write_test_predictions(run_dir, prep, data.split.test, predicted)
    return metrics


def _write_test_predictions(run_dir: Path, prep, rows: pd.DataFrame | None, predicted: tuple) -> None:
    """The delivered model's predictions on the raw test rows (``predicted``: its decoded outputs on them, as it was
    scored), as the Results page shows them: the web server reads them instead of loading TensorFlow."""
    if rows is None or not len(rows):
        return
    with replacing(run_dir / TEST_PREDICTIONS_FILE) as temporary:
        storable(with_predictions(prep, rows, *predicted)).to_parquet(temporary)  # the test rows' index as held


def _cross_validation(fold_dirs: list[Path], poll: float = 0.5) -> dict:
    """Chollet's K-fold: the folds' scores on the rows each held out, their mean and spread (waits for the folds;
    a fold that failed or was stopped before it scored is left out and counted)."""
    while not all(read_status(folder).get("state") in FINAL_STATES for folder in fold_dirs):
        time.sleep(poll)
    results = []
    for folder in fold_dirs:
        try:
            results.append(read_json(folder / "metrics.json"))
        except ValueError:
            continue
    scores = [float(result["score"]) for result in results]
    return {"k": len(fold_dirs), "metric": results[0]["metric"] if results else None, "scores": scores,
            "missing": len(fold_dirs) - len(scores),
            "mean": float(np.mean(scores)) if scores else None, "std": float(np.std(scores)) if scores else None}
