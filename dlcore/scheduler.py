"""The queue's scheduler: a thread of the app's server that, while jobs wait or train, advances the queue and the
tunes whose trials are in it every few seconds, so jobs start, a tune asks its next trials and a dead worker is
noticed with no page open (workers advance the queue too as their jobs end). It ends once the queue is empty; the
app starts it again on its next run that finds work."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from dlcore.jobs import dispatch, queued_runs
from dlcore.tuning import TUNE_FILE, TUNES_DIR, advance

INTERVAL = 2.0  # seconds between two advances of the queue
log = logging.getLogger(__name__)
_threads: dict[Path, threading.Thread] = {}
_lock = threading.Lock()


def keep_scheduling(root: Path) -> None:
    """Make sure a scheduler thread runs for the runs folder ``root`` while its queue holds a job (cheap when one
    runs already or the queue is empty)."""
    root = Path(root).absolute()
    with _lock:
        thread = _threads.get(root)
        if (thread is not None and thread.is_alive()) or not queued_runs(root):
            return
        _threads[root] = thread = threading.Thread(target=_schedule, args=(root,), name="dlcore-scheduler",
                                                   daemon=True)
        thread.start()


def _schedule(root: Path) -> None:
    while queued := queued_runs(root):
        try:
            dispatch(root)
            for name in queued:
                tune_dir = root / TUNES_DIR / name
                if name and (tune_dir / TUNE_FILE).is_file():
                    advance(tune_dir)  # settles a trial whose worker died and asks the next ones
        except Exception:  # the next round tries again; the server keeps running
            log.exception("the scheduler could not advance the queue of %s", root)
        time.sleep(INTERVAL)
