"""Clean output: TensorFlow's native (C++) log lines kept off the terminal and the server's console.

TensorFlow writes its start-up and runtime chatter ("oneDNN custom operations are on", "failed call to cuInit",
``I0000 …``/``E0000 …`` lines) straight to file descriptor 2 from C++, where neither ``TF_CPP_MIN_LOG_LEVEL`` (no
longer honoured before absl's logging starts) nor Python's ``logging`` reach. :func:`quiet_native_logs` moves
descriptor 2 onto a pipe whose reader drops those lines and passes every other line on, while Python's own
``sys.stderr`` keeps writing to the real stream directly, so an ``error:`` line is never delayed or lost.
``DLCORE_VERBOSE=1`` (the command line's ``--verbose``) keeps everything.
"""

from __future__ import annotations

import os
import re
import sys
import threading

VERBOSE_ENV = "DLCORE_VERBOSE"
NATIVE_LINE = re.compile(rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog)")
ENABLED = True  # a process that manages its own descriptors (the test runner, which captures them) sets False
_started = False


def quiet_native_logs() -> None:
    """From now on, drop TensorFlow's native log lines from this process's standard error (once per process; not
    with ``DLCORE_VERBOSE=1``)."""
    global _started
    if _started or not ENABLED or os.environ.get(VERBOSE_ENV) == "1":
        return
    _started = True
    try:
        sys.stderr.flush()
        real = os.dup(2)
        reader, writer = os.pipe()
        os.dup2(writer, 2)
        os.close(writer)
    except OSError:  # no descriptor 2 to redirect (an embedded interpreter): nothing to filter
        return
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                           errors="backslashreplace")
    threading.Thread(target=_forward, args=(reader, real), name="native-log-filter", daemon=True).start()


def _forward(reader: int, real: int) -> None:
    """Copy lines from ``reader`` to ``real``, but TensorFlow's native log lines."""
    with os.fdopen(reader, "rb", buffering=0) as stream:
        pending = b""
        while chunk := stream.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not NATIVE_LINE.match(line):
                    os.write(real, line + b"\n")
        if pending and not NATIVE_LINE.match(pending):
            os.write(real, pending)
