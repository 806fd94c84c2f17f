"""Tune: Optuna searches the network and its training settings within a budget; every trial is a job of the queue.

A tune is a folder two levels below the runs folder (the queue's root): ``<runs>/.tunes/<id>/`` in the app,
``RUN_DIR/tune/`` from the command line (``python -m dlcore tune``)::

    tune.json        what it is: owner key, data set, target, task, seed, backend, the base training settings, the
                     budget (trials, minutes, deadline) and the runs kept from it
    prepared/        the prepared data, written once for every trial (PreparedData.save)
    study.journal    the Optuna study: JournalStorage on a JournalFileBackend, safe across processes and on shared
                     file systems, so a study survives a restart and resumes
    lock             held (flock) while trials are settled and asked
    stop             present once Stop was asked for
    trials/<n>/      Optuna trial n as a job folder: job.json (kind ``trial``, its architecture and training
                     config), status.json, history.csv, metrics.json, worker.log

**No coordinating process.** The tune advances the way the queue does: :func:`advance` is called when the tune
starts, by every trial's worker as it ends, by the app's scheduler while its trials are queued, and by the command
line while it waits. It settles the trials whose job ended without telling the study (a killed worker, a trial
stopped before it started: ``FAIL``), then asks Optuna for new trials while fewer than the job limit are in flight
and the budget allows. Each new trial's settings are drawn by :func:`~dlcore.search_space.suggest` at that moment,
so TPE sees every trial told so far; its job folder is written and queued like any other job, so trials train in
``python -m dlcore worker`` processes (or Ray actors), in parallel up to ``DLCORE_MAX_JOBS``, first in first out
with everybody else's jobs. A trial's worker (:func:`dlcore.trials.run_trial`, job kind ``trial``) reopens the study
from the journal, trains, reports the validation loss at every epoch end (``trial.report``), ends at once when the
pruner says so (``PRUNED``) and tells its own result. Nothing has to stay alive between trials: stop the server,
kill the command line, and the queued trials still train; the next :func:`advance` carries on.

**The first trial is Auto** (:func:`~dlcore.search_space.auto_params`, enqueued): the search can only find
something better out of fold than the default, and the ensemble selection says so when it keeps Auto alone.

**Objective and pruning.** Every trial trains the same K folds of the non-test rows (:mod:`dlcore.ensemble`: K
from the Model page's Members setting and the data's size, the folds from the tune's seed), one network per fold,
and its value is its **out-of-fold loss** (log loss, or squared error of the standardized values) over every row
held out, minimized: a trial is judged on all the non-test rows, not on one small validation split whose luck
decides the winner. :data:`TPE_STARTUP_TRIALS` random trials come first, then TPE (seeded with the tune's seed plus
the number of trials so far, since each process builds its own sampler; ``constant_liar`` for trials in flight).
The first fold's network reports its validation loss every epoch, and a median pruner stops a trial whose best
loss after :data:`PRUNE_WARMUP_EPOCHS` epochs is worse than the median of earlier trials at the same epoch, once
:data:`PRUNE_STARTUP_TRIALS` trials have ended. A finished trial keeps its networks as one model (their mean) and
its out-of-fold outputs. The test split is never looked at.

**Budget.** ``trials``: how many trials should end (finished or pruned) in total, counting those of earlier
sessions of the study; a trial lost to a crash is replaced (not more often than the budget itself, so settings that
always fail end the tune). ``minutes``: no trial is asked after the deadline, and trials still training stop within
a batch and count with the networks trained so far. **Stop** (:meth:`Tune.stop`) stops every trial the same way;
:func:`resume` sets a new budget and goes on with the same study.

**Keep the best.** :meth:`Tune.selection` mixes the finished trials by Caruana's greedy ensemble selection (with
replacement) on their out-of-fold outputs (:mod:`dlcore.selection`); :func:`keep_best` delivers that weighted mix
as a normal run (one ``.keras``, nothing trained again), so Results, Explain and the downloads work as for any run;
the command line delivers it into ``RUN_DIR`` itself.

The search space is one function, :func:`dlcore.search_space.suggest`.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import math
import shutil
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from dlcore.architectures import Architecture, auto_architecture, validate
from dlcore.ensemble import held_out_by_all, score_rows
from dlcore.jobs import check_session_limit, default_backend, dispatch, enqueue, max_jobs, submit
from dlcore.prepared import PreparedData
from dlcore.runs import (FINAL_STATES, JOB_FILE, MODEL_FILE, RUN_ID, STATUS_FILE, STOP_FILE, new_run_dir, owner_key,
                         read_history, read_status, run_info, runs_root, write_job)
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, replacing, write_json, write_text
from dlcore.runtime.inference import PREPARED_DIR
from dlcore.runtime.loading import DATASET_INFO, DATASET_TABLE
from dlcore.search_space import auto_params, suggest
from dlcore.selection import greedy_weights, mix, prediction_loss
from dlcore.training import TrainConfig

TUNES_DIR, TUNE_FILE, STUDY_FILE, TRIALS_DIR, LOCK_FILE = ".tunes", "tune.json", "study.journal", "trials", "lock"
OUT_OF_FOLD_FILE = "out_of_fold.npy"  # a trial's outputs on the non-test rows it held out, NaN elsewhere
SELECTION_FILE = "selection.json"
AUTO_TRIAL = 0  # the first trial of a study is Auto's settings (start enqueues them)
STUDY_NAME = "tune"
MAX_TRIALS = 1000
TPE_STARTUP_TRIALS = 5
PRUNE_STARTUP_TRIALS, PRUNE_WARMUP_EPOCHS = 3, 5
log = logging.getLogger("dlcore")
optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "Trial 3 finished with value …" lines in our output

# -- the study -------------------------------------------------------------------------------------------------------
def _sampler(seed: int):
    with warnings.catch_warnings():  # constant_liar is "experimental" in Optuna 4
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP_TRIALS, constant_liar=True)


def _pruner():
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP_TRIALS, n_warmup_steps=PRUNE_WARMUP_EPOCHS)


def open_study(tune_dir: Path, seed: int | None = None, create: bool = False) -> optuna.Study:
    """The tune's study from its journal file; with ``seed``, its TPE sampler is seeded with ``seed`` plus the
    number of trials so far (each process builds its own sampler: one seed would repeat the same draws)."""
    storage = JournalStorage(JournalFileBackend(str(Path(tune_dir) / STUDY_FILE)))
    if create:
        study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="minimize",
                                    sampler=_sampler(seed or 0), pruner=_pruner(), load_if_exists=True)
    else:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=_sampler(seed or 0),
                                  pruner=_pruner())
    if seed is not None:
        study.sampler = _sampler(seed + len(study.get_trials(deepcopy=False)))
    return study


@contextmanager
def _locked(tune_dir: Path):
    with open(Path(tune_dir) / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- reading a tune --------------------------------------------------------------------------------------------------
STATE_NAMES = {TrialState.COMPLETE: "finished", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
               TrialState.RUNNING: "running", TrialState.WAITING: "queued"}
_ORDER = {"finished": 0, "pruned": 1, "running": 2, "queued": 3, "failed": 4}


class Tune:
    """A tune folder read as it is now: its description (``info``), study, trials, leaderboard and state.

    Pages keep a ``Tune`` in the session and read it on every refresh; it never trains anything itself."""

    def __init__(self, tune_dir: Path):
        self.tune_dir = Path(tune_dir).absolute()
        self.info = read_json(self.tune_dir / TUNE_FILE)
        if self.info.get("kind") != "tune":
            raise ValueError(f"{self.tune_dir / TUNE_FILE}: not a tune description")
        self._storage = None

    @property
    def tune_id(self) -> str:
        """The tune's folder relative to the runs folder (the queue's name for it)."""
        return f"{self.tune_dir.parent.name}/{self.tune_dir.name}"

    @property
    def root(self) -> Path:
        return self.tune_dir.parent.parent

    @property
    def budget(self) -> dict:
        return self.info["budget"]

    @property
    def stopped(self) -> bool:
        return (self.tune_dir / STOP_FILE).exists()

    @property
    def journal(self) -> Path:
        return self.tune_dir / STUDY_FILE

    def study(self) -> optuna.Study:
        """The study, read from the journal (later reads only read what was appended since)."""
        self.info = read_json(self.tune_dir / TUNE_FILE)  # a resume may have changed the budget
        if self._storage is None:
            self._storage = JournalStorage(JournalFileBackend(str(self.journal)))
        return optuna.load_study(study_name=STUDY_NAME, storage=self._storage, sampler=_sampler(0), pruner=_pruner())

    def trials(self) -> list[optuna.trial.FrozenTrial]:
        """The trials asked so far (an enqueued one, Auto's, is not a trial until it is asked)."""
        return _asked(self.study().get_trials(deepcopy=False))

    def owned_by(self, secret: str) -> bool:
        return bool(secret) and self.info.get("owner") == owner_key(secret)

    def trial_dir(self, number: int) -> Path:
        return self.tune_dir / TRIALS_DIR / str(number)

    def trial_state(self, trial) -> str:
        """finished, pruned, failed, or for a trial in flight, queued or running (from its job's status)."""
        if trial.state != TrialState.RUNNING:
            return STATE_NAMES[trial.state]
        job = read_status(self.trial_dir(trial.number)).get("state")
        return "queued" if job == "queued" else "running" if job == "running" else "failed"

    def counts(self, trials=None) -> dict[str, int]:
        counts = dict.fromkeys(_ORDER, 0)
        for trial in self.trials() if trials is None else trials:
            counts[self.trial_state(trial)] += 1
        return counts

    def best(self, trials=None):
        """The finished trial with the lowest validation loss, or None."""
        done = [t for t in (self.trials() if trials is None else trials)
                if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]
        return min(done, key=lambda t: (t.value, t.number)) if done else None

    def more_to_ask(self, counts: dict | None = None) -> bool:
        """Whether the budget allows more trials than are ended or in flight (and the tune is not stopped)."""
        counts = counts or self.counts()
        deadline = self.budget.get("deadline")
        if self.stopped or (deadline is not None and time.time() >= deadline):
            return False
        return counts["failed"] < self.budget["trials"] and \
            counts["finished"] + counts["pruned"] + counts["running"] + counts["queued"] < self.budget["trials"]

    @property
    def state(self) -> str:
        """``running`` while trials are in flight or more are due, then ``stopped`` or ``finished``."""
        counts = self.counts()
        if counts["running"] or counts["queued"] or self.more_to_ask(counts):
            return "running"
        return "stopped" if self.stopped else "finished"

    @property
    def done(self) -> bool:
        return self.state != "running"

    @property
    def elapsed(self) -> float:
        """Seconds since the tune (or its last resume) started, until its last trial ended once it is done."""
        started = self.budget.get("started") or self.info["created"]
        if not self.done:
            return max(0.0, time.time() - started)
        ends = [t.datetime_complete.timestamp() for t in self.trials() if t.datetime_complete is not None]
        return max(0.0, max(ends, default=started) - started)

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: state, best validation loss (so far, for a trial in flight), epochs,
        seconds, why it ended early, and every searched parameter."""
        rows, names = [], []
        for trial in self.trials():
            state, folder, attrs = self.trial_state(trial), self.trial_dir(trial.number), trial.user_attrs
            history = pd.DataFrame(read_history(folder)) if trial.state == TrialState.RUNNING else None
            status = read_status(folder) if trial.state == TrialState.RUNNING else {}
            seconds = attrs.get("seconds")
            if seconds is None and status.get("started") and state == "running":
                seconds = time.time() - status["started"]
            epochs = attrs.get("epochs", len(history) if history is not None else None)
            names += [name for name in trial.params if name not in names]
            rows.append({"trial": trial.number, "state": state, "out-of-fold loss": trial.value,
                         "out-of-fold score": attrs.get("out_of_fold"), "members": attrs.get("members"),
                         "epochs": epochs, "seconds": None if seconds is None else round(seconds, 1),
                         "note": attrs.get("ended", ""), **trial.params})
        columns = ["trial", "state", "out-of-fold loss", "out-of-fold score", "members", "epochs", "seconds", *names,
                   "note"]
        table = pd.DataFrame(rows, columns=columns)
        if len(table):
            table = table.assign(_order=table["state"].map(_ORDER)).sort_values(
                ["_order", "out-of-fold loss", "trial"], na_position="last").drop(columns="_order")
        return table.reset_index(drop=True)

    def selection(self) -> dict | None:
        """Caruana's ensemble selection (:mod:`dlcore.selection`) over the finished trials' out-of-fold outputs,
        on the rows every one of them held out: ``{"ensemble": [{"trial", "weight", "out_of_fold"}], "loss",
        "metric": the headline metric, "out_of_fold": the mix's metrics, "default_only": whether it is Auto's trial
        alone}``; None when no trial has finished. Kept in ``selection.json`` until another trial finishes."""
        finished = {t.number: t for t in self.trials() if t.state == TrialState.COMPLETE and t.value is not None
                    and (self.trial_dir(t.number) / OUT_OF_FOLD_FILE).is_file()}
        if not finished:
            return None
        try:
            kept = read_json(self.tune_dir / SELECTION_FILE)
            if kept.get("trials") == sorted(finished):
                return kept
        except ValueError:
            pass
        data = self.prepared()
        outputs = {n: np.load(self.trial_dir(n) / OUT_OF_FOLD_FILE, allow_pickle=False) for n in sorted(finished)}
        covered = held_out_by_all(*outputs.values())
        targets = np.concatenate([data.y_train, data.y_val])[covered]
        outputs = {n: o[covered] for n, o in outputs.items()}
        classes = len(data.preparation.classes)
        weights, loss = greedy_weights(outputs, lambda o: prediction_loss(data.task, targets, o, classes))
        metrics = score_rows(data, np.flatnonzero(covered), mix(outputs, weights))
        chosen = {"trials": sorted(finished), "loss": loss, "metric": data.primary_metric, "out_of_fold": metrics,
                  "default_only": list(weights) == [AUTO_TRIAL],
                  "ensemble": [{"trial": n, "weight": round(w, 6), "out_of_fold": finished[n].user_attrs.get(
                      "out_of_fold")} for n, w in weights.items()]}
        write_json(self.tune_dir / SELECTION_FILE, chosen)
        return chosen

    def stop(self) -> None:
        """Ask every trial to stop (within a batch; queued ones never start) and ask no more."""
        write_text(self.tune_dir / STOP_FILE, "")
        for folder in sorted((self.tune_dir / TRIALS_DIR).glob("*")):
            if read_status(folder).get("state") not in FINAL_STATES:
                write_text(folder / STOP_FILE, "")

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> bool:
        """Advance the tune and block until it is done (True) or ``timeout`` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            advance(self.tune_dir)
            if self.done:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(poll)

    def prepared(self) -> PreparedData:
        return PreparedData.load(self.tune_dir / PREPARED_DIR)



def find_tune(tune_id: str, root: Path | None = None) -> Tune | None:
    """The app's tune called ``tune_id`` (its folder under ``<runs>/.tunes``), or None."""
    if not RUN_ID.match(tune_id or ""):
        return None
    try:
        return Tune(Path(root or runs_root()) / TUNES_DIR / tune_id)
    except ValueError:
        return None


# -- starting, advancing, resuming -----------------------------------------------------------------------------------
def _check_budget(trials: int, minutes: float | None) -> None:
    if not 1 <= int(trials) <= MAX_TRIALS:
        raise DataError(f"The number of trials must be from 1 to {MAX_TRIALS:,}.")
    if minutes is not None and not minutes > 0:
        raise DataError("The time limit must be more than 0 minutes (or none).")


def _budget(trials: int, minutes: float | None) -> dict:
    now = time.time()
    return {"trials": int(trials), "minutes": minutes, "started": now,
            "deadline": None if minutes is None else now + 60 * float(minutes)}


def _fingerprint(data: PreparedData) -> dict:
    return {"target": data.preparation.target, "task": data.task, "features": list(data.preparation.feature_names),
            "rows": {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test)}}


