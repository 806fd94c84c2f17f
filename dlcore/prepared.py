"""The prepared data a training job needs: split a table, fit a :class:`~dlcore.runtime.preparation.Preparation` on its
training rows only, and build the network's matrices.

The kinds of the columns are decided once on the whole loaded table (:func:`dlcore.profiling.decide_kinds`, the
kinds Explore shows and the user may change) and passed in, so the app and the command line prepare a file alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.decisions import decide_kinds
from dlcore.evaluation import primary_metric
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, replacing, write_json
from dlcore.runtime.preparation import Preparation
from dlcore.splitting import SEED, TEST_SIZE, VALIDATION_SIZE, Split, kfold_splits, split_frame

MAX_MATRIX_BYTES = 2 * 1024**3
PREPARED_FILES = {"preparation": "preparation.json", "matrices": "matrices.npz"}
MATRICES = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
SPLIT_PARTS = ("train", "validation", "test")


@dataclass
class PreparedData:
    """A split table, the preparation fitted on its training rows, the matrices for the network, and what later
    stages need of them: the raw targets of the training and test rows, and the task's headline metric."""

    split: Split
    preparation: Preparation
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_targets: pd.Series = field(init=False, repr=False)
    test_targets: pd.Series = field(init=False, repr=False)
    primary_metric: str = field(init=False)

    def __post_init__(self):
        target = self.preparation.target
        self.train_targets, self.test_targets = self.split.train[target], self.split.test[target]
        self.primary_metric = primary_metric(self.task, self.train_targets)

    @property
    def task(self) -> str:
        return self.preparation.task

    def save(self, folder: str | Path) -> None:
        """Write it into ``folder`` for a worker process: the preparation as JSON, the matrices as ``.npz`` (no
        pickle) and the split's raw rows as Parquet, with their positions in the file as the index; each file
        atomically."""
        folder = Path(folder)
        write_json(folder / PREPARED_FILES["preparation"], self.preparation.get_config())
        with replacing(folder / PREPARED_FILES["matrices"]) as temporary:
            np.savez(temporary, **{name: getattr(self, name) for name in MATRICES})
        for part in SPLIT_PARTS:
            with replacing(folder / f"{part}.parquet") as temporary:
                storable(getattr(self.split, part)).to_parquet(temporary)

    @classmethod
    def load(cls, folder: str | Path) -> PreparedData:
        """What :meth:`save` wrote; arrays are read with ``allow_pickle=False``."""
        folder = Path(folder)
        preparation = Preparation.from_config(read_json(folder / PREPARED_FILES["preparation"]))
        with np.load(folder / PREPARED_FILES["matrices"], allow_pickle=False) as arrays:
            matrices = {name: arrays[name] for name in MATRICES}
        split = Split(*(pd.read_parquet(folder / f"{part}.parquet") for part in SPLIT_PARTS))
        return cls(split, preparation, **matrices)


def prepare(
    frame: pd.DataFrame, target: str, task: str, seed: int = SEED, test_size: float = TEST_SIZE,
    validation_size: float = VALIDATION_SIZE, kinds: dict[str, str] | None = None, options: dict[str, dict] | None = None,
    order_by: str | None = None,
) -> PreparedData:
    """Split ``frame`` (time-ordered by ``order_by`` if given) and fit a :class:`Preparation` on its training rows.

    ``kinds``: every column's kind as :func:`~dlcore.profiling.decide_kinds` decided it on the loaded table (the
    app and the command line pass them all); a column without one is decided here, on ``frame``.
    """
    kinds = _kinds(frame, kinds)
    split = split_frame(frame, target, task, test_size, validation_size, seed, order_by)
    prep = Preparation(target, task, kinds, options).fit(split.train, classes=_classes(frame, target, task))
    return _build(split, prep)


def prepare_folds(
    frame: pd.DataFrame, target: str, task: str, k: int = 5, seed: int = SEED,
    kinds: dict[str, str] | None = None, options: dict[str, dict] | None = None,
) -> list[PreparedData]:
    """K-fold cross-validation (:func:`~dlcore.splitting.kfold_splits`), each fold with its own Preparation.

    As in Chollet's K-fold, the average of the folds' scores is a validation score for choosing a model (early
    stopping sees the held-out fold), not an untouched test score.
    """
    kinds, classes = _kinds(frame, kinds), _classes(frame, target, task)
    return [_build(split, Preparation(target, task, kinds, options).fit(split.train, classes=classes))
            for split in kfold_splits(frame, target, task, k, seed)]


def _kinds(frame: pd.DataFrame, kinds: dict[str, str] | None) -> dict[str, str]:
    return decide_kinds(frame, kinds)


def _build(split: Split, prep: Preparation) -> PreparedData:
    """The matrices of a split, refused before they are built if they would not fit in memory."""
    rows = len(split.train) + len(split.validation) + len(split.test)
    footprint = prep.footprint(rows).sort_values("bytes", ascending=False)
    needed = int(footprint["bytes"].sum())
    if needed > MAX_MATRIX_BYTES:
        widest = ", ".join(f"{r.column} ({r.outputs:,} columns)" for r in footprint.head(3).itertuples())
        raise DataError(f"The prepared data would take {needed / 2**30:.1f} GB ({len(prep.feature_names):,} columns × "
                        f"{rows:,} rows). The widest columns are {widest}: use frequency encoding or exclude them.")
    parts = (split.train, split.validation, split.test)
    matrix = prep.transform(pd.concat(parts, ignore_index=True))  # one pass over the columns, not one per part
    bounds = np.cumsum([0, *map(len, parts)])
    x_train, x_val, x_test = (matrix[start:end] for start, end in zip(bounds[:-1], bounds[1:]))
    target = prep.target
    return PreparedData(split, prep, x_train, prep.encode_target(split.train[target]),
                        x_val, prep.encode_target(split.validation[target]),
                        x_test, prep.encode_target(split.test[target]))


def _classes(frame: pd.DataFrame, target: str, task: str) -> list | None:
    return None if task == "regression" else sorted(frame[target].dropna().unique().tolist(), key=str)


def storable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its mixed-type (object) columns as text, so Parquet can store it."""
    mixed = [name for name in frame.columns if pd.api.types.is_object_dtype(frame[name])]
    return frame.astype({name: "string" for name in mixed}) if mixed else frame
