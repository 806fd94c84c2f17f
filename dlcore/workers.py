"""The worker: runs one job folder in this process (``python -m dlcore worker``, a Ray actor, or the command line's
local training), keeping its ``status.json`` (state, epoch, phase, pid, host, device, a heartbeat every
:data:`HEARTBEAT_SECONDS`) and stopping within an epoch once a ``stop`` file appears; then it takes the next waiting
job of its backend from the queue (:mod:`dlcore.jobs`). What a job does is looked up by its kind in
:data:`HANDLERS`: the queue knows nothing of tuning or explanation."""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from dlcore.explanations import explain_job
from dlcore.jobs import JobFailed, dispatch, end_job, job_status
from dlcore.runs import (HOST, JOB_FILE, STATUS_FILE, STOP_FILE, Run, evaluate_checkpoint, execute, execute_fold,
                         execute_member, write_job)
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, write_json
from dlcore.training import training_device
from dlcore.trials import run_trial

HEARTBEAT_SECONDS = 2.0
# job kind (job.json's "kind") -> what the worker does: handler(job_dir, status keeper, epoch callback) -> metrics;
# a job.json of any other kind (or none) is a run's, as it was before kinds were named
HANDLERS = {
    "run": lambda job_dir, status, epoch: execute(job_dir, on_epoch=epoch, should_stop=status.stop_requested,
                                                  on_phase=status.on_phase),
    "member": lambda job_dir, status, epoch: execute_member(job_dir, on_epoch=epoch,
                                                            should_stop=status.stop_requested),
    "fold": lambda job_dir, status, epoch: execute_fold(job_dir, on_epoch=epoch, should_stop=status.stop_requested),
    "trial": lambda job_dir, status, epoch: run_trial(job_dir, on_epoch=epoch, should_stop=status.stop_requested),
    "explain": lambda job_dir, status, epoch: explain_job(job_dir, on_progress=status.on_progress,
                                                          on_phase=status.on_phase),
}


def train_here(data, arch, config, run_dir: Path, info: dict | None = None, on_epoch=None,
               on_member=None, data_settings=None) -> dict:
    """Write the job into ``run_dir`` and run it in this process (the command line's local backend), an
    ensemble's members one after another first (``on_member(number, of)`` as each starts); its metrics, or
    :class:`JobFailed`. The folder is the same as a queued job's."""
    write_job(run_dir, data, arch, config, info, data_settings=data_settings)
    members = Run(run_dir).member_dirs
    try:
        for number, member_dir in enumerate(members, 1):
            if (run_dir / STOP_FILE).exists():
                break
            if on_member is not None:
                on_member(number, len(members))
            if work(member_dir, on_epoch=on_epoch) is None:
                break  # the run fails with this member's reason, keeping those before it
    except BaseException:  # Ctrl-C or a termination signal: the run's folder says so too
        end_job(run_dir, "failed", "Training was interrupted.")
        raise
    finally:
        for member_dir in members:
            if job_status(member_dir).get("state") == "queued":
                end_job(member_dir, "stopped", "Stopped before it started.")
    metrics = work(run_dir, on_epoch=on_epoch)
    if metrics is None:
        raise JobFailed(Run(run_dir).error)
    return metrics


class _StatusKeeper:
    """The worker's side of ``status.json``: its state, epoch and phase, with a heartbeat from a thread."""

    def __init__(self, job_dir: Path):
        self.job_dir = job_dir
        self.record = {**job_status(job_dir), "state": "running", "phase": "starting", "pid": os.getpid(), "host": HOST,
                       "started": time.time(), "epoch": 0, "error": None}
        self._lock = threading.Lock()
        self._stopping = False
        self.update()

    def update(self, **fields) -> None:
        with self._lock:
            self.record.update(fields, heartbeat=time.time())
            write_json(self.job_dir / STATUS_FILE, self.record)

    def on_epoch(self, epoch: int, row: dict) -> None:
        self.update(epoch=epoch, phase="training")

    def on_phase(self, phase: str) -> None:
        self.update(phase=phase)

    def on_progress(self, done: int, total: int) -> None:
        self.update(progress=[done, total], phase=f"explaining rows: {done:,} of {total:,}")

    def stop_requested(self) -> bool:
        """True once a ``stop`` file appeared (a file check, asked once per call of batches)."""
        self._stopping = self._stopping or (self.job_dir / STOP_FILE).exists()
        return self._stopping

    @contextmanager
    def beating(self):
        done = threading.Event()

        def beat():
            while not done.wait(HEARTBEAT_SECONDS):
                self.update()

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            done.set()
            thread.join()


def work(job_dir: Path, root: Path | None = None, evaluate: bool = False, on_epoch=None,
         backend: str | None = None, logs: bool = False) -> dict | None:
    """Run the job in ``job_dir`` in this process, keeping its status; then, with ``root``, start the next queued
    jobs. Returns the metrics, or None if the job failed (the status says why).

    A worker of ``backend`` then keeps its slot: it runs the next waiting job of that backend itself, and the next,
    until none waits (an ensemble's members in one process, TensorFlow imported once); ``logs``: each of those jobs'
    output goes to its own ``worker.log``."""
    try:
        metrics = _work_one(Path(job_dir).absolute(), evaluate, on_epoch)
        while root is not None and backend is not None:
            ticket = dispatch(root, claim=backend)
            if ticket is None:
                break
            _forget_models()
            next_dir = Path(root).absolute() / ticket["job"]
            if logs:
                _log_to(next_dir / "worker.log")
            _work_one(next_dir, ticket["mode"] == "evaluate", None)
    finally:
        if root is not None:
            dispatch(root)
    return metrics


def _forget_models() -> None:
    """Free the ended job's models and reset Keras' names, so the next job in this process starts clean."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=True)


def _log_to(path: Path) -> None:
    """Send this process' output (Python's and the libraries' own, file descriptors 1 and 2) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)


def _work_one(job_dir: Path, evaluate: bool, on_epoch) -> dict | None:
    """One job in this process, its status kept; the metrics, or None when it failed."""
    status = _StatusKeeper(job_dir)

    def epoch(number: int, row: dict) -> None:
        status.on_epoch(number, row)
        if on_epoch is not None:
            on_epoch(number, row)

    metrics = None
    try:
        with status.beating():
            kind = read_json(job_dir / JOB_FILE).get("kind")
            if not evaluate and kind != "explain":
                status.update(device=training_device())
            metrics = evaluate_checkpoint(job_dir, on_phase=status.on_phase) if evaluate else \
                HANDLERS.get(kind, HANDLERS["run"])(job_dir, status, epoch)
        state = "recovered" if evaluate else "stopped" if metrics.get("stopped_by_user") else "finished"
        status.update(state=state, phase="", finished=time.time())
    except DataError as exc:
        status.update(state="failed", error=str(exc), finished=time.time())
    except Exception as exc:  # the job fails with the reason; the traceback goes to worker.log
        traceback.print_exc()
        status.update(state="failed", error=f"{type(exc).__name__}: {exc}", finished=time.time())
    except BaseException:  # Ctrl-C or a termination signal: the folder says so before the process ends
        status.update(state="failed", error="Training was interrupted.", finished=time.time())
        raise
    return metrics