def start(data: PreparedData, tune_dir: Path, trials: int, minutes: float | None = None,
          config: TrainConfig | None = None, dataset: str = "", owner: str = "", backend: str | None = None) -> Tune:
    """Write a tune folder for ``data`` and queue its first trials; ``config`` is the base of every trial's
    training settings (max epochs, patience, seed…). ``tune_dir`` must be two levels below the runs folder.

    A folder that already holds a tune of the same data resumes it with this budget (the command line's way to go
    on after an interruption); of other data, :class:`DataError`."""
    _check_budget(trials, minutes)
    tune_dir = Path(tune_dir).absolute()
    if (tune_dir / TUNE_FILE).exists():
        tune = Tune(tune_dir)
        if tune.info.get("data") != _fingerprint(data):
            raise DataError(f"{tune_dir} holds a tune of other data or settings; choose another folder.")
        return resume(tune, trials, minutes)
    config = config or TrainConfig()
    validate(auto_architecture(data.x_train.shape[1], len(data.x_train), data.task), config, data.task,
             len(data.preparation.classes))
    data.save(tune_dir / PREPARED_DIR)
    study = open_study(tune_dir, create=True)
    study.enqueue_trial(auto_params(len(data.x_train), config))  # the search starts from Auto and can only improve
    write_json(tune_dir / TUNE_FILE, {
        "version": 1, "kind": "tune", "owner": owner_key(owner), "dataset": dataset, "target": data.preparation.target,
        "task": data.task, "n_features": int(data.x_train.shape[1]), "n_classes": len(data.preparation.classes),
        "rows": _fingerprint(data)["rows"], "data": _fingerprint(data), "created": time.time(), "seed": config.seed,
        "backend": backend or default_backend(), "config": config.get_config(), "budget": _budget(trials, minutes),
        "kept": [],
    })
    advance(tune_dir)
    return Tune(tune_dir)


