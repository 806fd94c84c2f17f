"""Jobs: every training and every explanation runs in a worker process, out of the web server, through one FIFO
queue with limits.

A job is a folder that :func:`dlcore.runs.write_job` filled with everything the worker needs. :func:`start_run`
writes a run (one job per K-fold fold, one per member of its ensemble, then the run's own job, which waits for its
members and delivers their mean; a member that fails fails its run at once);
:func:`dlcore.explanations.start_explanation` an explanation job in ``<run>/explain``;
:func:`dlcore.tuning.start_tune` a tune whose trials are jobs too (each asks the next as it ends). Each queues its
jobs and calls :func:`dispatch`, which starts waiting jobs while fewer than the limit are running. The queue is files
in the runs folder, so any process can advance it: the server when a job is submitted and its scheduler thread
(:mod:`dlcore.scheduler`) while jobs wait or train, the command line while it follows a run, and every worker when its
job ends (the queue moves on while the server restarts)::

    <runs>/.queue/lock                       held (flock) while the queue changes
    <runs>/.queue/waiting/<ticket>.json      {"job", "run", "owner", "backend", "mode"}; tickets sort by submit time
    <runs>/.queue/running/<ticket>.json      moved here when started; removed once the job has ended

A worker (:mod:`dlcore.workers`, ``python -m dlcore worker JOB_DIR``) runs a job and keeps its ``status.json``;
when its job ends it takes the next waiting job of its backend itself (a slot keeps its process: TensorFlow is
imported once for an ensemble's members). Backends: ``local`` (default) starts the worker command in a new OS
process for a job no worker took, in its own session so a server restart leaves it running; ``ray`` (``RAY_ADDRESS``
set, or ``DLCORE_BACKEND=ray``) runs the same command in a detached Ray actor on the cluster, which then needs the
runs folder on storage every node shares.

Settings (environment variables): ``DLCORE_MAX_JOBS`` (jobs training at once; default one per two CPU cores, or the
Ray cluster's CPUs), ``DLCORE_MAX_RUNS_PER_SESSION`` (runs one browser session may have waiting or training;
default 3), ``DLCORE_BACKEND`` and ``DLCORE_HEARTBEAT_TIMEOUT`` (:func:`dlcore.runs.heartbeat_timeout`).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from dlcore.runs import (FINAL_STATES, MEMBERS_DIR, RUNS_ENV, JOB_FILE, LOST, STATUS_FILE, STOP_FILE, Run,
                         member_failure, new_run_dir, owner_key, read_status, run_info, runs_root, write_job)
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, write_json

QUEUE_DIR = ".queue"
MAX_JOBS_ENV, MAX_RUNS_ENV, BACKEND_ENV = "DLCORE_MAX_JOBS", "DLCORE_MAX_RUNS_PER_SESSION", "DLCORE_BACKEND"
PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])


class LimitError(DataError):
    """A configured limit was reached; the message names it and what to do."""


class JobFailed(RuntimeError):
    """A job ended as failed; the message is the error its status gives."""


# -- submitting --------------------------------------------------------------------------------------------------
def default_backend() -> str:
    """``ray`` when ``$DLCORE_BACKEND`` says so or ``$RAY_ADDRESS`` is set, else ``local``."""
    chosen = os.environ.get(BACKEND_ENV) or ("ray" if os.environ.get("RAY_ADDRESS") else "local")
    if chosen not in BACKENDS:
        raise DataError(f"Unknown backend {chosen!r} in {BACKEND_ENV}; choose one of {', '.join(BACKENDS)}.")
    return chosen


def max_runs_per_session() -> int:
    return int(os.environ.get(MAX_RUNS_ENV, 3))


def start_run(data, arch, config, folds=None, dataset: str = "", owner: str = "", root: Path | None = None,
              backend: str | None = None, source=None, data_settings=None) -> Run:
    """Write a run folder for ``data`` (and its K-fold ``folds``), queue its jobs and start what the limits allow.

    ``owner`` is the browser session's secret; a session over its limit gets a :class:`LimitError`. ``source``: the
    loaded :class:`~dlcore.runtime.loading.Dataset` and the app's setup of it, kept in the run folder
    (:meth:`~dlcore.runtime.loading.Dataset.save`) so that the run brings its data set back. ``data_settings``: how the
    table was read, prepared and split, for the run's ``settings.json``."""
    root = Path(root or runs_root()).absolute()
    backend = backend or default_backend()
    check_session_limit(root, owner)
    run_dir = new_run_dir(root)
    write_job(run_dir, data, arch, config, run_info(data, arch, config, dataset, owner), folds,
              data_settings=data_settings)
    if source is not None:
        source[0].save(run_dir, source[1])
    return submit(run_dir, owner, root, backend)


