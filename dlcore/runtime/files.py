"""Crash-safe files: every file of a run folder is written whole or not at all; and CSV text safe to open in a
spreadsheet.

A write goes to a temporary file beside the target, then is renamed over it (``os.replace`` is atomic on
POSIX and Windows), so a reader, or a process killed mid-write, never sees half a file.

:func:`csv_text` is how the product writes every CSV a user downloads: a text cell that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, as OWASP
advises against CSV injection; numbers, and text that reads as a number, are left as they are.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@contextmanager
def replacing(path: str | Path):
    """A temporary path beside ``path`` (same suffix) to write to; renamed over ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.part{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with replacing(path) as temporary, open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, value) -> None:
    write_text(path, json.dumps(value, indent=1))


def save_model(model, path: str | Path) -> None:
    """Save a Keras model to ``path`` atomically, for prediction: its layers and weights, without the optimizer's
    state (which would triple the file)."""
    import keras

    with replacing(path) as temporary:
        keras.Model(model.inputs, model.outputs, name=model.name).save(temporary)


def read_json(path: str | Path) -> dict:
    """A JSON object from ``path``; ``ValueError`` if it is missing, unreadable or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{path}: not a JSON object")
    return value


def csv_text(frame, header: bool = True) -> str:
    """``frame`` as CSV text (no index; the ``header`` line unless told not), with formula-like text cells
    neutralised (see the module's description)."""
    safe = frame.copy()
    for name in frame.select_dtypes(exclude=["number", "bool", "datetime", "timedelta"]).columns:
        safe[name] = _neutralised_column(safe[name])
    safe.columns = [_neutralised(str(name)) for name in frame.columns]
    return safe.to_csv(index=False, header=header)


def _neutralised_column(values):
    """A text column with its formula-like cells neutralised; a column of strings is searched in one pass."""
    import pandas as pd

    if not isinstance(values.dtype, pd.StringDtype):
        return values.map(_neutralised, na_action="ignore")
    risky = values.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
    if risky.any():
        values = values.copy()
        values[risky] = values[risky].map(_neutralised)
    return values


def _neutralised(value):
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value.replace(",", ""))
        return value  # a number written as text (-3.5, +1,200): a spreadsheet shows it as a number, harmless
    except ValueError:
        return "'" + value