def resume(tune: Tune, trials: int, minutes: float | None = None) -> Tune:
    """Go on with the same study: ``trials`` ended trials in all (those so far count), ``minutes`` from now."""
    _check_budget(trials, minutes)
    with _locked(tune.tune_dir):
        info = read_json(tune.tune_dir / TUNE_FILE)
        write_json(tune.tune_dir / TUNE_FILE, {**info, "budget": _budget(trials, minutes)})
        (tune.tune_dir / STOP_FILE).unlink(missing_ok=True)
    advance(tune.tune_dir)
    return Tune(tune.tune_dir)


def advance(tune_dir: Path, dispatching: bool = True) -> int:
    """Settle the trials whose job ended without telling the study, ask new ones while the budget and the job
    limit allow, queue them and (with ``dispatching``) start what the queue allows. Returns the number asked.

    Any process may call it at any time; a lock keeps two from asking at once."""
    tune_dir = Path(tune_dir).absolute()
    with _locked(tune_dir):
        tune = Tune(tune_dir)
        study = open_study(tune_dir, seed=tune.info["seed"])
        trials = study.get_trials(deepcopy=False)
        _settle(tune, study, trials)
        counts = tune.counts(_asked(study.get_trials(deepcopy=False)))
        backend = tune.info["backend"]
        wanted = 0
        if tune.more_to_ask(counts):
            in_flight = counts["running"] + counts["queued"]
            ended = counts["finished"] + counts["pruned"]
            wanted = max(0, min(max_jobs(backend) - in_flight, tune.budget["trials"] - ended - in_flight))
        jobs = [job for job in (_ask(tune, study) for _ in range(wanted)) if job]
        if jobs:
            enqueue(tune.root, jobs, tune.tune_id, "", backend, "train", key=tune.info["owner"])
    if dispatching:
        dispatch(tune.root)
    return len(jobs)


