"""Crash-safe files: every file of a run folder is written whole or not at all.

A write goes to a temporary file beside the target, then is renamed over it (``os.replace`` is atomic on
POSIX and Windows), so a reader, or a process killed mid-write, never sees half a file.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path


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