def check_session_limit(root: Path, owner: str) -> None:
    """Refuse a new run (or tune) of a session that has as many training or waiting as it may, or whose runs folder
    cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        write_json(root / QUEUE_DIR / ".writable", {})
    except OSError as exc:
        raise DataError(f"The runs folder {root} cannot be written ({exc.strerror or exc}): set {RUNS_ENV} to a "
                        "folder the app may write to.") from exc
    if owner and (busy := _session_runs(root, owner_key(owner))) >= max_runs_per_session():
        raise LimitError(f"You already have {busy} run(s) training or waiting, the most one session may have "
                         f"({MAX_RUNS_ENV}={max_runs_per_session()}). Wait for one to finish or stop one.")


def submit(run_dir: Path, owner: str = "", root: Path | None = None, backend: str | None = None,
           mode: str = "train") -> Run:
    """Queue a written run folder's jobs (its folds first) and dispatch; ``mode`` ``evaluate`` scores its best
    checkpoint instead of training (a run whose worker died)."""
    root, run_dir = Path(root or runs_root()).absolute(), Path(run_dir).absolute()
    backend = backend or default_backend()
    spec = read_json(run_dir / JOB_FILE) if mode == "train" else {}
    parts = [*spec.get("folds", []), *spec.get("members", [])]
    enqueue(root, [*(f"{run_dir.name}/{part}" for part in parts), run_dir.name], run_dir.name, owner, backend, mode)
    dispatch(root)
    return Run(run_dir)


def enqueue(root: Path, jobs: list[str], run_id: str, owner: str, backend: str, mode: str,
             key: str | None = None) -> None:
    """Put a run's ``jobs`` (folders relative to ``root``) at the end of the queue, in order; ``key``: the owner's
    hash when only that is known (a tune's trials), instead of the secret ``owner``."""
    for job in jobs:
        write_json(root / QUEUE_DIR / "waiting" / f"{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.json",
                   {"job": job, "run": run_id, "owner": owner_key(owner) if key is None else key,
                    "backend": backend, "mode": mode})


def recover(run: Run, owner: str = "", backend: str | None = None) -> Run:
    """Queue the evaluation of a failed run's best checkpoint: scores, baselines and the bundle, as for a finished
    run; the run then shows as ``recovered``."""
    if not run.has_checkpoint:
        raise DataError("This run has no saved checkpoint to evaluate.")
    write_json(run.run_dir / STATUS_FILE, {**run.status_record, "state": "queued", "queued": time.time(),
                                           "phase": "waiting to evaluate the best checkpoint", "error": None})
    return submit(run.run_dir, owner, run.run_dir.parent, backend, mode="evaluate")


# -- the queue -----------------------------------------------------------------------------------------------------
@contextmanager
def _locked(queue: Path):
    for folder in ("waiting", "running"):
        (queue / folder).mkdir(parents=True, exist_ok=True)
    with open(queue / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _tickets(queue: Path, folder: str) -> list[tuple[Path, dict]]:
    tickets = []
    for path in sorted((queue / folder).glob("*.json")):
        try:
            tickets.append((path, read_json(path)))
        except ValueError:  # removed meanwhile, or damaged: a damaged ticket cannot run
            path.unlink(missing_ok=True)
    return tickets


def dispatch(root: Path | None = None, claim: str | None = None) -> dict | None:
    """Forget ended jobs, mark dead ones failed, and start waiting jobs in submission order up to the limit.

    ``claim`` (a backend's name): the calling worker, whose job has just ended, takes the first job of that backend
    it would start and runs it itself (returned, its ticket moved to running) instead of starting a new worker."""
    root = Path(root or runs_root()).absolute()
    queue = root / QUEUE_DIR
    claimed = None
    if not (queue / "waiting").is_dir():
        return None
    with _locked(queue):
        running = []
        for path, ticket in _tickets(queue, "running"):
            job_dir = root / ticket["job"]
            state = _settle(job_dir)
            if state != "running":  # ended, or queued again (a recovery): this ticket is spent
                path.unlink(missing_ok=True)
                if state == "failed":
                    _fail_ensemble(job_dir)
            else:
                running.append(ticket)
        for path, ticket in _tickets(queue, "waiting"):
            job_dir = root / ticket["job"]
            if job_status(job_dir).get("state") in FINAL_STATES:  # failed meanwhile (an ensemble whose member failed)
                path.unlink(missing_ok=True)
                continue
            if not job_dir.is_dir() or (job_dir / STOP_FILE).exists() and not _delivers_members(job_dir):
                end_job(job_dir, "stopped", "Stopped before it started.")
                path.unlink(missing_ok=True)
                continue
            if len(running) >= max_jobs(ticket["backend"]):
                break  # first in, first out: nobody overtakes the job at the head
            _update_status(job_dir, state="running", phase="starting", heartbeat=time.time(), pid=None,
                           started=time.time(), error=None)
            path.rename(queue / "running" / path.name)
            running.append(ticket)
            if claimed is None and ticket["backend"] == claim:
                claimed = ticket
                continue
            try:
                BACKENDS[ticket["backend"]].launch(root, ticket)
            except Exception as exc:  # e.g. a Ray cluster out of reach: the job fails with the reason
                end_job(job_dir, "failed", f"Could not start the job on the {ticket['backend']} backend: {exc}")
                (queue / "running" / path.name).unlink(missing_ok=True)
                running.remove(ticket)
    return claimed


def _fail_ensemble(member_dir: Path) -> None:
    """When ``member_dir`` is a member of an ensemble that failed: its run, still waiting for its members, fails
    now with the reason (and its members not yet ended stop), rather than when its own job's turn comes."""
    run_dir = member_dir.parent.parent
    if member_dir.parent.name == MEMBERS_DIR and job_status(run_dir).get("state") == "queued":
        end_job(run_dir, "failed", member_failure(run_dir, int(member_dir.name)))


def _delivers_members(job_dir: Path) -> bool:
    """An ensemble's own job, which still delivers the members trained before a Stop."""
    try:
        return bool(read_json(job_dir / JOB_FILE).get("members"))
    except ValueError:
        return False


def queue_position(run: Run, root: Path | None = None) -> dict:
    """Where a waiting run stands: ``position`` (1-based, among waiting runs), ``waiting``, ``running``, ``limit``."""
    queue = Path(root or run.run_dir.parent) / QUEUE_DIR
    waiting = [ticket for _, ticket in _tickets(queue, "waiting")] if (queue / "waiting").is_dir() else []
    runs = list(dict.fromkeys(ticket["run"] for ticket in waiting))
    running = len(list((queue / "running").glob("*.json"))) if (queue / "running").is_dir() else 0
    backend = waiting[0]["backend"] if waiting else default_backend()
    return {"position": runs.index(run.run_id) + 1 if run.run_id in runs else None, "waiting": len(runs),
            "running": running, "limit": max_jobs(backend)}


def queued_runs(root: Path) -> set[str]:
    """The runs (and tunes) with a ticket waiting or running in the queue of ``root``."""
    queue = Path(root) / QUEUE_DIR
    return {str(ticket.get("run", "")) for folder in ("waiting", "running") if (queue / folder).is_dir()
            for _, ticket in _tickets(queue, folder)}


def _session_runs(root: Path, key: str) -> int:
    """Runs of one session waiting or training."""
    queue = root / QUEUE_DIR
    if not (queue / "waiting").is_dir():
        return 0
    dispatch(root)  # forget ended jobs first
    tickets = [ticket for folder in ("waiting", "running") for _, ticket in _tickets(queue, folder)]
    return len({ticket["run"] for ticket in tickets if ticket.get("owner") == key})


def _settle(job_dir: Path) -> str:
    """The job's state, after writing down a death that only its silence shows."""
    judged = read_status(job_dir)
    if job_status(job_dir).get("state") == "running" and judged.get("error") == LOST:
        end_job(job_dir, "failed", LOST)
    return judged.get("state", "failed")


def job_status(job_dir: Path) -> dict:
    """The job's status.json as written (no judgement of a silent worker), or {} if unreadable."""
    try:
        return read_json(job_dir / STATUS_FILE)
    except ValueError:
        return {}


def _update_status(job_dir: Path, **fields) -> None:
    write_json(job_dir / STATUS_FILE, {**job_status(job_dir), **fields})


def end_job(job_dir: Path, state: str, error: str | None = None) -> None:
    """Mark the job ended as ``state`` (a failed member fails its ensemble)."""
    if job_dir.is_dir():
        _update_status(job_dir, state=state, error=error, finished=time.time())
        if state == "failed":
            _fail_ensemble(job_dir)


# -- limits and backends -------------------------------------------------------------------------------------------
def max_jobs(backend: str = "local") -> int:
    """Jobs training at once: ``$DLCORE_MAX_JOBS``, else the backend's own default."""
    if os.environ.get(MAX_JOBS_ENV):
        return max(1, int(os.environ[MAX_JOBS_ENV]))
    return BACKENDS[backend].default_slots()


class LocalBackend:
    """Each job in a new OS process (``python -m dlcore worker``), in a session of its own."""

    @staticmethod
    def default_slots() -> int:
        return max(1, (os.cpu_count() or 2) // 2)

    @staticmethod
    def launch(root: Path, ticket: dict) -> None:
        job_dir = root / ticket["job"]
        command = [sys.executable, "-m", "dlcore", "worker", str(job_dir), "--root", str(root)]
        if ticket["mode"] == "evaluate":
            command.append("--evaluate")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_PARENT, os.environ.get("PYTHONPATH")]))}
        with open(job_dir / "worker.log", "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       env=env, cwd=job_dir, start_new_session=True)
        threading.Thread(target=process.wait, daemon=True).start()  # reap it, so an ended worker is seen as gone


class RayBackend:
    """Each job in a detached Ray actor (one CPU) running the worker command; the runs folder must be shared
    storage."""

    _actor = None

    @staticmethod
    def connect():
        import ray

        if not ray.is_initialized():
            ray.init(address=os.environ.get("RAY_ADDRESS") or "auto", namespace="dlcore", log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": PACKAGE_PARENT}})
        return ray

    @classmethod
    def default_slots(cls) -> int:
        return max(1, int(cls.connect().cluster_resources().get("CPU", 1)))

    @classmethod
    def launch(cls, root: Path, ticket: dict) -> None:
        ray = cls.connect()
        if cls._actor is None:
            cls._actor = ray.remote(num_cpus=1)(_RayWorker)
        actor = cls._actor.options(name=f"dlcore-{uuid.uuid4().hex}", namespace="dlcore", lifetime="detached").remote()
        actor.work.remote(str(root / ticket["job"]), str(root), ticket["mode"] == "evaluate")


class _RayWorker:
    """A Ray actor that runs the worker command (:mod:`dlcore.workers`) for one job and the Ray jobs waiting after
    it, then exits to free its CPU."""

    def work(self, job_dir: str, root: str, evaluate: bool) -> None:
        import ray

        command = [sys.executable, "-m", "dlcore", "worker", job_dir, "--root", root, "--backend", "ray",
                   *(["--evaluate"] if evaluate else [])]
        try:
            subprocess.run(command, stdin=subprocess.DEVNULL, cwd=job_dir)  # its output goes to the actor's Ray log
        finally:
            ray.actor.exit_actor()


BACKENDS = {"local": LocalBackend, "ray": RayBackend}