def _asked(trials) -> list:
    return [trial for trial in trials if trial.state != TrialState.WAITING]


def _settle(tune: Tune, study: optuna.Study, trials) -> None:
    """Fail the trials the study thinks in flight whose job ended, died, or was never written."""
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        folder = tune.trial_dir(trial.number)
        status = read_status(folder) if (folder / JOB_FILE).exists() else {"state": "failed",
                                                                             "error": "Its job was never written."}
        if status.get("state") in FINAL_STATES:
            reason = status.get("error") or f"its job {status.get('state')} without a result"
            optuna.trial.Trial(study, trial._trial_id).set_user_attr("ended", reason)
            study.tell(trial.number, state=TrialState.FAIL)


def _ask(tune: Tune, study: optuna.Study) -> str | None:
    """Ask one trial, write its job folder; its job name for the queue, or None if its settings cannot train."""
    info = tune.info
    trial = study.ask()
    arch, config = suggest(trial, info["n_features"], info["rows"]["train"], info["task"],
                           TrainConfig.from_config(info["config"]))
    try:
        validate(arch, config, info["task"], info["n_classes"])
    except DataError as exc:
        trial.set_user_attr("ended", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        return None
    trial.set_user_attr("architecture", arch.get_config())
    trial.set_user_attr("config", config.get_config())
    folder = tune.trial_dir(trial.number)
    # Trial(study, trial_id) reopens it in the worker; Optuna keeps the id on the trial only as _trial_id.
    write_json(folder / JOB_FILE, {"version": 1, "kind": "trial", "trial": trial.number, "trial_id": trial._trial_id,
                                   "architecture": arch.get_config(), "config": config.get_config()})
    write_json(folder / STATUS_FILE, {"state": "queued", "queued": time.time()})
    return f"{tune.tune_id}/{TRIALS_DIR}/{trial.number}"


# -- keeping the best ------------------------------------------------------------------------------------------------
def write_kept(tune: Tune, run_dir: Path, owner: str = "") -> dict:
    """Write the run folder of the tune's selected ensemble (:meth:`Tune.selection`) into ``run_dir``: a run whose
    job averages the chosen trials' models with their weights (nothing is trained again), scored on the test split
    like any run. Its selection; :class:`DataError` when no trial has finished."""
    chosen = tune.selection()
    if chosen is None:
        raise DataError("No trial has finished yet, so there is nothing to keep.")
    top = max(chosen["ensemble"], key=lambda item: item["weight"])["trial"]
    trial = next(t for t in tune.trials() if t.number == top)
    arch = Architecture.from_config(trial.user_attrs["architecture"])
    config = TrainConfig.from_config(trial.user_attrs["config"])
    names = ", ".join(f"trial {item['trial']} × {item['weight']:.2f}" for item in chosen["ensemble"])
    arch = dataclasses.replace(arch, name="tuned_ensemble", title=f"Tuned ensemble: {names}",
                               source="Optuna TPE search, Caruana's ensemble selection on out-of-fold predictions")
    data = tune.prepared()
    blend = [{**item, "model": str(tune.trial_dir(item["trial"]) / MODEL_FILE),
              "out_of_fold_outputs": str(tune.trial_dir(item["trial"]) / OUT_OF_FOLD_FILE),
              "history": str(tune.trial_dir(item["trial"]))} for item in chosen["ensemble"]]
    write_job(run_dir, data, arch, dataclasses.replace(config, folds=1),
              run_info(data, arch, config, tune.info.get("dataset", ""), owner), blend=blend)
    return chosen


def keep_best(tune: Tune, owner: str = "", backend: str | None = None):
    """Keep the tune's selected ensemble as a normal run of the runs folder (:func:`write_kept`), queued to be
    scored and delivered; the :class:`~dlcore.runs.Run`. :class:`DataError` when no trial has finished."""
    run_dir = new_run_dir(tune.root)
    chosen = write_kept(tune, run_dir, owner)
    for name in (DATASET_TABLE, DATASET_INFO):  # the tune's data set, if it kept one, goes with the run
        if (tune.tune_dir / name).is_file():
            with replacing(run_dir / name) as temporary:
                shutil.copyfile(tune.tune_dir / name, temporary)
    run = submit(run_dir, owner, tune.root, backend or tune.info["backend"])
    with _locked(tune.tune_dir):
        info = read_json(tune.tune_dir / TUNE_FILE)
        write_json(tune.tune_dir / TUNE_FILE, {**info, "kept": [
            *info.get("kept", []), {"run": run.run_id, "trials": [item["trial"] for item in chosen["ensemble"]]}]})
    return run


def start_tune(data, trials: int, minutes: float | None = None, config=None, dataset: str = "", owner: str = "",
               root: Path | None = None, backend: str | None = None, tune_dir: Path | None = None, source=None):
    """Write a tune of ``data`` (in ``<runs>/.tunes/<id>`` unless ``tune_dir``) and queue its first trials as jobs;
    it counts as one of the session's runs. Its :class:`Tune`. ``source``: as for :func:`dlcore.jobs.start_run`,
    kept in the tune's folder and in the run that Keep the best makes."""
    root = Path(root or runs_root()).absolute()
    check_session_limit(root, owner)
    tune = start(data, tune_dir or root / TUNES_DIR / uuid.uuid4().hex, trials, minutes, config,
                 dataset=dataset, owner=owner, backend=backend or default_backend())
    if source is not None:
        source[0].save(tune.tune_dir, source[1])
    return tune
